// ReferenceBackend: a TinkerBackend in pure TypeScript over the bigram model (bigram.ts), for
// this package's tests and for developing an orchestration without TensorFlow.js. Models train
// with real gradients and Adam; checkpoints are JSON files in a folder:
//   <checkpointDir>/<model_id>/<weights|sampler_weights>/<name>.json
// written atomically (a temporary file, then rename), so a server restarted on the same folder
// finds them again.
import { mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, Rng, hashString } from '@vzero/core';
import type {
  CheckpointInfo,
  CheckpointRef,
  ModelSpec,
  SampleJob,
  TinkerBackend,
} from '../server/backend.js';
import { ID_PATTERN } from '../server/paths.js';
import type {
  AdamParams,
  Datum,
  ForwardBackwardOutput,
  LossFnType,
  OptimStepResponse,
  SampleResponse,
  SupportedModel,
} from '../types.js';
import { adamState, adamStep, type AdamState } from './adam.js';
import { modelInputLength } from '../model-input.js';
import { datumForward, inputTokens, promptLogprobs, sampleSequence } from './bigram.js';

export interface ReferenceModelSpec {
  /** The base model's name, as clients pass it to create_model. */
  readonly name: string;
  readonly vocabSize: number;
  /** Reported as max_context_length (default 4096). */
  readonly contextLength?: number;
}

export interface ReferenceBackendOptions {
  /** The base models (default one: "vzero/bigram-64", 64 tokens). */
  readonly models?: readonly ReferenceModelSpec[];
  /** Where checkpoints go (default: a new folder in the system's temp folder). */
  readonly checkpointDir?: string;
  /** Scale of the base models' random logits (default 0.5). */
  readonly initScale?: number;
}

const FORMAT = 'vzero-tinker-bigram/1';

interface TrainedModel {
  readonly spec: ReferenceModelSpec;
  readonly loraRank: number;
  readonly W: Float64Array;
  readonly grad: Float64Array;
  adam: AdamState;
}

interface CheckpointFile {
  readonly format: string;
  readonly baseModel: string;
  readonly vocabSize: number;
  readonly loraRank: number;
  readonly weights: number[];
  readonly adam?: { readonly m: number[]; readonly v: number[]; readonly step: number };
}

export class ReferenceBackend implements TinkerBackend {
  readonly #specs: Map<string, ReferenceModelSpec>;
  readonly #models = new Map<string, TrainedModel>();
  readonly #initScale: number;
  #dir: string | undefined;

  constructor(options: ReferenceBackendOptions = {}) {
    const specs = options.models ?? [{ name: 'vzero/bigram-64', vocabSize: 64 }];
    this.#specs = new Map(specs.map((s) => [s.name, s]));
    this.#dir = options.checkpointDir;
    this.#initScale = options.initScale ?? 0.5;
  }

  /** The checkpoint folder (created on first use when none was given). */
  async checkpointDir(): Promise<string> {
    this.#dir ??= await mkdtemp(join(tmpdir(), 'vzero-tinker-'));
    return this.#dir;
  }

