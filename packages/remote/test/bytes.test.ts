// A checkpoint whose tokenizer has the byte fallback, behind `vzero serve`: free-form prompts
// sample the same rollouts as locally, and decode() from the published vocabulary (byte runs as
// UTF-8) gives the local tokenizer's text for any ids.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { join } from 'node:path';
import { selectBackend, type Prompt } from '@vzero/core';
import { LocalPolicy, Tokenizer, createModel, loadCheckpoint, saveCheckpoint } from '@vzero/model';
import { startServer, type RunningServer } from '@vzero/serve';
import { RemotePolicy } from '../src/index.js';
import { STUDENT_PRESET, WORDS, examples, tempRoot } from './fixtures.js';

describe('a byte-fallback tokenizer over the wire', () => {
  let cleanup: () => Promise<void>;
  let local: LocalPolicy;
  let server: RunningServer;
  let remote: RemotePolicy;

  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
    const tmp = await tempRoot();
    cleanup = tmp.cleanup;
    const tokenizer = Tokenizer.fromWords(WORDS, { byteFallback: true });
    const dir = join(tmp.root, 'open');
    const model = createModel({ ...STUDENT_PRESET, maxTextLength: 128, vocabSize: tokenizer.size });
    await saveCheckpoint(dir, model, tokenizer);
    model.dispose();
    const loaded = await loadCheckpoint(dir);
    local = new LocalPolicy(loaded.model, loaded.tokenizer, { name: 'open' });
    server = await startServer({ checkpoint: dir, port: 0 });
    remote = await RemotePolicy.connect({ baseUrl: server.url });
  });

  afterAll(async () => {
    await server?.close();
    local?.model.dispose();
    await cleanup?.();
  });

  it('samples free-form prompts exactly as the local model', async () => {
    const texts = [
      "What colour is the woman's scarf?",
      'Ünïcödé ✓ 中文？ (A) red',
      'what colour is the sign ?',
    ];
    const prompts: Prompt[] = (await examples(3)).map((e, i) => ({ ...e.student, text: texts[i]! }));
    const options = { n: 2, temperature: 1, topP: 1, topK: 0, maxTokens: 10, seed: 4 };
    const [want, got] = [await local.sample(prompts, options), await remote.sample(prompts, options)];
    got.forEach((g, i) =>
      g.forEach((r, k) => {
        expect(r.tokenIds).toEqual(want[i]![k]!.tokenIds);
        expect(r.text).toBe(want[i]![k]!.text);
      }),
    );
  });

  it('decodes any ids from the published vocabulary as the local tokenizer does', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: local.tokenizer.size - 1 }), { maxLength: 24 }),
        (ids) => {
          expect(remote.decode(ids)).toBe(local.tokenizer.decode(ids));
        },
      ),
      { numRuns: 300 },
    );
  });
});
