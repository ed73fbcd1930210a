// The client against a scripted service on loopback (fake-service.ts). Bodies are written from
// the SDK (github.com/thinking-machines-lab/tinker at d595dc2ba62a1494aa0f452fe1d0dbb7b321b870,
// SDK 0.25.0; the proto_write_fwdbwd flag from 6b02536, SDK 0.24.1) and SkyRL's server
// (github.com/NovaSky-AI/SkyRL skyrl/tinker/api.py at a9564572eb8e91076be43c1bd5e4615e3de17265).
import { afterEach, describe, expect, it } from 'vitest';
import {
  ServiceClient,
  TinkerApiError,
  TinkerFutureExpiredError,
  TinkerRequestFailedError,
  TinkerTimeoutError,
  decodeForwardBackwardRequest,
  encodeForwardBackwardOutput,
  encodeSampleResponse,
  modelInputFromTokens,
  tensorData,
  type ClientEvent,
  type Datum,
  type TinkerClientOptions,
} from '../src/index.js';
import { FakeService } from './fake-service.js';

const KEY = 'sk-test-0123456789-secret';
const clients: ServiceClient[] = [];
const services: FakeService[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of services.splice(0)) await s.stop();
});

async function service(): Promise<FakeService> {
  const s = new FakeService();
  await s.start();
  services.push(s);
  return s;
}

async function connect(s: FakeService, options: Partial<TinkerClientOptions> = {}): Promise<ServiceClient> {
  const client = await ServiceClient.create({
    baseUrl: s.url,
    env: { TINKER_API_KEY: KEY },
    retry: { initialDelayMs: 2, maxDelayMs: 10, maxRetries: 4 },
    heartbeatIntervalMs: 60_000,
    random: () => 0.5,
    ...options,
  });
  clients.push(client);
  return client;
}

const datum = (tokens: number[]): Datum => ({
  model_input: modelInputFromTokens(tokens.slice(0, -1)),
  loss_fn_inputs: {
    target_tokens: tensorData(tokens.slice(1), 'int64'),
    weights: tensorData(
      tokens.slice(1).map(() => 1),
      'float32',
    ),
  },
});

/** SkyRL api.py FutureResponse. */
const futureResponse = (id: string) => ({ json: { future_id: id, status: 'pending', request_id: id } });

/** A ForwardBackwardOutput as SkyRL's jax backend writes it (skyrl/backends/jax.py). */
const fbOutput = (logprobs: number[], loss: number) => ({
  loss_fn_output_type: 'scalar',
  loss_fn_outputs: [{ logprobs: { data: logprobs, dtype: 'float32' as const, shape: [logprobs.length] } }],
  metrics: { 'loss:sum': loss },
});

describe('session', () => {
  it('sends client config and create_session as the SDK does, then heartbeats until closed', async () => {
    const s = await service();
    const client = await connect(s, { heartbeatIntervalMs: 10, tags: ['vzero'] });
    expect(s.to('/api/v1/client/config')[0]!.json).toEqual({ sdk_version: '0.24.1' });
    // create_session_request.py: tags, user_metadata, sdk_version, type.
    expect(s.to('/api/v1/create_session')[0]!.json).toEqual({
      tags: ['vzero'],
      user_metadata: null,
      sdk_version: '0.24.1',
      type: 'create_session',
    });
    expect(client.sessionId).toBe('session_fake');
    while (s.to('/api/v1/session_heartbeat').length < 3) await new Promise((r) => setTimeout(r, 5));
    expect(s.to('/api/v1/session_heartbeat')[0]!.json).toEqual({
      session_id: 'session_fake',
      type: 'session_heartbeat',
    });
    client.close();
    await new Promise((r) => setTimeout(r, 30));
    const after = s.to('/api/v1/session_heartbeat').length;
    await new Promise((r) => setTimeout(r, 60));
    expect(s.to('/api/v1/session_heartbeat').length).toBe(after);
  });

  it('sends the API key from the named variable in X-API-Key on every request', async () => {
    const s = await service();
    await connect(s, { apiKeyEnv: 'MY_TINKER_KEY', env: { MY_TINKER_KEY: KEY } });
    expect(s.requests.length).toBeGreaterThan(0);
    for (const r of s.requests) expect(r.headers['x-api-key']).toBe(KEY);
    const none = await service();
    await connect(none, { env: {} });
    for (const r of none.requests) expect(r.headers['x-api-key']).toBeUndefined();
  });

  it('never puts the key in an error or an event', async () => {
    const s = await service();
    const events: ClientEvent[] = [];
    const client = await connect(s, { onEvent: (e) => events.push(e) });
    s.routes.set('GET /api/v1/get_server_capabilities', [{ status: 503, json: { detail: 'overloaded' } }]);
    const error = await client.getServerCapabilities().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TinkerApiError);
    const text = `${(error as Error).message} ${(error as Error).stack} ${JSON.stringify(error)} ${JSON.stringify(events)} ${JSON.stringify(client)} ${JSON.stringify(client.transport)}`;
    expect(text).not.toContain(KEY);
    expect(events.some((e) => e.type === 'retry')).toBe(true);
  });
});

