// The reference backend's math: losses against values worked out by hand from the formulas
// (SkyRL skyrl/tinker/loss_fns.py at a9564572: cross_entropy -w p, importance_sampling
// -exp(p - q) A, ppo -min(r A, clip(r, 0.8, 1.2) A)), gradients against finite differences,
// Adam against a step done by hand, sampling and checkpoints on a real folder.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, Rng, ShapeMismatchError } from '@vzero/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AdamParamsSchema,
  ReferenceBackend,
  adamState,
  adamStep,
  checkpointRef,
  datumForward,
  logSoftmaxRow,
  modelInputFromTokens,
  promptLogprobs,
  sampleSequence,
  tensorData,
  type Datum,
  type LossFnType,
} from '../src/index.js';

/** V = 2; row 0 gives p(1 | 0) = 3/4, p(0 | 0) = 1/4. */
const W2 = Float64Array.from([0, Math.log(3), 0, 0]);

function one(target: number, extra: Datum['loss_fn_inputs'] = {}): Datum {
  return {
    model_input: modelInputFromTokens([0]),
    loss_fn_inputs: { target_tokens: tensorData([target], 'int64'), ...extra },
  };
}

describe('losses, by hand', () => {
  it('cross_entropy = -sum(weights * logp)', () => {
    const r = datumForward(
      W2,
      2,
      one(1, { weights: tensorData([2], 'float32') }),
      'cross_entropy',
      undefined,
    );
    expect(r.logprobs[0]).toBeCloseTo(Math.log(3 / 4), 12);
    expect(r.loss).toBeCloseTo(-2 * Math.log(3 / 4), 12);
  });

  it('importance_sampling = -sum(exp(logp - q) * A)', () => {
    // r = (3/4) / (1/2) = 1.5; A = 1.5: loss -2.25.
    const d = one(1, {
      logprobs: tensorData([Math.log(0.5)], 'float32'),
      advantages: tensorData([1.5], 'float32'),
    });
    expect(datumForward(W2, 2, d, 'importance_sampling', undefined).loss).toBeCloseTo(-2.25, 12);
  });

  it('ppo = -sum(min(r A, clip(r, lo, hi) A))', () => {
    const d = (a: number) =>
      one(1, { logprobs: tensorData([Math.log(0.5)], 'float32'), advantages: tensorData([a], 'float32') });
    // r = 1.5 clipped to 1.2: A = 1.5 takes the clipped 1.8; A = -1 takes the unclipped -1.5.
    expect(datumForward(W2, 2, d(1.5), 'ppo', undefined).loss).toBeCloseTo(-1.8, 12);
    expect(datumForward(W2, 2, d(-1), 'ppo', undefined).loss).toBeCloseTo(1.5, 12);
    // A wider clip leaves r = 1.5 alone: the importance-sampling loss.
    expect(
      datumForward(W2, 2, d(1.5), 'ppo', { clip_low_threshold: 0.5, clip_high_threshold: 2 }).loss,
    ).toBeCloseTo(-2.25, 12);
    // Clipped and outside the range: no gradient.
    const g = new Float64Array(4);
    datumForward(W2, 2, d(1.5), 'ppo', undefined, g);
    expect([...g]).toEqual([0, 0, 0, 0]);
  });

  it('names a missing or misshapen input, and a config key the loss does not have', () => {
    expect(() => datumForward(W2, 2, one(1), 'ppo', undefined)).toThrow(
      /data\b|datum\.loss_fn_inputs\.logprobs = undefined: required by ppo/,
    );
    expect(() =>
      datumForward(W2, 2, one(1, { weights: tensorData([1, 1], 'float32') }), 'cross_entropy', undefined),
    ).toThrow(ShapeMismatchError);
    expect(() => datumForward(W2, 2, one(5), 'cross_entropy', undefined)).toThrow(/target_tokens\[0\] = 5/);
    expect(() => datumForward(W2, 2, one(1), 'cross_entropy', { clip_low_threshold: 0.5 })).toThrow(
      InvalidInputError,
    );
    expect(() => datumForward(W2, 2, one(1), 'cispo', undefined)).toThrow(/loss_fn = "cispo"/);
  });
});

