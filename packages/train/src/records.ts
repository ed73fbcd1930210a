// What a training run reports: one record per step and per evaluation (the lines of
// metrics.jsonl), the hooks that receive them, and what train() returns.
import type { Policy } from '@vzero/core';
import type { GateDiagnostics } from '@vzero/gate';
import type { OpdLossMetrics } from '@vzero/opd-loss';
import type { TrainConfig } from './config.js';
import type { LoadedPolicy } from './models.js';
import type { ImageSlots } from './prompts.js';
import type { RunDir } from './run/run-dir.js';

export interface TrainHooks {
  /** Called after every step with its metrics record. */
  readonly onStep?: (record: StepRecord) => void;
  /** Called with evaluation results (before training, every eval.every steps, at the end). */
  readonly onEval?: (record: EvalRecord) => void;
  readonly log?: (line: string) => void;
  /** Stops after the current step; a checkpoint is written so --resume continues from there. */
  readonly signal?: AbortSignal;
  /** Evaluates the student on a split (supplied by the app so this loop stays bench-agnostic). */
  readonly evaluate?: (student: EvalStudent, split: string, step: number) => Promise<EvalRecord>;
}

/** What an evaluation needs of the student, in-process or at a training service. */
export interface EvalStudent {
  readonly policy: Policy;
  /** Its image slots, to build its prompts. */
  readonly imageSlots: ImageSlots;
  /** Whether its prompts carry encoded images (a service reads PNG) rather than tensors. */
  readonly encodeImages: boolean;
}

/** The in-process student as an evaluation sees it. */
export const localEvalStudent = (loaded: LoadedPolicy): EvalStudent => ({
  policy: loaded.policy,
  imageSlots: loaded.model.config,
  encodeImages: false,
});

export interface StepRecord {
  readonly step: number;
  readonly method: TrainConfig['method'];
  readonly loss: number;
  readonly gradNorm: number;
  readonly opd?: OpdLossMetrics;
  readonly gate?: GateDiagnostics;
  readonly reward?: number;
  readonly rollout?: {
    readonly meanLength: number;
    readonly stopFraction: number;
    readonly tokens: number;
    /** Share of the step's groups whose G responses are all the same (the gate cannot act on them). */
    readonly identicalGroups?: number;
  };
  /** Negative views made by a fallback mode instead of views.negative (this step's prompts). */
  readonly negativeFallbacks?: number;
  /** V-Zero: how many of this step's negative views each mode actually made. */
  readonly negativeModes?: Readonly<Record<string, number>>;
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
export type StepResult = Omit<StepRecord, 'lr' | 'timestamp'>;

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
