// One-hot matmuls instead of gathers (the wasm backend lacks the gather gradient): token
// embeddings, and reading the log-prob of chosen tokens out of log-softmax rows.
import * as tf from '@tensorflow/tfjs-core';

/** Log-probs [B, T] of `tokens[b][t]` from log-softmax rows [B, T, V]; padding gives 0. */
export function pickTokens(
  lp: tf.Tensor3D,
  tokens: readonly (readonly number[])[],
  vocabSize: number,
): tf.Tensor2D {
  const [B, T] = lp.shape;
  const mask = new Float32Array(B * T * vocabSize);
  tokens.forEach((r, b) =>
    r.forEach((id, t) => {
      if (t < T) mask[(b * T + t) * vocabSize + id] = 1;
    }),
  );
  return tf.sum(tf.mul(lp, tf.tensor3d(mask, [B, T, vocabSize])), -1) as tf.Tensor2D;
}

/**
 * One-hot rows [n, depth] built in JavaScript: the wasm backend's OneHot kernel ignores a float
 * dtype, and ids are known on the JS side anyway.
 */
export function oneHot(ids: ArrayLike<number>, depth: number): tf.Tensor2D {
  const data = new Float32Array(ids.length * depth);
  for (let i = 0; i < ids.length; i++) data[i * depth + (ids[i] ?? 0)] = 1;
  return tf.tensor2d(data, [ids.length, depth]);
}