describe('gradients match finite differences', () => {
  const V = 5;
  const randomDatum = (rng: Rng, T: number): Datum => ({
    model_input: modelInputFromTokens(Array.from({ length: T }, () => rng.int(0, V))),
    loss_fn_inputs: {
      target_tokens: tensorData(
        Array.from({ length: T }, () => rng.int(0, V)),
        'int64',
      ),
      weights: tensorData(
        Array.from({ length: T }, () => rng.float() * 2 - 0.5),
        'float32',
      ),
      logprobs: tensorData(
        Array.from({ length: T }, () => -0.3 - rng.float() * 3),
        'float32',
      ),
      advantages: tensorData(
        Array.from({ length: T }, () => rng.normal()),
        'float32',
      ),
    },
  });

  for (const lossFn of ['cross_entropy', 'importance_sampling', 'ppo'] as LossFnType[]) {
    it(lossFn, () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 6 }), (seed, T) => {
          const rng = new Rng(seed);
          const W = Float64Array.from({ length: V * V }, () => rng.normal());
          const datum = randomDatum(rng, T);
          const config = { clip_low_threshold: 0.7, clip_high_threshold: 1.3 };
          const cfg = lossFn === 'ppo' ? config : undefined;
          const grad = new Float64Array(V * V);
          datumForward(W, V, datum, lossFn, cfg, grad);
          const h = 1e-6;
          for (let i = 0; i < W.length; i++) {
            const plus = Float64Array.from(W);
            const minus = Float64Array.from(W);
            plus[i]! += h;
            minus[i]! -= h;
            const numeric =
              (datumForward(plus, V, datum, lossFn, cfg).loss -
                datumForward(minus, V, datum, lossFn, cfg).loss) /
              (2 * h);
            // PPO's loss has kinks at the clip edges; a difference across one is not a derivative.
            if (lossFn === 'ppo' && Math.abs(numeric - grad[i]!) > 1e-4) {
              const r = datumForward(W, V, datum, lossFn, cfg);
              const near = r.logprobs.some((p, t) => {
                const ratio = Math.exp(p - (datum.loss_fn_inputs.logprobs!.data[t] as number));
                return Math.abs(ratio - 0.7) < 1e-4 || Math.abs(ratio - 1.3) < 1e-4;
              });
              if (near) continue;
            }
            expect(grad[i]!).toBeCloseTo(numeric, 5);
          }
        }),
        { numRuns: 30 },
      );
    });
  }
});

describe('Adam', () => {
  it('one step by hand: bias-corrected, decoupled weight decay', () => {
    const p = Float64Array.from([1]);
    const s = adamState(1);
    adamStep(
      p,
      Float64Array.from([0.5]),
      s,
      AdamParamsSchema.parse({ learning_rate: 0.1, weight_decay: 0.01 }),
    );
    // m = 0.05, v = 0.0125; m^ = 0.5, v^ = 0.25; update = 0.5 / 0.5 = 1;
    // p = 1 - 0.1 * 1 - 0.1 * 0.01 * 1 = 0.899.
    expect(s.m[0]).toBeCloseTo(0.05, 15);
    expect(s.v[0]).toBeCloseTo(0.0125, 15);
    expect(p[0]).toBeCloseTo(0.899, 12);
    // Second step with g = -0.5: m = 0.045 - 0.05 = -0.005, v = 0.011875 + 0.0125 = 0.024375;
    // m^ = -0.005 / 0.19, v^ = 0.024375 / 0.0975 = 0.25.
    adamStep(p, Float64Array.from([-0.5]), s, AdamParamsSchema.parse({ learning_rate: 0.1 }));
    expect(p[0]).toBeCloseTo(0.899 + (0.1 * 0.005) / 0.19 / 0.5, 12);
  });

  it('clips the global gradient norm to grad_clip_norm', () => {
    const p = Float64Array.from([0, 0]);
    const s = adamState(2);
    const { gradNorm } = adamStep(
      p,
      Float64Array.from([3, 4]),
      s,
      AdamParamsSchema.parse({ grad_clip_norm: 1 }),
    );
    expect(gradNorm).toBe(5);
    expect(s.m[0]).toBeCloseTo(0.1 * 0.6, 15);
    expect(s.m[1]).toBeCloseTo(0.1 * 0.8, 15);
  });
});

