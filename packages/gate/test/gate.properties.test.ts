import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { computeGate, gateConfig, type GateConfig, type GateSequence } from '../src/index.js';

const logprob = fc.double({ min: -30, max: 0, noNaN: true });

/** A sequence with a random mask; `garbage` is what padded positions hold. */
const sequenceArb = (groups: readonly string[]) =>
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

const batchArb = fc.array(sequenceArb(['a', 'b', 'c']), { minLength: 1, maxLength: 12 });

const configArb: fc.Arbitrary<GateConfig> = fc
  .record({
    preset: fc.constantFrom('paper' as const, 'reference' as const),
    gamma: fc.double({ min: 0, max: 4, noNaN: true }),
    wMin: fc.double({ min: -1, max: 1, noNaN: true }),
    span: fc.double({ min: 0, max: 3, noNaN: true }),
  })
  .map(({ preset, gamma, wMin, span }) => gateConfig(preset, { gamma, wMin, wMax: wMin + span }));

describe('computeGate properties', () => {
  it('weights lie in [wMin, wMax]', () => {
    fc.assert(
      fc.property(batchArb, configArb, (batch, config) => {
        for (const w of computeGate(batch, config).weights) {
          expect(w).toBeGreaterThanOrEqual(config.wMin);
          expect(w).toBeLessThanOrEqual(config.wMax);
        }
      }),
    );
  });

  it('a group whose members all have the same score gets weight 1 exactly', () => {
    fc.assert(
      fc.property(
        sequenceArb(['same']),
        fc.integer({ min: 2, max: 8 }),
        batchArb,
        configArb,
        (seq, copies, others, config) => {
          fc.pre(config.wMin <= 1 && config.wMax >= 1);
          const batch = [...others, ...Array.from({ length: copies }, () => seq)];
          const r = computeGate(batch, config);
          for (let i = others.length; i < batch.length; i++) {
            expect(r.advantages[i]).toBe(0);
            expect(r.weights[i]).toBe(1);
          }
        },
      ),
    );
  });

  it('permuting the input (interleaving groups) permutes the outputs', () => {
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
          const base = computeGate(batch, config);
          const permuted = computeGate(
            order.map((i) => batch[i]!),
            config,
          );
          order.forEach((from, to) => {
            expect(permuted.scores[to]).toBeCloseTo(base.scores[from]!, 9);
            expect(permuted.advantages[to]).toBeCloseTo(base.advantages[from]!, 6);
            expect(permuted.weights[to]).toBeCloseTo(base.weights[from]!, 6);
          });
          expect(permuted.diagnostics.tokens).toBe(base.diagnostics.tokens);
          expect(permuted.diagnostics.groups).toBe(base.diagnostics.groups);
        },
      ),
    );
  });

  it('values at masked positions, NaN and infinities included, never change the result', () => {
    const garbage = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, 1e300));
    fc.assert(
      fc.property(batchArb, fc.infiniteStream(garbage), configArb, (batch, stream, config) => {
        const it = stream[Symbol.iterator]();
        const next = () => it.next().value as number;
        const scrambled: GateSequence[] = batch.map((s) => ({
          group: s.group,
          mask: s.mask,
          positive: s.positive.map((v, k) => (s.mask[k] === 1 ? v : next())),
          negative: s.negative.map((v, k) => (s.mask[k] === 1 ? v : next())),
        }));
        expect(computeGate(scrambled, config)).toEqual(computeGate(batch, config));
      }),
    );
  });

  it('gamma 1 gives p = masked mean of delta', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const r = computeGate(batch, gateConfig('paper', { gamma: 1 }));
        batch.forEach((s, i) => {
          let sum = 0;
          let n = 0;
          s.mask.forEach((m, k) => {
            if (m === 1) {
              sum += s.positive[k]! - s.negative[k]!;
              n++;
            }
          });
          expect(r.scores[i]).toBeCloseTo(n > 0 ? sum / n : 0, 9);
        });
      }),
    );
  });

  it('advantages of every group of two or more have mean 0 and population std close to 1', () => {
    fc.assert(
      fc.property(batchArb, (batch) => {
        const r = computeGate(batch, gateConfig('paper'));
        for (const g of ['a', 'b', 'c']) {
          const idx = batch.flatMap((s, i) => (s.group === g ? [i] : []));
          if (idx.length < 2) continue;
          const a = idx.map((i) => r.advantages[i]!);
          const p = idx.map((i) => r.scores[i]!);
          const mean = a.reduce((x, y) => x + y, 0) / a.length;
          const pMean = p.reduce((x, y) => x + y, 0) / p.length;
          const sd = Math.sqrt(p.reduce((x, y) => x + (y - pMean) ** 2, 0) / p.length);
          expect(Math.abs(mean)).toBeLessThan(1e-6);
          const aStd = Math.sqrt(a.reduce((x, y) => x + (y - mean) ** 2, 0) / a.length);
          // std(a) = sd / (sd + eps): 1 up to eps, 0 for a group without contrast
          expect(aStd).toBeCloseTo(sd / (sd + 1e-6), 6);
        }
      }),
    );
  });
});
