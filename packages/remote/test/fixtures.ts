// Real things for the remote tests: tiny checkpoints saved to a temporary folder and served by
// @vzero/serve on loopback, the same checkpoints loaded as LocalPolicy, prompts with PNG images,
// and a small fault-injecting HTTP proxy (a test tool, not one of our components).
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Prompt } from '@vzero/core';
import {
  LocalPolicy,
  MODEL_PRESETS,
  Tokenizer,
  createModel,
  loadCheckpoint,
  saveCheckpoint,
} from '@vzero/model';
import type { ModelPreset } from '@vzero/model';
import { makeView, toPromptImage } from '@vzero/views';

export const WORDS = ['what', 'colour', 'is', 'the', 'sign', '?', 'A', 'B', 'red', 'green', 'answer', '.'];
export const QUESTION = 'what colour is the sign ?';

export const TEACHER_PRESET: ModelPreset = { ...MODEL_PRESETS.tiny, initSeed: 2 };
export const STUDENT_PRESET: ModelPreset = {
  ...MODEL_PRESETS.tiny,
  images: [{ role: 'full', size: 16 }],
  initSeed: 1,
};

export async function tempRoot(): Promise<{ root: string; cleanup: () => Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'vzero-remote-'));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Saves a tiny checkpoint to root/name and loads it back as a LocalPolicy. */
export async function checkpoint(
  root: string,
  name: string,
  preset: ModelPreset,
): Promise<{ dir: string; local: LocalPolicy }> {
  const dir = join(root, name);
  const tokenizer = Tokenizer.fromWords(WORDS);
  const model = createModel({ ...preset, vocabSize: tokenizer.size });
  await saveCheckpoint(dir, model, tokenizer);
  model.dispose();
  const loaded = await loadCheckpoint(dir);
  return { dir, local: new LocalPolicy(loaded.model, loaded.tokenizer, { name }) };
}

async function solid(size: number, rgb: readonly [number, number, number], role: 'full' | 'crop') {
  const bytes = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) bytes.set(rgb, p * 3);
  // A small gradient so that images are not flat.
  for (let p = 0; p < size * size; p++) bytes[p * 3] = (rgb[0] + p * 7) % 256;
  return toPromptImage(makeView(bytes, size, size), role, 'both');
}

export interface Example {
  readonly student: Prompt;
  readonly positive: Prompt;
  readonly negative: Prompt;
}

/** Student prompts and both teacher views (sharing the full image), images as pixels and PNG. */
export async function examples(count: number): Promise<Example[]> {
  const out: Example[] = [];
  for (let i = 0; i < count; i++) {
    const shade = Math.round((255 * (i + 1)) / (count + 1));
    const full = await solid(16, [shade, 80, 255 - shade], 'full');
    const pos = await solid(8, [250, 10, 10], 'crop');
    const neg = await solid(8, [10, 40, 250], 'crop');
    out.push({
      student: { id: `q${i}`, images: [full], text: QUESTION },
      positive: { id: `q${i}+`, images: [full, pos], text: QUESTION },
      negative: { id: `q${i}-`, images: [full, neg], text: QUESTION },
    });
  }
  return out;
}

/** What the proxy does with one request: forward, or a fault. */
export type ProxyAction =
  | { readonly kind: 'forward' }
  | { readonly kind: 'status'; readonly status: number; readonly retryAfter?: number }
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'corrupt' }
  | { readonly kind: 'rewrite'; readonly rewrite: (json: unknown) => unknown };

export interface Proxy {
  readonly url: string;
  /** Request ids seen, one entry per attempt, with what the proxy did. */
  readonly seen: { id: string; path: string; action: ProxyAction['kind']; status: number }[];
  close(): Promise<void>;
}

/** A loopback proxy to `target`; `decide(n, path)` picks the action for the n-th POST (from 0). */
export async function startProxy(
  target: string,
  decide: (n: number, path: string) => ProxyAction,
): Promise<Proxy> {
  const seen: Proxy['seen'] = [];
  let posts = 0;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const action: ProxyAction = req.method === 'POST' ? decide(posts++, path) : { kind: 'forward' };
      const id = String(req.headers['x-request-id'] ?? '');
      const record = (status: number) => seen.push({ id, path, action: action.kind, status });
      if (action.kind === 'status') {
        record(action.status);
        res.writeHead(action.status, {
          'content-type': 'application/json',
          ...(action.retryAfter !== undefined ? { 'retry-after': String(action.retryAfter) } : {}),
        });
        res.end(JSON.stringify({ error: { message: `proxy says ${action.status}` } }));
        return;
      }
      const headers = { ...req.headers };
      delete headers['content-length'];
      const up = request(`${target}${path}`, { method: req.method, headers }, (upRes) => {
        const body: Buffer[] = [];
        upRes.on('data', (c: Buffer) => body.push(c));
        upRes.on('end', () => {
          let text = Buffer.concat(body).toString('utf8');
          if (action.kind === 'corrupt') text = text.slice(0, Math.floor(text.length / 2));
          if (action.kind === 'rewrite') text = JSON.stringify(action.rewrite(JSON.parse(text)));
          const reply = () => {
            record(upRes.statusCode ?? 0);
            if (res.destroyed) return;
            res.writeHead(upRes.statusCode ?? 502, { 'content-type': 'application/json' });
            res.end(text);
          };
          if (action.kind === 'delay') setTimeout(reply, action.ms);
          else reply();
        });
      });
      up.on('error', () => {
        record(502);
        if (!res.destroyed) res.writeHead(502).end();
      });
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections();
        server.close(() => ok());
      }),
  };
}

export function expectClose(
  a: Float32Array,
  b: Float32Array,
  tol: number,
  check: (ok: boolean, msg: string) => void,
): void {
  check(a.length === b.length, `lengths ${a.length} vs ${b.length}`);
  a.forEach((x, i) => {
    const y = b[i] ?? Number.NaN;
    check(Math.abs(x - y) <= tol, `value ${i}: ${x} vs ${y}`);
  });
}
