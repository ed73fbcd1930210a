// What `vzero inspect` shows, recorded during training: for a few prompts of every K-th step,
// the student's image, the teacher's positive and negative views, the question and options,
// and each of the G rollouts with its tokens, the teacher's per-token log-probs l+ and l-, the
// gate's score, group z-score and weight. Besides, every group of the step in brief (its sample
// id, whether its G responses are all identical, each response's text and weight), from which
// the report computes per-step statistics over the whole step. One JSON file per recorded step
// under <run>/inspect/, images as small PNG data URLs, numbers rounded to 4 decimals; only the
// newest `keep` files stay, so the folder is bounded (a recorded step of 2 prompts with G = 8 is
// a few tens of kB). Like the step that records it, a record is label-free: it holds what the
// student wrote and what the gate did, never an answer; whether a response was right is the
// report's business (inspect-stats.ts), after training.
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import {
  InvalidInputError,
  ensureWritableDir,
  toFileSystemError,
  writeFileAtomic,
  type ImagePixels,
  type LabelFreeSample,
  type Prompt,
  type PromptImage,
  type TeacherScores,
  type Trajectory,
} from '@vzero/core';
import { responsePieces } from '../answer-span.js';

export const INSPECT_DIR = 'inspect';
export const INSPECT_FORMAT = 'vzero-inspect';

export interface InspectSettings {
  /** Record every `every` steps (and step 1); 0 = never. */
  readonly every: number;
  /** Prompts recorded per recorded step (the first of the step's batch). */
  readonly prompts: number;
  /** Recorded steps kept on disk (the newest). */
  readonly keep: number;
}

export const INSPECT_DEFAULTS: InspectSettings = { every: 10, prompts: 2, keep: 20 };

/** What one V-Zero/OPD step computed, as the trainer holds it (plain data; nothing is copied). */
export interface InspectBatch {
  readonly step: number;
  readonly method: string;
  readonly samples: readonly LabelFreeSample[];
  /** Per sample: the student's prompt, the teacher's positive and (V-Zero) negative prompts. */
  readonly prompts: readonly {
    readonly student: Prompt;
    readonly positive: Prompt;
    readonly negative?: Prompt;
    readonly negativeMode?: string;
  }[];
  readonly trajectories: readonly Trajectory[];
  readonly scores: readonly TeacherScores[];
  /** The gate's outputs per trajectory (V-Zero); OPD has none. */
  readonly gate?: {
    readonly scores: ArrayLike<number>;
    readonly advantages: ArrayLike<number>;
    readonly masks: readonly ArrayLike<number>[];
  };
  /** The weight each trajectory's loss got (1 for OPD). */
  readonly weights: ArrayLike<number>;
  /** Decodes token ids of the student's tokenizer. */
  readonly decode: (ids: readonly number[]) => string;
}

export interface InspectRollout {
  readonly index: number;
  readonly text: string;
  readonly finishReason: string;
  /** Text of each real token (the pieces concatenate to the response). */
  readonly tokens: readonly string[];
  /** l+ per token. */
  readonly positive: readonly number[];
  /** l- per token (null without a negative replay). */
  readonly negative: readonly number[] | null;
  /** 1 where the gate's score read the token (gate.span). */
  readonly gateMask: readonly number[];
  /** Sequence score p_g (null without a gate). */
  readonly score: number | null;
  /** Group z-score a_g (null without a gate). */
  readonly advantage: number | null;
  readonly weight: number;
}

export interface InspectPrompt {
  readonly id: string;
  readonly category: string;
  readonly question: string;
  readonly options: readonly string[];
  readonly negativeMode: string | null;
  /** PNG (or the encoded image's) data URLs. */
  readonly images: { readonly student: string; readonly positive: string; readonly negative: string | null };
  readonly rollouts: readonly InspectRollout[];
}

/** One group of a step (a prompt and its G rollouts), in brief. */
export interface InspectGroup {
  /** The sample's id. */
  readonly id: string;
  /** Whether its G responses are all the same tokens: the gate cannot tell them apart. */
  readonly identical: boolean;
  /** Each rollout's text, in rollout order. */
  readonly texts: readonly string[];
  /** Each rollout's weight, in rollout order. */
  readonly weights: readonly number[];
}

