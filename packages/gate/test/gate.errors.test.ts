import { describe, expect, it } from 'vitest';
import { InvalidInputError, ShapeMismatchError, UnknownKeyError } from '@vzero/core';
import {
  DEFAULT_GATE_CONFIG,
  GATE_PRESETS,
  computeGate,
  gateConfig,
  type GateConfig,
  type GateSequence,
} from '../src/index.js';

const ok: GateSequence = { group: 'g', positive: [-1, -2], negative: [-2, -2] };

function expectError(fn: () => unknown, type: new (...args: never[]) => Error, message: RegExp): void {
  expect(fn).toThrow(type);
  expect(fn).toThrow(message);
}

describe('gateConfig', () => {
  it('has the two presets and the reference default', () => {
    expect(GATE_PRESETS.paper).toEqual({ alpha: 1, gamma: 1, wMin: 0, wMax: 2, eps: 1e-6 });
    expect(GATE_PRESETS.reference).toEqual({ alpha: 0.5, gamma: 1, wMin: 0, wMax: 2, eps: 1e-6 });
    expect(DEFAULT_GATE_CONFIG).toEqual(GATE_PRESETS.reference);
    expect(gateConfig()).toEqual(GATE_PRESETS.reference);
    expect(gateConfig('paper', { gamma: 2, wMax: 3 })).toEqual({
      alpha: 1,
      gamma: 2,
      wMin: 0,
      wMax: 3,
      eps: 1e-6,
    });
  });

  it('rejects unknown keys, wrong types and bad values naming the field', () => {
    expectError(
      () => gateConfig('paper', { alhpa: 1 } as unknown as Partial<GateConfig>),
      UnknownKeyError,
      /unknown key "alhpa" in gate \(did you mean "alpha"\?\)/,
    );
    expectError(
      () => gateConfig('nope' as 'paper'),
      InvalidInputError,
      /gate\.preset = "nope": expected one of paper, reference/,
    );
    expectError(
      () => gateConfig('paper', { gamma: -1 }),
      InvalidInputError,
      /gate\.gamma = -1: expected a number >= 0/,
    );
    expectError(
      () => gateConfig('paper', { eps: 0 }),
      InvalidInputError,
      /gate\.eps = 0: expected a number > 0/,
    );
    expectError(
      () => gateConfig('paper', { wMin: 3 }),
      InvalidInputError,
      /gate\.wMin = 3: expected wMin <= wMax \(wMax = 2\)/,
    );
    expectError(
      () => gateConfig('paper', { alpha: Number.NaN }),
      InvalidInputError,
      /gate\.alpha = NaN: expected a finite number/,
    );
    expectError(
      () => gateConfig('paper', { wMax: Infinity }),
      InvalidInputError,
      /gate\.wMax = Infinity: expected a finite number/,
    );
    expectError(
      () => gateConfig('paper', { alpha: '1' } as unknown as Partial<GateConfig>),
      InvalidInputError,
      /gate\.alpha = "1": expected a number/,
    );
  });

  it('computeGate checks a hand-made config too', () => {
    expectError(
      () => computeGate([ok], { ...GATE_PRESETS.paper, eps: -1 }),
      InvalidInputError,
      /gate\.eps = -1/,
    );
  });
});

describe('computeGate input errors', () => {
  it('rejects an empty or non-array input', () => {
    expectError(
      () => computeGate([]),
      InvalidInputError,
      /^sequences = \[\]: expected at least one sequence/,
    );
    expectError(
      () => computeGate(undefined as unknown as GateSequence[]),
      InvalidInputError,
      /^sequences = undefined: expected an array/,
    );
  });

  it('rejects mismatched lengths naming the sequence and field', () => {
    expectError(
      () => computeGate([ok, { group: 'g', positive: [-1, -2], negative: [-1] }]),
      ShapeMismatchError,
      /^sequences\[1\]\.negative: expected length 2 \(as sequences\[1\]\.positive\), got length 1/,
    );
    expectError(
      () => computeGate([{ group: 'g', positive: [-1, -2], negative: [-1, -1], mask: [1, 1, 0] }]),
      ShapeMismatchError,
      /^sequences\[0\]\.mask: expected length 2 \(as sequences\[0\]\.positive\), got length 3/,
    );
  });

  it('rejects mask values other than 0 and 1', () => {
    expectError(
      () => computeGate([ok, { group: 'g', positive: [-1, -2], negative: [-1, -1], mask: [1, 0.5] }]),
      InvalidInputError,
      /^sequences\[1\]\.mask\[1\] = 0\.5: expected 0 or 1/,
    );
    expectError(
      () => computeGate([{ group: 'g', positive: [-1], negative: [-1], mask: [Number.NaN] }]),
      InvalidInputError,
      /^sequences\[0\]\.mask\[0\] = NaN: expected 0 or 1/,
    );
  });

  it('rejects NaN or infinity at a real token, naming sequence and position', () => {
    expectError(
      () => computeGate([ok, { group: 'g', positive: [-1, Number.NaN], negative: [-1, -1] }]),
      InvalidInputError,
      /^sequences\[1\]\.positive\[1\] = NaN: expected a finite log-prob at a real token \(mask 1\)/,
    );
    expectError(
      () => computeGate([{ group: 'g', positive: [-1, -1], negative: [-Infinity, -1], mask: [1, 1] }]),
      InvalidInputError,
      /^sequences\[0\]\.negative\[0\] = -Infinity: expected a finite log-prob/,
    );
  });

  it('rejects malformed sequences', () => {
    expectError(
      () => computeGate([{ group: 3, positive: [], negative: [] } as unknown as GateSequence]),
      InvalidInputError,
      /^sequences\[0\]\.group = 3: expected a string/,
    );
    expectError(
      () => computeGate([{ group: 'g', positive: 'abc', negative: [] } as unknown as GateSequence]),
      InvalidInputError,
      /^sequences\[0\]\.positive = "abc": expected an array of log-probs/,
    );
    expectError(
      () => computeGate([ok, null as unknown as GateSequence]),
      InvalidInputError,
      /^sequences\[1\] = null: expected an object/,
    );
  });
});
