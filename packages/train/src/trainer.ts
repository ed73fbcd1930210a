// The training loop: rollout -> teacher replay -> gate -> loss -> AdamW, one method at a time.
// The V-Zero and OPD paths take LabelFreeSample only (no answers exist in their types); SFT and
// GRPO are the label-using baselines. Metrics go to metrics.jsonl, checkpoints are atomic, and
// a resumed run reproduces the uninterrupted one (the data and seeds of step s depend only on s).
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { match } from 'ts-pattern';
import {
  InvalidInputError,
  deriveSeed,
  type LabelFreeSample,
  type Policy,
  type Prompt,
  type Trajectory,
} from '@vzero/core';
import { computeGate, gateConfig, type GateDiagnostics } from '@vzero/gate';
import {
  opdLoss,
  opdLossConfig,
  opdLossMetrics,
  type OpdLossConfig,
  type OpdLossMetrics,
} from '@vzero/opd-loss';
import { saveCheckpoint as saveModel, loadCheckpoint } from '@vzero/model';
import { padTrajectories, rolloutStats, sample } from '@vzero/rollout';
import { replay, type ReplayViews } from '@vzero/teacher';
import { RemoteError, RemotePolicy } from '@vzero/remote';
import { loadLabelFree, loadLabelled, referenceResponse, type WorldLabelledSample } from '@vzero/world';
import { readFile, writeFile } from 'node:fs/promises';
import type { TrainConfig } from './config.js';
import { batchIndices } from './data-order.js';
import { loadPolicy, type LoadedPolicy } from './models.js';
import { AdamW, type AdamWState } from './optim.js';
import { PromptFactory } from './prompts.js';
import { setupTensors } from './tensors.js';
import { appendMetrics, prepareRunDir, saveCheckpoint, type ResumeOptions, type RunDir } from './run-dir.js';
import { resumeRun } from './resume.js';
import { grpoLoss, groupAdvantages, rewardOf } from './grpo.js';
import { answerSpanMask, responsePieces } from './answer-span.js';
import { SelfTeacher } from './self-teacher.js';
import { RunTracker } from './tracking/tracker.js';
import { InspectRecorder, type InspectBatch } from './tracking/inspect-record.js';

export interface TrainHooks {
  /** Called after every step with its metrics record. */
  readonly onStep?: (record: StepRecord) => void;
  /** Called with evaluation results (before training, every eval.every steps, at the end). */
  readonly onEval?: (record: EvalRecord) => void;
  readonly log?: (line: string) => void;
  /** Stops after the current step; a checkpoint is written so --resume continues from there. */
  readonly signal?: AbortSignal;
  /** Evaluates the student on a split (supplied by the app so this loop stays bench-agnostic). */
  readonly evaluate?: (student: LoadedPolicy, split: string, step: number) => Promise<EvalRecord>;
}

export interface StepRecord {
  readonly step: number;
  readonly method: TrainConfig['method'];
  readonly loss: number;
  readonly gradNorm: number;
  readonly opd?: OpdLossMetrics;
  readonly gate?: GateDiagnostics;
  readonly reward?: number;
  readonly rollout?: { readonly meanLength: number; readonly stopFraction: number; readonly tokens: number };
  readonly negativeFallbacks?: number;
  /** gate.span 'answer': rollouts with no answer span, scored on all their tokens instead. */
  readonly answerSpanFallbacks?: number;
  /** Milliseconds per stage. */
  readonly time: Record<string, number>;
  readonly tokensPerSecond: number;
  /** The learning rate the step's update used. */
  readonly lr: number;
  /** When the step finished (ISO 8601). */
  readonly timestamp: string;
}

/** What a method's step computes; the loop adds the learning rate and the time. */
type StepResult = Omit<StepRecord, 'lr' | 'timestamp'>;

export interface EvalRecord {
  readonly event: 'eval';
  readonly step: number;
  readonly split: string;
  readonly accuracy: number;
  readonly n: number;
  /** When the evaluation finished (ISO 8601; added by the loop when the evaluator has none). */
  readonly timestamp?: string;
  readonly [key: string]: unknown;
}

