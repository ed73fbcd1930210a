// `vzero eval (--checkpoint DIR | --url URL... [--model NAME]) --data PATH [--out DIR]`: any
// model on any benchmark the toolkit can read: a world dataset folder (one split), a V* Bench
// folder, an HR-Bench TSV file. A checkpoint runs locally; a URL is an OpenAI-compatible server
// (vLLM, SGLang, `vzero serve`, or several replicas of one) reached through @vzero/remote.
import { existsSync, statSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import {
  InvalidInputError,
  VZeroError,
  deriveSeed,
  ensureWritableDir,
  optionLetter,
  type LabelledSample,
  type Policy,
  type Prompt,
  type PromptImage,
} from '@vzero/core';
import { assertOutputsApart } from '../run/fs-safety.js';
import { evaluate, scorePredictions, writeReport, type BenchSample, type Report } from '@vzero/bench';
import type { ModelConfig } from '@vzero/model';
import { DEFAULT_API_KEY_ENV, RemotePolicy } from '@vzero/remote';
import { loadHRBench, loadLabelled, loadVStarBench, MANIFEST_FILE } from '@vzero/world';
import { loadPolicy } from '../models.js';
import { createProgress } from '../progress.js';
import { PromptFactory, promptsForModel, type QuestionSample } from '../prompts.js';
import { setupTensors } from '../tensors.js';
import {
  describeUnanswerable,
  findUnanswerable,
  skippingPolicy,
  type Unanswerable,
} from '../evaluation/unanswerable.js';
import { RESOLVED_CONFIG_FILE, formatResolvedConfig, saveResolvedConfig } from '../run/resolved-config.js';
import { DEFAULT_CROP_PADDING } from '../view-settings.js';
import { z } from 'zod';
import { flag, parseOptions, seedValue } from './options.js';

/**
 * How a question becomes a prompt.
 * - 'vzero': the toolkit's models' layout: the views their image slots take (the full image,
 *   plus the positive crop for a model with a crop slot) and `formatPrompt`'s text.
 * - 'mcq': what a general VLM (a Qwen-VL behind vLLM) expects: the original image and
 *   VLMEvalKit's multiple-choice prompt ("Question: ...\nOptions:\nA. ...\nPlease select the
 *   correct answer from the options above.").
 * - 'auto': 'vzero' for a checkpoint or a `vzero serve` server (it publishes its image slots),
 *   'mcq' for any other server.
 */
export type PromptFormat = (typeof PROMPT_FORMATS)[number];
const PROMPT_FORMATS = ['auto', 'vzero', 'mcq'] as const;

/** `vzero eval`'s options (the command line's, a --config file's, and runEval's). */
export const EVAL_OPTIONS = z.strictObject({
  checkpoint: flag(z.string().optional(), 'model checkpoint folder (a local model)', { value: 'dir' }),
  url: flag(
    z.array(z.string()).optional(),
    'base URL of an OpenAI-compatible server; repeat for replicas of one model (API key from --api-key-env)',
    { value: 'url' },
  ),
  model: flag(
    z.string().optional(),
    'served model name (what vzero serve --model named it; default: the first the server lists)',
    { value: 'name' },
  ),
  apiKeyEnv: flag(
    z.string().default(DEFAULT_API_KEY_ENV),
    "environment variable holding the server's API key",
    { value: 'var' },
  ),
  promptFormat: flag(
    z.enum(PROMPT_FORMATS).default('auto'),
    "auto, vzero (the toolkit's views and text) or mcq (the original image, VLMEvalKit's multiple-choice prompt)",
    { value: 'f' },
  ),
  maxTokens: flag(
    z.number().int().min(1).optional(),
    'longest answer (default 16 for vzero prompts, 64 for mcq)',
    { value: 'n' },
  ),
  maxPixels: flag(
    z.number().int().min(1).optional(),
    'mcq: downscale larger images to this many pixels before sending',
    { value: 'n' },
  ),
  concurrency: flag(z.number().int().min(1).default(8), 'requests in flight per server', { value: 'n' }),
  timeout: flag(z.number().min(1, 'a request needs time').default(300), 'seconds per request attempt', {
    value: 's',
  }),
  data: flag(z.string(), 'world dataset folder, V* Bench folder or HR-Bench .tsv file (required)', {
    value: 'path',
    deprecated: ['--bench'],
  }),
  split: flag(z.string().default('test'), 'split of a world dataset', { value: 'name' }),
  out: flag(z.string().optional(), 'write report.json/.md/.svg/.png and resolved-config.yaml here', {
    value: 'dir',
  }),
  limit: flag(z.number().int().min(0, '0 means all').default(0), 'first n questions only (0 = all)', {
    value: 'n',
  }),
  seed: flag(seedValue().default(0), 'seed of the views', { value: 'k' }),
  resume: flag(
    z.boolean().optional(),
    'continue the evaluation whose answers --out keeps (answers.jsonl): ask only the rest',
  ),
  force: flag(z.boolean().optional(), 'start over although --out keeps answers of an earlier evaluation'),
  maxOutage: flag(
    z.number().min(0, 'seconds').default(120),
    'seconds of outage of every server a remote evaluation rides out before it stops (answers kept)',
    { value: 's' },
  ),
  maxResponseMb: flag(
    z.number().min(1, 'a response needs room').default(64),
    "largest server response in MiB (a larger one is cut off and that server's requests fail over)",
    { value: 'n' },
  ),
});

/** What runEval takes: EVAL_OPTIONS' keys, a default for each one left out. */
export type EvalCommandOptions = z.input<typeof EVAL_OPTIONS>;
/** The options with every default filled in. */
type EvalSettings = z.output<typeof EVAL_OPTIONS>;

/** Answers as they arrive, one JSON line per question after a header line: --resume reads them. */
export const ANSWERS_FILE = 'answers.jsonl';
const ANSWERS_FORMAT = 'vzero-eval-answers';

/** What decides an evaluation's answers: a resume must match it (server URLs may change). */
function answersKey(o: EvalSettings): Record<string, unknown> {
  return {
    format: ANSWERS_FORMAT,
    version: 1,
    data: resolve(o.data),
    split: o.split,
    limit: o.limit,
    seed: o.seed,
    checkpoint: o.checkpoint !== undefined ? resolve(o.checkpoint) : null,
    model: o.model ?? null,
    promptFormat: o.promptFormat,
    maxTokens: o.maxTokens ?? null,
    maxPixels: o.maxPixels ?? null,
  };
}

interface KeptAnswers {
  /** Keys of the header that differ from this evaluation's (empty: the same evaluation). */
  readonly differ: readonly string[];
  readonly header: Record<string, unknown>;
  readonly answers: Map<string, readonly string[]>;
  /** Lines that are not whole answers (a write cut short by a kill). */
  readonly broken: number;
}

/** What an answers file holds (undefined: no file, or an empty one). */
async function readAnswers(path: string, o: EvalSettings): Promise<KeptAnswers | undefined> {
  if (!existsSync(path)) return undefined;
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim() !== '');
  if (lines.length === 0) return undefined;
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(lines[0] as string) as Record<string, unknown>;
  } catch {
    // an unreadable header: every key differs
  }
  const key = answersKey(o);
  const differ = Object.keys(key).filter((k) => JSON.stringify(header[k]) !== JSON.stringify(key[k]));
  const answers = new Map<string, readonly string[]>();
  let broken = 0;
  for (const line of lines.slice(1)) {
    try {
      const a = JSON.parse(line) as { id?: unknown; responses?: unknown };
      if (
        typeof a.id === 'string' &&
        Array.isArray(a.responses) &&
        a.responses.every((r) => typeof r === 'string')
      )
        answers.set(a.id, a.responses as string[]);
      else broken++;
    } catch {
      broken++;
    }
  }
  return { differ, header, answers, broken };
}

