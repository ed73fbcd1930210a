// V-Zero (gated on-policy distillation) and plain OPD (every weight 1): one step with a flag,
// `gated`, so one module with two methods. They run on label-free samples only. Student rollouts
// -> teacher replay under the positive view (and the negative view for the gate) -> gate weights
// -> the weighted OPD loss in mini-batches. V-Zero owns the config's `gate` section.
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { InvalidInputError, type LabelFreeSample, type Policy, type Trajectory } from '@vzero/core';
import {
  GATE_PRESET_NAMES,
  computeGate,
  computeTokenGate,
  gateConfig,
  type GateDiagnostics,
} from '@vzero/gate';
import { opdLoss, opdLossMetrics, type OpdLossInputs, type OpdLossMetrics } from '@vzero/opd-loss';
import { rolloutStats, sample, type RolloutStats } from '@vzero/rollout';
import { replay, type ReplayViews } from '@vzero/teacher';
import type { TrainConfig } from '../config.js';
import { answerSpanMask, responsePieces } from '../answer-span.js';
import { updateInMiniBatches, type ObjectiveOf, type StudentForward } from '../mini-batch.js';
import type { StepResult } from '../records.js';
import type { SamplePrompts } from '../prompts.js';
import type { InspectBatch } from '../tracking/inspect-record.js';
import { now, samplingOptions, throughput, type StepContext } from '../steps/context.js';
import { packTeacherLogprobs, packTeacherTopK, packTokenWeights } from '../steps/teacher-rows.js';
import type { ConfigIssue, MethodSpec } from './spec.js';

/** One V-Zero step (`gated`: the teacher also replays the negative view) or plain OPD step. */
export async function opdStep(
  ctx: StepContext,
  step: number,
  samples: readonly LabelFreeSample[],
  gated: boolean,
): Promise<StepResult> {
  const { config, student } = ctx;
  const time: Record<string, number> = {};
  const { built, groups, trajectories, scores, gate, weights, topK, negativeFallbacks, negativeModes } =
    await opdForward(
      {
        config,
        step,
        samples,
        gated,
        prompts: ctx.prompts,
        student: student.policy,
        tokenizer: student.tokenizer,
        teacher: ctx.teacher as Policy,
      },
      time,
    );

  const t = now();
  const promptById = new Map(built.map((b) => [b.student.id, b.student]));
  const objective: ObjectiveOf<OpdLossMetrics> = ({ rows, padded, B, T }, hold) => {
    const packed = topK ? packTeacherTopK(rows, T, topK, scores) : undefined;
    const teacherLogprobs = hold(tf.tensor2d(packTeacherLogprobs(rows, T, scores), [B, T]));
    const mask = hold(tf.tensor2d(padded.mask, [B, T]));
    const oldLogprobs = hold(tf.tensor2d(padded.logprobs, [B, T]));
    const rowWeights = hold(
      gate?.tokenWeights
        ? tf.tensor2d(packTokenWeights(rows, T, gate.tokenWeights), [B, T])
        : tf.tensor1d(rows.map((r) => weights[r] as number)),
    );
    const teacherTopK = packed ? hold(tf.tensor3d(packed.logprobs, [B, T, packed.K])) : undefined;
    const topKIds = packed ? hold(tf.tensor3d(packed.ids, [B, T, packed.K], 'int32')) : undefined;
    const inputs = (forward: StudentForward): OpdLossInputs => ({
      studentLogprobs: forward.logprobs,
      oldLogprobs,
      teacherLogprobs,
      mask,
      weights: rowWeights,
      ...(teacherTopK && forward.topK ? { teacherTopK, studentTopK: forward.topK } : {}),
    });
    return {
      topKIds,
      loss: (forward) => opdLoss(inputs(forward), ctx.lossConfig),
      metrics: (forward) => opdLossMetrics(inputs(forward), ctx.lossConfig),
    };
  };
  const update = updateInMiniBatches(
    student,
    ctx.optimizer,
    trajectories,
    promptById,
    config.optim.miniBatches,
    objective,
    { sharePrefix: config.optim.sharePrefix },
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
      ...(gate ? { gate: gate.inspect } : {}),
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
    opd: meanMetrics(update.metrics),
    ...(gate ? { gate: gate.diagnostics } : {}),
    ...(gate?.spanFallbacks !== undefined ? { answerSpanFallbacks: gate.spanFallbacks } : {}),
    rollout: rolloutRecord(stats),
    negativeFallbacks,
    ...(negativeModes ? { negativeModes } : {}),
    time,
    tokensPerSecond: throughput(time, stats.tokens),
  };
}

