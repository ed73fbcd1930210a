// The model's weights: their names, shapes and seeded initialisation, and assigning a full set
// by name (a checkpoint's, an EMA teacher's) with every name and shape checked.
import * as tf from '@tensorflow/tfjs-core';
import { InvalidInputError, Rng, ShapeMismatchError } from '@vzero/core';
import { slotTokens, stemOf, type ModelConfig } from './config.js';

/** Every weight of a model of `config`, freshly initialised (seeded by config.initSeed), in a stable order. */
export function initialWeights(config: ModelConfig): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  const { vocabSize: V, width: d, depth, mlpWidth: m, patchSize: p, maxTextLength } = config;
  const rng = new Rng(config.initSeed);
  const add = (name: string, shape: number[], std: number | 'ones' | 'zeros'): void => {
    const size = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (std === 'ones') data.fill(1);
    else if (std !== 'zeros') for (let i = 0; i < size; i++) data[i] = std * rng.normal();
    const initial = tf.tensor(data, shape);
    params.set(name, tf.variable(initial, true));
    initial.dispose();
  };
  const residual = 1 / Math.sqrt(2 * depth);
  add('tok_emb', [V, d], 1 / Math.sqrt(d));
  add('text_pos', [maxTextLength, d], 0.1);
  const stem = stemOf(config);
  // With a stem, patch_w mixes the stem's features of every sub-patch of the patch.
  const patchIn = stem.patch > 0 ? (p / stem.patch) ** 2 * stem.channels : p * p * 3;
  add('patch_w', [patchIn, d], 1 / Math.sqrt(patchIn));
  add('patch_b', [d], 'zeros');
  add('view_emb', [2, d], 0.1);
  config.images.forEach((_s, i) => add(`slot${i}_pos`, [slotTokens(config, i), d], 0.1));
  for (let l = 0; l < depth; l++) {
    const b = `block${l}.`;
    add(`${b}ln1_g`, [d], 'ones');
    add(`${b}ln1_b`, [d], 'zeros');
    for (const w of ['wq', 'wk', 'wv']) {
      add(`${b}${w}`, [d, d], 1 / Math.sqrt(d));
      add(`${b}b${w.slice(1)}`, [d], 'zeros');
    }
    add(`${b}wo`, [d, d], residual / Math.sqrt(d));
    add(`${b}bo`, [d], 'zeros');
    add(`${b}ln2_g`, [d], 'ones');
    add(`${b}ln2_b`, [d], 'zeros');
    add(`${b}w1`, [d, m], 1 / Math.sqrt(d));
    add(`${b}b1`, [m], 'zeros');
    add(`${b}w2`, [m, d], residual / Math.sqrt(m));
    add(`${b}b2`, [d], 'zeros');
  }
  add('lnf_g', [d], 'ones');
  add('lnf_b', [d], 'zeros');
  // Only with a stem, so models without one keep their weights and checkpoints.
  if (stem.patch > 0) {
    const fan = stem.patch * stem.patch * 3;
    add('stem_w', [fan, stem.channels], Math.sqrt(2 / fan));
    add('stem_b', [stem.channels], 'zeros');
  }
  return params;
}

/** Assigns weights by name; every weight must be given once with its exact shape. */
export function assignWeights(
  params: ReadonlyMap<string, tf.Variable>,
  weights: ReadonlyMap<string, tf.Tensor> | Readonly<Record<string, tf.Tensor>>,
): void {
  const entries = weights instanceof Map ? [...weights] : Object.entries(weights);
  const given = new Map<string, tf.Tensor>(entries);
  for (const name of given.keys()) {
    if (!params.has(name))
      throw new InvalidInputError(`weights.${name}`, name, 'the model has no weight of that name');
  }
  for (const [name, v] of params) {
    const t = given.get(name);
    if (!t) throw new InvalidInputError(`weights.${name}`, undefined, 'missing');
    if (t.shape.join(',') !== v.shape.join(',')) {
      throw new ShapeMismatchError(`weights.${name}`, `[${v.shape.join(', ')}]`, `[${t.shape.join(', ')}]`);
    }
  }
  for (const [name, v] of params) v.assign(given.get(name) as tf.Tensor);
}
