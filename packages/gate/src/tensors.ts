// A thin tfjs adapter: the gate is a handful of scalar statistics per sequence, so it reads the
// [B, T] tensors once and runs the float64 array path. Its weights are constants by nature.
// Published as its own entry point, `@vzero/gate/tensors`: @tensorflow/tfjs-core is an optional
// peer dependency of the gate, loaded here on first call (synchronously: tfjs-core's Node entry
// is CommonJS), so the array path (`@vzero/gate`) installs and loads no TensorFlow.js.
import { createRequire } from 'node:module';
import type * as TF from '@tensorflow/tfjs-core';
import { InvalidInputError, MissingDependencyError, ShapeMismatchError, TFJS_VERSION } from '@vzero/core';
import { DEFAULT_GATE_CONFIG, type GateConfig } from './config.js';
import { computeGate, type GateResult, type GateSequence } from './gate.js';
import { computeTokenGate, type TokenGateResult } from './token-gate.js';

/**
 * The gate of a padded batch: `positive`, `negative` and `mask` are [B, T]; `groups[b]` is the
 * prompt id of row b. Reads the tensors synchronously; allocates no tensors; disposes nothing
 * of the caller's.
 */
export function computeGateTensors(
  positive: TF.Tensor2D,
  negative: TF.Tensor2D,
  mask: TF.Tensor2D,
  groups: readonly string[],
  config: GateConfig = DEFAULT_GATE_CONFIG,
): GateResult {
  return computeGate(readBatch('computeGateTensors', positive, negative, mask, groups), config);
}

/**
 * The token-level gate (computeTokenGate) of a padded batch, with the inputs of
 * computeGateTensors. Reads the tensors synchronously; allocates no tensors.
 */
export function computeTokenGateTensors(
  positive: TF.Tensor2D,
  negative: TF.Tensor2D,
  mask: TF.Tensor2D,
  groups: readonly string[],
  config: GateConfig = DEFAULT_GATE_CONFIG,
): TokenGateResult {
  return computeTokenGate(readBatch('computeTokenGateTensors', positive, negative, mask, groups), config);
}

/** The rows of a [B, T] batch as GateSequences, after checking shapes and groups. */
function readBatch(
  neededFor: string,
  positive: TF.Tensor2D,
  negative: TF.Tensor2D,
  mask: TF.Tensor2D,
  groups: readonly string[],
): GateSequence[] {
  const tf = tfjsCore(neededFor);
  checkRank2(tf, 'positive', positive);
  checkRank2(tf, 'negative', negative);
  checkRank2(tf, 'mask', mask);
  const [b, t] = positive.shape;
  const expected = `[${b}, ${t}] (as positive)`;
  if (negative.shape[0] !== b || negative.shape[1] !== t) {
    throw new ShapeMismatchError('negative', expected, `[${negative.shape.join(', ')}]`);
  }
  if (mask.shape[0] !== b || mask.shape[1] !== t) {
    throw new ShapeMismatchError('mask', expected, `[${mask.shape.join(', ')}]`);
  }
  if (!Array.isArray(groups) || groups.length !== b) {
    throw new ShapeMismatchError('groups', `${b} group ids (one per row)`, describeLength(groups));
  }
  const pos = positive.dataSync();
  const neg = negative.dataSync();
  const msk = mask.dataSync();
  const sequences: GateSequence[] = [];
  for (let i = 0; i < b; i++) {
    sequences.push({
      group: groups[i] as string,
      positive: pos.subarray(i * t, (i + 1) * t),
      negative: neg.subarray(i * t, (i + 1) * t),
      mask: msk.subarray(i * t, (i + 1) * t),
    });
  }
  return sequences;
}

/** The weights as a float32 [B] tensor the caller owns (dispose it, or create it in a tidy). */
export function weightsTensor(result: GateResult): TF.Tensor1D {
  return tfjsCore('weightsTensor').tensor1d(Float32Array.from(result.weights), 'float32');
}

/**
 * The token weights as a float32 [B, T] tensor the caller owns (0 at padding), for opdLoss's
 * `weights`. Every sequence must have the same length T (as from computeTokenGateTensors).
 */
export function tokenWeightsTensor(result: TokenGateResult): TF.Tensor2D {
  const tf = tfjsCore('tokenWeightsTensor');
  const rows = result.weights;
  const t = rows[0]?.length ?? 0;
  const flat = new Float32Array(rows.length * t);
  rows.forEach((row, i) => {
    if (row.length !== t) {
      throw new ShapeMismatchError(
        `weights[${i}]`,
        `length ${t} (as weights[0]): a padded [B, T] batch`,
        `length ${row.length}`,
      );
    }
    flat.set(row, i * t);
  });
  return tf.tensor2d(flat, [rows.length, t], 'float32');
}

let loaded: typeof TF | undefined;

/** tfjs-core, loaded once; a MissingDependencyError naming it when it is not installed. */
function tfjsCore(neededFor: string): typeof TF {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('@tensorflow/tfjs-core') as typeof TF;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'MODULE_NOT_FOUND') {
      throw new MissingDependencyError('@tensorflow/tfjs-core', `@vzero/gate's ${neededFor}`, {
        cause: error,
        install: `@tensorflow/tfjs-core@${TFJS_VERSION}`,
      });
    }
    throw error;
  }
  return loaded;
}

function checkRank2(tf: typeof TF, field: string, value: unknown): asserts value is TF.Tensor2D {
  if (!(value instanceof tf.Tensor)) throw new InvalidInputError(field, value, 'expected a tf.Tensor2D');
  if (value.rank !== 2)
    throw new ShapeMismatchError(field, 'rank 2 [B, T]', `shape [${value.shape.join(', ')}]`);
}

function describeLength(value: unknown): string {
  return Array.isArray(value) ? `${value.length}` : typeof value;
}
