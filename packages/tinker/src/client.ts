// The client: ServiceClient (session, heartbeats, client config, capabilities, creating models
// and samplers), TrainingClient (forward, forward_backward, optim_step, checkpoints) and
// SamplingClient (sample, compute_logprobs), shaped after the SDK's
// src/tinker/lib/public_interfaces/{service,training,sampling}_client.py and
// src/tinker/lib/internal_client_holder.py (d595dc2b, SDK 0.25.0).
//
// Training calls are two-stage, like the SDK's *_async methods: awaiting the call submits the
// request (in order: each waits for the previous submission's answer, and carries the next
// seq_id), and the returned future's result() polls for the output. So a caller may submit the
// next forward_backward and optim_step before reading the previous result (the cookbook's
// rl/train.py train_step does): the server runs a model's requests in seq_id order, so the
// results are the same as reading each before submitting the next. What cannot be pipelined is
// data that depends on a result (e.g. advantages computed from this step's logprobs).
import { InvalidInputError } from '@vzero/core';
import { TinkerApiError } from './errors.js';
import { chunkData, combineForwardBackwardOutputs } from './chunks.js';
import { CombinedFuture, PolledFuture, type TinkerFuture } from './futures.js';
import { modelInputLength } from './model-input.js';
import {
  PROTO_CONTENT_TYPE,
  decodeForwardBackwardOutput,
  decodeSampleResponse,
  encodeForwardBackwardRequest,
  hasProtoEncoding,
} from './protobuf.js';
import { Transport, type RetryOptions, type TransportEvent } from './transport.js';
import {
  AdamParamsSchema,
  ClientConfigResponseSchema,
  CreateModelResponseSchema,
  CreateSamplingSessionResponseSchema,
  CreateSessionResponseSchema,
  DatumSchema,
  ForwardBackwardOutputSchema,
  GetInfoResponseSchema,
  GetServerCapabilitiesResponseSchema,
  LoadWeightsResponseSchema,
  LoraConfigSchema,
  ModelInputSchema,
  OptimStepResponseSchema,
  SampleResponseSchema,
  SamplingParamsSchema,
  SaveWeightsForSamplerResponseSchema,
  SaveWeightsResponseSchema,
  UnloadModelResponseSchema,
  UntypedAPIFutureSchema,
  WeightsInfoResponseSchema,
  type AdamParamsInput,
  type ClientConfigResponse,
  type Datum,
  type ForwardBackwardOutput,
  type ForwardBackwardRequest,
  type GetInfoResponse,
  type GetServerCapabilitiesResponse,
  type LoadWeightsResponse,
  type LoraConfigInput,
  type LossFnType,
  type ModelInput,
  type OptimStepResponse,
  type SampleResponse,
  type SamplingParamsInput,
  type SaveWeightsForSamplerResponse,
  type SaveWeightsResponse,
  type UnloadModelResponse,
  type WeightsInfoResponse,
} from './types.js';
import { parseWire } from './validate.js';
import type { z } from 'zod';

/**
 * The SDK version this client speaks for (sent in create_session and client/config, where the
 * service resolves its flags by it): 0.24.1 is the last SDK whose choices this client makes
 * exactly, JSON or, when the server's client config says proto_write_fwdbwd, protobuf for
 * forward_backward, and results accepted in either.
 */
export const SDK_VERSION = '0.24.1';

export type WireEncoding = 'json' | 'protobuf';