export interface InspectRecord {
  readonly format: typeof INSPECT_FORMAT;
  /** 1: records from before `batch` existed (still read). */
  readonly version: 1 | 2;
  readonly step: number;
  readonly method: string;
  readonly prompts: readonly InspectPrompt[];
  /** Every group of the step (version 2). */
  readonly batch?: readonly InspectGroup[];
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

export function inspectFileName(step: number): string {
  return `step-${String(step).padStart(6, '0')}.json`;
}

/** A data URL of a prompt image: its encoded bytes, or its pixels as PNG. */
async function imageUrl(image: PromptImage | undefined): Promise<string | null> {
  if (!image) return null;
  if (image.encoded)
    return `data:${image.encoded.mime};base64,${Buffer.from(image.encoded.bytes).toString('base64')}`;
  if (!image.pixels) return null;
  return `data:image/png;base64,${(await pixelsToPng(image.pixels)).toString('base64')}`;
}

export async function pixelsToPng(p: ImagePixels): Promise<Buffer> {
  const bytes = new Uint8Array(p.data.length);
  for (let i = 0; i < bytes.length; i++)
    bytes[i] = Math.max(0, Math.min(255, Math.round((p.data[i] as number) * 255)));
  return sharp(bytes, { raw: { width: p.width, height: p.height, channels: p.channels as 1 | 2 | 3 | 4 } })
    .png()
    .toBuffer();
}

/** The record of one batch: its first `prompts` prompts with every rollout. */
export async function inspectRecord(batch: InspectBatch, prompts: number): Promise<InspectRecord> {
  const out: InspectPrompt[] = [];
  for (let p = 0; p < Math.min(prompts, batch.prompts.length); p++) {
    const views = batch.prompts[p] as InspectBatch['prompts'][number];
    const sample = batch.samples[p] as LabelFreeSample;
    const rollouts: InspectRollout[] = [];
    batch.trajectories.forEach((tr, i) => {
      if (tr.promptId !== views.student.id) return;
      const real = tr.tokenIds.map((_, k) => k).filter((k) => tr.mask[k] === 1);
      const pieces = responsePieces(batch.decode, tr.tokenIds);
      const s = batch.scores[i] as TeacherScores;
      const gateMask = batch.gate?.masks[i];
      rollouts.push({
        index: tr.index,
        text: tr.text,
        finishReason: tr.finishReason,
        tokens: real.map((k) => pieces[k] as string),
        positive: real.map((k) => r4(s.positive[k] as number)),
        negative: s.negative ? real.map((k) => r4((s.negative as Float32Array)[k] as number)) : null,
        gateMask: real.map((k) => (gateMask ? (gateMask[k] === 1 ? 1 : 0) : 1)),
        score: batch.gate ? r4(batch.gate.scores[i] as number) : null,
        advantage: batch.gate ? r4(batch.gate.advantages[i] as number) : null,
        weight: r4(batch.weights[i] as number),
      });
    });
    out.push({
      id: sample.id,
      category: sample.category,
      question: sample.question,
      options: sample.options,
      negativeMode: views.negativeMode ?? null,
      images: {
        student: (await imageUrl(views.student.images[0])) ?? '',
        positive: (await imageUrl(views.positive.images.at(-1))) ?? '',
        negative: views.negative ? await imageUrl(views.negative.images.at(-1)) : null,
      },
      rollouts,
    });
  }
  return {
    format: INSPECT_FORMAT,
    version: 2,
    step: batch.step,
    method: batch.method,
    prompts: out,
    batch: inspectGroups(batch),
  };
}

/** The real tokens of a trajectory (its ids where the mask is 1). */
const realTokens = (tr: Trajectory): number[] => tr.tokenIds.filter((_, k) => tr.mask[k] === 1);

/** Whether every trajectory has the same real tokens (true for one or none). */
export function allIdentical(trajectories: readonly Trajectory[]): boolean {
  const first = trajectories[0];
  if (!first) return true;
  const ids = realTokens(first);
  return trajectories.every((tr) => {
    const other = realTokens(tr);
    return other.length === ids.length && other.every((t, k) => t === ids[k]);
  });
}

/** Every group of the batch, in brief, in prompt order. */
export function inspectGroups(batch: InspectBatch): InspectGroup[] {
  const byPrompt = new Map<string, number[]>();
  batch.trajectories.forEach((tr, i) => {
    const list = byPrompt.get(tr.promptId) ?? [];
    list.push(i);
    byPrompt.set(tr.promptId, list);
  });
  return batch.prompts.map((views, p) => {
    const rows = byPrompt.get(views.student.id) ?? [];
    const trs = rows.map((i) => batch.trajectories[i] as Trajectory);
    return {
      id: (batch.samples[p] as LabelFreeSample).id,
      identical: allIdentical(trs),
      texts: trs.map((tr) => tr.text),
      weights: rows.map((i) => r4(batch.weights[i] as number)),
    };
  });
}

/** Checks settings, naming the key. */
export function checkInspectSettings(s: InspectSettings, field = 'inspect'): InspectSettings {
  for (const [k, min] of [
    ['every', 0],
    ['prompts', 1],
    ['keep', 1],
  ] as const) {
    const v = s[k];
    if (!Number.isInteger(v) || v < min)
      throw new InvalidInputError(`${field}.${k}`, v, `must be an integer >= ${min}`);
  }
  return s;
}

/** Writes records of a run's steps into <run>/inspect/ and keeps the newest `keep`. */
export class InspectRecorder {
  readonly dir: string;

