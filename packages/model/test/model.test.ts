import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, UnknownKeyError, selectBackend } from '@vzero/core';
import {
  MASKED,
  MODEL_PRESETS,
  blockCausalMask,
  createModel,
  patchify,
  resampleSquare,
  resolveModelConfig,
  textLayout,
} from '../src/index.js';
import { image, solidImage, somePrompts, tinyPolicy, tokenizer } from './helpers.js';

beforeAll(async () => {
  await selectBackend({ prefer: 'cpu' });
});

describe('config', () => {
  it('resolves presets and names bad fields', () => {
    const c = resolveModelConfig('student', { vocabSize: 30 });
    expect(c.width).toBe(64);
    expect(c.images).toEqual([{ role: 'full', size: 64 }]);
    expect(() => resolveModelConfig('student', { vocabSize: 30, widht: 3 } as never)).toThrow(
      UnknownKeyError,
    );
    expect(() => resolveModelConfig('student', { vocabSize: 30, heads: 3 })).toThrow(/config\.heads = 3/);
    expect(() => resolveModelConfig('teacher', { vocabSize: 0 })).toThrow(/config\.vocabSize/);
    expect(() => resolveModelConfig('tiny', { vocabSize: 9, images: [{ role: 'crop', size: 16 }] })).toThrow(
      /config\.images\[0\]\.role/,
    );
    expect(() => resolveModelConfig('tiny', { vocabSize: 9, images: [{ role: 'full', size: 20 }] })).toThrow(
      /config\.images\[0\]\.size = 20/,
    );
    expect(() => resolveModelConfig('huge' as never, { vocabSize: 9 })).toThrow(InvalidInputError);
  });
});

describe('pixels', () => {
  it('area-averages when downsampling (golden 4x4 -> 2x2)', () => {
    const data = new Float32Array(16 * 3);
    for (let i = 0; i < 16; i++) data.fill(i / 15, i * 3, i * 3 + 3);
    const out = resampleSquare({ width: 4, height: 4, channels: 3, data }, 2);
    // Top-left 2x2 block holds pixels 0, 1, 4, 5: mean 2.5 / 15.
    expect(out[0]).toBeCloseTo(2.5 / 15, 6);
    expect(out[3]).toBeCloseTo(4.5 / 15, 6);
    expect(out[6]).toBeCloseTo(10.5 / 15, 6);
    expect(out[9]).toBeCloseTo(12.5 / 15, 6);
  });

  it('keeps a constant image constant at any size and orders patches row-major', () => {
    const img = solidImage(13, [0.25, 0.5, 1]);
    const out = resampleSquare(img, 16);
    for (let i = 0; i < out.length; i += 3) {
      expect(out[i]).toBeCloseTo(0.25, 5);
      expect(out[i + 2]).toBeCloseTo(1, 5);
    }
    const spot = solidImage(16, [0, 0, 0], { x: 8, y: 0, side: 8, rgb: [1, 1, 1] });
    const patches = patchify(spot, 16, 8);
    expect(patches[0]).toBe(-1); // patch 0 (top-left) is black
    expect(patches[192]).toBe(1); // patch 1 (top-right) is white
    expect(() => patchify({ width: 2, height: 2, channels: 3, data: new Float32Array(5) }, 16, 8)).toThrow(
      /image\.data/,
    );
  });
});