export interface TrainResult {
  readonly steps: number;
  readonly resumedFrom: number;
  readonly records: StepRecord[];
  readonly evals: EvalRecord[];
  readonly run: RunDir;
  readonly student: LoadedPolicy;
}

interface Context {
  readonly config: TrainConfig;
  readonly student: LoadedPolicy;
  readonly teacher: Policy | undefined;
  /** The teacher when it is made of the student's own weights (moves after each update if EMA). */
  readonly self: SelfTeacher | undefined;
  readonly optimizer: AdamW;
  readonly prompts: PromptFactory;
  readonly lossConfig: OpdLossConfig;
  /** Records what `vzero inspect` shows (config.inspect). */
  readonly inspect: InspectRecorder | undefined;
}

const now = () => performance.now();

export async function train(
  config: TrainConfig,
  options: { resume?: boolean | ResumeOptions; hooks?: TrainHooks } = {},
): Promise<TrainResult> {
  const hooks = options.hooks ?? {};
  const log = hooks.log ?? (() => {});
  await setupTensors(log);

  const run = await prepareRunDir(
    config.out,
    config,
    options.resume === true ? { log } : (options.resume ?? false),
  );
  const student = await loadPolicy(config.models.student, 'models.student', 'student');
  const needsTeacher = config.method === 'vzero' || config.method === 'opd';
  const self =
    needsTeacher && config.models.selfTeacher !== 'off'
      ? await SelfTeacher.load(config.models.student, config.models.selfTeacher, config.models.selfTeacherEma)
      : undefined;
  const local =
    needsTeacher && !self && !config.models.teacherUrl
      ? await loadPolicy(config.models.teacher, 'models.teacher', 'teacher', student.tokenizer.id)
      : undefined;
  const teacher: Policy | undefined =
    self?.policy ?? local?.policy ?? (needsTeacher ? await connectTeacher(config, log) : undefined);
  const lossConfig = opdLossConfig({
    estimator: config.loss.estimator,
    mode: config.loss.mode,
    aggregation: config.loss.aggregation,
    clamp: config.loss.clamp,
  });
  const optimizer = new AdamW(student.model.trainableVariables, {
    lr: config.optim.lr,
    beta1: config.optim.beta1,
    beta2: config.optim.beta2,
    eps: 1e-8,
    weightDecay: config.optim.weightDecay,
    gradClip: config.optim.gradClip,
  });
  try {
    const prompts = new PromptFactory(student.model.config, local?.model.config, {
      negative: config.views.negative,
      factor: config.views.factor,
      padding: config.views.padding,
      seed: deriveSeed(config.seed, 'views'),
      // A remote teacher receives images as PNG data URLs; local models read pixels.
      encode: local === undefined && self === undefined && teacher !== undefined,
      cropSize: config.views.cropSize,
      ...(self ? { teacherCropOnly: true } : {}),
    });
    const inspect =
      needsTeacher && config.inspect.every > 0 ? new InspectRecorder(run.root, config.inspect) : undefined;
    const ctx: Context = { config, student, teacher, self, optimizer, prompts, lossConfig, inspect };

    let start = 0;
    if (options.resume) start = await resumeRun(run, (folder) => restore(ctx, folder), log);
    // TensorBoard event file, curves and CSV next to metrics.jsonl (rebuilt from it on resume).
    const tracker = await RunTracker.open(run);
    await inspect?.truncate(start);
    const logRecord = async (record: StepRecord | EvalRecord) => {
      await appendMetrics(run, record as unknown as Record<string, unknown>);
      tracker.record(record as unknown as Record<string, unknown>);
    };

    // The label-free methods load manifests only: the labels file of the training split is never read.
    const data = await match(config.method)
      .with('vzero', 'opd', async () => ({ kind: 'label-free' as const, samples: await loadSplit(config) }))
      .with('sft', 'grpo', async () => ({
        kind: 'labelled' as const,
        samples: await loadLabelledSplit(config),
      }))
      .exhaustive();

    const records: StepRecord[] = [];
    const evals: EvalRecord[] = [];
    const evaluateAll = async (step: number) => {
      if (!hooks.evaluate) return;
      for (const split of config.eval.splits) {
        const evaluated = await hooks.evaluate(student, split, step);
        const record: EvalRecord = {
          ...evaluated,
          timestamp: evaluated.timestamp ?? new Date().toISOString(),
        };
        evals.push(record);
        await logRecord(record);
        hooks.onEval?.(record);
      }
    };
    if (start === 0) await evaluateAll(0);

    let step = start;
    while (step < config.steps) {
      step++;
      const rows = batchIndices(data.samples.length, config.optim.promptsPerStep, step, config.seed);
      const result = await match(data)
        .with({ kind: 'label-free' }, (d) =>
          distillStep(
            ctx,
            step,
            rows.map((r) => d.samples[r] as LabelFreeSample),
          ),
        )
        .with({ kind: 'labelled' }, (d) =>
          config.method === 'sft'
            ? sftStep(
                ctx,
                step,
                rows.map((r) => d.samples[r] as WorldLabelledSample),
              )
            : grpoStep(
                ctx,
                step,
                rows.map((r) => d.samples[r] as WorldLabelledSample),
              ),
        )
        .exhaustive();
      // No schedule: every step uses optim.lr (logged so that curves and trackers show it).
      const record: StepRecord = { ...result, lr: config.optim.lr, timestamp: new Date().toISOString() };
      records.push(record);
      await logRecord(record);
      hooks.onStep?.(record);
      const aborted = hooks.signal?.aborted ?? false;
      if (
        (config.checkpointEvery > 0 && step % config.checkpointEvery === 0) ||
        step === config.steps ||
        aborted
      ) {
        await checkpoint(ctx, run, step);
        // Curves and CSV follow the checkpoints of a long run (the end writes them anyway).
        if (step !== config.steps && !aborted) await tracker.writeArtifacts();
      }
      if (config.eval.every > 0 && step % config.eval.every === 0 && step !== config.steps)
        await evaluateAll(step);
      if (aborted) {
        log(`stopped after step ${step}; continue with --resume`);
        break;
      }
    }
    if (step === config.steps && step > start) await evaluateAll(step);
    await tracker.writeArtifacts();
    await saveModel(join(run.root, 'student'), student.model, student.tokenizer, {
      step,
      method: config.method,
    });
    return { steps: step, resumedFrom: start, records, evals, run, student };
  } catch (error) {
    student.model.dispose();
    throw error;
  } finally {
    optimizer.dispose();
    local?.model.dispose();
    self?.dispose();
  }
}