describe('retries of a call', () => {
  it('5xx, 409 and 429 are retried, 429 waiting what Retry-After asks', async () => {
    const s = await service();
    const events: ClientEvent[] = [];
    const client = await connect(s, { onEvent: (e) => events.push(e) });
    s.routes.set('GET /api/v1/get_server_capabilities', [
      { status: 502, json: { detail: 'bad gateway' } },
      { status: 409, json: { detail: 'lock' } },
      { status: 429, json: { detail: 'slow down' }, headers: { 'Retry-After': '0.03' } },
      {
        json: { supported_models: [{ model_name: 'Qwen/Qwen3-VL-8B-Instruct', max_context_length: 32768 }] },
      },
    ]);
    const caps = await client.getServerCapabilities();
    expect(caps.supported_models[0]!.model_name).toBe('Qwen/Qwen3-VL-8B-Instruct');
    const retries = events.filter((e) => e.type === 'retry');
    expect(retries.map((e) => e.type === 'retry' && e.status)).toEqual([502, 409, 429]);
    // Backoff 2 ms * 2^n * (1 - 0.25 * 0.5), then the 30 ms the server asked for.
    expect(retries.map((e) => e.type === 'retry' && e.delayMs)).toEqual([1.75, 3.5, 30]);
  });

  it('a 4xx other than those fails at once, naming endpoint and status; retries are bounded', async () => {
    const s = await service();
    const client = await connect(s);
    s.routes.set('GET /api/v1/get_server_capabilities', [
      { status: 401, json: { detail: 'Invalid API key' } },
    ]);
    const error = (await client.getServerCapabilities().catch((e: unknown) => e)) as TinkerApiError;
    expect(error).toBeInstanceOf(TinkerApiError);
    expect([error.endpoint, error.status, error.detail]).toEqual([
      '/api/v1/get_server_capabilities',
      401,
      'Invalid API key',
    ]);
    expect(s.to('/api/v1/get_server_capabilities')).toHaveLength(1);
    s.routes.set('GET /api/v1/get_server_capabilities', [{ status: 500, json: { detail: 'boom' } }]);
    const bounded = (await client.getServerCapabilities().catch((e: unknown) => e)) as TinkerApiError;
    expect(bounded.status).toBe(500);
    expect(bounded.message).toMatch(/gave up after 5 attempts/);
    expect(s.to('/api/v1/get_server_capabilities')).toHaveLength(1 + 5);
  });

  it('a slow answer past the attempt timeout is retried', async () => {
    const s = await service();
    const client = await connect(s, { requestTimeoutMs: 150 });
    s.routes.set('GET /api/v1/get_server_capabilities', [
      { delayMs: 1500, json: { supported_models: [] } },
      { json: { supported_models: [{ model_name: 'b' }] } },
    ]);
    expect((await client.getServerCapabilities()).supported_models).toEqual([{ model_name: 'b' }]);
  });
});

