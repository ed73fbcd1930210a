// The reference workload of the performance work: a small decoder-only transformer (pre-norm,
// causal self-attention, 4x ReLU MLP, softmax cross-entropy) trained with Adam. Token embedding
// is a one-hot matmul rather than a gather, because the wasm backend lacks the gather gradient.
import * as tf from '@tensorflow/tfjs-core';

export interface TransformerSpec {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly seq: number;
  readonly batch: number;
  readonly vocab: number;
}

export const REFERENCE_SPEC: TransformerSpec = {
  width: 128,
  layers: 4,
  heads: 4,
  seq: 96,
  batch: 64,
  vocab: 64,
};

export interface TransformerStep {
  /** One forward + backward + Adam step; returns the loss before the update. */
  step(): number;
  dispose(): void;
}

export function makeTransformer(spec: TransformerSpec, seed = 1): TransformerStep {
  const { width: d, layers, heads, seq: T, batch: B, vocab: V } = spec;
  const dh = d / heads;
  let s = seed;
  // tidy frees the initial value each variable is made from (the variable itself survives).
  const init = (shape: number[], std: number) =>
    tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, std, 'float32', s++)));
  const ones = (n: number) => tf.tidy(() => tf.variable(tf.ones([n])));
  const zeros = (n: number) => tf.tidy(() => tf.variable(tf.zeros([n])));
  const emb = init([V, d], 0.05);
  const pos = init([T, d], 0.05);
  const blocks = Array.from({ length: layers }, () => ({
    g1: ones(d),
    b1: zeros(d),
    wqkv: init([d, 3 * d], 1 / Math.sqrt(d)),
    wo: init([d, d], 1 / Math.sqrt(d)),
    g2: ones(d),
    b2: zeros(d),
    w1: init([d, 4 * d], 1 / Math.sqrt(d)),
    c1: zeros(4 * d),
    w2: init([4 * d, d], 1 / Math.sqrt(4 * d)),
    c2: zeros(d),
  }));
  const gf = ones(d);
  const bf = zeros(d);
  const head = init([d, V], 1 / Math.sqrt(d));
  // Fixed data: a deterministic token stream whose next token is predictable.
  const tokens = tf.tidy(() =>
    tf.tensor2d(
      Array.from({ length: B * T }, (_, i) => ((i * 7 + Math.floor(i / T) * 3) % V) | 0),
      [B, T],
      'int32',
    ),
  );
  const inputs = tf.tidy(() => tf.cast(tf.oneHot(tf.reshape(tokens, [B * T]), V), 'float32'));
  const targets = tf.tidy(() => {
    const next = tf.concat([tf.slice(tokens, [0, 1], [B, T - 1]), tf.slice(tokens, [0, 0], [B, 1])], 1);
    return tf.cast(tf.oneHot(tf.reshape(next, [B * T]), V), 'float32');
  });
  // 0 on and below the diagonal, -1e9 above: added to the attention scores.
  const mask = tf.tidy(() => tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 1), 1e9));
  const optimizer = tf.train.adam(1e-3);

  const norm = (x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b) as tf.Tensor2D;
  };
  const loss = () => {
    let x = tf.reshape(tf.add(tf.reshape(tf.matMul(inputs, emb), [B, T, d]), pos), [B * T, d]) as tf.Tensor2D;
    for (const blk of blocks) {
      const h = norm(x, blk.g1, blk.b1);
      const qkv = tf.transpose(tf.reshape(tf.matMul(h, blk.wqkv), [B, T, 3, heads, dh]), [2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(qkv, 0) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
      const att = tf.softmax(tf.add(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(dh)), mask));
      const o = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
      x = tf.add(x, tf.matMul(o, blk.wo));
      const h2 = norm(x, blk.g2, blk.b2);
      const m = tf.fused.matMul({ a: h2, b: blk.w1, bias: blk.c1, activation: 'relu' });
      x = tf.add(x, tf.fused.matMul({ a: m, b: blk.w2, bias: blk.c2 }));
    }
    const logits = tf.matMul(norm(x, gf, bf), head);
    return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
  };
  const all = [emb, pos, gf, bf, head, ...blocks.flatMap((b) => Object.values(b))];
  return {
    step() {
      const value = optimizer.minimize(loss, true, all);
      const out = value!.dataSync()[0]!;
      value!.dispose();
      return out;
    },
    dispose() {
      for (const v of all) v.dispose();
      for (const t of [tokens, inputs, targets, mask]) t.dispose();
      optimizer.dispose();
    },
  };
}