/**
 * The remote teacher through @vzero/remote: one server or several replicas of it (requests
 * spread by least outstanding requests, a failing replica's requests retried on the others),
 * the API key from $VZERO_API_KEY, retries with backoff. Errors name the config keys.
 */
async function connectTeacher(config: TrainConfig, log: (line: string) => void): Promise<Policy> {
  const setting = config.models.teacherUrl as string | readonly string[];
  const urls = typeof setting === 'string' ? [setting] : setting;
  const model = config.models.teacherModel;
  try {
    return await RemotePolicy.connect({
      baseUrl: urls.length === 1 ? (urls[0] as string) : urls,
      ...(model !== undefined ? { model } : {}),
      name: 'teacher',
      logger: (line) => log(`teacher: ${line}`),
    });
  } catch (error) {
    if (error instanceof RemoteError) {
      throw new InvalidInputError('models.teacherUrl', setting, `cannot reach the server (${error.message})`);
    }
    if (error instanceof InvalidInputError && error.field.startsWith('options.')) {
      // The options' names mean nothing to someone who wrote a train config: name its keys.
      const key = error.field
        .replace(/^options\.baseUrl/, 'models.teacherUrl')
        .replace(/^options\.model$/, 'models.teacherModel');
      const prefix = new InvalidInputError(error.field, error.value, '').message;
      const reason = error.message.slice(prefix.length);
      throw new InvalidInputError(key, error.value, reason);
    }
    throw error;
  }
}

async function loadSplit(config: TrainConfig): Promise<LabelFreeSample[]> {
  const samples = await loadLabelFree(config.data.dir, config.data.split);
  return config.data.limit > 0 ? samples.slice(0, config.data.limit) : samples;
}

async function loadLabelledSplit(config: TrainConfig): Promise<WorldLabelledSample[]> {
  const samples = await loadLabelled(config.data.dir, config.data.split);
  return config.data.limit > 0 ? samples.slice(0, config.data.limit) : samples;
}