/** A step record's rollout numbers from the batch's statistics. */
export function rolloutRecord(stats: RolloutStats): NonNullable<StepResult['rollout']> {
  return {
    meanLength: stats.meanLength,
    stopFraction: stats.fractionStopped,
    tokens: stats.tokens,
    identicalGroups: stats.identicalGroups,
  };
}

/**
 * The forward half of a V-Zero or OPD step, the same whether the student is in-process or at a
 * training service: the prompts' views, the student's rollouts, the teacher's replay (under the
 * negative view too when gated) and the gate's weights, each stage timed into `time`.
 */
export async function opdForward(
  o: {
    readonly config: TrainConfig;
    readonly step: number;
    readonly samples: readonly LabelFreeSample[];
    readonly gated: boolean;
    readonly prompts: { forSample(sample: LabelFreeSample): Promise<SamplePrompts> };
    readonly student: Policy;
    readonly tokenizer: { readonly id: string; decode(ids: readonly number[]): string };
    readonly teacher: Policy;
  },
  time: Record<string, number>,
) {
  const { config, gated } = o;
  let t = now();
  const built = await Promise.all(o.samples.map((s) => o.prompts.forSample(s)));
  const { views, negativeFallbacks, negativeModes } = replayViews(built, gated, config.views.negative);
  time['views'] = now() - t;

  t = now();
  const groups = await sample(
    o.student,
    built.map((b) => b.student),
    samplingOptions(config, o.step),
  );
  const trajectories = groups.flat();
  time['rollout'] = now() - t;

  t = now();
  const topK = config.loss.estimator === 'forward-kl-topk' ? config.loss.topK : undefined;
  const scores = await replay(o.teacher, trajectories, views, {
    studentTokenizerId: o.tokenizer.id,
    negative: gated,
    ...(topK ? { topK } : {}),
  });
  time['teacher'] = now() - t;

  t = now();
  const gate = gated
    ? gateWeights(config, trajectories, scores, (ids) => o.tokenizer.decode(ids))
    : undefined;
  const weights = gate?.weights ?? new Float64Array(trajectories.length).fill(1);
  time['gate'] = now() - t;
  return { built, groups, trajectories, scores, gate, weights, topK, negativeFallbacks, negativeModes };
}

/**
 * What the teacher replays each prompt under (the negative view only when gated), and which mode
 * really made each negative view (the requested one, or a fallback), reported per step.
 */
export function replayViews(
  built: readonly SamplePrompts[],
  gated: boolean,
  requested: string,
): {
  views: Map<string, ReplayViews>;
  negativeFallbacks: number;
  negativeModes: Record<string, number> | undefined;
} {
  const views = new Map<string, ReplayViews>(
    built.map((b) => [b.student.id, gated ? b.teacher : { positive: b.teacher.positive }]),
  );
  const negativeFallbacks = built.filter((b) => b.negativeMode !== requested).length;
  if (!gated) return { views, negativeFallbacks, negativeModes: undefined };
  const negativeModes: Record<string, number> = {};
  for (const b of built) negativeModes[b.negativeMode] = (negativeModes[b.negativeMode] ?? 0) + 1;
  return { views, negativeFallbacks, negativeModes };
}

interface GateWeights {
  /** Per rollout: its weight (sequence gate), or its tokens' mean weight (token gate). */
  readonly weights: Float64Array;
  /** gate.level 'token': each rollout's per-token weights (0 at padding); what the loss reads. */
  readonly tokenWeights?: Float64Array[];
  readonly diagnostics: GateDiagnostics;
  /** gate.span 'answer': rollouts without an answer span (scored on all their tokens). */
  readonly spanFallbacks: number | undefined;
  readonly inspect: NonNullable<InspectBatch['gate']>;
}

