// The student behind a Tinker-compatible training service (models.student: tinker://BASE_MODEL,
// or tinker://MODEL_ID/weights/NAME to continue from a saved state): the service holds the
// weights and runs the forward/backward passes and Adam steps; the toolkit renders prompts,
// samples rollouts through the service's sampler, and computes the gate and the loss's per-token
// numbers itself (remote/update.ts). A renderer per model family turns the toolkit's prompts
// into the service's model input: 'toolkit' for the toolkit's own models (a checkpoint folder
// gives their tokenizer and image slots), 'qwen3-vl' for Qwen3-VL (a tokenizer.json folder).
import { InvalidInputError, deriveSeed } from '@vzero/core';
import type {
  Policy,
  Prompt,
  SampledResponse,
  SamplingOptions,
  ScoreRequest,
  ScoreResult,
} from '@vzero/core';
import { loadCheckpoint, type ModelConfig } from '@vzero/model';
import { HfTokenizer, Qwen3VLRenderer, ToolkitRenderer, toolkitSlots, type Renderer } from '@vzero/renderers';
import { ServiceClient, type SamplingClient, type TrainingClient } from '@vzero/tinker';
import type { TrainConfig } from '../config.js';

export const TINKER_SCHEME = 'tinker://';

/** Whether the config's student lives at a training service (models.student starts with tinker://). */
export function isRemoteStudent(config: Pick<TrainConfig, 'models'>): boolean {
  return config.models.student.startsWith(TINKER_SCHEME);
}

/** A tinker:// student: a base model to start from, or a saved state (…/weights/NAME) to continue. */
export type RemoteStudentSource = { readonly baseModel: string } | { readonly statePath: string };

export function remoteStudentSource(student: string): RemoteStudentSource {
  if (!student.startsWith(TINKER_SCHEME) || student.length === TINKER_SCHEME.length) {
    throw new InvalidInputError(
      'models.student',
      student,
      'expected tinker://BASE_MODEL or tinker://MODEL_ID/weights/NAME',
    );
  }
  return /\/weights\/[^/]+$/.test(student)
    ? { statePath: student }
    : { baseModel: student.slice(TINKER_SCHEME.length) };
}

/** The part of a tokenizer the training loop reads (ids for alignment, decoding for logs). */
export interface StudentTokenizer {
  readonly id: string;
  readonly padId: number;
  decode(ids: readonly number[]): string;
}

export interface RemoteStudentParts {
  readonly renderer: Renderer;
  readonly tokenizer: StudentTokenizer;
  /** Side of the student's square full-image view, px. */
  readonly imageSize: number;
}

/** The renderer, tokenizer and view size of config.tinker. */
export async function remoteRenderer(config: TrainConfig): Promise<RemoteStudentParts> {
  const t = config.tinker;
  if (t.tokenizer === undefined) {
    throw new InvalidInputError(
      'tinker.tokenizer',
      undefined,
      t.renderer === 'toolkit'
        ? 'give the served model checkpoint folder (its tokenizer and image slots)'
        : 'give a folder with the model tokenizer.json',
    );
  }
  if (t.renderer === 'toolkit') {
    const { model, tokenizer } = await loadCheckpoint(t.tokenizer);
    const config0 = model.config;
    model.dispose();
    const full = config0.images.find((s) => s.role === 'full');
    if (!full || config0.images.length !== 1) {
      throw new InvalidInputError(
        'tinker.tokenizer',
        t.tokenizer,
        'the student checkpoint must have one full-image slot',
      );
    }
    return {
      renderer: new ToolkitRenderer(tokenizer, toolkitSlots(config0)),
      tokenizer,
      imageSize: full.size,
    };
  }
  const hf = await HfTokenizer.fromDirectory(t.tokenizer);
  const renderer = new Qwen3VLRenderer(hf);
  return {
    renderer,
    tokenizer: {
      id: renderer.tokenizerId,
      padId: renderer.stopTokens[0] ?? 0,
      decode: (ids) => renderer.decode([...ids]),
    },
    imageSize: t.imageSize,
  };
}

export interface RemoteTeacherParts {
  readonly renderer: Renderer;
  /** The teacher's image slots (toolkit models), for the views' sizes; absent for Qwen3-VL. */
  readonly modelConfig?: ModelConfig;
}

/** The renderer of a teacher at the service (models.teacher: tinker://BASE_MODEL). */
export async function remoteTeacherRenderer(
  config: TrainConfig,
  student: RemoteStudentParts,
): Promise<RemoteTeacherParts> {
  if (config.tinker.renderer === 'qwen3-vl') return { renderer: student.renderer };
  const dir = config.tinker.teacherTokenizer;
  if (dir === undefined)
    throw new InvalidInputError('tinker.teacherTokenizer', dir, 'give the teacher checkpoint folder');
  const { model, tokenizer } = await loadCheckpoint(dir, { tokenizerId: student.tokenizer.id });
  const modelConfig = model.config;
  model.dispose();
  return { renderer: new ToolkitRenderer(tokenizer, toolkitSlots(modelConfig)), modelConfig };
}

/**
 * The sampling side of the Policy contract over the service's current sampler. Rollout g of
 * prompt i is drawn with the seed deriveSeed(options.seed, prompt.id) (and g), the seed a
 * 'prompt-id' policy derives, so a service running the toolkit's model makes the in-process
 * rollouts. Every prompt's request is submitted before any result is read.
 */
