// createTinkerServer: the Tinker API on node:http, with the endpoints, status codes and error
// bodies of SkyRL's server (github.com/NovaSky-AI/SkyRL skyrl/tinker/api.py at a9564572) and the
// SDK's expectations (github.com/thinking-machines-lab/tinker src/tinker at d595dc2b, SDK
// 0.25.0): sessions with heartbeats (expiring), client config (which tells a client to send
// forward_backward as protobuf), server capabilities, an async futures table (each model's
// requests run in seq_id order; retrieve_future holds a poll up to retrieveWaitMs, then answers
// try_again; results expire after futureTtlMs), checkpoints under tinker:// paths, API-key auth
// when an apiKey is set, a body size limit, and a clean close. The work itself goes to a
// TinkerBackend. PROTOCOL.md lists every route and where each rule comes from.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { VZeroError } from '@vzero/core';
import { canonicalTensor } from '../model-input.js';
import {
  PROTO_CONTENT_TYPE,
  decodeForwardBackwardRequest,
  encodeForwardBackwardOutput,
  encodeSampleResponse,
} from '../protobuf.js';
import {
  ClientConfigRequestSchema,
  CreateModelRequestSchema,
  CreateSamplingSessionRequestSchema,
  CreateSessionRequestSchema,
  ForwardBackwardRequestSchema,
  ForwardRequestSchema,
  FutureRetrieveRequestSchema,
  GetInfoRequestSchema,
  LoadWeightsRequestSchema,
  LoraConfigSchema,
  OptimStepRequestSchema,
  SampleRequestSchema,
  SaveWeightsForSamplerRequestSchema,
  SaveWeightsRequestSchema,
  SessionHeartbeatRequestSchema,
  UnloadModelRequestSchema,
  WeightsInfoRequestSchema,
  type Datum,
  type ForwardBackwardInput,
  type ForwardBackwardOutput,
  type LoraConfig,
  type SampleResponse,
  type TensorData,
} from '../types.js';
import type { CheckpointKind, CheckpointRef, TinkerBackend } from './backend.js';
import { FuturesTable, type FutureEntry, type FutureKind } from './futures-table.js';
import { HttpError, parseJson, readBody, sendBytes, sendJson, validate } from './http.js';
import { ModelQueue } from './model-queue.js';
import { ID_PATTERN, checkpointRef, parseTinkerPath } from './paths.js';

export interface TinkerServerOptions {
  readonly backend: TinkerBackend;
  /** Default 127.0.0.1 (loopback only). */
  readonly host?: string;
  /** Default 0: any free port (read it from the returned server). */
  readonly port?: number;
  /** When set, every route but /api/v1/healthz needs it in X-API-Key or Authorization: Bearer. */
  readonly apiKey?: string;
  /** Request bodies larger than this are refused with 413 (default 256 MiB). */
  readonly maxBodyBytes?: number;
  /** Settled results are kept this long, then retrieve_future answers 410 (default 1 hour). */
  readonly futureTtlMs?: number;
  /** How long retrieve_future holds a poll for a pending result before try_again (default 10 s). */
  readonly retrieveWaitMs?: number;
  /** A session without a heartbeat for this long expires (default 10 minutes). */
  readonly sessionTtlMs?: number;
  /** Tell clients (client config proto_write_fwdbwd, fwd_via_fwdbwd) to send protobuf (default true). */
  readonly protobuf?: boolean;
  /** Client config fwdbwd_max_chunk_len: datums per forward_backward request (default 1024). */
  readonly fwdbwdMaxChunkLen?: number;
  /** How long a model's queue waits for a missing seq_id before going on (default 30 s). */
  readonly seqGapTimeoutMs?: number;
  /** Failures of backend calls and of the server itself, for logs. */
  readonly onError?: (error: unknown, context: string) => void;
}

export interface TinkerServer {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Stops accepting, ends held polls, waits for running jobs, closes the backend. */
  close(): Promise<void>;
}