function samplingOptions(config: TrainConfig, step: number) {
  return {
    n: config.rollout.n,
    temperature: config.rollout.temperature,
    topP: config.rollout.topP,
    topK: config.rollout.topK,
    maxTokens: config.rollout.maxTokens,
    seed: deriveSeed(config.seed, `rollout:${step}`),
  };
}

/** V-Zero (gated) and plain OPD: the only step that runs on label-free samples. */
async function distillStep(
  ctx: Context,
  step: number,
  samples: readonly LabelFreeSample[],
): Promise<StepResult> {
  const { config, student } = ctx;
  const teacher = ctx.teacher as Policy;
  const gated = config.method === 'vzero';
  const time: Record<string, number> = {};
  let t = now();
  const built = await Promise.all(samples.map((s) => ctx.prompts.forSample(s)));
  const views = new Map<string, ReplayViews>(
    built.map((b) => [b.student.id, gated ? b.teacher : { positive: b.teacher.positive }]),
  );
  const negativeFallbacks = built.filter((b) => b.negativeMode !== config.views.negative).length;
  time['views'] = now() - t;

  t = now();
  const groups = await sample(
    student.policy,
    built.map((b) => b.student),
    samplingOptions(config, step),
  );
  const trajectories = groups.flat();
  time['rollout'] = now() - t;

  t = now();
  const topK = config.loss.estimator === 'forward-kl-topk' ? config.loss.topK : undefined;
  const scores = await replay(teacher, trajectories, views, {
    studentTokenizerId: student.tokenizer.id,
    negative: gated,
    ...(topK ? { topK } : {}),
  });
  time['teacher'] = now() - t;

  t = now();
  let weights: Float64Array;
  let gate: GateDiagnostics | undefined;
  let spanFallbacks: number | undefined;
  let gateOut: NonNullable<InspectBatch['gate']> | undefined;
  if (gated) {
    const masks = gateMasks(config, trajectories, (ids) => student.tokenizer.decode(ids));
    const g = computeGate(
      trajectories.map((tr, i) => ({
        group: tr.groupId,
        positive: scores[i]?.positive as Float32Array,
        negative: scores[i]?.negative as Float32Array,
        mask: masks.masks[i] as ArrayLike<number>,
      })),
      gateConfig(config.gate.preset, gateOverrides(config)),
    );
    weights = g.weights;
    gate = g.diagnostics;
    gateOut = { scores: g.scores, advantages: g.advantages, masks: masks.masks };
    spanFallbacks = masks.fallbacks;
  } else {
    weights = new Float64Array(trajectories.length).fill(1);
  }
  time['gate'] = now() - t;

  t = now();
  const promptById = new Map(built.map((b) => [b.student.id, b.student]));
  const update = updateStudent(
    ctx,
    trajectories,
    (rows, T) => {
      const teacherRows = new Float32Array(rows.length * T);
      rows.forEach((r, b) => teacherRows.set((scores[r]?.positive as Float32Array).subarray(0, T), b * T));
      return {
        teacher: teacherRows,
        weights: rows.map((r) => weights[r] as number),
        topK: topK ? topKRows(rows, T, topK, scores) : undefined,
      };
    },
    promptById,
  );
  ctx.self?.update(student.model);
  time['update'] = now() - t;
  time['total'] = Object.values(time).reduce((a, b) => a + b, 0);
  if (ctx.inspect?.due(step)) {
    await ctx.inspect.record({
      step,
      method: config.method,
      samples,
      prompts: built.map((b) => ({
        student: b.student,
        positive: b.teacher.positive,
        ...(gated ? { negative: b.teacher.negative } : {}),
        negativeMode: b.negativeMode,
      })),
      trajectories,
      scores,
      ...(gateOut ? { gate: gateOut } : {}),
      weights,
      decode: (ids) => student.tokenizer.decode(ids),
    });
  }
  const stats = rolloutStats(groups);
  return {
    step,
    method: config.method,
    loss: update.loss,
    gradNorm: update.gradNorm,
    opd: update.metrics,
    ...(gate ? { gate } : {}),
    ...(spanFallbacks !== undefined ? { answerSpanFallbacks: spanFallbacks } : {}),
    rollout: { meanLength: stats.meanLength, stopFraction: stats.fractionStopped, tokens: stats.tokens },
    negativeFallbacks,
    time,
    tokensPerSecond: stats.tokens / Math.max(time['total'] / 1000, 1e-9),
  };
}