/**
 * The answers to start from. --resume: those of the same evaluation (another's are refused).
 * --force: none. Neither: none when the file holds nothing or a finished evaluation (a rerun,
 * as before answers were kept), but an unfinished one is refused rather than overwritten.
 */
function answersToUse(
  kept: KeptAnswers | undefined,
  o: EvalSettings,
  ids: readonly string[],
  path: string,
  log: (line: string) => void,
): Map<string, readonly string[]> {
  const none = new Map<string, readonly string[]>();
  if (!kept) return none;
  const key = answersKey(o);
  if (o.force) {
    log(`--force: starting over; the ${kept.answers.size} answers in ${path} are discarded`);
    return none;
  }
  if (o.resume) {
    if (kept.differ.length > 0) {
      throw new InvalidInputError(
        '--resume',
        path,
        `these answers are of another evaluation (${kept.differ.map((k) => `${k}: ${JSON.stringify(kept.header[k])} -> ${JSON.stringify(key[k])}`).join('; ')}); use another --out, or --force to start over`,
      );
    }
    if (kept.broken > 0)
      log(`resume: ${kept.broken} unreadable line(s) of ${path} dropped (a write cut short); asked again`);
    return kept.answers;
  }
  const finished = kept.differ.length === 0 && ids.every((id) => kept.answers.has(id));
  if (finished || kept.answers.size === 0) return none;
  throw new InvalidInputError(
    '--out',
    o.out,
    `holds ${kept.answers.size} answers of an unfinished evaluation (${ANSWERS_FILE}); pass --resume to continue it, or --force to start over`,
  );
}