export class RemoteSamplingPolicy implements Policy {
  readonly name: string;
  readonly tokenizerId: string;
  readonly contextLength = Number.MAX_SAFE_INTEGER;
  readonly samplingSeedScope = 'prompt-id' as const;

  constructor(
    private readonly sampler: () => SamplingClient,
    private readonly renderer: Renderer,
    name: string,
  ) {
    this.name = name;
    this.tokenizerId = renderer.tokenizerId;
  }

  async sample(prompts: readonly Prompt[], options: SamplingOptions): Promise<SampledResponse[][]> {
    const sampler = this.sampler();
    const futures = await Promise.all(
      prompts.map((p) =>
        sampler.submitSample({
          prompt: this.renderer.render(p).modelInput as never,
          numSamples: options.n,
          samplingParams: {
            temperature: options.temperature,
            top_p: options.topP,
            top_k: options.topK > 0 ? options.topK : -1,
            max_tokens: options.maxTokens,
            seed: deriveSeed(options.seed, p.id),
            stop: [...new Set([...this.renderer.stopTokens, ...(options.stop ?? [])])],
          },
        }),
      ),
    );
    const results = await Promise.all(futures.map((f) => f.result()));
    return results.map((r, i) =>
      r.sequences.map((s, g) => {
        if (!s.logprobs || s.logprobs.length !== s.tokens.length) {
          throw new InvalidInputError(
            `sample of ${prompts[i]?.id} [${g}].logprobs`,
            s.logprobs?.length,
            `the service must return one log-prob per sampled token (${s.tokens.length})`,
          );
        }
        const logprobs = Float32Array.from(s.logprobs);
        return {
          tokenIds: s.tokens,
          logprobs,
          // Temperature 1, no truncation: the sampled distribution is the policy itself.
          samplingLogprobs: logprobs,
          finishReason: s.stop_reason,
          text: this.renderer.decode(s.tokens),
        };
      }),
    );
  }

  score(_requests: readonly ScoreRequest[]): Promise<ScoreResult[]> {
    return Promise.reject(
      new InvalidInputError(
        'policy',
        this.name,
        'the remote student samples; teacher scoring goes to the teacher',
      ),
    );
  }

  decode(tokenIds: readonly number[]): string {
    return this.renderer.decode(tokenIds);
  }
}

export class RemoteStudent {
  private samplerClient: SamplingClient | undefined;
  readonly policy: RemoteSamplingPolicy;

  private constructor(
    readonly service: ServiceClient,
    readonly training: TrainingClient,
    readonly parts: RemoteStudentParts,
    readonly source: RemoteStudentSource,
  ) {
    this.policy = new RemoteSamplingPolicy(
      () => this.sampler(),
      parts.renderer,
      `tinker student ${training.modelId}`,
    );
  }

  get renderer(): Renderer {
    return this.parts.renderer;
  }

  private sampler(): SamplingClient {
    if (!this.samplerClient) throw new Error('unreachable: no sampler before refreshSampler()');
    return this.samplerClient;
  }

  /** Connects, and creates the model at the service (or loads a saved state into a new one). */
  static async connect(config: TrainConfig, log: (line: string) => void): Promise<RemoteStudent> {
    const parts = await remoteRenderer(config);
    const t = config.tinker;
    const service = await ServiceClient.create({
      baseUrl: t.baseUrl,
      apiKeyEnv: t.apiKeyEnv,
      encoding: t.encoding,
      retry: { maxRetries: t.retries },
      callTimeoutMs: t.timeoutSeconds * 1000,
      onEvent: (e) => {
        if (e.type === 'heartbeat-failed') log(`tinker: heartbeat failed (${e.error})`);
        if (e.type === 'retry')
          log(
            `tinker: ${e.endpoint} answered ${e.status || 'no connection'}; retry ${e.attempt} in ${Math.round(e.delayMs)} ms`,
          );
      },
    });
    try {
      const source = remoteStudentSource(config.models.student);
      const training =
        'baseModel' in source
          ? await service.createLoraTrainingClient(source.baseModel, { rank: t.loraRank })
          : await service.createTrainingClientFromState(source.statePath);
      log(
        `student at ${t.baseUrl}: model ${training.modelId} (${'baseModel' in source ? source.baseModel : source.statePath}), renderer ${parts.renderer.name}, ${service.encoding} encoding`,
      );
      return new RemoteStudent(service, training, parts, source);
    } catch (error) {
      service.close();
      throw error;
    }
  }

  /** Saves the current weights for sampling and points rollouts at them. */
  async refreshSampler(name: string): Promise<string> {
    const saved = await (await this.training.saveWeightsForSampler(name)).result();
    this.samplerClient = await this.service.createSamplingClient({ modelPath: saved.path });
    return saved.path;
  }

  /** Weights and optimizer state at the service; the returned tinker:// path resumes. */
  async saveState(name: string): Promise<string> {
    return (await (await this.training.saveState(name)).result()).path;
  }

  async loadState(path: string): Promise<void> {
    await (await this.training.loadState(path, { optimizer: true })).result();
  }

  close(): void {
    this.service.close();
  }
}