export interface TinkerClientOptions {
  /** The service's origin, e.g. "http://127.0.0.1:8000" (the paths add /api/v1/...). */
  readonly baseUrl: string;
  /** The environment variable holding the API key (default "TINKER_API_KEY"); unset: no key. */
  readonly apiKeyEnv?: string;
  /** Where to read it from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** 'auto' (default): protobuf exactly when the server's client config asks for it. */
  readonly encoding?: 'auto' | WireEncoding;
  /** Heartbeat period, ms (default 10 000, the SDK's SESSION_HEARTBEAT_PERIOD_SEC). */
  readonly heartbeatIntervalMs?: number;
  readonly tags?: readonly string[];
  readonly userMetadata?: Readonly<Record<string, unknown>>;
  readonly sdkVersion?: string;
  /** Per HTTP attempt, ms (default 60 000). */
  readonly requestTimeoutMs?: number;
  /** One call with its retries, and one future's whole wait, ms (default 300 000). */
  readonly callTimeoutMs?: number;
  readonly retry?: RetryOptions;
  /** Retries, requests and failed heartbeats, as they happen; never carries the key. */
  readonly onEvent?: (event: ClientEvent) => void;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

export type ClientEvent = TransportEvent | { readonly type: 'heartbeat-failed'; readonly error: string };

/** Options of ServiceClient.createLoraTrainingClient. */
export interface CreateModelOptions extends Partial<LoraConfigInput> {
  readonly userMetadata?: Readonly<Record<string, unknown>>;
}

const API = '/api/v1';

function parseBody<S extends z.ZodType>(schema: S, body: unknown, endpoint: string): z.infer<S> {
  return parseWire(schema, body, `response of ${endpoint}`);
}

export class ServiceClient {
  readonly transport: Transport;
  readonly sessionId: string;
  readonly clientConfig: ClientConfigResponse;
  /** How forward_backward bodies are sent (results are accepted in either). */
  readonly encoding: WireEncoding;
  /** The options it was created with, less `env` (which may hold the key). */
  readonly options: Omit<TinkerClientOptions, 'env'>;
  #modelSeq = 0;
  #samplingSeq = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    transport: Transport,
    sessionId: string,
    config: ClientConfigResponse,
    encoding: WireEncoding,
    options: TinkerClientOptions,
  ) {
    this.transport = transport;
    this.sessionId = sessionId;
    this.clientConfig = config;
    this.encoding = encoding;
    const { env: _env, ...rest } = options;
    this.options = rest;
  }

  /** Fetches the client config, opens a session and starts its heartbeat. */
  static async create(options: TinkerClientOptions): Promise<ServiceClient> {
    const env = options.env ?? process.env;
    const keyName = options.apiKeyEnv ?? 'TINKER_API_KEY';
    const apiKey = env[keyName];
    const transport = new Transport({
      baseUrl: options.baseUrl,
      apiKey: apiKey === undefined || apiKey === '' ? undefined : apiKey,
      ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
      ...(options.callTimeoutMs === undefined ? {} : { callTimeoutMs: options.callTimeoutMs }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
    const sdkVersion = options.sdkVersion ?? SDK_VERSION;
    const config = parseBody(
      ClientConfigResponseSchema,
      await transport.postJson(`${API}/client/config`, { sdk_version: sdkVersion }),
      'client/config',
    );
    const encoding: WireEncoding =
      options.encoding === 'json' || options.encoding === 'protobuf'
        ? options.encoding
        : config.proto_write_fwdbwd
          ? 'protobuf'
          : 'json';
    const session = parseBody(
      CreateSessionResponseSchema,
      await transport.postJson(`${API}/create_session`, {
        tags: [...(options.tags ?? [])],
        user_metadata: options.userMetadata ?? null,
        sdk_version: sdkVersion,
        type: 'create_session',
      }),
      'create_session',
    );
    const client = new ServiceClient(transport, session.session_id, config, encoding, options);
    client.#startHeartbeat();
    return client;
  }

  #startHeartbeat(): void {
    const period = this.options.heartbeatIntervalMs ?? 10_000;
    this.#heartbeat = setInterval(() => {
      // One attempt, no retries (internal_client_holder.py _session_heartbeat: max_retries=0).
      void this.transport
        .send(`${API}/session_heartbeat`, {
          method: 'POST',
          json: { session_id: this.sessionId, type: 'session_heartbeat' },
          requestTimeoutMs: 10_000,
        })
        .then((r) => {
          if (r.status !== 200)
            this.options.onEvent?.({ type: 'heartbeat-failed', error: `HTTP ${r.status}` });
        });
    }, period);
    this.#heartbeat.unref();
  }

  /** Stops the heartbeat; calls in flight may finish, waits between retries end early. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.transport.close();
  }

  get closed(): boolean {
    return this.#closed;
  }

  async getServerCapabilities(): Promise<GetServerCapabilitiesResponse> {
    const body = await this.transport.getJson(`${API}/get_server_capabilities`);
    return parseBody(GetServerCapabilitiesResponseSchema, body, 'get_server_capabilities');
  }

  /** create_model with a LoRA config (rank 32 unless given, the SDK's default). */
  async createLoraTrainingClient(
    baseModel: string,
    options: CreateModelOptions = {},
  ): Promise<TrainingClient> {
    const { userMetadata, ...lora } = options;
    const loraConfig = parseWire(LoraConfigSchema, { rank: 32, ...lora }, 'lora_config');
    const endpoint = `${API}/create_model`;
    const submitted = parseBody(
      UntypedAPIFutureSchema,
      await this.transport.postJson(endpoint, {
        session_id: this.sessionId,
        model_seq_id: this.#modelSeq++,
        base_model: baseModel,
        user_metadata: userMetadata ?? null,
        lora_config: loraConfig,
        type: 'create_model',
      }),
      'create_model',
    );
    const created = await this.future(
      endpoint,
      'CreateModel',
      submitted.request_id,
      CreateModelResponseSchema,
    ).result();
    return new TrainingClient(this, created.model_id, baseModel);
  }

