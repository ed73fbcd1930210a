import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, ShapeMismatchError, UnknownKeyError, selectBackend } from '@vzero/core';
import {
  DEFAULT_OPD_LOSS_CONFIG,
  opdLoss,
  opdLossConfig,
  opdLossMetrics,
  validateOpdInputs,
  type OpdLossConfig,
  type OpdLossInputs,
} from '../src/index.js';
import { disposeAll, fixture } from './fixtures.js';

function expectError(fn: () => unknown, type: new (...args: never[]) => Error, message: RegExp): void {
  expect(fn).toThrow(type);
  expect(fn).toThrow(message);
}

describe('opdLossConfig', () => {
  it('defaults to the reference launcher', () => {
    expect(DEFAULT_OPD_LOSS_CONFIG).toEqual({
      estimator: 'k1',
      mode: 'pg',
      aggregation: 'token-mean',
      clamp: 10,
      clipLow: 0.2,
      clipHigh: 0.2,
      dualClip: 3,
      logRatioClamp: 20,
      lossScaleFactor: undefined,
    });
    expect(opdLossConfig()).toEqual(DEFAULT_OPD_LOSS_CONFIG);
    expect(opdLossConfig({ estimator: 'k3', mode: 'direct' }).estimator).toBe('k3');
  });

  it('rejects k1 in direct mode, explaining why', () => {
    expectError(
      () => opdLossConfig({ mode: 'direct' }),
      InvalidInputError,
      /^opdLoss\.estimator = "k1": k1 cannot be used in direct mode: its gradient d\(s - t\)\/ds = 1 ignores the teacher/,
    );
  });

  it('rejects forward-kl-topk in pg mode', () => {
    expectError(
      () => opdLossConfig({ estimator: 'forward-kl-topk' }),
      InvalidInputError,
      /^opdLoss\.mode = "pg": forward-kl-topk is direct-only/,
    );
  });

  it('rejects unknown keys and bad values naming the field', () => {
    expectError(
      () => opdLossConfig({ clipHgh: 0.3 } as unknown as Partial<OpdLossConfig>),
      UnknownKeyError,
      /unknown key "clipHgh" in opdLoss \(did you mean "clipHigh"\?\)/,
    );
    const cases: Array<[Partial<OpdLossConfig>, RegExp]> = [
      [
        { estimator: 'k4' as 'k1' },
        /^opdLoss\.estimator = "k4": expected one of k1, abs, k2, k3, forward-kl-topk/,
      ],
      [{ mode: 'ppo' as 'pg' }, /^opdLoss\.mode = "ppo": expected one of pg, direct/],
      [
        { aggregation: 'mean' as 'token-mean' },
        /^opdLoss\.aggregation = "mean": expected one of token-mean, /,
      ],
      [{ clamp: 0 }, /^opdLoss\.clamp = 0: expected a number > 0/],
      [{ clamp: Number.NaN }, /^opdLoss\.clamp = NaN: expected a finite number/],
      [{ clipLow: 1 }, /^opdLoss\.clipLow = 1: expected a number in \[0, 1\)/],
      [{ clipHigh: -0.1 }, /^opdLoss\.clipHigh = -0\.1: expected a number >= 0/],
      [{ dualClip: 1 }, /^opdLoss\.dualClip = 1: expected a number > 1/],
      [{ logRatioClamp: Infinity }, /^opdLoss\.logRatioClamp = Infinity: expected a finite number/],
      [{ lossScaleFactor: -5 }, /^opdLoss\.lossScaleFactor = -5: expected a number > 0/],
    ];
    for (const [overrides, message] of cases)
      expectError(() => opdLossConfig(overrides), InvalidInputError, message);
  });
});