  supportedModels(): readonly SupportedModel[] {
    return [...this.#specs.values()].map((s) => ({
      model_name: s.name,
      max_context_length: s.contextLength ?? 4096,
    }));
  }

  #spec(baseModel: string, field = 'base_model'): ReferenceModelSpec {
    const spec = this.#specs.get(baseModel);
    if (!spec)
      throw new InvalidInputError(
        field,
        baseModel,
        `not a model of this server (${[...this.#specs.keys()].join(', ')})`,
      );
    return spec;
  }

  /** The base model's weights: seeded by its name, the same on every machine. */
  baseWeights(baseModel: string): Float64Array {
    const spec = this.#spec(baseModel);
    const rng = new Rng(hashString(spec.name));
    const V = spec.vocabSize;
    return Float64Array.from({ length: V * V }, () => rng.normal() * this.#initScale);
  }

  #model(modelId: string): TrainedModel {
    const model = this.#models.get(modelId);
    if (!model) throw new InvalidInputError('model_id', modelId, 'no such model on the reference backend');
    return model;
  }

  /** Inputs longer than the model's context are refused, as a real engine must. */
  #checkLength(spec: ReferenceModelSpec, length: number, field: string): void {
    const limit = spec.contextLength ?? 4096;
    if (length > limit)
      throw new InvalidInputError(
        field,
        `${length} positions`,
        `longer than ${spec.name}'s context of ${limit}`,
      );
  }

  async createModel(spec: ModelSpec): Promise<void> {
    const base = this.#spec(spec.baseModel);
    const W = this.baseWeights(spec.baseModel);
    this.#models.set(spec.modelId, {
      spec: base,
      loraRank: spec.loraConfig.rank,
      W,
      grad: new Float64Array(W.length),
      adam: adamState(W.length),
    });
  }

  #run(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    config: Readonly<Record<string, number>> | undefined,
    backward: boolean,
  ): ForwardBackwardOutput {
    const model = this.#model(modelId);
    const V = model.spec.vocabSize;
    data.forEach((d, i) =>
      this.#checkLength(
        model.spec,
        modelInputLength(d.model_input, `data[${i}].model_input`),
        `data[${i}].model_input`,
      ),
    );
    // Gradients of a request are added only when every datum of it is valid.
    const grad = backward ? new Float64Array(model.W.length) : undefined;
    let loss = 0;
    const outputs = data.map((datum, i) => {
      const r = datumForward(model.W, V, datum, lossFn, config, grad, `data[${i}]`);
      loss += r.loss;
      return {
        logprobs: { data: r.logprobs, dtype: 'float32' as const, shape: [r.logprobs.length] },
        elementwise_loss: {
          data: r.elementwiseLoss,
          dtype: 'float32' as const,
          shape: [r.elementwiseLoss.length],
        },
      };
    });
    if (grad) for (let i = 0; i < grad.length; i++) model.grad[i]! += grad[i]!;
    return { loss_fn_output_type: 'ArrayRecord', loss_fn_outputs: outputs, metrics: { 'loss:sum': loss } };
  }

  async forward(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    config: Readonly<Record<string, number>> | undefined,
  ) {
    return this.#run(modelId, data, lossFn, config, false);
  }

  async forwardBackward(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    config: Readonly<Record<string, number>> | undefined,
  ) {
    return this.#run(modelId, data, lossFn, config, true);
  }

  async optimStep(modelId: string, params: AdamParams): Promise<OptimStepResponse> {
    const model = this.#model(modelId);
    const { gradNorm } = adamStep(model.W, model.grad, model.adam, params);
    model.grad.fill(0);
    return { metrics: { 'grad_norm:mean': gradNorm, 'learning_rate:mean': params.learning_rate } };
  }

  async #file(ref: CheckpointRef): Promise<string> {
    for (const [field, id] of [
      ['model_id', ref.modelId],
      ['name', ref.name],
    ] as const)
      if (!ID_PATTERN.test(id))
        throw new InvalidInputError(`checkpoint.${field}`, id, 'letters, digits, _ and - only');
    return join(await this.checkpointDir(), ref.modelId, ref.kind, `${ref.name}.json`);
  }

  async #write(ref: CheckpointRef, content: CheckpointFile): Promise<void> {
    const file = await this.#file(ref);
    await mkdir(join(file, '..'), { recursive: true });
    const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(temp, JSON.stringify(content));
    await rename(temp, file);
  }

  async #read(ref: CheckpointRef): Promise<CheckpointFile | undefined> {
    let text: string;
    try {
      text = await readFile(await this.#file(ref), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const parsed = JSON.parse(text) as CheckpointFile;
    if (parsed.format !== FORMAT)
      throw new InvalidInputError('checkpoint.format', parsed.format, `expected ${FORMAT}`);
    return parsed;
  }

  #content(model: TrainedModel, withOptimizer: boolean): CheckpointFile {
    return {
      format: FORMAT,
      baseModel: model.spec.name,
      vocabSize: model.spec.vocabSize,
      loraRank: model.loraRank,
      weights: Array.from(model.W),
      ...(withOptimizer
        ? { adam: { m: Array.from(model.adam.m), v: Array.from(model.adam.v), step: model.adam.step } }
        : {}),
    };
  }

  async saveWeights(modelId: string, ref: CheckpointRef): Promise<void> {
    await this.#write(ref, this.#content(this.#model(modelId), true));
  }

  async saveWeightsForSampler(modelId: string, ref: CheckpointRef): Promise<void> {
    await this.#write(ref, this.#content(this.#model(modelId), false));
  }

  async loadWeights(
    modelId: string,
    ref: CheckpointRef,
    options: { readonly optimizer: boolean },
  ): Promise<void> {
    const model = this.#model(modelId);
    const file = await this.#read(ref);
    if (!file) throw new InvalidInputError('path', ref.path, 'no such checkpoint');
    if (file.baseModel !== model.spec.name)
      throw new InvalidInputError(
        'path',
        ref.path,
        `holds ${file.baseModel}, the model is ${model.spec.name}`,
      );
    model.W.set(file.weights);
    model.grad.fill(0);
    if (options.optimizer && file.adam) {
      model.adam = {
        m: Float64Array.from(file.adam.m),
        v: Float64Array.from(file.adam.v),
        step: file.adam.step,
      };
    } else {
      model.adam = adamState(model.W.length);
    }
  }

  async checkpointInfo(ref: CheckpointRef): Promise<CheckpointInfo | undefined> {
    const file = await this.#read(ref);
    return file ? { baseModel: file.baseModel, loraRank: file.loraRank } : undefined;
  }

  async sample(job: SampleJob): Promise<SampleResponse> {
    let W: Float64Array;
    let spec: ReferenceModelSpec;
    if ('checkpoint' in job.source) {
      const file = await this.#read(job.source.checkpoint);
      if (!file) throw new InvalidInputError('model_path', job.source.checkpoint.path, 'no such checkpoint');
      spec = this.#spec(file.baseModel);
      W = Float64Array.from(file.weights);
    } else {
      spec = this.#spec(job.source.baseModel);
      W = this.baseWeights(spec.name);
    }
    const V = spec.vocabSize;
    const prompt = inputTokens(job.prompt, V, 'prompt');
    this.#checkLength(spec, prompt.length + (job.params.max_tokens ?? 0), 'prompt + max_tokens');
    const seed = job.params.seed ?? Math.floor(Math.random() * 2 ** 31);
    const rng = new Rng(seed);
    const sequences = Array.from({ length: job.numSamples }, (_, i) =>
      sampleSequence(W, V, prompt, job.params, rng.child(i)),
    );
    const response: SampleResponse = { sequences, type: 'sample' };
    if (job.promptLogprobs || job.topkPromptLogprobs > 0) {
      const { logprobs, topk } = promptLogprobs(W, V, prompt, job.topkPromptLogprobs);
      response.prompt_logprobs = logprobs;
      if (topk) response.topk_prompt_logprobs = topk;
    }
    return response;
  }

  async unloadModel(modelId: string): Promise<void> {
    this.#model(modelId);
    this.#models.delete(modelId);
  }
}