  constructor(
    root: string,
    readonly settings: InspectSettings,
  ) {
    checkInspectSettings(settings);
    this.dir = join(root, INSPECT_DIR);
  }

  due(step: number): boolean {
    return this.settings.every > 0 && (step === 1 || step % this.settings.every === 0);
  }

  /** Drops records of steps after `step` (a resumed run redoes them). */
  async truncate(step: number): Promise<void> {
    for (const s of await listInspectSteps(this.dir)) {
      if (s > step) await rm(join(this.dir, inspectFileName(s)), { force: true });
    }
  }

  async record(batch: InspectBatch): Promise<string> {
    const rec = await inspectRecord(batch, this.settings.prompts);
    await ensureWritableDir(this.dir, 'inspect');
    const path = join(this.dir, inspectFileName(batch.step));
    await writeFileAtomic(path, JSON.stringify(rec) + '\n');
    const steps = await listInspectSteps(this.dir);
    for (const s of steps.slice(0, Math.max(0, steps.length - this.settings.keep))) {
      await rm(join(this.dir, inspectFileName(s)), { force: true });
    }
    return path;
  }
}

/** Recorded steps in `dir`, ascending. */
export async function listInspectSteps(dir: string): Promise<number[]> {
  if (!existsSync(dir)) return [];
  return (await readdir(dir))
    .map((n) => /^step-(\d+)\.json$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Reads one recorded step, checking its format. */
export async function readInspectRecord(dir: string, step: number): Promise<InspectRecord> {
  const path = join(dir, inspectFileName(step));
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    if (error instanceof SyntaxError)
      throw new InvalidInputError('inspect record', path, `is not JSON (${error.message})`);
    throw toFileSystemError(error, path, 'read the inspect record');
  }
  const rec = parsed as Partial<InspectRecord>;
  if (
    rec === null ||
    typeof rec !== 'object' ||
    rec.format !== INSPECT_FORMAT ||
    (rec.version !== 1 && rec.version !== 2) ||
    !Array.isArray(rec.prompts)
  )
    throw new InvalidInputError('inspect record', path, `is not a ${INSPECT_FORMAT} version 1 or 2 file`);
  // A run folder may come from anyone: every field is checked for its type (and images for
  // being base64 image data URLs) before the report puts it on a page.
  const checked = recordSchema.safeParse(parsed);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new InvalidInputError(
      `${path} ${issue?.path.join('.') ?? ''}`.trim(),
      issue?.path.reduce<unknown>(
        (v, k) =>
          v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[String(k)] : undefined,
        parsed,
      ),
      issue?.message ?? 'invalid inspect record',
    );
  }
  return checked.data as InspectRecord;
}

/** A base64 data URL of an image type a browser shows (never SVG, which can hold script). */
export const IMAGE_DATA_URL = /^data:image\/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]*={0,2}$/;

const finite = z.number().refine(Number.isFinite, 'expected a finite number');
const imageDataUrl = z.string().regex(IMAGE_DATA_URL, 'expected a base64 PNG, JPEG, GIF or WebP data URL');
const rolloutSchema = z
  .object({
    index: z.number().int().min(0),
    text: z.string(),
    finishReason: z.string(),
    tokens: z.array(z.string()),
    positive: z.array(finite),
    negative: z.array(finite).nullable(),
    gateMask: z.array(z.union([z.literal(0), z.literal(1)])),
    score: finite.nullable(),
    advantage: finite.nullable(),
    weight: finite,
  })
  .refine(
    (r) =>
      r.positive.length === r.tokens.length &&
      r.gateMask.length === r.tokens.length &&
      (r.negative === null || r.negative.length === r.tokens.length),
    'tokens, positive, negative and gateMask differ in length',
  );
const groupSchema = z
  .object({
    id: z.string(),
    identical: z.boolean(),
    texts: z.array(z.string()),
    weights: z.array(finite),
  })
  .refine((g) => g.texts.length === g.weights.length, 'texts and weights differ in length');
const recordSchema = z.object({
  format: z.literal(INSPECT_FORMAT),
  version: z.union([z.literal(1), z.literal(2)]),
  step: z.number().int().min(0),
  method: z.string(),
  prompts: z.array(
    z.object({
      id: z.string(),
      category: z.string(),
      question: z.string(),
      options: z.array(z.string()),
      negativeMode: z.string().nullable(),
      images: z.object({ student: imageDataUrl, positive: imageDataUrl, negative: imageDataUrl.nullable() }),
      rollouts: z.array(rolloutSchema),
    }),
  ),
  batch: z.array(groupSchema).optional(),
});
