import { describe, expect, it } from 'vitest';
import { InvalidInputError, ShapeMismatchError } from '@vzero/core';
import { GATE_PRESETS, computeTokenGate, type GateSequence } from '../src/index.js';

const ok: GateSequence = { group: 'g', positive: [-1, -2], negative: [-2, -2] };

function expectError(fn: () => unknown, type: new (...args: never[]) => Error, message: RegExp): void {
  expect(fn).toThrow(type);
  expect(fn).toThrow(message);
}

describe('computeTokenGate errors (as computeGate)', () => {
  it('checks the config', () => {
    expectError(
      () => computeTokenGate([ok], { ...GATE_PRESETS.paper, eps: 0 }),
      InvalidInputError,
      /^gate\.eps = 0: expected a number > 0/,
    );
    expectError(
      () => computeTokenGate([ok], { ...GATE_PRESETS.paper, wMin: 3 }),
      InvalidInputError,
      /^gate\.wMin = 3: expected wMin <= wMax/,
    );
  });

  it('rejects an empty or non-array batch', () => {
    expectError(
      () => computeTokenGate([]),
      InvalidInputError,
      /^sequences = \[\]: expected at least one sequence/,
    );
    expectError(
      () => computeTokenGate({} as unknown as GateSequence[]),
      InvalidInputError,
      /^sequences = \{\}: expected an array of sequences/,
    );
  });

  it('names the sequence and field of a length mismatch, a bad mask value or a non-finite log-prob', () => {
    expectError(
      () => computeTokenGate([ok, { group: 'g', positive: [-1, -2], negative: [-1, -1], mask: [1, 1, 0] }]),
      ShapeMismatchError,
      /^sequences\[1\]\.mask: expected length 2 \(as sequences\[1\]\.positive\), got length 3/,
    );
    expectError(
      () => computeTokenGate([{ group: 'g', positive: [-1], negative: [-1], mask: [2] }]),
      InvalidInputError,
      /^sequences\[0\]\.mask\[0\] = 2: expected 0 or 1/,
    );
    expectError(
      () => computeTokenGate([ok, { group: 'g', positive: [-1, Infinity], negative: [-1, -1] }]),
      InvalidInputError,
      /^sequences\[1\]\.positive\[1\] = Infinity: expected a finite log-prob at a real token/,
    );
    expectError(
      () => computeTokenGate([{ group: 'g', positive: [-1], negative: [Number.NaN] }]),
      InvalidInputError,
      /^sequences\[0\]\.negative\[0\] = NaN/,
    );
    expectError(
      () => computeTokenGate([{ group: 7, positive: [], negative: [] } as unknown as GateSequence]),
      InvalidInputError,
      /^sequences\[0\]\.group = 7: expected a string/,
    );
  });
});
