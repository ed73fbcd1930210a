// The toolkit's own tfjs models behind the training API (`vzero serve --api tinker`): full
// fine-tuning of a toolkit checkpoint (a LoRA config is accepted and recorded, not applied),
// forward / forward_backward with the API's losses, Adam steps, checkpoints on disk (so a
// restarted server finds them), and sampling from a base model or a sampler checkpoint. The
// math is the in-process trainer's: the same model, the same AdamW, the same sampler with the
// caller's per-prompt seeds, so a run through the API can reproduce an in-process run.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, writeFileAtomic } from '@vzero/core';
import {
  AdamW,
  LocalPolicy,
  clipScale,
  globalNorm,
  loadCheckpoint,
  saveCheckpoint,
  type AdamWState,
  type Tokenizer,
  type VisionLanguageModel,
} from '@vzero/model';
import { toolkitSlots, type ToolkitImageSlot } from '@vzero/renderers';
import type {
  AdamParams,
  CheckpointInfo,
  CheckpointRef,
  Datum,
  ForwardBackwardOutput,
  LossFnType,
  ModelSpec,
  OptimStepResponse,
  SampleJob,
  SampleResponse,
  SupportedModel,
  TinkerBackend,
} from '@vzero/tinker';
import { datumRows, modelPromptOf, type DecodeLimits } from './batch.js';
import { SERVICE_LOSSES, elementwiseLoss, ppoClip, type ServiceLoss } from './losses.js';

export interface ToolkitBackendOptions {
  /** Base models by name: a toolkit checkpoint folder each. */
  readonly baseModels: Readonly<Record<string, string>>;
  /** Where checkpoints are written (one folder per model and checkpoint name). */
  readonly root: string;
  /** Decoded-pixel limit per image. */
  readonly maxImagePixels?: number;
}

interface TrainedModel {
  readonly spec: ModelSpec;
  readonly model: VisionLanguageModel;
  readonly tokenizer: Tokenizer;
  readonly policy: LocalPolicy;
  readonly slots: readonly ToolkitImageSlot[];
  /** Gradients summed over forward_backward calls since the last optim_step, by variable. */
  grads: (tf.Tensor | undefined)[];
  optimizer?: { readonly adam: AdamW; readonly key: string };
}

interface Sampler {
  readonly key: string;
  readonly policy: LocalPolicy;
  readonly slots: readonly ToolkitImageSlot[];
}

const OPTIMIZER_FILE = 'optimizer.json';
const SPEC_FILE = 'model-spec.json';

export class ToolkitTinkerBackend implements TinkerBackend {
  private readonly models = new Map<string, TrainedModel>();
  private sampler: Sampler | undefined;
  /** Sampling jobs run one after another: the server starts them side by side, and a sampler
   * swapped for another checkpoint must not be disposed under a running job. */
  private sampling: Promise<unknown> = Promise.resolve();
  private readonly limits: DecodeLimits;

  constructor(private readonly options: ToolkitBackendOptions) {
    if (Object.keys(options.baseModels).length === 0) {
      throw new InvalidInputError('baseModels', options.baseModels, 'expected at least one base model');
    }
    this.limits = { maxImagePixels: options.maxImagePixels ?? 4096 * 4096 };
  }

  supportedModels(): readonly SupportedModel[] {
    return Object.keys(this.options.baseModels).map((model_name) => ({ model_name }));
  }

  private baseDir(name: string): string {
    const dir = this.options.baseModels[name];
    if (dir === undefined) {
      throw new InvalidInputError(
        'base_model',
        name,
        `this server trains ${Object.keys(this.options.baseModels).join(', ')}`,
      );
    }
    return dir;
  }

  private trained(modelId: string): TrainedModel {
    const m = this.models.get(modelId);
    if (!m)
      throw new InvalidInputError('model_id', modelId, 'no such model on this server (create it first)');
    return m;
  }

  async createModel(spec: ModelSpec): Promise<void> {
    const loaded = await loadCheckpoint(this.baseDir(spec.baseModel));
    this.models.get(spec.modelId)?.model.dispose();
    this.models.set(spec.modelId, {
      spec,
      model: loaded.model,
      tokenizer: loaded.tokenizer,
      policy: new LocalPolicy(loaded.model, loaded.tokenizer, { name: spec.baseModel }),
      slots: toolkitSlots(loaded.model.config),
      grads: [],
    });
  }

