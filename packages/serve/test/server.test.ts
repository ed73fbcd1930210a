// The server on loopback: its answers to valid requests, 4xx with a message naming the field for
// bad ones, one log line per request, and clean shutdown with requests in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectBackend } from '@vzero/core';
import { startServer, type RunningServer } from '../src/index.js';
import { solidDataUrl, tinyCheckpoint } from './fixtures.js';

// Response bodies are read loosely; the assertions check their shape.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function post(url: string, body: unknown): Promise<{ status: number; json: Json }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

describe('vzero serve', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: RunningServer;
  let full: string;
  let crop: string;
  const lines: string[] = [];

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    ({ dir, cleanup } = await tinyCheckpoint());
    server = await startServer({
      checkpoint: dir,
      port: 0,
      maxBodyBytes: 64 * 1024,
      maxImagePixels: 64 * 64,
      logger: (l) => lines.push(l),
    });
    full = await solidDataUrl(16, [200, 30, 30]);
    crop = await solidDataUrl(8, [10, 200, 30]);
  });

  afterAll(async () => {
    await server?.close();
    server?.policy.model.dispose();
    await cleanup?.();
  });

  const chat = (extra: Record<string, unknown> = {}) => ({
    model: 'tiny',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: full } },
          { type: 'image_url', image_url: { url: crop } },
          { type: 'text', text: 'what colour is the sign ?' },
        ],
      },
    ],
    max_tokens: 4,
    ...extra,
  });

  it('binds to 127.0.0.1 and lists its model with context length and tokenizer', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const models = (await (await fetch(`${server.url}/v1/models`)).json()) as Json;
    expect(models.data[0]).toMatchObject({
      id: 'tiny',
      max_model_len: server.policy.contextLength,
      vzero_tokenizer_id: server.policy.tokenizerId,
    });
  });

  it('refuses a body that is not declared application/json with 415 naming the content-type', async () => {
    const body = JSON.stringify({ prompt: 'what colour is' });
    for (const type of ['text/plain', undefined]) {
      const res = await fetch(`${server.url}/tokenize`, {
        method: 'POST',
        ...(type ? { headers: { 'content-type': type } } : {}),
        body: type ? body : new Blob([body]),
      });
      expect(res.status).toBe(415);
      const json = (await res.json()) as Json;
      expect(json.error.param).toBe('content-type');
      expect(json.error.message).toMatch(/expected application\/json, got/);
    }
    const ok = await fetch(`${server.url}/tokenize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body,
    });
    expect(ok.status).toBe(200);
  });

  it('samples n seeded choices with token ids, log-probs and top log-probs, reproducibly', async () => {
    const { status, json } = await post(
      `${server.url}/v1/chat/completions`,
      chat({
        n: 3,
        seed: 4,
        logprobs: true,
        top_logprobs: 2,
        return_tokens_as_token_ids: true,
        vzero_prompt_id: 'p',
        vzero_seed: 9,
      }),
    );
    expect(status).toBe(200);
    expect(json.choices).toHaveLength(3);
    for (const c of json.choices) {
      for (const t of c.logprobs.content) {
        expect(t.token).toMatch(/^token_id:\d+$/);
        expect(t.logprob).toBeLessThanOrEqual(0);
        expect(t.top_logprobs).toHaveLength(2);
        expect(t.top_logprobs[0].logprob).toBeGreaterThanOrEqual(t.logprob - 1e-6);
      }
    }
    // Same request, same answer (seeded).
    const again = await post(
      `${server.url}/v1/chat/completions`,
      chat({
        n: 3,
        seed: 4,
        logprobs: true,
        top_logprobs: 2,
        return_tokens_as_token_ids: true,
        vzero_prompt_id: 'p',
        vzero_seed: 9,
      }),
    );
    expect(again.json.choices).toEqual(json.choices);
  });

  it('returns prompt_logprobs for a token-id prompt, with ranks, and tokenizes like the model', async () => {
    const tok = await post(`${server.url}/tokenize`, { prompt: 'what colour is' });
    expect(tok.json.tokens).toEqual([1, ...server.policy.tokenizer.encode('what colour is')]);
    const ids = [...tok.json.tokens, 2];
    const { status, json } = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: ids,
      max_tokens: 1,
      prompt_logprobs: 2,
      vzero_images: [full, crop],
    });
    expect(status).toBe(200);
    const entries = json.choices[0].prompt_logprobs;
    expect(entries).toHaveLength(ids.length);
    expect(entries[0]).toBeNull();
    ids.slice(1).forEach((id, k) => {
      const e = entries[k + 1];
      expect(e[String(id)].rank).toBeGreaterThanOrEqual(1);
      const ranked = Object.values(e as Record<string, { rank: number; logprob: number }>).filter(
        (v) => v.rank <= 2,
      );
      expect(ranked.map((v) => v.rank).sort()).toEqual([1, 2]);
      // Log-probs of a distribution: the top one is the largest and exp sums stay below 1.
      expect(ranked.reduce((s, v) => s + Math.exp(v.logprob), 0)).toBeLessThanOrEqual(1 + 1e-6);
    });
    expect(json.choices[0].finish_reason).toBe('stop'); // the prompt ends in <eos>
  });

  it('rejects bad requests with 4xx and a message naming the field', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/v1/chat/completions', chat({ model: 'gpt-4' }), 404, 'model'],
      ['/v1/chat/completions', chat({ top_p: 3 }), 400, 'top_p'],
      ['/v1/chat/completions', chat({ temperature: -1 }), 400, 'temperature'],
      ['/v1/chat/completions', chat({ n: 0 }), 400, 'n'],
      ['/v1/chat/completions', chat({ max_tokens: 0 }), 400, 'max_tokens'],
      ['/v1/chat/completions', chat({ top_logprobs: 99 }), 400, 'top_logprobs'],
      ['/v1/chat/completions', chat({ seed: 1.5 }), 400, 'seed'],
      ['/v1/chat/completions', chat({ stream: true }), 400, 'stream'],
      ['/v1/chat/completions', chat({ topP: 1 }), 400, 'topP'],
      ['/v1/chat/completions', chat({ stop_token_ids: [999] }), 400, 'stop_token_ids[0]'],
      [
        '/v1/chat/completions',
        {
          model: 'tiny',
          messages: [
            {
              role: 'user',
              content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } }],
            },
          ],
        },
        400,
        'messages',
      ],
      [
        '/v1/chat/completions',
        { ...chat(), messages: [{ role: 'user', content: [{ type: 'text', text: 'what zebra' }] }] },
        400,
        'messages[0].content[0].text',
      ],
      [
        '/v1/completions',
        { model: 'tiny', prompt: [1, 5], vzero_images: ['data:image/png;base64,iVBORw0K!!', crop] },
        400,
        'vzero_images[0]',
      ],
      [
        '/v1/completions',
        { model: 'tiny', prompt: [1, 5], vzero_images: ['https://example.com/a.png', crop] },
        400,
        'vzero_images[0]',
      ],
      [
        '/v1/completions',
        { model: 'tiny', prompt: [1, 5], vzero_images: [full, 'data:image/png;base64,AAAA'] },
        400,
        'vzero_images[1]',
      ],
      [
        '/v1/completions',
        { model: 'tiny', prompt: [1, 5, 500], vzero_images: [full, crop] },
        400,
        'prompt[2]',
      ],
      ['/v1/completions', { model: 'tiny', prompt: [5, 6], vzero_images: [full, crop] }, 400, 'prompt[0]'],
      ['/v1/completions', { model: 'tiny', prompt: [1], vzero_images: [full] }, 400, 'vzero_images'],
      [
        '/v1/completions',
        { model: 'tiny', prompt: [1], prompt_logprobs: 21, vzero_images: [full, crop] },
        400,
        'prompt_logprobs',
      ],
      [
        '/v1/completions',
        { model: 'tiny', prompt: [1, ...Array<number>(59).fill(5)], vzero_images: [full, crop] },
        400,
        'prompt',
      ],
      ['/tokenize', { prompt: 'zebra' }, 400, 'prompt'],
      ['/detokenize', { tokens: [1, 999] }, 400, 'tokens[1]'],
      ['/v1/completions', '{"model": "tiny", ', 400, 'body'],
    ];
    for (const [path, body, status, param] of cases) {
      const r = await post(`${server.url}${path}`, body);
      expect([path, param, r.status]).toEqual([path, param, status]);
      expect(r.json.error.param).toBe(param);
      expect(r.json.error.message.startsWith(`${param}: `)).toBe(true);
    }
  });

  it('rejects oversize bodies (413) and oversize images (413) by size, naming the field', async () => {
    const big = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: 'what',
      user: 'x'.repeat(100_000),
    });
    expect(big.status).toBe(413);
    expect(big.json.error.message).toMatch(/^body: \d+ bytes exceed the limit of 65536 bytes/);
    const huge = await solidDataUrl(80, [1, 2, 3]); // 6400 pixels > 64 * 64
    const r = await post(`${server.url}/v1/completions`, {
      model: 'tiny',
      prompt: [1],
      vzero_images: [huge, crop],
    });
    expect(r.status).toBe(413);
    expect(r.json.error.message).toMatch(/^vzero_images\[0\]: .*exceeds the pixel limit of 4096/);
  });

  it('answers unknown routes 404 and wrong methods 405', async () => {
    expect((await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' })).status).toBe(404);
    expect((await fetch(`${server.url}/v1/completions`)).status).toBe(405);
  });

  it('logs one line per request: method, path, status, milliseconds, request id', async () => {
    const before = lines.length;
    await fetch(`${server.url}/v1/models`, { headers: { 'x-request-id': 'abc-123' } });
    await post(`${server.url}/tokenize`, { prompt: 'zebra' });
    const added = lines.slice(before);
    expect(added).toHaveLength(2);
    expect(added[0]).toMatch(/^GET \/v1\/models 200 \d+\.\dms id=abc-123$/);
    expect(added[1]).toMatch(/^POST \/tokenize 400 \d+\.\dms id=\S+$/);
  });

  it('shuts down cleanly: in-flight requests finish, new connections are refused', async () => {
    const own = await startServer({ checkpoint: dir, port: 0, handleSignals: true });
    expect(process.listenerCount('SIGTERM')).toBeGreaterThan(0);
    const pending = post(`${own.url}/v1/chat/completions`, chat({ n: 8, max_tokens: 20, seed: 1 }));
    // Close only once the server has the request (a fixed delay races with a loaded machine).
    for (let i = 0; i < 500 && own.inFlight() === 0; i++) await new Promise((ok) => setTimeout(ok, 10));
    expect(own.inFlight()).toBe(1);
    const listeners = process.listenerCount('SIGTERM');
    const closing = own.close();
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.json.choices).toHaveLength(8);
    await closing;
    await own.closed;
    expect(process.listenerCount('SIGTERM')).toBe(listeners - 1);
    await expect(fetch(`${own.url}/v1/models`)).rejects.toThrow();
    own.policy.model.dispose();
  });

  it('requires the API key when one is set (401 otherwise)', async () => {
    const locked = await startServer({ policy: server.policy, port: 0, apiKey: 'k-123' });
    try {
      expect((await fetch(`${locked.url}/v1/models`)).status).toBe(401);
      const ok = await fetch(`${locked.url}/v1/models`, { headers: { authorization: 'Bearer k-123' } });
      expect(ok.status).toBe(200);
      expect(locked.modelName).toBe(server.policy.name);
    } finally {
      await locked.close();
    }
  });
});