/** The report of the questions answered so far, marked partial, after a failure. */
function partialReport(
  samples: readonly BenchSample[],
  answers: ReadonlyMap<string, readonly string[]>,
  name: string,
  label: string,
  maxTokens: number,
  seed: number,
): Report | undefined {
  const done = samples.filter((s) => answers.has(s.id));
  if (done.length === 0) return undefined;
  const summary = scorePredictions(
    done,
    done.map((s) => answers.get(s.id) ?? []),
  );
  return {
    benchmark: `${name} (PARTIAL: ${done.length} of ${samples.length} questions answered; finish with --resume)`,
    method: label,
    settings: { greedy: true, n: 1, temperature: 0, topP: 1, topK: 0, maxTokens, seed },
    createdAt: new Date().toISOString(),
    seconds: 0,
    ...summary,
  };
}

/** V8's longest string, in UTF-16 code units (base64 TSV text: one per byte). */
const MAX_STRING_CHARS = 2 ** 29 - 24;

/** Reads a benchmark from whichever layout `path` holds. */
export async function loadBenchmark(
  path: string,
  split: string,
): Promise<{ name: string; samples: BenchSample[] }> {
  if (!existsSync(path)) throw new InvalidInputError('--data', path, 'no such file or folder');
  if (statSync(path).isFile()) {
    if (!path.endsWith('.tsv'))
      throw new InvalidInputError('--data', path, 'a file must be an HR-Bench .tsv');
    // The loader reads the file as one string; V8 caps a string at 2^29 - 24 characters.
    const size = statSync(path).size;
    if (size > MAX_STRING_CHARS) {
      throw new InvalidInputError(
        '--data',
        path,
        `${(size / 2 ** 20).toFixed(0)} MiB: the HR-Bench loader reads a TSV as one string, and Node caps strings at 512 MiB; ` +
          'split it into files of whole questions (keeping the header, and each image with the rows that refer to its index)',
      );
    }
    const rows = await loadHRBench(path);
    // Rows of one question under different option orders share the question and the image.
    return {
      name: 'HR-Bench',
      samples: rows.map((r) => ({
        ...r,
        ...(r.cycleCategory ? { cycle: r.cycleCategory } : {}),
        groupKey: `${r.question}|${[...r.options].sort().join('|')}`,
      })),
    };
  }
  if (existsSync(join(path, split, MANIFEST_FILE))) {
    return { name: `world ${split}`, samples: await loadLabelled(path, split) };
  }
  return { name: 'V* Bench', samples: await loadVStarBench(path) };
}

/** Why a benchmark path gave no questions, in the words of the layouts it was read as. */
function noQuestions(path: string, split: string, name: string): InvalidInputError {
  if (name === 'V* Bench') {
    return new InvalidInputError(
      '--data',
      path,
      `no questions: not a world dataset with split "${split}" (no ${join(split, MANIFEST_FILE)}), ` +
        'and no V* Bench images with their .json in its sub-folders',
    );
  }
  return new InvalidInputError('--data', path, `no questions in ${name}`);
}

/** VLMEvalKit's multiple-choice prompt (ImageMCQDataset.build_prompt), the one HR-Bench is scored with. */
export function mcqText(sample: { readonly question: string; readonly options: readonly string[] }): string {
  const options = sample.options.map((o, i) => `${optionLetter(i)}. ${o}\n`).join('');
  return `Question: ${sample.question}\nOptions:\n${options}Please select the correct answer from the options above. \n`;
}

/**
 * The sample's image as a server receives it: the original JPEG or PNG bytes, other formats as
 * PNG, and (with `maxPixels`) larger images downscaled to fit, keeping their aspect.
 */
