// The reference workload, for comparison with other stacks: a decoder-only transformer (pre-norm,
// causal self-attention, 4x ReLU MLP, softmax cross-entropy) trained with Adam, and greedy
// decoding with it; a forward pass over any prefix length lets decoding reuse the model. The
// native-kernel bench and tests and the suite in tools/bench all use this one model (published
// as the `@vzero/tfjs-native/reference` entry point);
// tools/bench/torch/reference.py is the same workload in PyTorch. Token embedding is a one-hot matmul, as in
// the models, because the wasm backend lacks the gather gradient.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError } from '@vzero/core';
import { adamwUpdate } from './adamw.js';
import { attention } from './attention.js';
import { logSoftmax } from './log-softmax.js';
import { layerNorm } from './layer-norm.js';

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

/** Greedy decoding: prompts of seq - DECODE_TOKENS tokens, then this many new tokens each. */
export const DECODE_TOKENS = 16;

export interface ReferenceModel {
  /** One forward + backward + Adam step over [batch, seq]; returns the loss before the update. */
  step(): number;
  /** Greedy decoding of `tokens` new tokens for every row (full recompute per token, no cache). */
  decode(tokens?: number): Int32Array;
  dispose(): void;
}

/** The deterministic token stream both stacks train on: row b, column t. */
export function referenceToken(b: number, t: number, spec: TransformerSpec): number {
  const i = b * spec.seq + t;
  return (i * 7 + b * 3) % spec.vocab;
}

export function makeReferenceModel(spec: TransformerSpec = REFERENCE_SPEC, seed = 1): ReferenceModel {
  const { width: d, layers, heads, seq: T, batch: B, vocab: V } = spec;
  if (d % heads !== 0) throw new InvalidInputError('spec.heads', heads, `must divide width ${d}`);
  const dh = d / heads;
  let s = seed;
  // In tidy, so the initial values are freed once copied into the variables.
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
  const stream = Array.from({ length: B * T }, (_, i) => referenceToken(Math.floor(i / T), i % T, spec));
  const inputs = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(stream, 'int32'), V), 'float32'));
  // Next token of each position (wrapping to the row's first token at the end).
  const next = stream.map((_, i) => stream[i % T === T - 1 ? i - (T - 1) : i + 1]!);
  const targets = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(next, 'int32'), V), 'float32'));
  // 0 on and below the diagonal, -1e9 above: added to the attention scores.
  const mask = tf.tidy(() => tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 1), 1e9));
  // Adam(1e-3, 0.9, 0.999, eps 1e-8) as PyTorch's defaults, one fused update per variable
  // (one native kernel where registered) instead of tf.train.adam's ~10 kernels per variable.
  const moments = new Map<tf.Variable, [tf.Variable, tf.Variable]>();
  let adamStep = 0;

  // One fused op (two kernels with the native kernels registered), like PyTorch's LayerNorm.
  const norm = (x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor) => layerNorm(x, g, b, 1e-5) as tf.Tensor2D;
  /** Logits [rows * L, V] of one-hot inputs [rows * L, V]. */
  const forward = (oneHot: tf.Tensor2D, rows: number, L: number): tf.Tensor2D => {
    const p = L === T ? pos : tf.slice(pos, [0, 0], [L, d]);
    const m = L === T ? mask : tf.slice(mask, [0, 0], [L, L]);
    let x = tf.reshape(tf.add(tf.reshape(tf.matMul(oneHot, emb), [rows, L, d]), p), [
      rows * L,
      d,
    ]) as tf.Tensor2D;
    for (const blk of blocks) {
      const h = norm(x, blk.g1, blk.b1);
      // q stays in token layout; k and v go to head layout (the attention op's inputs).
      const [q2, k2, v2] = tf.split(tf.matMul(h, blk.wqkv), 3, 1);
      const toHeads = (x: tf.Tensor) =>
        tf.transpose(tf.reshape(x, [rows, L, heads, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
      const q = tf.reshape(q2!, [rows, L, d]) as tf.Tensor3D;
      const att = attention(q, toHeads(k2!), toHeads(v2!), heads, 1 / Math.sqrt(dh), m);
      const o = tf.reshape(att, [rows * L, d]) as tf.Tensor2D;
      x = tf.add(x, tf.matMul(o, blk.wo));
      const h2 = norm(x, blk.g2, blk.b2);
      const mlp = tf.fused.matMul({ a: h2, b: blk.w1, bias: blk.c1, activation: 'relu' });
      x = tf.add(x, tf.fused.matMul({ a: mlp, b: blk.w2, bias: blk.c2 }));
    }
    return tf.matMul(norm(x, gf, bf), head);
  };
  // Mean cross-entropy of the one-hot targets: -sum(targets * logSoftmax(logits)) / rows, as
  // tf.losses.softmaxCrossEntropy computes it, through the fused logSoftmax op (PyTorch's
  // cross_entropy is log_softmax + nll as well).
  const loss = () =>
    tf.div(
      tf.neg(tf.sum(tf.mul(targets, logSoftmax(forward(inputs as tf.Tensor2D, B, T))))),
      B * T,
    ) as tf.Scalar;
  const all = [emb, pos, gf, bf, head, ...blocks.flatMap((b) => Object.values(b))];
  return {
    step() {
      adamStep++;
      const out = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(loss, all);
        for (const x of all) {
          let slots = moments.get(x);
          if (!slots) {
            slots = [tf.variable(tf.zerosLike(x), false), tf.variable(tf.zerosLike(x), false)];
            moments.set(x, slots);
          }
          const next = adamwUpdate(x, grads[x.name]!, slots[0], slots[1], {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            step: adamStep,
            weightDecay: 0,
            gradScale: 1,
          });
          slots[0].assign(next.m);
          slots[1].assign(next.v);
          x.assign(next.x);
        }
        return value.dataSync()[0]!;
      });
      return out;
    },
    decode(tokens = DECODE_TOKENS) {
      const P = T - tokens;
      if (!Number.isInteger(tokens) || tokens < 1 || P < 1) {
        throw new InvalidInputError('tokens', tokens, `expected an integer in [1, ${T - 1}]`);
      }
      const rows = Array.from({ length: B }, (_, b) =>
        Array.from({ length: P }, (_, t) => referenceToken(b, t, spec)),
      );
      for (let step = 0; step < tokens; step++) {
        const L = P + step;
        const chosen = tf.tidy(() => {
          const ids = tf.tensor1d(rows.flat(), 'int32');
          const logits = forward(tf.cast(tf.oneHot(ids, V), 'float32') as tf.Tensor2D, B, L);
          // The last position of each row.
          const last = tf.gather(tf.reshape(logits, [B, L, V]), [L - 1], 1);
          return tf.argMax(tf.reshape(last, [B, V]), -1);
        });
        const next = chosen.dataSync();
        chosen.dispose();
        rows.forEach((r, b) => r.push(next[b]!));
      }
      return Int32Array.from(rows.flatMap((r) => r.slice(P)));
    },
    dispose() {
      for (const v of all) v.dispose();
      for (const t of [inputs, targets, mask]) t.dispose();
      for (const [m, v] of moments.values()) tf.dispose([m, v]);
      moments.clear();
    },
  };
}
