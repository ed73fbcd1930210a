// The server with raw HTTP requests: the bodies, status codes and error objects of SkyRL's
// server (github.com/NovaSky-AI/SkyRL skyrl/tinker/api.py at
// a9564572eb8e91076be43c1bd5e4615e3de17265) and what the SDK expects
// (github.com/thinking-machines-lab/tinker at d595dc2ba62a1494aa0f452fe1d0dbb7b321b870:
// try_again_response.py, request_failed_response.py, api_future_impl.py's 410 and Accept).
import { afterEach, describe, expect, it } from 'vitest';
import {
  AdamParamsSchema,
  ReferenceBackend,
  createTinkerServer,
  decodeForwardBackwardOutput,
  decodeSampleResponse,
  encodeForwardBackwardRequest,
  modelInputFromTokens,
  tensorData,
  type Datum,
  type ForwardBackwardOutput,
  type LossFnType,
  type TinkerBackend,
  type TinkerServer,
  type TinkerServerOptions,
} from '../src/index.js';

const servers: TinkerServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const MODEL = 'vzero/bigram-64';

/** The reference backend with some calls replaced (a slow or a traced one). */
function withOverrides(backend: ReferenceBackend, overrides: Partial<TinkerBackend>): TinkerBackend {
  return {
    supportedModels: () => backend.supportedModels(),
    createModel: (spec) => backend.createModel(spec),
    forward: (...a) => backend.forward(...a),
    forwardBackward: (...a) => backend.forwardBackward(...a),
    optimStep: (...a) => backend.optimStep(...a),
    saveWeights: (...a) => backend.saveWeights(...a),
    saveWeightsForSampler: (...a) => backend.saveWeightsForSampler(...a),
    loadWeights: (...a) => backend.loadWeights(...a),
    checkpointInfo: (ref) => backend.checkpointInfo(ref),
    sample: (job) => backend.sample(job),
    unloadModel: (id) => backend.unloadModel(id),
    ...overrides,
  };
}

async function start(options: Partial<TinkerServerOptions> = {}): Promise<TinkerServer> {
  const server = await createTinkerServer({
    backend: new ReferenceBackend(),
    retrieveWaitMs: 200,
    ...options,
  });
  servers.push(server);
  return server;
}