export async function encodedImage(
  sample: QuestionSample,
  maxPixels: number | undefined,
): Promise<PromptImage['encoded'] & object> {
  const src = sample.image;
  const bytes = 'bytes' in src ? src.bytes : new Uint8Array(await readFile(src.path));
  const meta = await sharp(bytes).metadata();
  const pixels = (meta.width ?? 0) * (meta.height ?? 0);
  if (maxPixels !== undefined && pixels > maxPixels) {
    const scale = Math.sqrt(maxPixels / pixels);
    const width = Math.max(1, Math.floor((meta.width ?? 1) * scale));
    const height = Math.max(1, Math.floor((meta.height ?? 1) * scale));
    const resized = sharp(bytes).resize(width, height, { fit: 'fill', kernel: 'lanczos3' });
    return meta.format === 'png'
      ? { bytes: new Uint8Array(await resized.png().toBuffer()), mime: 'image/png' }
      : { bytes: new Uint8Array(await resized.jpeg({ quality: 95 }).toBuffer()), mime: 'image/jpeg' };
  }
  if (meta.format === 'jpeg') return { bytes, mime: 'image/jpeg' };
  if (meta.format === 'png') return { bytes, mime: 'image/png' };
  return { bytes: new Uint8Array(await sharp(bytes).png().toBuffer()), mime: 'image/png' };
}

function wholeImage(s: BenchSample): { x0: number; y0: number; x1: number; y1: number } {
  const { width, height } = s as BenchSample & { width?: number; height?: number };
  if (!(width && height && width > 0 && height > 0))
    throw new InvalidInputError(`${s.id}: boxes`, [], 'no target box and no image size to stand in for one');
  return { x0: 0, y0: 0, x1: width, y1: height };
}

interface Evaluated {
  readonly policy: Policy;
  readonly label: string;
  readonly format: 'vzero' | 'mcq';
  readonly withCrop: boolean;
  readonly promptFor: (sample: QuestionSample) => Promise<Prompt>;
  readonly batchSize: number;
  readonly dispose: () => void;
  /** A local checkpoint: the questions it cannot read, and how to say so. */
  readonly unanswerable?: (samples: readonly BenchSample[]) => Unanswerable[];
  readonly describe?: (found: readonly Unanswerable[], total: number) => string[];
}

async function localModel(o: EvalSettings, dir: string, log: (line: string) => void): Promise<Evaluated> {
  if (o.promptFormat === 'mcq') {
    throw new InvalidInputError(
      '--prompt-format',
      'mcq',
      "a toolkit checkpoint answers in its own format: use 'vzero' (or 'auto')",
    );
  }
  await setupTensors(log);
  const loaded = await loadPolicy(dir, '--checkpoint', 'policy');
  const { withCrop, promptFor } = promptsForModel(loaded.model.config, o.seed);
  return {
    policy: loaded.policy,
    label: dir,
    format: 'vzero',
    withCrop,
    promptFor,
    // Questions it cannot read (closed vocabulary, too long) are found up front: see below.
    unanswerable: (samples) => findUnanswerable(samples, loaded.tokenizer, loaded.model.config.maxTextLength),
    describe: (found, total) => describeUnanswerable(found, total, loaded.tokenizer),
    batchSize: 16,
    dispose: () => loaded.model.dispose(),
  };
}

async function remoteModel(
  o: EvalSettings,
  urls: readonly string[],
  log: (line: string) => void,
): Promise<Evaluated> {
  const policy = await RemotePolicy.connect({
    baseUrl: urls.length === 1 ? (urls[0] as string) : urls,
    ...(o.model !== undefined ? { model: o.model } : {}),
    apiKeyEnv: o.apiKeyEnv,
    concurrency: o.concurrency,
    timeoutMs: Math.round(o.timeout * 1000),
    // A long evaluation rides out a short outage of every server, and no longer.
    maxOutageMs: Math.round(o.maxOutage * 1000),
    maxResponseBytes: Math.round(o.maxResponseMb * 2 ** 20),
    logger: log,
  });
  const slots = policy.server.vzero_image_slots;
  const format = o.promptFormat === 'auto' ? (slots ? 'vzero' : 'mcq') : o.promptFormat;
  const batchSize = Math.max(16, policy.stats().replicas.length * o.concurrency);
  const label = `${policy.model} at ${urls.join(', ')}`;
  const dispose = () => policy.close();
  if (format === 'mcq') {
    return {
      policy,
      label,
      format,
      withCrop: false,
      batchSize,
      dispose,
      promptFor: async (s) => ({
        id: s.id,
        images: [{ id: s.id, role: 'full', encoded: await encodedImage(s, o.maxPixels) }],
        text: mcqText(s),
      }),
    };
  }
  if (!slots) {
    policy.close();
    throw new InvalidInputError(
      '--prompt-format',
      'vzero',
      `${policy.model} does not publish its image slots (not a vzero serve server): use 'mcq'`,
    );
  }
  // The very views promptsForModel gives a local checkpoint, sent as PNG (lossless), so a served
  // checkpoint sees the pixels the local one does.
  const config = { images: slots } as unknown as ModelConfig;
  const withCrop = slots.some((slot) => slot.role === 'crop');
  const factory = new PromptFactory(config, withCrop ? config : undefined, {
    negative: 'outside-downsampled',
    factor: 2,
    padding: DEFAULT_CROP_PADDING,
    seed: deriveSeed(o.seed, 'views'),
    encode: true,
  });
  return {
    policy,
    label,
    format,
    withCrop,
    batchSize,
    dispose,
    promptFor: (s) => (withCrop ? factory.teacherPositive(s) : factory.student(s)),
  };
}