describe('training requests', () => {
  it('JSON bodies as the SDK sends them when the config does not ask for protobuf', async () => {
    const s = await service();
    const client = await connect(s);
    expect(client.encoding).toBe('json');
    const training = await client.createLoraTrainingClient('base', { rank: 8 });
    expect(s.to('/api/v1/create_model')[0]!.json).toEqual({
      session_id: 'session_fake',
      model_seq_id: 0,
      base_model: 'base',
      user_metadata: null,
      lora_config: { rank: 8, train_unembed: true, train_mlp: true, train_attn: true },
      type: 'create_model',
    });
    s.routes.set('POST /api/v1/forward_backward', [futureResponse('2')]);
    s.retrieve('2', [
      { json: { type: 'try_again', request_id: '2', queue_state: 'active' } },
      { status: 408, json: { detail: 'Timeout waiting for result' } },
      { json: fbOutput([-1.5], 1.5) },
    ]);
    const d = datum([3, 4]);
    const out = await (await training.forwardBackward([d], 'cross_entropy')).result();
    expect(out.metrics['loss:sum']).toBe(1.5);
    const sent = s.to('/api/v1/forward_backward')[0]!;
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.json).toEqual({
      model_id: 'model_fake',
      seq_id: 1,
      forward_backward_input: { data: [d], loss_fn: 'cross_entropy' },
    });
    const polls = s
      .to('/api/v1/retrieve_future')
      .filter((r) => (r.json as { request_id: string }).request_id === '2');
    expect(polls).toHaveLength(3);
    expect(polls[0]!.json).toEqual({ request_id: '2', allow_metadata_only: false });
    expect(polls[0]!.headers.accept).toBe('application/x-protobuf, application/json');
    expect(polls.map((p) => p.headers['x-tinker-request-iteration'])).toEqual(['0', '1', '2']);
  });

  it('protobuf forward_backward and forward (forward_only) when the config says proto_write_fwdbwd', async () => {
    const s = await service();
    s.routes.set('POST /api/v1/client/config', [
      { json: { proto_write_fwdbwd: true, fwd_via_fwdbwd: true } },
    ]);
    const client = await connect(s);
    expect(client.encoding).toBe('protobuf');
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [futureResponse('2'), futureResponse('3')]);
    const output = fbOutput([-0.5, -0.25], 0.75);
    s.retrieve('2', [{ bytes: encodeForwardBackwardOutput(output) }]);
    s.retrieve('3', [{ json: output }]);
    const d = datum([1, 2, 3]);
    const fb = await training.forwardBackward([d], 'importance_sampling');
    const fwd = await training.forward([d], 'cross_entropy');
    expect(await fb.result()).toEqual(output);
    expect(await fwd.result()).toEqual(output);
    const [first, second] = s.to('/api/v1/forward_backward');
    expect(first!.headers['content-type']).toBe('application/x-protobuf');
    const decoded = decodeForwardBackwardRequest(first!.body);
    expect(decoded.forwardOnly).toBe(false);
    expect(decoded.request).toEqual({
      model_id: 'model_fake',
      seq_id: 1,
      forward_backward_input: { data: [d], loss_fn: 'importance_sampling', loss_fn_config: null },
    });
    expect(decodeForwardBackwardRequest(second!.body)).toMatchObject({
      forwardOnly: true,
      request: { seq_id: 2 },
    });
  });

  it('optim_step with the SDK AdamParams; submissions pipelined in seq_id order', async () => {
    const s = await service();
    const client = await connect(s);
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [futureResponse('2'), futureResponse('4')]);
    s.routes.set('POST /api/v1/optim_step', [futureResponse('3')]);
    s.retrieve('2', [{ json: fbOutput([-1], 1) }]);
    s.retrieve('3', [{ json: { metrics: { 'grad_norm:mean': 2 } } }]);
    s.retrieve('4', [{ json: fbOutput([-0.5], 0.5) }]);
    const fb1 = await training.forwardBackward([datum([1, 2])], 'cross_entropy');
    const opt = await training.optimStep({ learning_rate: 1e-3, grad_clip_norm: 1 });
    const fb2 = await training.forwardBackward([datum([1, 2])], 'cross_entropy');
    // All three submitted before any result was read.
    expect(
      s.to('/api/v1/retrieve_future').filter((r) => (r.json as { request_id: string }).request_id !== '1'),
    ).toHaveLength(0);
    expect((await fb2.result()).metrics['loss:sum']).toBe(0.5);
    expect((await opt.result()).metrics).toEqual({ 'grad_norm:mean': 2 });
    expect((await fb1.result()).metrics['loss:sum']).toBe(1);
    expect(s.to('/api/v1/optim_step')[0]!.json).toEqual({
      adam_params: {
        learning_rate: 1e-3,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-12,
        weight_decay: 0,
        grad_clip_norm: 1,
      },
      model_id: 'model_fake',
      seq_id: 2,
      type: 'optim_step',
    });
    const seqs = s.requests
      .filter((r) => r.path === '/api/v1/forward_backward' || r.path === '/api/v1/optim_step')
      .map((r) => (r.json as { seq_id: number }).seq_id);
    expect(seqs).toEqual([1, 2, 3]);
  });

  it('splits data into fwdbwd_max_chunk_len chunks and combines the results (chunked_fwdbwd_helpers.py)', async () => {
    const s = await service();
    s.routes.set('POST /api/v1/client/config', [{ json: { fwdbwd_max_chunk_len: 2 } }]);
    const client = await connect(s);
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [
      futureResponse('2'),
      futureResponse('3'),
      futureResponse('4'),
    ]);
    const two = (a: number, b: number) => ({
      loss_fn_output_type: 'scalar',
      loss_fn_outputs: [
        { logprobs: { data: [a], dtype: 'float32', shape: [1] } },
        { logprobs: { data: [b], dtype: 'float32', shape: [1] } },
      ],
      metrics: { 'loss:sum': -(a + b), 'tokens:mean': 1, 'peak:max': -a },
    });
    s.retrieve('2', [{ json: two(-1, -2) }]);
    s.retrieve('3', [{ json: two(-3, -4) }]);
    s.retrieve('4', [
      {
        json: {
          ...two(-5, 0),
          loss_fn_outputs: two(-5, 0).loss_fn_outputs.slice(0, 1),
          metrics: { 'loss:sum': 5, 'tokens:mean': 4, 'peak:max': 5 },
        },
      },
    ]);
    const data = [1, 2, 3, 4, 5].map((t) => datum([t, t + 1]));
    const out = await (await training.forwardBackward(data, 'cross_entropy')).result();
    expect(out.loss_fn_outputs.map((o) => o.logprobs!.data[0])).toEqual([-1, -2, -3, -4, -5]);
    // sums add; means weight by datums: (1*2 + 1*2 + 4*1) / 5; max of maxes.
    expect(out.metrics).toEqual({ 'loss:sum': 15, 'tokens:mean': 8 / 5, 'peak:max': 5 });
    expect(s.to('/api/v1/forward_backward').map((r) => (r.json as { seq_id: number }).seq_id)).toEqual([
      1, 2, 3,
    ]);
  });
  it('a submission the server refused frees its seq_id; one that may have been queued does not', async () => {
    const s = await service();
    const client = await connect(s);
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [
      {
        status: 422,
        json: { detail: [{ type: 'missing', loc: ['body', 'model_id'], msg: 'Field required' }] },
      },
      futureResponse('2'),
      { status: 503, json: { detail: 'down' } },
      { status: 503, json: { detail: 'down' } },
      { status: 503, json: { detail: 'down' } },
      { status: 503, json: { detail: 'down' } },
      { status: 503, json: { detail: 'down' } },
      futureResponse('3'),
    ]);
    const d = [datum([1, 2])];
    await expect(training.forwardBackward(d, 'cross_entropy')).rejects.toThrow(TinkerApiError);
    await training.forwardBackward(d, 'cross_entropy');
    await expect(training.forwardBackward(d, 'cross_entropy')).rejects.toMatchObject({ status: 503 });
    await training.forwardBackward(d, 'cross_entropy');
    const seqs = s.to('/api/v1/forward_backward').map((r) => (r.json as { seq_id: number }).seq_id);
    // 1 refused (422) and reused; 2 answered 503 five times (maybe queued), so the next is 3.
    expect(seqs).toEqual([1, 1, 2, 2, 2, 2, 2, 3]);
  });
});

