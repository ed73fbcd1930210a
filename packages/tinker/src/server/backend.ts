// The training engine behind the server: TinkerBackend. The server owns the protocol (sessions,
// futures, ordering, checkpoint names and tinker:// paths, encodings); a backend owns models and
// the math. Concurrency: the calls for one model (createModel, forward, forwardBackward,
// optimStep, save*, loadWeights, unloadModel) arrive one at a time, in the order the client
// submitted them (seq_id order); calls for different models may overlap, and sample() is called
// as soon as a request comes, alongside anything else (other samples, training of the model whose
// checkpoint it reads). A backend whose engine cannot overlap work serialises it itself. Every method may throw: an
// InvalidInputError or ShapeMismatchError (from @vzero/core) is reported to the client as a
// "user" failure, anything else as a "server" failure. Results are plain wire objects.
import type {
  AdamParams,
  Datum,
  ForwardBackwardOutput,
  LoraConfig,
  LossFnType,
  ModelInput,
  OptimStepResponse,
  SampleResponse,
  SamplingParams,
  SupportedModel,
} from '../types.js';

/** A checkpoint the server named: tinker://<modelId>/<kind>/<name>. */
export interface CheckpointRef {
  /** The model that saved it. */
  readonly modelId: string;
  /** "weights" (save_weights: weights + optimizer, to resume) or "sampler_weights". */
  readonly kind: CheckpointKind;
  readonly name: string;
  readonly path: string;
}
export type CheckpointKind = 'weights' | 'sampler_weights';

export interface ModelSpec {
  readonly modelId: string;
  readonly baseModel: string;
  readonly loraConfig: LoraConfig;
  readonly userMetadata?: Readonly<Record<string, unknown>> | undefined;
}

/** What a saved checkpoint is (for weights_info, and to find checkpoints after a restart). */
export interface CheckpointInfo {
  readonly baseModel: string;
  readonly loraRank: number;
}

export interface SampleJob {
  /** A base model's weights, or a sampler checkpoint's. */
  readonly source: { readonly baseModel: string } | { readonly checkpoint: CheckpointRef };
  readonly prompt: ModelInput;
  readonly params: SamplingParams;
  readonly numSamples: number;
  /** Fill prompt_logprobs (null at position 0). */
  readonly promptLogprobs: boolean;
  /** Fill topk_prompt_logprobs with this many entries per position (0: none). */
  readonly topkPromptLogprobs: number;
}

export interface TinkerBackend {
  /** The base models it can train and sample (get_server_capabilities). */
  supportedModels(): readonly SupportedModel[];
  createModel(spec: ModelSpec): Promise<void>;
  /**
   * The loss and per-datum outputs without touching gradients. Outputs per datum: at least
   * `logprobs` (of target_tokens, float32, one per position); `elementwise_loss` recommended.
   * Metrics name their reduction: "loss:sum".
   */
  forward(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig: Readonly<Record<string, number>> | undefined,
  ): Promise<ForwardBackwardOutput>;
  /** As forward, and adds the loss's gradients to the model's accumulated gradients. */
  forwardBackward(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig: Readonly<Record<string, number>> | undefined,
  ): Promise<ForwardBackwardOutput>;
  /** One Adam step over the accumulated gradients, which it then clears. */
  optimStep(modelId: string, params: AdamParams): Promise<OptimStepResponse>;
  /** Weights and optimizer state under `ref` (save_weights). */
  saveWeights(modelId: string, ref: CheckpointRef): Promise<void>;
  /** Weights for sampling under `ref` (save_weights_for_sampler). */
  saveWeightsForSampler(modelId: string, ref: CheckpointRef): Promise<void>;
  /** Replaces the model's weights (and optimizer state when asked) with a save_weights checkpoint. */
  loadWeights(modelId: string, ref: CheckpointRef, options: { readonly optimizer: boolean }): Promise<void>;
  /** What a checkpoint is, or undefined when the backend has none under `ref`. */
  checkpointInfo(ref: CheckpointRef): Promise<CheckpointInfo | undefined>;
  sample(job: SampleJob): Promise<SampleResponse>;
  unloadModel(modelId: string): Promise<void>;
  /** Called once when the server closes. */
  close?(): Promise<void>;
}