/** What `vzero eval` prints: the accuracy with its interval, per category, and HR-Bench's cyclic average. */
export function formatEvalReport(report: Report): string {
  const o = report.overall;
  const line = (label: string, c: typeof o) =>
    `${label}${(c.accuracy * 100).toFixed(1)}% (${c.correct}/${c.questions}, unanswered ${c.unanswered}), 95% CI ${(c.ci95.lo * 100).toFixed(1)}-${(c.ci95.hi * 100).toFixed(1)}%\n`;
  let out = line('accuracy ', o);
  for (const [category, c] of Object.entries(report.categories)) out += line(`  ${category}: `, c);
  if (report.cyclic) {
    const a = report.cyclic.averaged;
    const cells = [['all', a.overall] as const, ...Object.entries(a.categories)];
    out += `average over ${report.cyclic.cycles.length} cyclic option orders (HR-Bench): ${cells
      .map(([k, c]) => `${k} ${(c.accuracy * 100).toFixed(1)}%`)
      .join(', ')}\n`;
  }
  return out;
}

/**
 * Neither of two alternative options was given, and one of them is required. An
 * InvalidInputError whose `field` names both ("--checkpoint | --url") and whose message says so.
 */
export class OneOfRequiredError extends InvalidInputError {
  readonly fields: readonly string[];
  constructor(fields: readonly string[], hint: string) {
    super(fields.join(' | '), undefined, hint);
    this.message = `one of ${fields.join(' or ')} is required: ${hint}`;
    this.fields = fields;
  }
}

