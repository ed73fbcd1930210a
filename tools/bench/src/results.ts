// The JSON every child writes and the parent collects: one object per backend configuration,
// plus the machine and the Python figures. Field names are the contract of --json output.
import type { Figure } from './stats.js';
import type { ConfigName, SizeName } from './options.js';

export interface MatmulFigure {
  readonly shape: string;
  readonly model: string;
  readonly gflops: Figure;
}

export interface TrainFigures {
  readonly stepsPerSecond: Figure;
  /** Milliseconds per stage (views, rollout, teacher, gate, update, total) over timed steps. */
  readonly stageMs: Record<string, Figure>;
  /** tf.memory().numTensors after each step, warm-up included. */
  readonly tensorsAfterStep: readonly number[];
  readonly config: {
    readonly prompts: number;
    readonly g: number;
    readonly maxTokens: number;
    readonly miniBatches: number;
  };
}

export interface WinsFigures {
  /** Rollout tokens/s per mode and the ratio of the optimised path to each naive one. */
  readonly rollout: Record<string, Figure>;
  readonly teacher: Record<string, Figure>;
  readonly ratios: Record<string, number>;
}

/** One kernel's total time in a profiled step, with its heaviest input shapes. */
export interface KernelTallyRow {
  readonly name: string;
  readonly ms: number;
  readonly calls: number;
  /** The input shapes (e.g. "[64,96,128]x[128,384]") whose calls took the most time in all. */
  readonly heaviest?: { readonly shapes: string; readonly ms: number; readonly calls: number };
}

export interface ReferenceFigures {
  readonly stepMs: Figure;
  readonly decodeMs: Figure;
  readonly decodeTokensPerSecond: Figure;
  /** Kernel-time tally of one training step (tf.profile): top kernels by total ms. */
  readonly topKernels: readonly KernelTallyRow[];
}

export interface ConfigResult {
  readonly config: ConfigName;
  readonly available: boolean;
  readonly reason?: string;
  readonly size?: SizeName;
  readonly backend?: string;
  readonly native?: {
    readonly available: boolean;
    readonly reason?: string;
    readonly kernels: readonly string[];
    readonly blas?: string;
    readonly threads?: number;
  };
  readonly viewsPerSecond?: Figure;
  readonly samplesPerSecond?: Figure;
  readonly rolloutTokensPerSecond?: Figure;
  readonly teacherTokensPerSecond?: Figure;
  readonly matmul?: readonly MatmulFigure[];
  readonly train?: TrainFigures;
  /** Kernel-time tally (tf.profile) of one V-Zero training step, with the reference workload. */
  readonly trainTopKernels?: readonly KernelTallyRow[];
  readonly wins?: WinsFigures;
  readonly reference?: ReferenceFigures;
  /** Peak resident set size of the child process, MiB. */
  readonly peakRssMiB?: number;
  /** tf.memory().numTensors at start and after each workload. */
  readonly tensors?: Record<string, number>;
  readonly wallSeconds?: number;
  /** Workloads that failed (the others still ran), with the error. */
  readonly errors?: Record<string, string>;
  readonly loadAverage?: { readonly start: string; readonly end: string };
}

export interface SuiteResult {
  readonly version: 1;
  readonly date: string;
  readonly machine: {
    readonly cpu: string;
    readonly cores: number;
    readonly memoryGiB: number;
    readonly node: string;
    readonly openblasCoretype?: string;
  };
  readonly options: Record<string, unknown>;
  readonly loadAverage: { readonly start: string; readonly end: string };
  readonly configs: readonly ConfigResult[];
  readonly python?: unknown;
}
