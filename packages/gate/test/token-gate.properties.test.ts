import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  computeGate,
  computeTokenGate,
  gateConfig,
  type GateConfig,
  type GateSequence,
} from '../src/index.js';

// Log-probs on a 1/64 grid: sums, differences and shifts by a grid constant are exact in
// float64, so invariances can be checked for exact equality.
const logprob = fc.integer({ min: -30 * 64, max: 0 }).map((i) => i / 64 + 0);

interface Seq {
  group: string;
  positive: number[];
  negative: number[];
  mask: number[];
}

const sequenceArb = (groups: readonly string[]): fc.Arbitrary<Seq> =>
  fc
    .record({
      group: fc.constantFrom(...groups),
      tokens: fc.array(fc.tuple(logprob, logprob, fc.boolean()), { minLength: 0, maxLength: 8 }),
    })
    .map(({ group, tokens }) => ({
      group,
      positive: tokens.map((t) => t[0]),
      negative: tokens.map((t) => t[1]),
      mask: tokens.map((t) => (t[2] ? 1 : 0)),
    }));

const batchArb = fc.array(sequenceArb(['a', 'b', 'c']), { minLength: 1, maxLength: 10 });

const configArb: fc.Arbitrary<GateConfig> = fc
  .record({
    preset: fc.constantFrom('paper' as const, 'reference' as const),
    gamma: fc.double({ min: 0, max: 4, noNaN: true }),
    wMin: fc.double({ min: -1, max: 1, noNaN: true }),
    span: fc.double({ min: 0, max: 3, noNaN: true }),
  })
  .map(({ preset, gamma, wMin, span }) => gateConfig(preset, { gamma, wMin, wMax: wMin + span }));

const isReal = (s: Seq, k: number) => s.mask[k] === 1;

