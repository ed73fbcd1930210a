// A hand-sized batch shared by the tests: B = 2 sequences, T = 3, the last token of row 1 is
// padding holding garbage (student 9, teacher NaN).
import * as tf from '@tensorflow/tfjs-core';
import type { OpdLossInputs } from '../src/index.js';

export const S = [
  [-1, -2, -0.5],
  [-3, -1, 9],
];
export const T = [
  [-1.5, -1, -0.5],
  [-1, -2, Number.NaN],
];
export const MASK = [
  [1, 1, 1],
  [1, 1, 0],
];
export const W = [2, 0.5];

// Teacher top-2 probabilities and the student's probabilities of the same ids, per token.
export const TEACHER_P = [
  [
    [0.5, 0.3],
    [0.6, 0.4],
    [0.9, 0.05],
  ],
  [
    [0.5, 0.3],
    [0.8, 0.1],
    [Number.NaN, 0.5],
  ],
];
export const STUDENT_P = [
  [
    [0.25, 0.5],
    [0.6, 0.4],
    [0.45, 0.1],
  ],
  [
    [0.5, 0.3],
    [0.4, 0.2],
    [0.2, Number.NaN],
  ],
];

const log3 = (x: number[][][]) => x.map((r) => r.map((c) => c.map(Math.log)));

/** Fresh tensors of the fixture batch; the caller disposes them. */
export function fixture(): Required<Omit<OpdLossInputs, 'oldLogprobs'>> {
  return {
    studentLogprobs: tf.tensor2d(S),
    teacherLogprobs: tf.tensor2d(T),
    mask: tf.tensor2d(MASK),
    weights: tf.tensor1d(W),
    studentTopK: tf.tensor3d(log3(STUDENT_P)),
    teacherTopK: tf.tensor3d(log3(TEACHER_P)),
  };
}

export function disposeAll(inputs: object): void {
  tf.dispose(Object.values(inputs) as tf.Tensor[]);
}