describe('block-causal attention', () => {
  it('masks exactly what the rule allows', () => {
    // Two slots of 2 tokens each, then text [pad, a, b].
    const layout = textLayout([[7, 8]], [], 0);
    const group = [0, 0, 1, 1, 2, 2, 2];
    const valid = [true, true, true, true, false, true, true];
    expect(layout.valid).toEqual(new Uint8Array([1, 1]));
    const mask = blockCausalMask([{ group, valid }], 7, 2);
    const m = mask.arraySync()[0]![0]!;
    mask.dispose();
    const allowed = m.map((row) => row.map((x) => (x === 0 ? 1 : x === MASKED ? 0 : NaN)));
    expect(allowed).toEqual([
      [1, 1, 0, 0, 0, 0, 0],
      [1, 1, 0, 0, 0, 0, 0],
      [1, 1, 1, 1, 0, 0, 0],
      [1, 1, 1, 1, 0, 0, 0],
      [1, 1, 1, 1, 0, 0, 0],
      [1, 1, 1, 1, 0, 1, 0],
      [1, 1, 1, 1, 0, 1, 1],
    ]);
  });

  it('equals the rule applied key by key, on random groups, padding and query counts', () => {
    // The rule of the doc comment, written out per (query, key) pair.
    const naive = (keys: { group: number[]; valid: boolean[] }[], queries: number, tg: number) =>
      keys.map(({ group, valid }) =>
        Array.from({ length: queries }, (_q, t) => {
          const qi = group.length - queries + t;
          const qg = group[qi]!;
          return group.map((kg, k) =>
            valid[k] && (kg < qg || (kg === qg && (qg < tg || k <= qi))) ? 0 : MASKED,
          );
        }),
      );
    const row = fc
      .array(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 5 })
      .chain((runs) => {
        // Non-decreasing groups in runs; validity per key.
        const group = runs.flatMap(([n], g) => Array<number>(n).fill(g));
        return fc.array(fc.boolean(), { minLength: group.length, maxLength: group.length }).map((valid) => ({
          group,
          valid,
        }));
      });
    fc.assert(
      fc.property(row, fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 30 }), (r, tg, q) => {
        const queries = Math.min(q, r.group.length);
        const keys = [r, { group: r.group, valid: r.valid.map((v) => !v) }];
        const mask = blockCausalMask(keys, queries, tg);
        const got = mask.arraySync().map((b) => b[0]);
        mask.dispose();
        expect(got).toEqual(naive(keys, queries, tg));
      }),
      { numRuns: 200 },
    );
  });

  it('embeds repeated pixel buffers from the patch cache exactly as fresh ones', () => {
    const model = createModel({ ...MODEL_PRESETS.tiny, vocabSize: tokenizer.size });
    const red = solidImage(16, [1, 0, 0], { x: 2, y: 2, side: 4, rgb: [0, 0, 1] });
    const copy = { ...red, data: Float32Array.from(red.data) };
    const blue = solidImage(16, [0, 0, 1]);
    const embed = (px: typeof red) =>
      tf.tidy(() => Array.from(model.embedImages([image('a', 'full', px)], 0).dataSync()));
    const first = embed(red);
    expect(embed(red)).toEqual(first); // from the cache
    expect(embed(copy)).toEqual(first); // a new buffer with the same pixels
    expect(embed(blue)).not.toEqual(first); // different pixels are not served stale
    model.dispose();
  });

  it("the full image's keys and values do not depend on the crop", () => {
    const model = createModel({ ...MODEL_PRESETS.tiny, vocabSize: tokenizer.size });
    const full = image('f', 'full', solidImage(16, [1, 0, 0], { x: 2, y: 2, side: 4, rgb: [0, 0, 1] }));
    const a = model.encodePrefix([[full, image('c1', 'crop', solidImage(16, [0, 1, 0]))]], true);
    const b = model.encodePrefix([[full, image('c2', 'crop', solidImage(16, [0, 0, 1]))]], true);
    const n = 4; // 16 px / 8 px patches: 4 full-image tokens
    for (let l = 0; l < a.length; l++) {
      const ka = tf.slice(a[l]!.k, [0, 0, 0, 0], [1, 2, n, 16]);
      const kb = tf.slice(b[l]!.k, [0, 0, 0, 0], [1, 2, n, 16]);
      expect(Array.from(ka.dataSync())).toEqual(Array.from(kb.dataSync()));
      const crops = [
        tf.slice(a[l]!.k, [0, 0, n, 0], [1, 2, n, 16]),
        tf.slice(b[l]!.k, [0, 0, n, 0], [1, 2, n, 16]),
      ];
      expect(Array.from(crops[0]!.dataSync())).not.toEqual(Array.from(crops[1]!.dataSync()));
      tf.dispose([ka, kb, ...crops]);
    }
    for (const c of [...a, ...b]) tf.dispose([c.k, c.v]);
    model.dispose();
  });
});

describe('backends', () => {
  it('computes the same scores on cpu and wasm', async () => {
    const prompts = somePrompts();
    const requests = prompts.map((p, i) => ({ prompt: p, responseTokenIds: [5 + i, 6, 7, 2] }));
    await selectBackend({ prefer: 'cpu' });
    const onCpu = tinyPolicy();
    const cpu = await onCpu.score(requests);
    onCpu.model.dispose();
    await selectBackend({ prefer: 'wasm' });
    const onWasm = tinyPolicy();
    const wasm = await onWasm.score(requests);
    onWasm.model.dispose();
    await selectBackend({ prefer: 'cpu' });
    cpu.forEach((s, i) =>
      s.logprobs.forEach((x, t) => expect(Math.abs(x - wasm[i]!.logprobs[t]!)).toBeLessThan(1e-4)),
    );
  });

  it('accepts grey and RGBA pixels and rejects missing pixels naming the slot', async () => {
    const policy = tinyPolicy();
    const grey = { width: 8, height: 8, channels: 1, data: new Float32Array(64).fill(0.5) };
    const rgba = { width: 8, height: 8, channels: 4, data: new Float32Array(256).fill(1) };
    const prompt = {
      id: 'g',
      images: [image('g', 'full', grey), image('r', 'crop', rgba)],
      text: 'what colour ?',
    };
    const [s] = await policy.score([{ prompt, responseTokenIds: [tokenizer.tokenId('red')] }]);
    expect(Number.isFinite(s!.logprobs[0])).toBe(true);
    const noPixels = { ...prompt, images: [{ id: 'x', role: 'full' as const }, prompt.images[1]!] };
    await expect(policy.score([{ prompt: noPixels, responseTokenIds: [5] }])).rejects.toThrow(
      /requests\[0\]\.prompt\.images\[0\]\.pixels/,
    );
    policy.model.dispose();
  });
});