/** The tokens each rollout's gate score reads: all real tokens, or the answer span (gate.span). */
function gateMasks(
  config: TrainConfig,
  trajectories: readonly Trajectory[],
  decode: (ids: readonly number[]) => string,
): { masks: ArrayLike<number>[]; fallbacks: number | undefined } {
  if (config.gate.span === 'all') return { masks: trajectories.map((tr) => tr.mask), fallbacks: undefined };
  let fallbacks = 0;
  const masks = trajectories.map((tr) => {
    const span = answerSpanMask(responsePieces(decode, tr.tokenIds), tr.mask);
    if (!span.found) fallbacks++;
    return span.mask;
  });
  return { masks, fallbacks };
}

function gateOverrides(config: TrainConfig) {
  const g = config.gate;
  return {
    ...(g.alpha !== undefined ? { alpha: g.alpha } : {}),
    ...(g.gamma !== undefined ? { gamma: g.gamma } : {}),
    ...(g.wMin !== undefined ? { wMin: g.wMin } : {}),
    ...(g.wMax !== undefined ? { wMax: g.wMax } : {}),
    ...(g.eps !== undefined ? { eps: g.eps } : {}),
  };
}

function topKRows(rows: readonly number[], T: number, K: number, scores: Awaited<ReturnType<typeof replay>>) {
  const ids = new Int32Array(rows.length * T * K);
  const logprobs = new Float32Array(rows.length * T * K).fill(0);
  rows.forEach((r, b) => {
    const topK = scores[r]?.topK;
    if (!topK) return;
    for (let k = 0; k < T && k < topK.ids.length; k++) {
      ids.set((topK.ids[k] as Int32Array).subarray(0, K), (b * T + k) * K);
      logprobs.set((topK.logprobs[k] as Float32Array).subarray(0, K), (b * T + k) * K);
    }
  });
  return { ids, logprobs, K };
}

interface UpdateResult {
  readonly loss: number;
  readonly gradNorm: number;
  readonly metrics: OpdLossMetrics;
}

/**
 * One pass over the step's trajectories in `miniBatches` chunks (one PPO epoch, as the reference
 * launcher). `constants(rows, T)` supplies the teacher log-probs and weights of the chunk.
 */