interface SessionState {
  lastSeen: number;
  readonly sdkVersion: string;
}

interface ModelState {
  readonly modelId: string;
  readonly sessionId: string;
  readonly baseModel: string;
  readonly loraConfig: LoraConfig;
  readonly queue: ModelQueue;
  /** Requests accepted for it, create_model excluded (load_weights must come first). */
  requests: number;
  status: 'created' | 'unloading' | 'unloaded';
  readonly seen: Map<number, { readonly fingerprint: string; readonly requestId: string }>;
}

interface CheckpointState {
  readonly ref: CheckpointRef;
  readonly baseModel: string;
  readonly loraRank: number;
  status: 'pending' | 'ready' | 'failed';
}

interface SamplingSessionState {
  readonly sessionId: string;
  readonly baseModel: string | undefined;
  readonly modelPath: string | undefined;
}

type Handler = (ctx: RequestContext) => Promise<void> | void;

interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly body: Buffer;
  readonly params: Record<string, string>;
}

const API = '/api/v1';
const PROTO_RESULT_KINDS = new Set<FutureKind>(['forward', 'forward_backward', 'sample']);

/** A fresh id like SkyRL's (`model_1a2b3c4d`), never one `taken` already holds. */
function randomId(prefix: string, taken: ReadonlyMap<string, unknown>): string {
  for (;;) {
    const id = `${prefix}_${randomBytes(4).toString('hex')}`;
    if (!taken.has(id)) return id;
  }
}

/**
 * A digest of a value's JSON with object keys sorted: equal requests give equal digests. Kept per
 * (model, seq_id) for the whole run, so a digest, not the body (which may be megabytes).
 */
function fingerprint(value: unknown): string {
  const json = JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
  return createHash('sha256').update(json).digest('base64');
}

/** float32 tensors rounded to float32, so JSON and protobuf requests compute the same thing. */
function canonicalData(data: readonly Datum[]): Datum[] {
  return data.map((d) => ({
    model_input: d.model_input,
    loss_fn_inputs: Object.fromEntries(
      Object.entries(d.loss_fn_inputs).map(([k, t]) => [k, canonicalTensor(t)]),
    ),
  }));
}

function canonicalOutput(out: ForwardBackwardOutput): ForwardBackwardOutput {
  return {
    loss_fn_output_type: out.loss_fn_output_type,
    loss_fn_outputs: out.loss_fn_outputs.map((o) =>
      Object.fromEntries(Object.entries(o).map(([k, t]) => [k, canonicalTensor(t as TensorData)])),
    ),
    metrics: { ...out.metrics },
  };
}

function canonicalSample(out: SampleResponse): SampleResponse {
  const f = (v: number | null) => (v === null ? null : Math.fround(v));
  return {
    ...out,
    sequences: out.sequences.map((s) => ({
      ...s,
      logprobs: s.logprobs ? s.logprobs.map((v) => Math.fround(v)) : s.logprobs,
    })),
    ...(out.prompt_logprobs ? { prompt_logprobs: out.prompt_logprobs.map(f) } : {}),
    ...(out.topk_prompt_logprobs
      ? {
          topk_prompt_logprobs: out.topk_prompt_logprobs.map((row) =>
            row ? row.map(([id, lp]) => [id, Math.fround(lp)] as [number, number]) : null,
          ),
        }
      : {}),
  };
}

function categoryOf(error: unknown): 'user' | 'server' {
  return error instanceof VZeroError &&
    (error.code === 'INVALID_INPUT' || error.code === 'SHAPE_MISMATCH' || error.code === 'UNKNOWN_KEY')
    ? 'user'
    : 'server';
}