describe('futures', () => {
  it('a failed request is a TinkerRequestFailedError with its category (request_failed_response.py)', async () => {
    const s = await service();
    const client = await connect(s);
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/optim_step', [futureResponse('2')]);
    s.retrieve('2', [{ json: { error: 'learning_rate must be finite', category: 'user' } }]);
    const error = (await (
      await training.optimStep()
    )
      .result()
      .catch((e: unknown) => e)) as TinkerRequestFailedError;
    expect(error).toBeInstanceOf(TinkerRequestFailedError);
    expect([error.category, error.requestId, error.endpoint]).toEqual(['user', '2', '/api/v1/optim_step']);
  });

  it('429 and connection errors back off; 5xx retried; all bounded', async () => {
    const s = await service();
    const events: ClientEvent[] = [];
    const client = await connect(s, { onEvent: (e) => events.push(e) });
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/optim_step', [futureResponse('2'), futureResponse('3')]);
    s.retrieve('2', [
      { status: 429, json: { detail: 'rate' }, headers: { 'retry-after-ms': '25' } },
      { hangUp: true },
      { status: 503, json: { detail: 'down' } },
      { json: { metrics: null } },
    ]);
    expect(await (await training.optimStep()).result()).toEqual({ metrics: null });
    const retries = events.filter((e) => e.type === 'retry' && e.endpoint === '/api/v1/retrieve_future');
    expect(retries.map((e) => e.type === 'retry' && [e.status, e.delayMs])).toEqual([
      [429, 25],
      [0, 3.5],
      [503, 7],
    ]);
    s.retrieve('3', [{ status: 500, json: { detail: 'always' } }]);
    const error = (await (await training.optimStep()).result().catch((e: unknown) => e)) as TinkerApiError;
    expect(error).toBeInstanceOf(TinkerApiError);
    expect([error.endpoint, error.status, error.requestId]).toEqual(['/api/v1/optim_step', 500, '3']);
    expect(error.message).toContain('request 3');
  });

  it('an overall timeout names the endpoint and the request id', async () => {
    const s = await service();
    const client = await connect(s, { callTimeoutMs: 150 });
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [futureResponse('2')]);
    s.retrieve('2', [
      { json: { type: 'try_again', request_id: '2', queue_state: 'paused_capacity' }, delayMs: 20 },
    ]);
    const error = (await (
      await training.forwardBackward([datum([1, 2])], 'cross_entropy')
    )
      .result()
      .catch((e: unknown) => e)) as TinkerTimeoutError;
    expect(error).toBeInstanceOf(TinkerTimeoutError);
    expect([error.endpoint, error.requestId, error.timeoutMs]).toEqual([
      '/api/v1/forward_backward',
      '2',
      150,
    ]);
  });

  it('an expired sample is resubmitted; an expired training request is not (410)', async () => {
    const s = await service();
    const client = await connect(s);
    s.routes.set('POST /api/v1/create_sampling_session', [
      { json: { type: 'create_sampling_session', sampling_session_id: 'sampling_1' } },
    ]);
    s.routes.set('POST /api/v1/asample', [futureResponse('7'), futureResponse('8')]);
    s.retrieve('7', [{ status: 410, json: { detail: 'Future expired' } }]);
    const result = {
      sequences: [{ stop_reason: 'length' as const, tokens: [4, 5], logprobs: [-0.5, -1] }],
      prompt_logprobs: [null, -2],
    };
    s.retrieve('8', [{ bytes: encodeSampleResponse(result) }]);
    const sampler = await client.createSamplingClient({
      modelPath: 'tinker://model_fake/sampler_weights/s1',
    });
    expect(s.to('/api/v1/create_sampling_session')[0]!.json).toEqual({
      session_id: 'session_fake',
      sampling_session_seq_id: 0,
      model_path: 'tinker://model_fake/sampler_weights/s1',
      type: 'create_sampling_session',
    });
    const out = await sampler.sample({
      prompt: modelInputFromTokens([1, 2]),
      numSamples: 1,
      samplingParams: { max_tokens: 2 },
      includePromptLogprobs: true,
    });
    expect(out.sequences).toEqual(result.sequences);
    expect(out.prompt_logprobs).toEqual([null, -2]);
    const sent = s.to('/api/v1/asample').map((r) => r.json as Record<string, unknown>);
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual({
      num_samples: 1,
      prompt: { chunks: [{ type: 'encoded_text', tokens: [1, 2] }] },
      sampling_params: { max_tokens: 2, temperature: 1, top_k: -1, top_p: 1 },
      sampling_session_id: 'sampling_1',
      seq_id: 0,
      prompt_logprobs: true,
      topk_prompt_logprobs: 0,
      type: 'sample',
    });
    expect(sent[1]!.seq_id).toBe(1);

    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [futureResponse('9')]);
    s.retrieve('9', [{ status: 410, json: { detail: 'Future expired' } }]);
    const error = await (
      await training.forwardBackward([datum([1, 2])], 'cross_entropy')
    )
      .result()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TinkerFutureExpiredError);
    expect(s.to('/api/v1/forward_backward')).toHaveLength(1);
  });

  it('keeps polling across a server killed and restarted on the same port', async () => {
    const s = await service();
    const events: ClientEvent[] = [];
    const client = await connect(s, {
      retry: { initialDelayMs: 20, maxDelayMs: 40, maxRetries: 50 },
      onEvent: (e) => events.push(e),
    });
    const training = await client.createLoraTrainingClient('base');
    s.routes.set('POST /api/v1/forward_backward', [futureResponse('2')]);
    s.retrieve('2', [{ json: { type: 'try_again', request_id: '2', queue_state: 'active' }, delayMs: 10 }]);
    const future = await training.forwardBackward([datum([1, 2])], 'cross_entropy');
    const result = future.result();
    while (s.to('/api/v1/retrieve_future').length < 3) await new Promise((r) => setTimeout(r, 5));
    const port = s.port;
    await s.stop();
    while (!events.some((e) => e.type === 'retry' && e.status === 0))
      await new Promise((r) => setTimeout(r, 5));
    s.retrieve('2', [{ json: fbOutput([-2], 2) }]);
    await s.start(port);
    expect((await result).metrics['loss:sum']).toBe(2);
  });
});