function updateStudent(
  ctx: Context,
  trajectories: readonly Trajectory[],
  constants: (
    rows: readonly number[],
    T: number,
  ) => {
    teacher: Float32Array;
    weights: number[];
    topK: { ids: Int32Array; logprobs: Float32Array; K: number } | undefined;
  },
  promptById: ReadonlyMap<string, Prompt>,
): UpdateResult {
  const { student, optimizer, lossConfig } = ctx;
  const chunks = splitRows(trajectories.length, ctx.config.optim.miniBatches);
  let lossSum = 0;
  let normSum = 0;
  const metrics: OpdLossMetrics[] = [];
  for (const rows of chunks) {
    const chunk = rows.map((r) => trajectories[r] as Trajectory);
    const padded = padTrajectories(chunk, { padId: student.tokenizer.padId });
    const T = padded.length;
    const c = constants(rows, T);
    const batch = student.policy.batch(
      chunk.map((tr) => promptById.get(tr.promptId) as Prompt),
      chunk.map((tr) => tr.tokenIds),
    );
    const B = chunk.length;
    // Constants of the chunk: teacher log-probs, mask, old log-probs and weights carry no gradient.
    const held: tf.Tensor[] = [];
    const hold = <T extends tf.Tensor>(x: T): T => (held.push(x), x);
    const teacherLogprobs = hold(tf.tensor2d(c.teacher, [B, T]));
    const mask = hold(tf.tensor2d(padded.mask, [B, T]));
    const oldLogprobs = hold(tf.tensor2d(padded.logprobs, [B, T]));
    const weights = hold(tf.tensor1d(c.weights));
    const teacherTopK = c.topK ? hold(tf.tensor3d(c.topK.logprobs, [B, T, c.topK.K])) : undefined;
    const idsTopK = c.topK ? hold(tf.tensor3d(c.topK.ids, [B, T, c.topK.K], 'int32')) : undefined;
    const inputsFor = (studentLogprobs: tf.Tensor2D, studentTopK?: tf.Tensor3D) => ({
      studentLogprobs,
      oldLogprobs,
      teacherLogprobs,
      mask,
      weights,
      ...(teacherTopK && studentTopK ? { teacherTopK, studentTopK } : {}),
    });
    let result: { loss: number; norm: number; m: OpdLossMetrics };
    try {
      // Metrics come from the forward pass the gradient uses (kept out of its tidy), read
      // before the optimizer step: a second forward pass would compute the same numbers.
      let forward: { s: tf.Tensor2D; sTopK: tf.Tensor3D | undefined } | undefined;
      let m: OpdLossMetrics | undefined;
      const { loss, norm } = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const sl = student.model.responseLogprobs(batch);
          const st = idsTopK ? student.model.responseTopKLogprobs(batch, idsTopK as tf.Tensor3D) : undefined;
          forward = { s: hold(tf.keep(sl)), sTopK: st ? hold(tf.keep(st)) : undefined };
          return opdLoss(inputsFor(sl, st), lossConfig);
        }, student.model.trainableVariables);
        const kept = forward as NonNullable<typeof forward>;
        m = opdLossMetrics(inputsFor(kept.s, kept.sTopK), lossConfig);
        return { loss: value.dataSync()[0] as number, norm: optimizer.apply(grads) };
      });
      result = { loss, norm, m: m as OpdLossMetrics };
    } finally {
      for (const x of held) x.dispose();
    }
    lossSum += result.loss;
    normSum += result.norm;
    metrics.push(result.m);
  }
  return { loss: lossSum / chunks.length, gradNorm: normSum / chunks.length, metrics: meanMetrics(metrics) };
}

function splitRows(count: number, parts: number): number[][] {
  const n = Math.max(1, Math.min(parts, count));
  const out: number[][] = [];
  for (let p = 0; p < n; p++) {
    const lo = Math.floor((p * count) / n);
    const hi = Math.floor(((p + 1) * count) / n);
    out.push(Array.from({ length: hi - lo }, (_, i) => lo + i));
  }
  return out;
}

function meanMetrics(ms: readonly OpdLossMetrics[]): OpdLossMetrics {
  const out: Record<string, number> = {};
  for (const m of ms)
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[k] = (out[k] ?? 0) + v / ms.length;
  return out as unknown as OpdLossMetrics;
}

/** SFT baseline: teacher forcing on the labelled reference responses. */
async function sftStep(
  ctx: Context,
  step: number,
  samples: readonly WorldLabelledSample[],
): Promise<StepResult> {
  const { student, optimizer } = ctx;
  const time: Record<string, number> = {};
  let t = now();
  const prompts = await Promise.all(samples.map((s) => ctx.prompts.student(s)));
  time['views'] = now() - t;
  t = now();
  const responses = samples.map((s, i) => {
    if (!s.facts) throw new Error(`sample ${s.id} has no evidence facts; SFT needs world labels`);
    return student.policy.encodeResponse(
      referenceResponse({ options: s.options, answerIndex: s.answerIndex, facts: s.facts }),
      `samples[${i}]`,
    );
  });
  const batch = student.policy.batch(prompts, responses);
  const { loss, norm } = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(
      () => student.model.supervisedLoss(batch),
      student.model.trainableVariables,
    );
    return { loss: value.dataSync()[0] as number, norm: optimizer.apply(grads) };
  });
  time['update'] = now() - t;
  time['total'] = time['views'] + time['update'];
  const tokens = responses.reduce((n, r) => n + r.length, 0);
  return {
    step,
    method: 'sft',
    loss,
    gradNorm: norm,
    time,
    tokensPerSecond: tokens / Math.max(time['total'] / 1000, 1e-9),
  };
}