  forward(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    config: Readonly<Record<string, number>> | undefined,
  ): Promise<ForwardBackwardOutput> {
    return this.run(modelId, data, lossFn, config, false);
  }

  forwardBackward(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    config: Readonly<Record<string, number>> | undefined,
  ): Promise<ForwardBackwardOutput> {
    return this.run(modelId, data, lossFn, config, true);
  }

  private async run(
    modelId: string,
    data: readonly Datum[],
    lossFn: LossFnType,
    config: Readonly<Record<string, number>> | undefined,
    backward: boolean,
  ): Promise<ForwardBackwardOutput> {
    const m = this.trained(modelId);
    if (!(SERVICE_LOSSES as readonly string[]).includes(lossFn)) {
      throw new InvalidInputError('loss_fn', lossFn, `this server computes ${SERVICE_LOSSES.join(', ')}`);
    }
    const loss = lossFn as ServiceLoss;
    const clip = ppoClip(config ?? undefined);
    const rows = await datumRows(data, m.slots, m.tokenizer.size, this.limits);
    const batch = { prompts: rows.prompts, responses: rows.responses };
    rows.prompts.forEach((p, i) =>
      m.model.checkPrompt(p, `data[${i}].model_input`, rows.responses[i]?.length ?? 0),
    );
    let logprobs!: Float32Array;
    let elementwise!: Float32Array;
    const lossOf = (): tf.Scalar => {
      const lp = m.model.responseLogprobs(batch);
      const el = elementwiseLoss(loss, lp, rows.inputs, clip);
      logprobs = lp.dataSync() as Float32Array;
      elementwise = el.dataSync() as Float32Array;
      return tf.sum(el) as tf.Scalar;
    };
    let total: number;
    if (backward) {
      total = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(lossOf, m.model.trainableVariables);
        m.grads = m.model.trainableVariables.map((v, i) => {
          const g = grads[v.name];
          const prev = m.grads[i];
          if (!g) return prev;
          const sum = prev ? tf.add(prev, g) : g.clone();
          prev?.dispose();
          return tf.keep(sum);
        });
        return value.dataSync()[0] as number;
      });
    } else {
      total = tf.tidy(() => lossOf().dataSync()[0] as number);
    }
    const outputs = data.map((_d, b) => {
      const n = rows.lengths[b] as number;
      const off = rows.offsets[b] as number;
      const lp = new Array<number>(n).fill(0);
      const el = new Array<number>(n).fill(0);
      const len = rows.responses[b]?.length ?? 0;
      for (let k = 0; k < len; k++) {
        lp[off + k] = logprobs[b * rows.T + k] as number;
        el[off + k] = elementwise[b * rows.T + k] as number;
      }
      return {
        logprobs: { data: lp, dtype: 'float32' as const, shape: [n] },
        elementwise_loss: { data: el, dtype: 'float32' as const, shape: [n] },
      };
    });
    return { loss_fn_output_type: 'TensorData', loss_fn_outputs: outputs, metrics: { 'loss:sum': total } };
  }

  async optimStep(modelId: string, params: AdamParams): Promise<OptimStepResponse> {
    const m = this.trained(modelId);
    const adam = this.optimizer(m, params);
    const present = m.grads.filter((g): g is tf.Tensor => g !== undefined);
    const norm = globalNorm(present);
    if (!Number.isFinite(norm)) {
      this.clearGrads(m);
      throw new InvalidInputError(
        'gradients',
        norm,
        'the gradient norm is not finite; the update was skipped',
      );
    }
    const grads = m.model.trainableVariables.map((_v, i) => m.grads[i]);
    adam.step(grads, params.learning_rate, clipScale(norm, params.grad_clip_norm));
    this.clearGrads(m);
    return { metrics: { 'grad_norm:mean': norm } };
  }

  private clearGrads(m: TrainedModel): void {
    for (const g of m.grads) g?.dispose();
    m.grads = [];
  }

  /** The model's AdamW for these parameters; moments carry over when beta/eps/decay change. */
  private optimizer(m: TrainedModel, p: AdamParams): AdamW {
    const key = JSON.stringify([p.beta1, p.beta2, p.eps, p.weight_decay]);
    if (m.optimizer?.key === key) return m.optimizer.adam;
    const adam = new AdamW(m.model.trainableVariables, {
      beta1: p.beta1,
      beta2: p.beta2,
      epsilon: p.eps,
      weightDecay: p.weight_decay,
      decay: 'all',
    });
    if (m.optimizer) {
      adam.setState(m.optimizer.adam.getState());
      m.optimizer.adam.dispose();
    }
    m.optimizer = { adam, key };
    return adam;
  }

  private dir(ref: CheckpointRef): string {
    for (const part of [ref.modelId, ref.kind, ref.name]) {
      if (!/^[A-Za-z0-9._-]+$/.test(part) || part === '.' || part === '..') {
        throw new InvalidInputError(
          'path',
          ref.path,
          'checkpoint names are letters, digits, ".", "_" and "-"',
        );
      }
    }
    return join(this.options.root, ref.modelId, ref.kind, ref.name);
  }

  async saveWeights(modelId: string, ref: CheckpointRef): Promise<void> {
    const m = this.trained(modelId);
    const dir = this.dir(ref);
    await saveCheckpoint(dir, m.model, m.tokenizer, { baseModel: m.spec.baseModel });
    const state: { key: string; state: AdamWState } | null = m.optimizer
      ? { key: m.optimizer.key, state: m.optimizer.adam.getState() }
      : null;
    await writeFileAtomic(join(dir, OPTIMIZER_FILE), JSON.stringify(state));
    await writeFileAtomic(join(dir, SPEC_FILE), JSON.stringify(m.spec));
  }

  async saveWeightsForSampler(modelId: string, ref: CheckpointRef): Promise<void> {
    const m = this.trained(modelId);
    const dir = this.dir(ref);
    await saveCheckpoint(dir, m.model, m.tokenizer, { baseModel: m.spec.baseModel });
    await writeFileAtomic(join(dir, SPEC_FILE), JSON.stringify(m.spec));
  }

  async loadWeights(
    modelId: string,
    ref: CheckpointRef,
    options: { readonly optimizer: boolean },
  ): Promise<void> {
    const m = this.trained(modelId);
    const dir = this.dir(ref);
    if (!existsSync(dir)) throw new InvalidInputError('path', ref.path, 'no such checkpoint on this server');
    const loaded = await loadCheckpoint(dir);
    try {
      if (loaded.model.trainableVariables.length !== m.model.trainableVariables.length) {
        throw new InvalidInputError('path', ref.path, `holds another architecture than ${m.spec.baseModel}`);
      }
      m.model.trainableVariables.forEach((v, i) =>
        v.assign(loaded.model.trainableVariables[i] as tf.Variable),
      );
    } finally {
      loaded.model.dispose();
    }
    this.clearGrads(m);
    if (!options.optimizer) return;
    const saved = JSON.parse(await readFile(join(dir, OPTIMIZER_FILE), 'utf8')) as {
      key: string;
      state: AdamWState;
    } | null;
    if (!saved) return;
    const [beta1, beta2, eps, weight_decay] = JSON.parse(saved.key) as number[];
    const adam = this.optimizer(m, {
      learning_rate: 0,
      beta1: beta1 as number,
      beta2: beta2 as number,
      eps: eps as number,
      weight_decay: weight_decay as number,
      grad_clip_norm: 0,
    });
    adam.setState(saved.state);
  }

  async checkpointInfo(ref: CheckpointRef): Promise<CheckpointInfo | undefined> {
    const file = join(this.dir(ref), SPEC_FILE);
    if (!existsSync(file)) return undefined;
    const spec = JSON.parse(await readFile(file, 'utf8')) as ModelSpec;
    return { baseModel: spec.baseModel, loraRank: spec.loraConfig.rank };
  }

  /** A sampler for a base model or a sampler checkpoint (the last one used stays loaded). */
  private async samplerFor(source: SampleJob['source']): Promise<Sampler> {
    const key = 'baseModel' in source ? `base:${source.baseModel}` : `ckpt:${source.checkpoint.path}`;
    if (this.sampler?.key === key) return this.sampler;
    const dir = 'baseModel' in source ? this.baseDir(source.baseModel) : this.dir(source.checkpoint);
    if (!existsSync(dir))
      throw new InvalidInputError('model_path', key.slice(5), 'no such sampler checkpoint on this server');
    const loaded = await loadCheckpoint(dir);
    this.sampler?.policy.model.dispose();
    this.sampler = {
      key,
      policy: new LocalPolicy(loaded.model, loaded.tokenizer, { name: key }),
      slots: toolkitSlots(loaded.model.config),
    };
    return this.sampler;
  }

  sample(job: SampleJob): Promise<SampleResponse> {
    const run = this.sampling.then(
      () => this.sampleNow(job),
      () => this.sampleNow(job),
    );
    this.sampling = run.catch(() => undefined);
    return run;
  }

  private async sampleNow(job: SampleJob): Promise<SampleResponse> {
    const s = await this.samplerFor(job.source);
    const tokenizer = s.policy.tokenizer;
    const prompt = await modelPromptOf(job.prompt, s.slots, tokenizer.size, this.limits);
    const imageTokens = s.slots.reduce((n, slot) => n + slot.tokens, 0);
    const p = job.params;
    const stop =
      Array.isArray(p.stop) && p.stop.every((x) => typeof x === 'number') ? (p.stop as number[]) : [];
    if (typeof p.stop === 'string' || (Array.isArray(p.stop) && p.stop.some((x) => typeof x === 'string'))) {
      throw new InvalidInputError(
        'sampling_params.stop',
        p.stop,
        'this server takes stop token ids, not strings',
      );
    }
    const seed = p.seed ?? Math.floor(Math.random() * 2 ** 31);
    const groups = await s.policy.sampleEncoded([prompt], {
      n: job.numSamples,
      temperature: p.temperature,
      topP: p.top_p,
      topK: p.top_k < 0 ? 0 : p.top_k,
      maxTokens: p.max_tokens ?? 16,
      stop,
      seed,
      promptSeeds: [seed],
    });
    const sequences = (groups[0] ?? []).map((r) => ({
      stop_reason: r.finishReason,
      tokens: [...r.tokenIds],
      logprobs: Array.from(r.logprobs),
    }));
    if (!job.promptLogprobs && job.topkPromptLogprobs === 0) return { sequences };
    // Prompt log-probs: the text after <bos> teacher-forced; image positions and <bos> have none.
    const text = prompt.tokenIds;
    const scored = await s.policy.scoreEncoded(
      [{ images: prompt.images, tokenIds: [text[0] as number] }],
      [text.slice(1)],
      job.topkPromptLogprobs,
    );
    const lp = scored[0];
    const promptLogprobs: (number | null)[] = new Array<number | null>(imageTokens + 1).fill(null);
    const topk: ([number, number][] | null)[] = new Array<[number, number][] | null>(imageTokens + 1).fill(
      null,
    );
    for (let k = 0; k < text.length - 1; k++) {
      promptLogprobs.push(lp?.logprobs[k] ?? null);
      if (job.topkPromptLogprobs > 0) {
        const ids = lp?.topK?.ids[k];
        const vals = lp?.topK?.logprobs[k];
        topk.push(ids && vals ? Array.from(ids, (id, j) => [id, vals[j] as number]) : null);
      }
    }
    return {
      sequences,
      ...(job.promptLogprobs ? { prompt_logprobs: promptLogprobs } : {}),
      ...(job.topkPromptLogprobs > 0 ? { topk_prompt_logprobs: topk } : {}),
    };
  }

  async unloadModel(modelId: string): Promise<void> {
    const m = this.models.get(modelId);
    if (!m) return;
    this.clearGrads(m);
    m.optimizer?.adam.dispose();
    m.model.dispose();
    this.models.delete(modelId);
  }

  async close(): Promise<void> {
    for (const id of [...this.models.keys()]) await this.unloadModel(id);
    this.sampler?.policy.model.dispose();
    this.sampler = undefined;
  }

  /** Removes a model's checkpoints from disk (tests, clean-up). */
  async deleteCheckpoints(modelId: string): Promise<void> {
    await rm(join(this.options.root, modelId), { recursive: true, force: true });
    await mkdir(this.options.root, { recursive: true });
  }
}