export async function runEval(options: EvalCommandOptions, log: (line: string) => void): Promise<Report> {
  // Every value checked and every default filled in, by the schema the command line has.
  const o = parseOptions(EVAL_OPTIONS, options);
  const urls = o.url ?? [];
  // What to evaluate is checked before anything is printed: the error is the whole output.
  if (o.checkpoint === undefined && urls.length === 0) {
    throw new OneOfRequiredError(
      ['--checkpoint', '--url'],
      'give --checkpoint DIR to evaluate a local model, or --url URL (repeatable) for a served one',
    );
  }
  log(formatResolvedConfig('eval', o));
  if (o.checkpoint !== undefined && urls.length > 0) {
    throw new InvalidInputError(
      '--checkpoint',
      o.checkpoint,
      `and --url ${urls.join(' ')} both given: evaluate one model, a local one or a served one`,
    );
  }
  if (o.model !== undefined && urls.length === 0)
    throw new InvalidInputError('--model', o.model, 'names a served model: only with --url');
  if ((o.resume || o.force) && o.out === undefined)
    throw new InvalidInputError(
      o.resume ? '--resume' : '--force',
      true,
      'applies to the answers an --out folder keeps',
    );
  if (o.resume && o.force)
    throw new InvalidInputError(
      '--force',
      true,
      'either --resume (continue) or --force (start over), not both',
    );
  let kept: KeptAnswers | undefined;
  const answersPath = o.out !== undefined ? join(o.out, ANSWERS_FILE) : undefined;
  if (o.out !== undefined) {
    // The report goes next to nothing this command reads; checked before the long evaluation.
    const out = o.out;
    await assertOutputsApart(
      [
        { field: '--out', path: out, container: true },
        ...['report.json', 'report.md', 'report.svg', 'report.png', RESOLVED_CONFIG_FILE, ANSWERS_FILE].map(
          (f) => ({
            field: '--out',
            path: join(out, f),
          }),
        ),
      ],
      [
        ...(o.checkpoint !== undefined ? [{ field: '--checkpoint', path: o.checkpoint }] : []),
        { field: '--data', path: o.data },
      ],
    );
    await ensureWritableDir(out, '--out');
    kept = await readAnswers(join(out, ANSWERS_FILE), o);
    const { resume: _resume, force: _force, ...rerun } = o;
    await saveResolvedConfig(out, rerun);
  }
  // The questions first: a bad or empty benchmark fails before a model is loaded or reached.
  const { name, samples: all } = await loadBenchmark(o.data, o.split);
  if (all.length === 0) throw noQuestions(o.data, o.split, name);
  const limited = o.limit > 0 ? all.slice(0, o.limit) : all;
  // HR-Bench has no target boxes; the views need one. The whole image stands in: the full view
  // does not depend on it, and a model with a crop slot gets the whole image as its "crop".
  const boxless = limited.filter((s) => s.boxes.length === 0).length;
  const samples = limited.map((s) => (s.boxes.length > 0 ? s : { ...s, boxes: [wholeImage(s)] }));
  // Checked before a model is loaded or reached.
  const answered =
    answersPath !== undefined
      ? answersToUse(
          kept,
          o,
          samples.map((s) => s.id),
          answersPath,
          log,
        )
      : new Map<string, readonly string[]>();
  const model =
    o.checkpoint !== undefined ? await localModel(o, o.checkpoint, log) : await remoteModel(o, urls, log);
  try {
    log(
      `eval ${model.label} on ${name}: ${samples.length} questions, ${model.format} prompts` +
        `${model.withCrop ? ' (with the positive crop)' : ''}`,
    );
    if (boxless > 0 && model.withCrop)
      log(`${boxless} questions have no target box: the crop slot gets the whole image`);
    // Never half-way: what the model cannot read is said now and scored as unanswered.
    const unanswerable = model.unanswerable?.(samples) ?? [];
    for (const line of model.describe?.(unanswerable, samples.length) ?? []) log(line);
    const policy = skippingPolicy(model.policy, new Set(unanswerable.map((u) => u.id)));
    const progress = createProgress('eval', samples.length);
    const maxTokens = o.maxTokens ?? (model.format === 'mcq' ? 64 : 16);
    // Answers are appended as they arrive: a failure (a server gone for longer than --max-outage)
    // keeps them, writes a partial report, and --resume asks only the rest.
    const sofar = new Map(answered);
    if (answersPath !== undefined) {
      if (answered.size > 0)
        log(`resume: ${answered.size} of ${samples.length} questions already answered (${answersPath})`);
      else await writeFile(answersPath, JSON.stringify(answersKey(o)) + '\n');
    }
    let report: Report;
    try {
      report = await evaluate(policy, samples as readonly (BenchSample & LabelledSample)[], {
        promptFor: model.promptFor,
        maxTokens,
        batchSize: model.batchSize,
        benchmark: name,
        method: model.label,
        onProgress: (p) => progress.update(p.done),
        answered,
        ...(answersPath !== undefined
          ? {
              onAnswers: async (batch: readonly { id: string; responses: readonly string[] }[]) => {
                await appendFile(answersPath, batch.map((a) => JSON.stringify(a) + '\n').join(''));
                for (const a of batch) sofar.set(a.id, a.responses);
              },
            }
          : {}),
      });
    } catch (error) {
      progress.stop();
      if (answersPath === undefined || o.out === undefined || sofar.size === 0) throw error;
      const partial = partialReport(samples, sofar, name, model.label, maxTokens, o.seed);
      if (partial) await writeReport(partial, o.out);
      const reason = error instanceof Error ? error.message : String(error);
      throw new VZeroError(
        'EVAL_INCOMPLETE',
        `${reason} -- ${sofar.size} of ${samples.length} answers are kept in ${answersPath} and scored in a partial report in ${o.out}; rerun with --resume to ask only the rest`,
        { cause: error },
      );
    }
    progress.stop();
    if (model.policy instanceof RemotePolicy) {
      const s = model.policy.stats();
      log(
        `requests: ${s.calls} calls, ${s.retries} retries, ${s.failed} failed; per replica ` +
          s.replicas.map((r) => `${r.url} ${r.succeeded}`).join(', '),
      );
    }
    if (o.out) {
      const files = await writeReport(report, o.out);
      log(`report -> ${Object.values(files).join(', ')}`);
    }
    return report;
  } finally {
    model.dispose();
  }
}