/** GRPO baseline: verifiable reward from answers, group-normalised advantages, PPO clip. */
async function grpoStep(
  ctx: Context,
  step: number,
  samples: readonly WorldLabelledSample[],
): Promise<StepResult> {
  const { config, student, optimizer } = ctx;
  const time: Record<string, number> = {};
  let t = now();
  const prompts = await Promise.all(samples.map((s) => ctx.prompts.student(s)));
  time['views'] = now() - t;
  t = now();
  const groups = await sample(student.policy, prompts, samplingOptions(config, step));
  time['rollout'] = now() - t;
  t = now();
  const rewards = groups.map((g, i) => g.map((tr) => rewardOf(tr.text, samples[i] as WorldLabelledSample)));
  const advantages = groupAdvantages(rewards);
  const trajectories = groups.flat();
  const flatAdv = advantages.flat();
  const promptById = new Map(prompts.map((p) => [p.id, p]));
  let lossSum = 0;
  let normSum = 0;
  const chunks = splitRows(trajectories.length, config.optim.miniBatches);
  for (const rows of chunks) {
    const chunk = rows.map((r) => trajectories[r] as Trajectory);
    const padded = padTrajectories(chunk, { padId: student.tokenizer.padId });
    const batch = student.policy.batch(
      chunk.map((tr) => promptById.get(tr.promptId) as Prompt),
      chunk.map((tr) => tr.tokenIds),
    );
    const r = tf.tidy(() => {
      const B = chunk.length;
      const T = padded.length;
      const old = tf.tensor2d(padded.logprobs, [B, T]);
      const mask = tf.tensor2d(padded.mask, [B, T]);
      const adv = tf.tensor1d(rows.map((i) => flatAdv[i] as number));
      const { value, grads } = tf.variableGrads(
        () => grpoLoss(student.model.responseLogprobs(batch), old, adv, mask, ctx.lossConfig),
        student.model.trainableVariables,
      );
      return { loss: value.dataSync()[0] as number, norm: optimizer.apply(grads) };
    });
    lossSum += r.loss;
    normSum += r.norm;
  }
  time['update'] = now() - t;
  time['total'] = Object.values(time).reduce((a, b) => a + b, 0);
  const stats = rolloutStats(groups);
  const reward = rewards.flat().reduce((a, b) => a + b, 0) / Math.max(1, trajectories.length);
  return {
    step,
    method: 'grpo',
    loss: lossSum / chunks.length,
    gradNorm: normSum / chunks.length,
    reward,
    rollout: { meanLength: stats.meanLength, stopFraction: stats.fractionStopped, tokens: stats.tokens },
    time,
    tokensPerSecond: stats.tokens / Math.max(time['total'] / 1000, 1e-9),
  };
}

interface TrainerState {
  readonly step: number;
  readonly optimizer: AdamWState;
}

async function checkpoint(ctx: Context, run: RunDir, step: number): Promise<void> {
  await saveCheckpoint(run, step, async (folder) => {
    await saveModel(join(folder, 'student'), ctx.student.model, ctx.student.tokenizer, { step });
    // An EMA self-teacher is state too: a resumed run must continue from the same average.
    if (ctx.self?.mode === 'ema') {
      await saveModel(join(folder, 'self-teacher'), ctx.self.model, ctx.student.tokenizer, { step });
    }
    const state: TrainerState = { step, optimizer: ctx.optimizer.getState() };
    await writeFile(join(folder, 'state.json'), JSON.stringify(state));
  });
}

async function restore(ctx: Context, folder: string): Promise<void> {
  const loaded = await loadCheckpoint(join(folder, 'student'), { tokenizerId: ctx.student.tokenizer.id });
  const weights = new Map(loaded.model.getWeights().map((w) => [w.name, w.tensor as tf.Tensor]));
  ctx.student.model.setWeights(weights);
  loaded.model.dispose();
  if (ctx.self?.mode === 'ema') {
    const ema = await loadCheckpoint(join(folder, 'self-teacher'), { tokenizerId: ctx.student.tokenizer.id });
    ctx.self.model.setWeights(new Map(ema.model.getWeights().map((w) => [w.name, w.tensor as tf.Tensor])));
    ema.model.dispose();
  }
  const state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8')) as TrainerState;
  ctx.optimizer.setState(state.optimizer);
}