function keyMatches(expected: string, given: string | undefined): boolean {
  if (given === undefined) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

export async function createTinkerServer(options: TinkerServerOptions): Promise<TinkerServer> {
  const backend = options.backend;
  const maxBody = options.maxBodyBytes ?? 256 * 1024 * 1024;
  const retrieveWaitMs = options.retrieveWaitMs ?? 10_000;
  const sessionTtlMs = options.sessionTtlMs ?? 10 * 60_000;
  const protobuf = options.protobuf ?? true;
  const onError = options.onError ?? (() => undefined);
  const futures = new FuturesTable({ ttlMs: options.futureTtlMs ?? 60 * 60_000 });
  const sessions = new Map<string, SessionState>();
  const models = new Map<string, ModelState>();
  const checkpoints = new Map<string, CheckpointState>();
  const samplers = new Map<string, SamplingSessionState>();
  const running = new Set<Promise<void>>();
  let closing = false;

  // -------------------------------------------------------------------------------------------
  // Helpers

  function liveSession(id: string): SessionState {
    const s = sessions.get(id);
    if (!s || Date.now() - s.lastSeen > sessionTtlMs) {
      sessions.delete(id);
      throw new HttpError(404, 'Session not found');
    }
    return s;
  }

  function getModel(id: string): ModelState {
    const m = models.get(id);
    if (!m || m.status === 'unloaded') throw new HttpError(404, 'Model not found');
    return m;
  }

  /** Runs `work` as the future's job and settles the entry with its outcome. */
  function job(entry: FutureEntry, context: string, work: () => Promise<unknown>): () => Promise<void> {
    return async () => {
      const p = (async () => {
        try {
          futures.settle(entry, { status: 'done', value: await work() });
        } catch (error) {
          onError(error, context);
          const message = error instanceof Error ? error.message : String(error);
          futures.settle(entry, { status: 'failed', error: message, category: categoryOf(error) });
        }
      })();
      running.add(p);
      await p.finally(() => running.delete(p));
    };
  }

  /**
   * A future for a model request: the same (model, seq_id) with the same body answers the
   * same request id (a retried submission); with another body, 409 (SkyRL create_future).
   */
  function modelFuture(
    model: ModelState,
    kind: FutureKind,
    seqId: number | null | undefined,
    body: unknown,
    work: () => Promise<unknown>,
  ): string {
    const seq = seqId ?? undefined;
    const print = fingerprint({ kind, body });
    if (seq !== undefined) {
      const seen = model.seen.get(seq);
      if (seen) {
        if (seen.fingerprint !== print)
          throw new HttpError(409, 'Training request sequence number was reused');
        return seen.requestId;
      }
    }
    const entry = futures.create(kind);
    if (seq !== undefined) model.seen.set(seq, { fingerprint: print, requestId: entry.id });
    model.requests++;
    model.queue.enqueue(seq, job(entry, `${kind} ${model.modelId}`, work));
    return entry.id;
  }

  function futureAnswer(res: ServerResponse, requestId: string, modelId?: string): void {
    sendJson(res, 200, {
      future_id: requestId,
      status: 'pending',
      request_id: requestId,
      ...(modelId === undefined ? {} : { model_id: modelId }),
    });
  }

  async function findCheckpoint(ref: CheckpointRef): Promise<CheckpointState | undefined> {
    const known = checkpoints.get(ref.path);
    if (known) return known;
    // After a restart the table is empty; a persistent backend still knows its checkpoints.
    const info = await backend.checkpointInfo(ref);
    if (!info) return undefined;
    const state: CheckpointState = {
      ref,
      baseModel: info.baseModel,
      loraRank: info.loraRank,
      status: 'ready',
    };
    checkpoints.set(ref.path, state);
    return state;
  }

  async function readyCheckpoint(ref: CheckpointRef): Promise<CheckpointState> {
    const state = await findCheckpoint(ref);
    if (!state || state.status === 'failed')
      throw new HttpError(404, `Checkpoint not found: ${ref.modelId}/${ref.name}`);
    if (state.status === 'pending') throw new HttpError(425, 'Checkpoint is still being created');
    return state;
  }

  function newCheckpoint(
    model: ModelState,
    kind: CheckpointKind,
    name: string,
    overwrite: boolean,
  ): CheckpointState {
    const ref = checkpointRef(model.modelId, kind, name);
    const existing = checkpoints.get(ref.path);
    if (existing && !overwrite)
      throw new HttpError(409, `Checkpoint '${name}' already exists for model '${model.modelId}'`);
    const state: CheckpointState = {
      ref,
      baseModel: model.baseModel,
      loraRank: model.loraConfig.rank,
      status: 'pending',
    };
    checkpoints.set(ref.path, state);
    return state;
  }

  async function saving(state: CheckpointState, save: () => Promise<void>): Promise<void> {
    try {
      await save();
      state.status = 'ready';
    } catch (error) {
      state.status = 'failed';
      throw error;
    }
  }

  function fwdInput(input: ForwardBackwardInput): {
    data: Datum[];
    config: Record<string, number> | undefined;
  } {
    return { data: canonicalData(input.data), config: input.loss_fn_config ?? undefined };
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  const routes = new Map<string, Handler>();
  const route = (method: string, path: string, handler: Handler) => routes.set(`${method} ${path}`, handler);

  route('GET', `${API}/healthz`, ({ res }) => sendJson(res, 200, { status: 'ok' }));

  route('POST', `${API}/client/config`, ({ res, body }) => {
    validate(ClientConfigRequestSchema, parseJson(body));
    sendJson(res, 200, {
      pjwt_auth_enabled: false,
      credential_default_source: 'api_key',
      parallel_fwdbwd_chunks: false,
      proto_write_fwdbwd: protobuf,
      fwd_via_fwdbwd: protobuf,
      proto_compress_fwdbwd: false,
      fwdbwd_max_chunk_len: options.fwdbwdMaxChunkLen ?? 1024,
      sample_no_retries: false,
      create_model_via_load_weights: false,
    });
  });

  // client_dynamic_config_response.py: the flags a live SDK client refreshes; none apply here.
  route('POST', `${API}/client/dynamic_config`, ({ res }) =>
    sendJson(res, 200, { refresh_interval_sec: 300 }),
  );

  route('GET', `${API}/get_server_capabilities`, ({ res }) =>
    sendJson(res, 200, { supported_models: backend.supportedModels() }),
  );

  route('POST', `${API}/create_session`, ({ res, body }) => {
    const request = validate(CreateSessionRequestSchema, parseJson(body));
    const id = randomId('session', sessions);
    sessions.set(id, { lastSeen: Date.now(), sdkVersion: request.sdk_version });
    sendJson(res, 200, { type: 'create_session', session_id: id });
  });

  route('POST', `${API}/session_heartbeat`, ({ res, body }) => {
    const request = validate(SessionHeartbeatRequestSchema, parseJson(body));
    liveSession(request.session_id).lastSeen = Date.now();
    sendJson(res, 200, { type: 'session_heartbeat' });
  });

  route('POST', `${API}/telemetry`, ({ res }) => sendJson(res, 200, { status: 'accepted' }));

  route('POST', `${API}/create_model`, ({ res, body }) => {
    const request = validate(CreateModelRequestSchema, parseJson(body));
    liveSession(request.session_id);
    const loraConfig = request.lora_config ?? LoraConfigSchema.parse({ rank: 32 });
    const modelId = randomId('model', models);
    const model: ModelState = {
      modelId,
      sessionId: request.session_id,
      baseModel: request.base_model,
      loraConfig,
      queue: new ModelQueue({ gapTimeoutMs: options.seqGapTimeoutMs ?? 30_000 }),
      requests: 0,
      status: 'created',
      seen: new Map(),
    };
    models.set(modelId, model);
    const entry = futures.create('create_model');
    model.queue.enqueue(
      undefined,
      job(entry, `create_model ${modelId}`, async () => {
        await backend.createModel({
          modelId,
          baseModel: request.base_model,
          loraConfig,
          ...(request.user_metadata ? { userMetadata: request.user_metadata } : {}),
        });
        return { model_id: modelId, type: 'create_model' };
      }),
    );
    sendJson(res, 200, {
      model_id: modelId,
      base_model: request.base_model,
      lora_config: loraConfig,
      status: 'created',
      request_id: entry.id,
    });
  });

  route('POST', `${API}/get_info`, ({ res, body }) => {
    const model = getModel(validate(GetInfoRequestSchema, parseJson(body)).model_id);
    sendJson(res, 200, {
      type: 'get_info',
      model_id: model.modelId,
      status: model.status,
      model_data: {
        base_model: model.baseModel,
        model_name: model.baseModel,
        lora_config: { rank: model.loraConfig.rank },
      },
      is_lora: true,
      lora_rank: model.loraConfig.rank,
      model_name: model.baseModel,
    });
  });

  route('POST', `${API}/unload_model`, ({ res, body }) => {
    const model = getModel(validate(UnloadModelRequestSchema, parseJson(body)).model_id);
    model.status = 'unloading';
    const id = modelFuture(model, 'unload_model', undefined, {}, async () => {
      await backend.unloadModel(model.modelId);
      model.status = 'unloaded';
      model.queue.dispose();
      return { model_id: model.modelId, type: 'unload_model' };
    });
    sendJson(res, 200, { request_id: id, model_id: model.modelId });
  });

  route('POST', `${API}/forward_backward`, ({ req, res, body }) => {
    const encoding = String(req.headers['content-encoding'] ?? '')
      .trim()
      .toLowerCase();
    if (encoding !== '' && encoding !== 'identity')
      throw new HttpError(
        415,
        `Content-Encoding ${encoding} is not supported (client config proto_compress_fwdbwd is false)`,
      );
    let request;
    let forwardOnly = false;
    if (
      String(req.headers['content-type'] ?? '')
        .toLowerCase()
        .includes(PROTO_CONTENT_TYPE)
    ) {
      try {
        ({ request, forwardOnly } = decodeForwardBackwardRequest(body));
      } catch (error) {
        throw new HttpError(422, `Invalid proto forward_backward body: ${(error as Error).message}`);
      }
    } else {
      request = validate(ForwardBackwardRequestSchema, parseJson(body));
    }
    const model = getModel(request.model_id);
    const { data, config } = fwdInput(request.forward_backward_input);
    const lossFn = request.forward_backward_input.loss_fn;
    const kind: FutureKind = forwardOnly ? 'forward' : 'forward_backward';
    const id = modelFuture(model, kind, request.seq_id, request.forward_backward_input, async () =>
      canonicalOutput(
        forwardOnly
          ? await backend.forward(model.modelId, data, lossFn, config)
          : await backend.forwardBackward(model.modelId, data, lossFn, config),
      ),
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/forward`, ({ res, body }) => {
    const request = validate(ForwardRequestSchema, parseJson(body));
    const model = getModel(request.model_id);
    const { data, config } = fwdInput(request.forward_input);
    const lossFn = request.forward_input.loss_fn;
    const id = modelFuture(model, 'forward', request.seq_id, request.forward_input, async () =>
      canonicalOutput(await backend.forward(model.modelId, data, lossFn, config)),
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/optim_step`, ({ res, body }) => {
    const request = validate(OptimStepRequestSchema, parseJson(body));
    const model = getModel(request.model_id);
    const id = modelFuture(model, 'optim_step', request.seq_id, request.adam_params, async () => {
      const out = await backend.optimStep(model.modelId, request.adam_params);
      return { metrics: out.metrics ?? null };
    });
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/save_weights`, ({ res, body }) => {
    const request = validate(SaveWeightsRequestSchema, parseJson(body));
    const model = getModel(request.model_id);
    const name = request.path ?? `checkpoint_${Date.now()}`;
    if (!ID_PATTERN.test(name))
      throw new HttpError(422, [
        {
          type: 'string_pattern_mismatch',
          loc: ['body', 'path'],
          msg: `String should match pattern '${ID_PATTERN.source}'`,
        },
      ]);
    const state = newCheckpoint(model, 'weights', name, request.overwrite);
    const id = modelFuture(model, 'save_weights', request.seq_id, { path: name }, async () => {
      await saving(state, () => backend.saveWeights(model.modelId, state.ref));
      return { path: state.ref.path, type: 'save_weights' };
    });
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/save_weights_for_sampler`, ({ res, body }) => {
    const request = validate(SaveWeightsForSamplerRequestSchema, parseJson(body));
    const model = getModel(request.model_id);
    const seq = request.sampling_session_seq_id;
    if (
      !request.path &&
      (seq === undefined || seq === null || request.seq_id === undefined || request.seq_id === null)
    )
      throw new HttpError(422, [
        {
          type: 'value_error',
          loc: ['body'],
          msg: "Either 'path' or both 'sampling_session_seq_id' and 'seq_id' must be provided",
        },
      ]);
    const name = request.path ?? `ss${seq}_seq${request.seq_id}`;
    if (!ID_PATTERN.test(name))
      throw new HttpError(422, [
        {
          type: 'string_pattern_mismatch',
          loc: ['body', 'path'],
          msg: `String should match pattern '${ID_PATTERN.source}'`,
        },
      ]);
    const state = newCheckpoint(model, 'sampler_weights', name, false);
    let samplingSessionId: string | undefined;
    if (seq !== undefined && seq !== null) {
      samplingSessionId = randomId('sampling', samplers);
      samplers.set(samplingSessionId, {
        sessionId: model.sessionId,
        baseModel: undefined,
        modelPath: state.ref.path,
      });
    }
    const id = modelFuture(
      model,
      'save_weights_for_sampler',
      request.seq_id,
      { path: name, seq },
      async () => {
        await saving(state, () => backend.saveWeightsForSampler(model.modelId, state.ref));
        return {
          path: state.ref.path,
          type: 'save_weights_for_sampler',
          ...(samplingSessionId ? { sampling_session_id: samplingSessionId } : {}),
        };
      },
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/load_weights`, async ({ res, body }) => {
    const request = validate(LoadWeightsRequestSchema, parseJson(body));
    const model = getModel(request.model_id);
    if (model.requests > 0)
      throw new HttpError(
        400,
        `LoadWeights is not permitted with seq_id ${request.seq_id ?? model.requests + 1}`,
      );
    const path = parseTinkerPath(request.path);
    if (!path || path.kind !== 'weights')
      throw new HttpError(
        400,
        'request.path must be in format tinker://source_model_id/weights/checkpoint_id',
      );
    const ref = checkpointRef(path.modelId, 'weights', path.name);
    await readyCheckpoint(ref);
    const id = modelFuture(
      model,
      'load_weights',
      request.seq_id,
      { path: request.path, optimizer: request.optimizer },
      async () => {
        await backend.loadWeights(model.modelId, ref, { optimizer: request.optimizer });
        return { path: ref.path, model_id: model.modelId, type: 'load_weights' };
      },
    );
    futureAnswer(res, id, model.modelId);
  });

  route('POST', `${API}/weights_info`, async ({ res, body }) => {
    const request = validate(WeightsInfoRequestSchema, parseJson(body));
    const path = parseTinkerPath(request.tinker_path);
    if (!path || (path.kind !== 'weights' && path.kind !== 'sampler_weights'))
      throw new HttpError(
        400,
        'Invalid tinker path format. Expected: tinker://model_id/weights/checkpoint_id',
      );
    const state = await readyCheckpoint(checkpointRef(path.modelId, path.kind, path.name));
    sendJson(res, 200, { base_model: state.baseModel, is_lora: true, lora_rank: state.loraRank });
  });

  route('POST', `${API}/create_sampling_session`, ({ res, body }) => {
    const request = validate(CreateSamplingSessionRequestSchema, parseJson(body));
    liveSession(request.session_id);
    if ((request.base_model == null) === (request.model_path == null))
      throw new HttpError(400, 'Exactly one of base_model or model_path must be provided');
    const id = randomId('sampling', samplers);
    samplers.set(id, {
      sessionId: request.session_id,
      baseModel: request.base_model ?? undefined,
      modelPath: request.model_path ?? undefined,
    });
    sendJson(res, 200, { type: 'create_sampling_session', sampling_session_id: id });
  });

  route('GET', `${API}/samplers/:id`, async ({ res, params }) => {
    const sampler = samplers.get(params.id!);
    if (!sampler) throw new HttpError(404, 'Sampler not found');
    let baseModel = sampler.baseModel;
    if (baseModel === undefined && sampler.modelPath) {
      const p = parseTinkerPath(sampler.modelPath);
      baseModel = p
        ? (models.get(p.modelId)?.baseModel ??
          (await findCheckpoint(checkpointRef(p.modelId, 'sampler_weights', p.name)))?.baseModel)
        : undefined;
    }
    sendJson(res, 200, {
      sampler_id: params.id,
      base_model: baseModel ?? '',
      model_path: sampler.modelPath ?? null,
    });
  });

  route('POST', `${API}/asample`, async ({ res, body }) => {
    const raw = parseJson(body);
    const request = validate(SampleRequestSchema, raw);
    let baseModel = request.base_model ?? undefined;
    let modelPath = request.model_path ?? undefined;
    if (request.sampling_session_id != null) {
      if (request.seq_id == null)
        throw new HttpError(422, [
          {
            type: 'value_error',
            loc: ['body'],
            msg: "'seq_id' must be provided when 'sampling_session_id' is used",
          },
        ]);
      const sampler = samplers.get(request.sampling_session_id);
      if (!sampler) throw new HttpError(404, 'Sampling session not found');
      baseModel = sampler.baseModel;
      modelPath = sampler.modelPath;
    } else if ((baseModel === undefined) === (modelPath === undefined)) {
      throw new HttpError(422, [
        {
          type: 'value_error',
          loc: ['body'],
          msg: "When 'sampling_session_id' is not provided, exactly one of 'base_model' or 'model_path' must be provided",
        },
      ]);
    }
    const params = request.sampling_params;
    if (params.max_tokens == null) throw new HttpError(400, 'max_tokens is currently required');
    if (params.max_tokens <= 0) throw new HttpError(400, 'max_tokens must be a positive number');
    let source: { baseModel: string } | { checkpoint: CheckpointRef };
    if (modelPath !== undefined) {
      const p = parseTinkerPath(modelPath);
      if (!p || (p.kind !== '' && p.kind !== 'sampler_weights'))
        throw new HttpError(
          400,
          'model_path must be tinker://model_id/checkpoint_id or tinker://model_id/sampler_weights/checkpoint_id',
        );
      const state = await readyCheckpoint(checkpointRef(p.modelId, 'sampler_weights', p.name));
      source = { checkpoint: state.ref };
    } else {
      source = { baseModel: baseModel! };
    }
    const entry = futures.create('sample');
    // Sampling changes no model: its jobs run at once, side by side.
    void job(entry, 'sample', async () =>
      canonicalSample(
        await backend.sample({
          source,
          prompt: request.prompt,
          params,
          numSamples: request.num_samples,
          promptLogprobs: Boolean(request.prompt_logprobs) || request.topk_prompt_logprobs > 0,
          topkPromptLogprobs: request.topk_prompt_logprobs,
        }),
      ),
    )();
    futureAnswer(res, entry.id);
  });

  route('POST', `${API}/retrieve_future`, async ({ req, res, body }) => {
    const request = validate(FutureRetrieveRequestSchema, parseJson(body));
    const entry = futures.get(request.request_id);
    if (entry === undefined) throw new HttpError(404, 'Future not found');
    if (entry === 'expired') throw new HttpError(410, 'Future expired');
    await futures.wait(entry, closing ? 0 : retrieveWaitMs);
    const state = entry.state;
    if (state.status === 'pending') {
      sendJson(res, 200, { type: 'try_again', request_id: entry.id, queue_state: 'active' });
      return;
    }
    if (state.status === 'failed') {
      sendJson(res, 200, { error: state.error, category: state.category });
      return;
    }
    const accept = String(req.headers.accept ?? '').toLowerCase();
    if (PROTO_RESULT_KINDS.has(entry.kind) && accept.includes(PROTO_CONTENT_TYPE)) {
      const bytes =
        entry.kind === 'sample'
          ? encodeSampleResponse(state.value as SampleResponse)
          : encodeForwardBackwardOutput(state.value as ForwardBackwardOutput);
      sendBytes(res, 200, bytes, PROTO_CONTENT_TYPE);
      return;
    }
    sendJson(res, 200, state.value);
  });

  // -------------------------------------------------------------------------------------------
  // Dispatch

  function match(
    method: string,
    path: string,
  ): { handler: Handler; params: Record<string, string> } | undefined {
    const exact = routes.get(`${method} ${path}`);
    if (exact) return { handler: exact, params: {} };
    for (const [key, handler] of routes) {
      const [m, pattern] = key.split(' ') as [string, string];
      if (m !== method || !pattern.includes(':')) continue;
      const re = new RegExp(`^${pattern.replace(/:(\w+)/g, '(?<$1>[^/]+)')}$`);
      const found = re.exec(path);
      if (found) return { handler, params: { ...found.groups } };
    }
    return undefined;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    try {
      if (closing) throw new HttpError(503, 'Server is shutting down');
      if (options.apiKey !== undefined && url.pathname !== `${API}/healthz`) {
        const header = req.headers['x-api-key'];
        const bearer = /^Bearer\s+(.+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
        const given = (Array.isArray(header) ? header[0] : header) ?? bearer;
        if (!keyMatches(options.apiKey, given)) throw new HttpError(401, 'Invalid or missing API key');
      }
      const found = match(method, url.pathname);
      if (!found) {
        const other = [...routes.keys()].some((k) => k.endsWith(` ${url.pathname}`));
        throw new HttpError(other ? 405 : 404, other ? 'Method Not Allowed' : 'Not Found');
      }
      const body = method === 'POST' ? await readBody(req, maxBody) : Buffer.alloc(0);
      await found.handler({ req, res, body, params: found.params });
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(
          res,
          error.status,
          { detail: error.detail },
          error.status === 413 ? { Connection: 'close' } : {},
        );
        return;
      }
      if (categoryOf(error) === 'user') {
        // Bad input found by a helper or the backend while handling the request itself.
        sendJson(res, 400, { detail: (error as Error).message });
        return;
      }
      onError(error, `${method} ${url.pathname}`);
      sendJson(res, 500, { detail: 'Internal Server Error' });
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 5_000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sweeper = setInterval(
    () => {
      futures.sweep();
      const now = Date.now();
      for (const [id, s] of sessions) if (now - s.lastSeen > sessionTtlMs) sessions.delete(id);
    },
    Math.min(60_000, Math.max(1_000, sessionTtlMs / 4)),
  );
  sweeper.unref();
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    close() {
      closed ??= (async () => {
        closing = true;
        clearInterval(sweeper);
        futures.wakeAll();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.allSettled([...running]);
        await Promise.allSettled([...models.values()].map((m) => m.queue.idle()));
        for (const m of models.values()) m.queue.dispose();
        server.closeAllConnections();
        await stopped;
        await backend.close?.();
      })();
      return closed;
    },
  };
}