  /** weights_info of a checkpoint (its base model and LoRA rank). */
  async weightsInfo(tinkerPath: string): Promise<WeightsInfoResponse> {
    const body = await this.transport.postJson(`${API}/weights_info`, { tinker_path: tinkerPath });
    return parseBody(WeightsInfoResponseSchema, body, 'weights_info');
  }

  /** A new model from a save_weights checkpoint: weights_info, create_model, load_weights. */
  async createTrainingClientFromState(
    path: string,
    options: { optimizer?: boolean } = {},
  ): Promise<TrainingClient> {
    const info = await this.weightsInfo(path);
    const client = await this.createLoraTrainingClient(info.base_model, { rank: info.lora_rank ?? 32 });
    await (await client.loadState(path, { optimizer: options.optimizer ?? true })).result();
    return client;
  }

  /** A sampler for a tinker:// sampler checkpoint or a base model (a sampling session). */
  async createSamplingClient(source: { modelPath: string } | { baseModel: string }): Promise<SamplingClient> {
    const body = await this.transport.postJson(`${API}/create_sampling_session`, {
      session_id: this.sessionId,
      sampling_session_seq_id: this.#samplingSeq++,
      ...('modelPath' in source ? { model_path: source.modelPath } : { base_model: source.baseModel }),
      type: 'create_sampling_session',
    });
    const session = parseBody(CreateSamplingSessionResponseSchema, body, 'create_sampling_session');
    return new SamplingClient(this, session.sampling_session_id);
  }

  /** A polled future of the given result schema (for the classes below). */
  future<S extends z.ZodType>(
    endpoint: string,
    requestType: string,
    requestId: string,
    schema: S,
    extra: {
      acceptProto?: boolean;
      decodeProto?: (b: Uint8Array) => z.infer<S>;
      resubmit?: () => Promise<string>;
    } = {},
  ): TinkerFuture<z.infer<S>> {
    return new PolledFuture<z.infer<S>>({
      transport: this.transport,
      endpoint,
      requestType,
      requestId,
      acceptProto: extra.acceptProto ?? false,
      decodeJson: (body) => parseBody(schema, body, endpoint),
      ...(extra.decodeProto ? { decodeProto: extra.decodeProto } : {}),
      ...(extra.resubmit ? { resubmit: extra.resubmit } : {}),
    });
  }
}

/**
 * Whether a failed submission certainly did not reach the server's queue: a 4xx answer (but the
 * 409 for a reused seq_id), or bad input found before sending. No answer or a 5xx may have.
 */
function refusedBeforeQueueing(error: unknown): boolean {
  if (error instanceof TinkerApiError)
    return (
      error.status >= 400 && error.status < 500 && !/sequence number was reused/.test(error.detail ?? '')
    );
  return error instanceof InvalidInputError && !error.field.startsWith('response of');
}

function checkData(data: readonly Datum[]): Datum[] {
  return data.map((d, i) => parseWire(DatumSchema, d, `data[${i}]`));
}

export class TrainingClient {
  readonly service: ServiceClient;
  readonly modelId: string;
  readonly baseModel: string;
  #seq = 0;
  #turn: Promise<unknown> = Promise.resolve();

  constructor(service: ServiceClient, modelId: string, baseModel: string) {
    this.service = service;
    this.modelId = modelId;
    this.baseModel = baseModel;
  }