describe('opdLoss input checks', () => {
  beforeAll(async () => {
    await selectBackend({ prefer: 'cpu' });
  });

  function withFixture(fn: (inputs: ReturnType<typeof fixture>) => void): void {
    const inputs = fixture();
    const before = tf.memory().numTensors;
    try {
      fn(inputs);
    } finally {
      // a rejected call leaves nothing behind
      expect(tf.memory().numTensors).toBe(before);
      disposeAll(inputs);
    }
  }

  it('rejects shape mismatches naming the field', () => {
    withFixture((inputs) => {
      const bad23 = tf.zeros([3, 3]) as tf.Tensor2D;
      const cases: Array<[Partial<OpdLossInputs>, RegExp]> = [
        [
          { teacherLogprobs: bad23 },
          /^teacherLogprobs: expected \[2, 3\] \(as studentLogprobs\), got \[3, 3\]/,
        ],
        [{ mask: bad23 }, /^mask: expected \[2, 3\]/],
        [{ oldLogprobs: bad23 }, /^oldLogprobs: expected \[2, 3\]/],
        [
          { weights: tf.ones([3]) as tf.Tensor1D },
          /^weights: expected \[2\] \(one weight per row of studentLogprobs\), got \[3\]/,
        ],
        [
          { studentLogprobs: tf.zeros([6]) as unknown as tf.Tensor2D },
          /^studentLogprobs: expected rank 2 \[B, T\], got \[6\]/,
        ],
      ];
      for (const [patch, message] of cases) {
        expectError(() => opdLoss({ ...inputs, ...patch }), ShapeMismatchError, message);
        expectError(() => opdLossMetrics({ ...inputs, ...patch }), ShapeMismatchError, message);
      }
      tf.dispose(cases.flatMap(([patch]) => Object.values(patch) as tf.Tensor[]).filter((t) => t !== bad23));
      bad23.dispose();
    });
  });

  it('checks the top-K inputs of forward-kl-topk', () => {
    withFixture((inputs) => {
      const config = opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' });
      const { studentTopK, ...noStudentTopK } = inputs;
      expect(studentTopK.shape).toEqual([2, 3, 2]);
      expectError(
        () => opdLoss(noStudentTopK, config),
        InvalidInputError,
        /^studentTopK = undefined: required by estimator forward-kl-topk/,
      );
      const k3 = tf.zeros([2, 3, 3]) as tf.Tensor3D;
      const wrongT = tf.zeros([2, 4, 2]) as tf.Tensor3D;
      expectError(
        () => opdLoss({ ...inputs, studentTopK: k3 }, config),
        ShapeMismatchError,
        /^studentTopK: expected \[2, 3, 2\] \(as teacherTopK\), got \[2, 3, 3\]/,
      );
      expectError(
        () => opdLoss({ ...inputs, teacherTopK: wrongT }, config),
        ShapeMismatchError,
        /^teacherTopK: expected \[2, 3, K\] with K >= 1, got \[2, 4, 2\]/,
      );
      tf.dispose([k3, wrongT]);
    });
  });

  it('rejects a mask value other than 0/1 and non-tensors', () => {
    withFixture((inputs) => {
      const mask = tf.tensor2d([
        [1, 1, 1],
        [1, 0.5, 0],
      ]);
      expectError(
        () => opdLoss({ ...inputs, mask }),
        InvalidInputError,
        /^mask\[1\]\[1\] = 0\.5: expected 0 or 1/,
      );
      expectError(
        () => opdLoss({ ...inputs, teacherLogprobs: [[1, 2, 3]] as unknown as tf.Tensor2D }),
        InvalidInputError,
        /^teacherLogprobs = \[\[1,2,3\]\]: expected a tf\.Tensor/,
      );
      mask.dispose();
    });
  });

  it('validateOpdInputs finds a NaN at a real token and names it; padding may hold anything', () => {
    withFixture((inputs) => {
      // the fixture's padding holds NaN (teacher) and 9 (student): valid
      expect(() => validateOpdInputs(inputs)).not.toThrow();
      const t = tf.tensor2d([
        [-1, -1, -1],
        [Number.NaN, -1, 0],
      ]);
      expectError(
        () => validateOpdInputs({ ...inputs, teacherLogprobs: t }),
        InvalidInputError,
        /^teacherLogprobs\[1\]\[0\] = NaN: expected a finite log-prob at a real token \(mask 1\)/,
      );
      const w = tf.tensor1d([1, Infinity]);
      expectError(
        () => validateOpdInputs({ ...inputs, weights: w }),
        InvalidInputError,
        /^weights\[1\] = Infinity: expected a finite weight/,
      );
      const config = opdLossConfig({ estimator: 'forward-kl-topk', mode: 'direct' });
      // the fixture's top-K padding holds NaN: still valid
      expect(() => validateOpdInputs(inputs, config)).not.toThrow();
      const sK = tf.tensor3d([
        [
          [0, 0],
          [0, -Infinity],
          [0, 0],
        ],
        [
          [0, 0],
          [0, 0],
          [0, 0],
        ],
      ]);
      expectError(
        () => validateOpdInputs({ ...inputs, studentTopK: sK }, config),
        InvalidInputError,
        /^studentTopK\[0\]\[1\]\[1\] = -Infinity/,
      );
      tf.dispose([t, w, sK]);
    });
  });
});