/** The contrastive evidence gate's per-rollout weights from the teacher's two replays. */
export function gateWeights(
  config: TrainConfig,
  trajectories: readonly Trajectory[],
  scores: Awaited<ReturnType<typeof replay>>,
  decode: (ids: readonly number[]) => string,
): GateWeights {
  const masks = gateMasks(config, trajectories, decode);
  const sequences = trajectories.map((tr, i) => ({
    group: tr.groupId,
    positive: scores[i]?.positive as Float32Array,
    negative: scores[i]?.negative as Float32Array,
    mask: masks.masks[i] as ArrayLike<number>,
  }));
  const settings = gateConfig(config.gate.preset, gateOverrides(config));
  if (config.gate.level === 'token') {
    const g = computeTokenGate(sequences, settings);
    // Outside the scored span (gate.span answer) a token keeps weight 1: the gate reweights the
    // tokens it reads and leaves the rest as OPD has them.
    const tokenWeights = g.weights.map((w, i) => {
      const read = masks.masks[i] as ArrayLike<number>;
      const real = trajectories[i]?.mask as ArrayLike<number>;
      return Float64Array.from(w, (x, k) => (read[k] === 1 ? x : real[k] === 1 ? 1 : 0));
    });
    const meanOver = (xs: readonly Float64Array[]) =>
      Float64Array.from(xs, (x, i) => meanAt(x, masks.masks[i] as ArrayLike<number>));
    return {
      weights: meanOver(tokenWeights),
      tokenWeights,
      diagnostics: g.diagnostics,
      spanFallbacks: masks.fallbacks,
      inspect: { scores: meanOver(g.scores), advantages: meanOver(g.advantages), masks: masks.masks },
    };
  }
  const g = computeGate(sequences, settings);
  return {
    weights: g.weights,
    diagnostics: g.diagnostics,
    spanFallbacks: masks.fallbacks,
    inspect: { scores: g.scores, advantages: g.advantages, masks: masks.masks },
  };
}

/** Mean of x over the positions where mask is 1 (0 when there are none). */
function meanAt(x: ArrayLike<number>, mask: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let k = 0; k < x.length; k++)
    if (mask[k] === 1) {
      sum += x[k] as number;
      n++;
    }
  return n > 0 ? sum / n : 0;
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

/** The mean of each metric over the mini-batches. */
export function meanMetrics(ms: readonly OpdLossMetrics[]): OpdLossMetrics {
  const out: Record<string, number> = {};
  for (const m of ms)
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number') out[k] = (out[k] ?? 0) + v / ms.length;
  return out as unknown as OpdLossMetrics;
}

const nonNegative = z.number().min(0);

/** V-Zero's section of the train config: the contrastive evidence gate (docs/METHOD.md). */
export const gateSectionSchema = z.strictObject({
  preset: z.enum(GATE_PRESET_NAMES).default('reference'),
  /**
   * Tokens the gate scores: 'all' response tokens (the paper), or only the 'answer' span after
   * the response's "answer" marker (located from the format, never from a label).
   */
  span: z.enum(['all', 'answer']).default('all'),
  /**
   * 'sequence': one weight per rollout from its mean contrast (the paper). 'token': each response
   * token weighted by its own contrast, standardised over its group's tokens (docs/METHOD.md,
   * "The token-level gate"; a toolkit variant).
   */
  level: z.enum(['sequence', 'token']).default('sequence'),
  alpha: nonNegative.optional(),
  gamma: nonNegative.optional(),
  wMin: z.number().optional(),
  wMax: z.number().optional(),
  eps: z.number().positive().optional(),
});

/**
 * The gate's settings as the step will resolve them (preset, then overrides), checked when the
 * config is read: a bad pair (wMin above wMax) is named before any model loads or rollout runs.
 */
function checkGate(config: TrainConfig, issue: ConfigIssue): void {
  try {
    const { preset, span: _span, level: _level, ...overrides } = config.gate;
    gateConfig(preset, Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)));
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    const key = error.field.replace(/^gate\./, '');
    issue(['gate', key], error.message.slice(error.message.indexOf(': ') + 2), error.value);
  }
}

/** V-Zero: OPD with each rollout weighted by the contrastive evidence gate. */
export const vzeroMethod: MethodSpec<'vzero', 'label-free', 'gate', typeof gateSectionSchema> = {
  name: 'vzero',
  description: 'V-Zero: on-policy distillation weighted by the contrastive evidence gate (label-free)',
  data: 'label-free',
  teacher: { views: ['positive', 'negative'] },
  config: { key: 'gate', schema: gateSectionSchema, check: checkGate },
  remote: 'opd',
  warnings: (config) =>
    config.rollout.n === 1
      ? [
          'rollout.n = 1 with method vzero: the gate normalises each rollout against its own group, so with ' +
            'one rollout per prompt every weight is 1 and V-Zero is plain OPD; use rollout.n >= 2 (the paper: 8)',
        ]
      : [],
  step: (ctx, step, samples) => opdStep(ctx, step, samples, true),
};

/** Plain on-policy distillation: every rollout weight 1, no negative replay. */
export const opdMethod: MethodSpec<'opd', 'label-free', never> = {
  name: 'opd',
  description: 'on-policy distillation with every weight 1 (label-free; no negative view)',
  data: 'label-free',
  teacher: { views: ['positive'] },
  remote: 'opd',
  step: (ctx, step, samples) => opdStep(ctx, step, samples, false),
};
