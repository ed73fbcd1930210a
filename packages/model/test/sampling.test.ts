// chooseToken against the implementation it replaced (arrays per call: ids, scaled, weights, a
// spread Math.max), kept here as the reference: the same token, log-prob and sampling log-prob,
// bit for bit, and the same random draws, for every kind of truncation.
import { describe, expect, it } from 'vitest';
import { Rng } from '@vzero/core';
import { chooseToken, type ChoiceSettings, type TokenChoice } from '../src/index.js';

function reference(logprobs: ArrayLike<number>, settings: ChoiceSettings, rng: Rng): TokenChoice {
  const V = logprobs.length;
  const { temperature, topK, topP } = settings;
  const untruncated = temperature === 1 && (topK === 0 || topK >= V) && topP >= 1;
  let ids: number[] = Array.from({ length: V }, (_, i) => i);
  if (!untruncated) ids.sort((a, b) => (logprobs[b] ?? 0) - (logprobs[a] ?? 0) || a - b);
  if (topK > 0 && topK < V) ids = ids.slice(0, topK);
  const scaled = ids.map((i) => (logprobs[i] ?? 0) / temperature);
  const max = Math.max(...scaled);
  let weights = scaled.map((z) => Math.exp(z - max));
  let total = weights.reduce((a, b) => a + b, 0);
  if (topP < 1) {
    let cum = 0;
    let keep = weights.length;
    for (let j = 0; j < weights.length; j++) {
      cum += (weights[j] ?? 0) / total;
      if (cum >= topP) {
        keep = j + 1;
        break;
      }
    }
    ids = ids.slice(0, keep);
    weights = weights.slice(0, keep);
    total = weights.reduce((a, b) => a + b, 0);
  }
  const u = rng.float() * total;
  let acc = 0;
  let j = 0;
  for (; j < weights.length - 1; j++) {
    acc += weights[j] ?? 0;
    if (u < acc) break;
  }
  const id = ids[j] ?? 0;
  const logprob = logprobs[id] ?? 0;
  return { id, logprob, samplingLogprob: untruncated ? logprob : Math.log((weights[j] ?? 0) / total) };
}

/** A log-softmax row of V float32 values (some ties, a very unlikely token). */
function row(rng: Rng, V: number): Float32Array {
  const x = Array.from({ length: V }, () => (rng.float() < 0.1 ? 0.5 : rng.float() * 8 - 4));
  if (V > 2) x[1] = -60;
  const m = Math.max(...x);
  const lse = m + Math.log(x.reduce((s, v) => s + Math.exp(v - m), 0));
  return Float32Array.from(x.map((v) => v - lse));
}

describe('chooseToken', () => {
  it('matches the former implementation bit for bit, draws included', () => {
    const data = new Rng(3);
    const settings: ChoiceSettings[] = [
      { temperature: 1, topK: 0, topP: 1 },
      { temperature: 0.7, topK: 0, topP: 1 },
      { temperature: 1.3, topK: 5, topP: 1 },
      { temperature: 1, topK: 0, topP: 0.8 },
      { temperature: 0.9, topK: 7, topP: 0.6 },
      { temperature: 1, topK: 1000, topP: 1 },
    ];
    for (let trial = 0; trial < 300; trial++) {
      const lp = row(data, 1 + data.int(0, 80));
      const s = settings[trial % settings.length] as ChoiceSettings;
      const [a, b] = [new Rng(trial), new Rng(trial)];
      for (let k = 0; k < 4; k++) {
        const got = chooseToken(lp, s, a);
        const want = reference(lp, s, b);
        expect([got.id, got.logprob, got.samplingLogprob]).toEqual([
          want.id,
          want.logprob,
          want.samplingLogprob,
        ]);
        expect(Object.is(got.samplingLogprob, want.samplingLogprob)).toBe(true);
      }
      expect(a.float()).toBe(b.float());
    }
  });

  it('a NaN in the row gives what the former implementation gave', () => {
    const lp = Float32Array.from([-1, Number.NaN, -2, -0.5]);
    for (const s of [
      { temperature: 1, topK: 0, topP: 1 },
      { temperature: 0.5, topK: 3, topP: 0.9 },
    ]) {
      const got = chooseToken(lp, s, new Rng(1));
      const want = reference(lp, s, new Rng(1));
      expect(Object.is(got.id, want.id) && Object.is(got.samplingLogprob, want.samplingLogprob)).toBe(true);
    }
  });
});