describe('sampling', () => {
  const V = 6;
  const rng = new Rng(3);
  const W = Float64Array.from({ length: V * V }, () => rng.normal());
  const params = { max_tokens: 5, temperature: 1, top_k: -1, top_p: 1 };

  it('is reproducible from the seed, and reports the log-prob of each token it drew', () => {
    const a = sampleSequence(W, V, [2], params, new Rng(9));
    const b = sampleSequence(W, V, [2], params, new Rng(9));
    expect(a).toEqual(b);
    const row = new Float64Array(V);
    let last = 2;
    a.tokens.forEach((t, i) => {
      expect(a.logprobs![i]).toBeCloseTo(logSoftmaxRow(W, V, last, row)[t]!, 12);
      last = t;
    });
    expect(a.stop_reason).toBe('length');
  });

  it('stops at a stop token; top_k 1 is greedy with log-prob 0', () => {
    const row = new Float64Array(V);
    logSoftmaxRow(W, V, 2, row);
    const best = [...row.keys()].sort((x, y) => row[y]! - row[x]!)[0]!;
    const greedy = sampleSequence(W, V, [2], { ...params, top_k: 1, stop: [best] }, new Rng(1));
    expect(greedy).toEqual({ stop_reason: 'stop', tokens: [best], logprobs: [0] });
    expect(() => sampleSequence(W, V, [2], { ...params, stop: ['</s>'] }, new Rng(1))).toThrow(
      /sampling_params\.stop/,
    );
  });

  it('prompt log-probs equal the forward pass log-probs, shifted by one', () => {
    const tokens = [1, 4, 0, 5];
    const { logprobs, topk } = promptLogprobs(W, V, tokens, 2);
    const d: Datum = {
      model_input: modelInputFromTokens(tokens.slice(0, -1)),
      loss_fn_inputs: { target_tokens: tensorData(tokens.slice(1), 'int64') },
    };
    expect(logprobs).toEqual([null, ...datumForward(W, V, d, 'cross_entropy', undefined).logprobs]);
    expect(topk![0]).toBeNull();
    expect(topk![1]![0]![1]).toBeGreaterThanOrEqual(topk![1]![1]![1]);
  });
});