describe('computeTokenGate properties', () => {
  it('weights lie in [wMin, wMax] at real tokens and are 0 at padding; one array per sequence of its length', () => {
    fc.assert(
      fc.property(batchArb, configArb, (batch, config) => {
        const r = computeTokenGate(batch, config);
        batch.forEach((s, i) => {
          expect(r.weights[i]!.length).toBe(s.positive.length);
          s.mask.forEach((_, k) => {
            const w = r.weights[i]![k]!;
            if (isReal(s, k)) {
              expect(w).toBeGreaterThanOrEqual(config.wMin);
              expect(w).toBeLessThanOrEqual(config.wMax);
            } else {
              expect(w).toBe(0);
            }
          });
        });
      }),
    );
  });

  it('alpha 0 gives weight 1 on every real token (when 1 lies in [wMin, wMax])', () => {
    fc.assert(
      fc.property(batchArb, configArb, (batch, base) => {
        fc.pre(base.wMin <= 1 && base.wMax >= 1);
        const r = computeTokenGate(batch, { ...base, alpha: 0 });
        batch.forEach((s, i) => s.mask.forEach((m, k) => expect(r.weights[i]![k]).toBe(m === 1 ? 1 : 0)));
      }),
    );
  });

  it('adding the same constant to l+ and l- of a token changes nothing', () => {
    fc.assert(
      fc.property(
        batchArb,
        configArb,
        fc.array(fc.integer({ min: -20 * 64, max: 20 * 64 }).map((i) => i / 64)),
        (batch, config, shifts) => {
          // a different constant for every token, even
          let n = 0;
          const shift = () => (shifts.length > 0 ? shifts[n++ % shifts.length]! : 3.25);
          const moved = batch.map((s) => {
            const c = s.positive.map(shift);
            return {
              ...s,
              positive: s.positive.map((v, k) => v + c[k]!),
              negative: s.negative.map((v, k) => v + c[k]!),
            };
          });
          expect(computeTokenGate(moved, config)).toEqual(computeTokenGate(batch, config));
        },
      ),
    );
  });

  it('permuting the rollouts permutes the weights', () => {
    fc.assert(
      fc.property(
        batchArb.chain((batch) =>
          fc.tuple(
            fc.constant(batch),
            fc.shuffledSubarray(
              batch.map((_, i) => i),
              { minLength: batch.length },
            ),
          ),
        ),
        configArb,
        ([batch, order], config) => {
          const base = computeTokenGate(batch, config);
          const permuted = computeTokenGate(
            order.map((i) => batch[i]!),
            config,
          );
          order.forEach((from, to) => {
            expect(permuted.weights[to]!.length).toBe(base.weights[from]!.length);
            permuted.weights[to]!.forEach((w, k) => expect(w).toBeCloseTo(base.weights[from]![k]!, 9));
          });
          expect(permuted.diagnostics.tokens).toBe(base.diagnostics.tokens);
          expect(permuted.diagnostics.weightMean).toBeCloseTo(base.diagnostics.weightMean, 9);
        },
      ),
    );
  });

  it('a group with a single real token gives that token weight 1', () => {
    fc.assert(
      fc.property(
        batchArb,
        logprob,
        logprob,
        fc.nat({ max: 4 }),
        configArb,
        (others, lp, ln, pad, config) => {
          fc.pre(config.wMin <= 1 && config.wMax >= 1);
          // the lone group's token sits among padding
          const lone: GateSequence = {
            group: 'lone',
            positive: [...new Array<number>(pad).fill(Number.NaN), lp],
            negative: [...new Array<number>(pad).fill(0), ln],
            mask: [...new Array<number>(pad).fill(0), 1],
          };
          const r = computeTokenGate([...others, lone], config);
          const w = r.weights[others.length]!;
          expect(w[pad]).toBe(1);
          expect(r.advantages[others.length]![pad]).toBe(0);
        },
      ),
    );
  });

  it('values at padded positions, NaN and infinities included, never change the result', () => {
    const garbage = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 1e300));
    fc.assert(
      fc.property(batchArb, fc.infiniteStream(garbage), configArb, (batch, stream, config) => {
        const it = stream[Symbol.iterator]();
        const next = () => it.next().value as number;
        const scrambled = batch.map((s) => ({
          ...s,
          positive: s.positive.map((v, k) => (isReal(s, k) ? v : next())),
          negative: s.negative.map((v, k) => (isReal(s, k) ? v : next())),
        }));
        expect(computeTokenGate(scrambled, config)).toEqual(computeTokenGate(batch, config));
      }),
    );
  });

  it('per group, the advantages over real tokens have mean 0 and population std sd / (sd + eps)', () => {
    fc.assert(
      fc.property(batchArb, configArb, (batch, config) => {
        const r = computeTokenGate(batch, config);
        for (const g of ['a', 'b', 'c']) {
          const a: number[] = [];
          const scores: number[] = [];
          batch.forEach((s, i) => {
            if (s.group !== g) return;
            s.mask.forEach((m, k) => {
              if (m !== 1) return;
              a.push(r.advantages[i]![k]!);
              const delta = s.positive[k]! - s.negative[k]!;
              scores.push(delta > 0 ? delta : config.gamma * delta);
              expect(r.scores[i]![k]).toBe(scores[scores.length - 1]);
            });
          });
          if (a.length < 2) continue;
          const mean = (x: number[]) => x.reduce((p, q) => p + q, 0) / x.length;
          const std = (x: number[]) => Math.sqrt(mean(x.map((v) => (v - mean(x)) ** 2)));
          const sd = std(scores);
          expect(Math.abs(mean(a))).toBeLessThan(1e-6);
          expect(std(a)).toBeCloseTo(sd / (sd + config.eps), 6);
        }
      }),
    );
  });

  it('with one real token per sequence, the token weights are the sequence gate weights', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ group: fc.constantFrom('a', 'b'), lp: logprob, ln: logprob, pad: fc.nat({ max: 3 }) }),
          {
            minLength: 1,
            maxLength: 10,
          },
        ),
        configArb,
        (rows, config) => {
          const batch: GateSequence[] = rows.map(({ group, lp, ln, pad }) => ({
            group,
            positive: [lp, ...new Array<number>(pad).fill(0)],
            negative: [ln, ...new Array<number>(pad).fill(0)],
            mask: [1, ...new Array<number>(pad).fill(0)],
          }));
          const tokens = computeTokenGate(batch, config);
          const sequences = computeGate(batch, config);
          batch.forEach((_, i) => expect(tokens.weights[i]![0]).toBeCloseTo(sequences.weights[i]!, 12));
        },
      ),
    );
  });
});