  /**
   * Runs `send(seqId)` after every earlier submission of this client has been answered, so
   * requests reach the server in seq_id order (the SDK's _take_turn).
   */
  #submit<T>(send: (seqId: number) => Promise<T>): Promise<T> {
    const run = this.#turn.then(async () => {
      const seqId = ++this.#seq;
      try {
        return await send(seqId);
      } catch (error) {
        // A request the server refused was not queued: its seq_id is free again, or the server
        // would wait for it before running the next ones. (A refusal because the seq_id was
        // already used keeps it used.)
        if (this.#seq === seqId && refusedBeforeQueueing(error)) this.#seq--;
        throw error;
      }
    });
    this.#turn = run.catch(() => undefined);
    return run;
  }

  async #post(endpoint: string, body: unknown): Promise<string> {
    const answer = await this.service.transport.postJson(endpoint, body);
    return parseBody(UntypedAPIFutureSchema, answer, endpoint).request_id;
  }

  async #postProto(endpoint: string, bytes: Uint8Array): Promise<string> {
    const response = await this.service.transport.request(endpoint, {
      method: 'POST',
      body: bytes,
      contentType: PROTO_CONTENT_TYPE,
    });
    const answer: unknown = JSON.parse(Buffer.from(response.body).toString('utf8'));
    return parseBody(UntypedAPIFutureSchema, answer, endpoint).request_id;
  }

  #outputFuture(endpoint: string, type: string, requestId: string): TinkerFuture<ForwardBackwardOutput> {
    return this.service.future(endpoint, type, requestId, ForwardBackwardOutputSchema, {
      acceptProto: true,
      decodeProto: decodeForwardBackwardOutput,
    });
  }

  async #fwd(
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig: Readonly<Record<string, number>> | undefined,
    forwardOnly: boolean,
  ): Promise<TinkerFuture<ForwardBackwardOutput>> {
    const checked = checkData(data);
    const config = this.service.clientConfig;
    const chunks = chunkData(checked, config.fwdbwd_max_chunk_len);
    const futures = [];
    for (const chunk of chunks) {
      const input = {
        data: chunk,
        loss_fn: lossFn,
        ...(lossFnConfig ? { loss_fn_config: { ...lossFnConfig } } : {}),
      };
      futures.push(
        await this.#submit(async (seqId) => {
          const request: ForwardBackwardRequest = {
            model_id: this.modelId,
            seq_id: seqId,
            forward_backward_input: input,
          };
          const proto = this.service.encoding === 'protobuf' && hasProtoEncoding(request);
          let endpoint: string;
          let requestId: string;
          if (proto && (!forwardOnly || config.fwd_via_fwdbwd)) {
            endpoint = `${API}/forward_backward`;
            requestId = await this.#postProto(endpoint, encodeForwardBackwardRequest(request, forwardOnly));
          } else if (forwardOnly) {
            endpoint = `${API}/forward`;
            requestId = await this.#post(endpoint, {
              model_id: this.modelId,
              seq_id: seqId,
              forward_input: input,
            });
          } else {
            endpoint = `${API}/forward_backward`;
            requestId = await this.#post(endpoint, request);
          }
          return this.#outputFuture(endpoint, forwardOnly ? 'Forward' : 'ForwardBackward', requestId);
        }),
      );
    }
    return futures.length === 1 ? futures[0]! : new CombinedFuture(futures, combineForwardBackwardOutputs);
  }

  /** The loss and its outputs (logprobs, ...) without gradients. */
  forward(
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig?: Readonly<Record<string, number>>,
  ): Promise<TinkerFuture<ForwardBackwardOutput>> {
    return this.#fwd(data, lossFn, lossFnConfig, true);
  }

  /**
   * Loss, outputs, and gradients accumulated until the next optimStep. Loss inputs:
   * cross_entropy {target_tokens, weights}; importance_sampling and ppo {target_tokens,
   * logprobs (the sampler's), advantages}; ppo's loss_fn_config {clip_low_threshold,
   * clip_high_threshold} (default 0.8 and 1.2).
   */
  forwardBackward(
    data: readonly Datum[],
    lossFn: LossFnType,
    lossFnConfig?: Readonly<Record<string, number>>,
  ): Promise<TinkerFuture<ForwardBackwardOutput>> {
    return this.#fwd(data, lossFn, lossFnConfig, false);
  }

  /** One Adam step over the accumulated gradients (AdamParams' defaults are the SDK's). */
  optimStep(adamParams: AdamParamsInput = {}): Promise<TinkerFuture<OptimStepResponse>> {
    const params = parseWire(AdamParamsSchema, adamParams, 'adam_params');
    const endpoint = `${API}/optim_step`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        adam_params: params,
        model_id: this.modelId,
        seq_id: seqId,
        type: 'optim_step',
      });
      return this.service.future(endpoint, 'OptimStep', id, OptimStepResponseSchema);
    });
  }

  /** save_weights: weights and optimizer state, to resume from (tinker://MODEL/weights/NAME). */
  saveState(name: string): Promise<TinkerFuture<SaveWeightsResponse>> {
    const endpoint = `${API}/save_weights`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        model_id: this.modelId,
        path: name,
        seq_id: seqId,
        type: 'save_weights',
      });
      return this.service.future(endpoint, 'SaveWeights', id, SaveWeightsResponseSchema);
    });
  }

  /** load_weights from a save_weights path (only as the model's first request, as SkyRL rules). */
  loadState(path: string, options: { optimizer?: boolean } = {}): Promise<TinkerFuture<LoadWeightsResponse>> {
    const endpoint = `${API}/load_weights`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        model_id: this.modelId,
        path,
        optimizer: options.optimizer ?? true,
        seq_id: seqId,
        type: 'load_weights',
      });
      return this.service.future(endpoint, 'LoadWeights', id, LoadWeightsResponseSchema);
    });
  }

  /** save_weights_for_sampler: weights a sampler can load (tinker://MODEL/sampler_weights/NAME). */
  saveWeightsForSampler(name: string): Promise<TinkerFuture<SaveWeightsForSamplerResponse>> {
    const endpoint = `${API}/save_weights_for_sampler`;
    return this.#submit(async (seqId) => {
      const id = await this.#post(endpoint, {
        model_id: this.modelId,
        path: name,
        seq_id: seqId,
        type: 'save_weights_for_sampler',
      });
      return this.service.future(endpoint, 'SaveWeightsForSampler', id, SaveWeightsForSamplerResponseSchema);
    });
  }

  /** Saves sampler weights under `name` and opens a SamplingClient on them. */
  async saveWeightsAndGetSamplingClient(name: string): Promise<SamplingClient> {
    const saved = await (await this.saveWeightsForSampler(name)).result();
    return this.service.createSamplingClient({ modelPath: saved.path });
  }

  async getInfo(): Promise<GetInfoResponse> {
    const body = await this.service.transport.postJson(`${API}/get_info`, {
      model_id: this.modelId,
      type: 'get_info',
    });
    return parseBody(GetInfoResponseSchema, body, 'get_info');
  }

  async unload(): Promise<UnloadModelResponse> {
    const endpoint = `${API}/unload_model`;
    const id = await this.#submit(() =>
      this.#post(endpoint, { model_id: this.modelId, type: 'unload_model' }),
    );
    return this.service.future(endpoint, 'UnloadModel', id, UnloadModelResponseSchema).result();
  }
}