describe('ReferenceBackend', () => {
  it('trains, saves to a folder and a new backend on the folder loads the same weights', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tinker-ref-test-'));
    const backend = new ReferenceBackend({ checkpointDir: dir, models: [{ name: 'tiny', vocabSize: 8 }] });
    const lora = { rank: 2, train_attn: true, train_mlp: true, train_unembed: true };
    await backend.createModel({ modelId: 'm1', baseModel: 'tiny', loraConfig: lora });
    const data: Datum[] = [
      {
        model_input: modelInputFromTokens([1, 2, 3]),
        loss_fn_inputs: { target_tokens: tensorData([2, 3, 4], 'int64') },
      },
    ];
    const before = await backend.forward('m1', data, 'cross_entropy', undefined);
    await backend.forwardBackward('m1', data, 'cross_entropy', undefined);
    await backend.optimStep('m1', AdamParamsSchema.parse({ learning_rate: 0.1 }));
    const after = await backend.forward('m1', data, 'cross_entropy', undefined);
    expect(after.metrics['loss:sum']!).toBeLessThan(before.metrics['loss:sum']!);
    const ref = checkpointRef('m1', 'weights', 'step1');
    await backend.saveWeights('m1', ref);
    expect(await backend.checkpointInfo(ref)).toEqual({ baseModel: 'tiny', loraRank: 2 });

    const fresh = new ReferenceBackend({ checkpointDir: dir, models: [{ name: 'tiny', vocabSize: 8 }] });
    await fresh.createModel({ modelId: 'm2', baseModel: 'tiny', loraConfig: lora });
    await fresh.loadWeights('m2', ref, { optimizer: true });
    expect(await fresh.forward('m2', data, 'cross_entropy', undefined)).toEqual(after);
    // With the optimizer state, the next step is the same step too.
    for (const [b, id] of [
      [backend, 'm1'],
      [fresh, 'm2'],
    ] as const) {
      await b.forwardBackward(id, data, 'cross_entropy', undefined);
      await b.optimStep(id, AdamParamsSchema.parse({ learning_rate: 0.1 }));
    }
    expect(await fresh.forward('m2', data, 'cross_entropy', undefined)).toEqual(
      await backend.forward('m1', data, 'cross_entropy', undefined),
    );
    expect(await fresh.checkpointInfo(checkpointRef('m1', 'weights', 'nope'))).toBeUndefined();
    await expect(fresh.checkpointInfo(checkpointRef('../x', 'weights', 'a'))).rejects.toThrow(
      /checkpoint\.model_id/,
    );
  });

  it("refuses inputs longer than the model's context", async () => {
    const backend = new ReferenceBackend({ models: [{ name: 'short', vocabSize: 4, contextLength: 3 }] });
    await backend.createModel({
      modelId: 'm',
      baseModel: 'short',
      loraConfig: { rank: 1, train_attn: true, train_mlp: true, train_unembed: true },
    });
    const long: Datum = {
      model_input: modelInputFromTokens([1, 2, 3, 0]),
      loss_fn_inputs: { target_tokens: tensorData([2, 3, 0, 1], 'int64') },
    };
    await expect(backend.forward('m', [long], 'cross_entropy', undefined)).rejects.toThrow(
      /data\[0\]\.model_input = "4 positions": longer than short's context of 3/,
    );
    await expect(
      backend.sample({
        source: { baseModel: 'short' },
        prompt: modelInputFromTokens([1, 2]),
        params: { max_tokens: 2, temperature: 1, top_k: -1, top_p: 1 },
        numSamples: 1,
        promptLogprobs: false,
        topkPromptLogprobs: 0,
      }),
    ).rejects.toThrow(/prompt \+ max_tokens/);
  });

  it('a bad datum in a request adds no gradient at all', async () => {
    const backend = new ReferenceBackend({ models: [{ name: 'tiny', vocabSize: 4 }] });
    await backend.createModel({
      modelId: 'm',
      baseModel: 'tiny',
      loraConfig: { rank: 1, train_attn: true, train_mlp: true, train_unembed: true },
    });
    const good: Datum = {
      model_input: modelInputFromTokens([1]),
      loss_fn_inputs: { target_tokens: tensorData([2], 'int64') },
    };
    const bad: Datum = {
      model_input: modelInputFromTokens([1]),
      loss_fn_inputs: { target_tokens: tensorData([9], 'int64') },
    };
    const before = await backend.forward('m', [good], 'cross_entropy', undefined);
    await expect(backend.forwardBackward('m', [good, bad], 'cross_entropy', undefined)).rejects.toThrow(
      /data\[1\]\.loss_fn_inputs\.target_tokens\[0\] = 9/,
    );
    await backend.optimStep('m', AdamParamsSchema.parse({ learning_rate: 0.5 }));
    expect(await backend.forward('m', [good], 'cross_entropy', undefined)).toEqual(before);
  });
});