async function call(
  server: TinkerServer,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await fetch(`${server.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    ...(body === undefined
      ? {}
      : { body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) }),
  });
  const bytes = new Uint8Array(await response.arrayBuffer());
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    type,
    bytes,
    json: type.includes('json')
      ? (JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>)
      : undefined,
  };
}

async function session(server: TinkerServer, headers: Record<string, string> = {}): Promise<string> {
  const r = await call(
    server,
    '/api/v1/create_session',
    { tags: [], user_metadata: null, sdk_version: '0.25.0', type: 'create_session' },
    headers,
  );
  return r.json!.session_id as string;
}

async function result(server: TinkerServer, id: string, accept = 'application/json') {
  for (;;) {
    const r = await call(server, '/api/v1/retrieve_future', { request_id: id }, { Accept: accept });
    if (r.json?.type !== 'try_again') return r;
  }
}

async function model(server: TinkerServer): Promise<string> {
  const sid = await session(server);
  const r = await call(server, '/api/v1/create_model', {
    session_id: sid,
    model_seq_id: 0,
    base_model: MODEL,
    lora_config: { rank: 4 },
  });
  expect(r.status).toBe(200);
  expect(r.json).toMatchObject({ base_model: MODEL, status: 'created', lora_config: { rank: 4 } });
  expect((await result(server, r.json!.request_id as string)).json).toEqual({
    model_id: r.json!.model_id,
    type: 'create_model',
  });
  return r.json!.model_id as string;
}

const datum: Datum = {
  model_input: modelInputFromTokens([1, 2, 3]),
  loss_fn_inputs: {
    target_tokens: tensorData([2, 3, 4], 'int64'),
    weights: tensorData([1, 1, 0.5], 'float32'),
  },
};
const fbBody = (modelId: string, seq: number | undefined, lossFn: LossFnType = 'cross_entropy') => ({
  model_id: modelId,
  ...(seq === undefined ? {} : { seq_id: seq }),
  forward_backward_input: { data: [datum], loss_fn: lossFn },
});

describe('service routes', () => {
  it('healthz, client config, capabilities', async () => {
    const server = await start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call(server, '/api/v1/healthz')).json).toEqual({ status: 'ok' });
    const config = await call(server, '/api/v1/client/config', { sdk_version: '0.24.1' });
    expect(config.json).toMatchObject({
      pjwt_auth_enabled: false,
      proto_write_fwdbwd: true,
      fwd_via_fwdbwd: true,
      proto_compress_fwdbwd: false,
    });
    const json = await start({ protobuf: false });
    expect((await call(json, '/api/v1/client/config', { sdk_version: '0.24.1' })).json).toMatchObject({
      proto_write_fwdbwd: false,
    });
    expect((await call(server, '/api/v1/client/dynamic_config', { sdk_version: '0.25.0' })).json).toEqual({
      refresh_interval_sec: 300,
    });
    expect((await call(server, '/api/v1/get_server_capabilities')).json).toEqual({
      supported_models: [{ model_name: MODEL, max_context_length: 4096 }],
    });
  });

  it('errors in FastAPI shape: 404 route, 405 method, 422 body with loc, invalid JSON', async () => {
    const server = await start();
    expect(await call(server, '/api/v1/nope', {})).toMatchObject({
      status: 404,
      json: { detail: 'Not Found' },
    });
    expect(await call(server, '/api/v1/create_session')).toMatchObject({ status: 405 });
    const bad = await call(server, '/api/v1/create_session', { tags: [] });
    expect(bad.status).toBe(422);
    expect((bad.json!.detail as { loc: unknown[] }[])[0]!.loc).toEqual(['body', 'sdk_version']);
    const notJson = await call(server, '/api/v1/create_session', '{oops');
    expect(notJson.status).toBe(422);
    expect((notJson.json!.detail as { type: string }[])[0]!.type).toBe('json_invalid');
  });

  it('sessions: heartbeats keep one alive, an unknown or expired one is 404 Session not found', async () => {
    const server = await start({ sessionTtlMs: 600 });
    const sid = await session(server);
    expect(
      await call(server, '/api/v1/session_heartbeat', { session_id: sid, type: 'session_heartbeat' }),
    ).toMatchObject({
      status: 200,
      json: { type: 'session_heartbeat' },
    });
    expect(await call(server, '/api/v1/session_heartbeat', { session_id: 'session_x' })).toMatchObject({
      status: 404,
      json: { detail: 'Session not found' },
    });
    await new Promise((r) => setTimeout(r, 900));
    expect((await call(server, '/api/v1/session_heartbeat', { session_id: sid })).status).toBe(404);
    expect((await call(server, '/api/v1/create_model', { session_id: sid, base_model: MODEL })).json).toEqual(
      { detail: 'Session not found' },
    );
  });

  it('API key: X-API-Key or Bearer, 401 otherwise; healthz stays open', async () => {
    const server = await start({ apiKey: 'k-123' });
    expect((await call(server, '/api/v1/healthz')).status).toBe(200);
    expect(await call(server, '/api/v1/client/config', { sdk_version: 'x' })).toMatchObject({
      status: 401,
      json: { detail: 'Invalid or missing API key' },
    });
    expect(
      (await call(server, '/api/v1/client/config', { sdk_version: 'x' }, { 'X-API-Key': 'k-124' })).status,
    ).toBe(401);
    expect(
      (await call(server, '/api/v1/client/config', { sdk_version: 'x' }, { 'X-API-Key': 'k-123' })).status,
    ).toBe(200);
    expect(
      (await call(server, '/api/v1/client/config', { sdk_version: 'x' }, { Authorization: 'Bearer k-123' }))
        .status,
    ).toBe(200);
  });

  it('a body past the limit is 413', async () => {
    const server = await start({ maxBodyBytes: 1000 });
    const r = await call(server, '/api/v1/create_session', { tags: ['x'.repeat(2000)], sdk_version: '1' });
    expect(r).toMatchObject({ status: 413 });
    expect(String(r.json!.detail)).toMatch(/exceeds the limit of 1000 bytes/);
  });
});

describe('futures', () => {
  it('try_again while pending, the result once done, 404 unknown, 410 once expired', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const backend = new ReferenceBackend();
    const slow = withOverrides(backend, {
      forwardBackward: async (...args) => {
        await gate;
        return backend.forwardBackward(...args);
      },
    });
    const server = await start({ backend: slow, retrieveWaitMs: 20, futureTtlMs: 1500 });
    const id = await model(server);
    const submitted = await call(server, '/api/v1/forward_backward', fbBody(id, 1));
    expect(submitted.json).toEqual({ future_id: '2', status: 'pending', request_id: '2', model_id: id });
    expect((await call(server, '/api/v1/retrieve_future', { request_id: '2' })).json).toEqual({
      type: 'try_again',
      request_id: '2',
      queue_state: 'active',
    });
    release();
    const done = await result(server, '2');
    expect(done.status).toBe(200);
    expect((done.json as unknown as ForwardBackwardOutput).loss_fn_outputs[0]!.logprobs!.data).toHaveLength(
      3,
    );
    expect(await call(server, '/api/v1/retrieve_future', { request_id: '99' })).toMatchObject({
      status: 404,
      json: { detail: 'Future not found' },
    });
    await new Promise((r) => setTimeout(r, 1800));
    expect(await call(server, '/api/v1/retrieve_future', { request_id: '2' })).toMatchObject({
      status: 410,
      json: { detail: 'Future expired' },
    });
  });

  it('a failed request is 200 {error, category}; bad input is a "user" failure', async () => {
    const server = await start();
    const id = await model(server);
    const r = await call(server, '/api/v1/forward_backward', {
      ...fbBody(id, 1),
      forward_backward_input: {
        data: [{ ...datum, loss_fn_inputs: { target_tokens: tensorData([2, 3, 99], 'int64') } }],
        loss_fn: 'cross_entropy',
      },
    });
    const failed = await result(server, r.json!.request_id as string);
    expect(failed.status).toBe(200);
    expect(failed.json!.category).toBe('user');
    expect(String(failed.json!.error)).toMatch(/data\[0\]\.loss_fn_inputs\.target_tokens\[2\] = 99/);
  });

  it('answers protobuf for forward_backward and sample results when Accept asks, JSON otherwise, the same numbers', async () => {
    const server = await start();
    const id = await model(server);
    const r = await call(server, '/api/v1/forward_backward', fbBody(id, 1));
    const json = await result(server, r.json!.request_id as string);
    const proto = await result(
      server,
      r.json!.request_id as string,
      'application/x-protobuf, application/json',
    );
    expect(proto.type).toBe('application/x-protobuf');
    expect(decodeForwardBackwardOutput(proto.bytes)).toEqual(json.json);

    const saved = await call(server, '/api/v1/save_weights_for_sampler', {
      model_id: id,
      path: 's1',
      seq_id: 2,
    });
    expect((await result(server, saved.json!.request_id as string)).json).toEqual({
      path: `tinker://${id}/sampler_weights/s1`,
      type: 'save_weights_for_sampler',
    });
    const sample = await call(server, '/api/v1/asample', {
      prompt: modelInputFromTokens([1, 2]),
      model_path: `tinker://${id}/sampler_weights/s1`,
      num_samples: 2,
      sampling_params: { max_tokens: 3, seed: 5 },
      prompt_logprobs: true,
    });
    const sj = await result(server, sample.json!.request_id as string);
    const sp = await result(server, sample.json!.request_id as string, 'application/x-protobuf');
    expect(decodeSampleResponse(sp.bytes)).toEqual({
      ...sj.json,
      type: undefined,
      prompt_cache_hit_tokens: 0,
    } as never);
    expect((sj.json!.sequences as unknown[]).length).toBe(2);
    // Other results stay JSON whatever Accept says.
    const opt = await call(server, '/api/v1/optim_step', { model_id: id, seq_id: 3, adam_params: {} });
    expect((await result(server, opt.json!.request_id as string, 'application/x-protobuf')).type).toBe(
      'application/json',
    );
  });
});