/** What SamplingClient.sample takes (sample_request.py, camelCase around the wire params). */
export interface SampleOptions {
  readonly prompt: ModelInput;
  readonly numSamples?: number;
  readonly samplingParams: SamplingParamsInput;
  /** Log-probs of every prompt token (null for the first). */
  readonly includePromptLogprobs?: boolean;
  readonly topkPromptLogprobs?: number;
}

export class SamplingClient {
  readonly service: ServiceClient;
  readonly samplingSessionId: string;
  #seq = 0;

  constructor(service: ServiceClient, samplingSessionId: string) {
    this.service = service;
    this.samplingSessionId = samplingSessionId;
  }

  /**
   * Submits a sample request; its future resubmits it when the result expired on the server
   * (sampling changes nothing, so that is safe; api_future_impl.py's 410 path).
   */
  async submitSample(options: SampleOptions): Promise<TinkerFuture<SampleResponse>> {
    const prompt = parseWire(ModelInputSchema, options.prompt, 'prompt');
    modelInputLength(prompt, 'prompt');
    const params = parseWire(SamplingParamsSchema, options.samplingParams, 'sampling_params');
    const numSamples = options.numSamples ?? 1;
    if (!Number.isInteger(numSamples) || numSamples < 1)
      throw new InvalidInputError('numSamples', numSamples, 'a positive integer');
    const endpoint = `${API}/asample`;
    const send = async (): Promise<string> => {
      const body = await this.service.transport.postJson(endpoint, {
        num_samples: numSamples,
        prompt,
        sampling_params: params,
        sampling_session_id: this.samplingSessionId,
        seq_id: this.#seq++,
        prompt_logprobs: options.includePromptLogprobs ?? false,
        topk_prompt_logprobs: options.topkPromptLogprobs ?? 0,
        type: 'sample',
      });
      return parseBody(UntypedAPIFutureSchema, body, endpoint).request_id;
    };
    const requestId = await send();
    return this.service.future(endpoint, 'Sample', requestId, SampleResponseSchema, {
      acceptProto: true,
      decodeProto: decodeSampleResponse,
      resubmit: send,
    });
  }

  /** Samples and waits for the result (the SDK's sample_async). */
  async sample(options: SampleOptions): Promise<SampleResponse> {
    return (await this.submitSample(options)).result();
  }

  /** Log-probs of every token of `prompt` under this sampler's weights (null for the first). */
  async computeLogprobs(prompt: ModelInput): Promise<(number | null)[]> {
    const result = await this.sample({
      prompt,
      numSamples: 1,
      samplingParams: { max_tokens: 1 },
      includePromptLogprobs: true,
    });
    if (!result.prompt_logprobs)
      throw new InvalidInputError(
        'prompt_logprobs',
        result.prompt_logprobs,
        'the server returned no prompt log-probs',
      );
    return result.prompt_logprobs;
  }
}
