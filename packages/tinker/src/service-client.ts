// ServiceClient: the session (client config, create_session, heartbeats), capabilities, and the
// creation of training and sampling clients (SDK lib/public_interfaces/service_client.py,
// lib/internal_client_holder.py at d595dc2b). The module header of training-client.ts says how
// training calls are submitted and pipelined.
import { PolledFuture, type TinkerFuture } from './futures.js';
import { Transport, type RetryOptions, type TransportEvent } from './transport.js';
import {
  ClientConfigResponseSchema,
  CreateModelResponseSchema,
  CreateSamplingSessionResponseSchema,
  CreateSessionResponseSchema,
  GetServerCapabilitiesResponseSchema,
  LoraConfigSchema,
  UntypedAPIFutureSchema,
  WeightsInfoResponseSchema,
  type ClientConfigResponse,
  type GetServerCapabilitiesResponse,
  type LoraConfigInput,
  type WeightsInfoResponse,
} from './types.js';
import { parseWire } from './validate.js';
import type { z } from 'zod';
import { API, parseBody } from './client-common.js';
import { TrainingClient } from './training-client.js';
import { SamplingClient } from './sampling-client.js';
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
          if (r.status !== 200 && !this.#closed)
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