describe('training requests', () => {
  it('forward_backward in protobuf equals the same request in JSON', async () => {
    const server = await start();
    const a = await model(server);
    const b = await model(server);
    const json = await call(server, '/api/v1/forward_backward', fbBody(a, 1));
    const bytes = encodeForwardBackwardRequest({
      model_id: b,
      seq_id: 1,
      forward_backward_input: { data: [datum], loss_fn: 'cross_entropy' },
    });
    const proto = await call(server, '/api/v1/forward_backward', bytes, {
      'Content-Type': 'application/x-protobuf',
    });
    expect((await result(server, json.json!.request_id as string)).json).toEqual(
      (await result(server, proto.json!.request_id as string)).json,
    );
    const zstd = await call(server, '/api/v1/forward_backward', bytes, {
      'Content-Type': 'application/x-protobuf',
      'Content-Encoding': 'zstd',
    });
    expect(zstd.status).toBe(415);
    const garbage = await call(server, '/api/v1/forward_backward', Uint8Array.from([0xff, 0xff]), {
      'Content-Type': 'application/x-protobuf',
    });
    expect(garbage.status).toBe(422);
    expect(String(garbage.json!.detail)).toMatch(/^Invalid proto forward_backward body/);
  });

  it('the same seq_id with the same body is the same future; with another body 409', async () => {
    const server = await start();
    const id = await model(server);
    const first = await call(server, '/api/v1/forward_backward', fbBody(id, 1));
    const again = await call(server, '/api/v1/forward_backward', fbBody(id, 1));
    expect(again.json!.request_id).toBe(first.json!.request_id);
    const other = await call(server, '/api/v1/forward_backward', fbBody(id, 1, 'importance_sampling'));
    expect(other).toMatchObject({
      status: 409,
      json: { detail: 'Training request sequence number was reused' },
    });
  });

  it("runs a model's requests in seq_id order whatever order they arrive in", async () => {
    const backend = new ReferenceBackend();
    const order: string[] = [];
    const traced = withOverrides(backend, {
      forwardBackward: async (...args) => {
        order.push('fb');
        return backend.forwardBackward(...args);
      },
      optimStep: async (...args) => {
        order.push('opt');
        return backend.optimStep(...args);
      },
    });
    const server = await start({ backend: traced });
    const id = await model(server);
    const adam = AdamParamsSchema.parse({ learning_rate: 0.1 });
    const third = await call(server, '/api/v1/forward_backward', fbBody(id, 3));
    const second = await call(server, '/api/v1/optim_step', { model_id: id, seq_id: 2, adam_params: adam });
    await new Promise((r) => setTimeout(r, 50));
    expect(order).toEqual([]);
    const first = await call(server, '/api/v1/forward_backward', fbBody(id, 1));
    const [l1, , l3] = await Promise.all(
      [first, second, third].map((r) => result(server, r.json!.request_id as string)),
    );
    expect(order).toEqual(['fb', 'opt', 'fb']);
    const loss = (r: Awaited<ReturnType<typeof result>>) =>
      (r.json as unknown as ForwardBackwardOutput).metrics['loss:sum']!;
    expect(loss(l3!)).toBeLessThan(loss(l1!));
  });

  it('404 for an unknown model; load_weights only first; checkpoints 409 when they exist, 404 when not', async () => {
    const server = await start();
    expect(
      await call(server, '/api/v1/optim_step', { model_id: 'model_none', adam_params: {} }),
    ).toMatchObject({
      status: 404,
      json: { detail: 'Model not found' },
    });
    const id = await model(server);
    const save = await call(server, '/api/v1/save_weights', { model_id: id, path: 'c1', seq_id: 1 });
    expect((await result(server, save.json!.request_id as string)).json).toEqual({
      path: `tinker://${id}/weights/c1`,
      type: 'save_weights',
    });
    expect(await call(server, '/api/v1/save_weights', { model_id: id, path: 'c1', seq_id: 2 })).toMatchObject(
      {
        status: 409,
        json: { detail: `Checkpoint 'c1' already exists for model '${id}'` },
      },
    );
    expect((await call(server, '/api/v1/save_weights', { model_id: id, path: '../x' })).status).toBe(422);
    expect(
      await call(server, '/api/v1/load_weights', {
        model_id: id,
        path: `tinker://${id}/weights/c1`,
        optimizer: true,
        seq_id: 3,
      }),
    ).toMatchObject({
      status: 400,
      json: { detail: 'LoadWeights is not permitted with seq_id 3' },
    });
    const other = await model(server);
    expect(
      (
        await call(server, '/api/v1/load_weights', {
          model_id: other,
          path: `tinker://${id}/weights/zz`,
          optimizer: true,
        })
      ).status,
    ).toBe(404);
    expect(
      await call(server, '/api/v1/load_weights', { model_id: other, path: 'c1', optimizer: true }),
    ).toMatchObject({
      status: 400,
      json: { detail: 'request.path must be in format tinker://source_model_id/weights/checkpoint_id' },
    });
    const load = await call(server, '/api/v1/load_weights', {
      model_id: other,
      path: `tinker://${id}/weights/c1`,
      optimizer: true,
      seq_id: 1,
    });
    expect((await result(server, load.json!.request_id as string)).json).toEqual({
      path: `tinker://${id}/weights/c1`,
      model_id: other,
      type: 'load_weights',
    });
    expect(
      (await call(server, '/api/v1/weights_info', { tinker_path: `tinker://${id}/weights/c1` })).json,
    ).toEqual({
      base_model: MODEL,
      is_lora: true,
      lora_rank: 4,
    });
  });

  it('asample: max_tokens required (400), a source required (422), an unknown checkpoint 404', async () => {
    const server = await start();
    const id = await model(server);
    const prompt = modelInputFromTokens([1]);
    expect(
      await call(server, '/api/v1/asample', { prompt, base_model: MODEL, sampling_params: {} }),
    ).toMatchObject({
      status: 400,
      json: { detail: 'max_tokens is currently required' },
    });
    expect(
      (await call(server, '/api/v1/asample', { prompt, sampling_params: { max_tokens: 1 } })).status,
    ).toBe(422);
    expect(
      (
        await call(server, '/api/v1/asample', {
          prompt,
          model_path: `tinker://${id}/sampler_weights/none`,
          sampling_params: { max_tokens: 1 },
        })
      ).status,
    ).toBe(404);
    const base = await call(server, '/api/v1/asample', {
      prompt,
      base_model: MODEL,
      sampling_params: { max_tokens: 2, seed: 1 },
    });
    expect(
      ((await result(server, base.json!.request_id as string)).json!.sequences as unknown[]).length,
    ).toBe(1);
  });
});

describe('shutdown', () => {
  it('close() ends held polls, waits for running jobs and frees the port', async () => {
    const server = await start({ retrieveWaitMs: 60_000 });
    const id = await model(server);
    const r = await call(server, '/api/v1/forward_backward', fbBody(id, 1));
    await result(server, r.json!.request_id as string);
    servers.splice(servers.indexOf(server), 1);
    await server.close();
    await expect(fetch(`${server.url}/api/v1/healthz`)).rejects.toThrow();
    const again = await createTinkerServer({ backend: new ReferenceBackend(), port: server.port });
    expect(again.port).toBe(server.port);
    await again.close();
  });
});
