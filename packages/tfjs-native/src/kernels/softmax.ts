// Softmax, log-softmax and the attention's scaled masked softmax, with their gradients.
import { util } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { maskRowIndex } from '../attention-softmax.js';
import { allFloat32, size, type KernelBuilder } from './common.js';

/** Softmax over the last axis. */
export const softmaxKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const logits = (args.inputs as Record<string, TensorInfo | undefined>)['logits'];
    const dim = (args.attrs as NamedAttrMap)['dim'];
    if (!logits || logits.dtype !== 'float32' || logits.shape.length === 0) return fallback(args);
    const rank = logits.shape.length;
    if (dim !== -1 && dim !== rank - 1) return fallback(args);
    const cols = logits.shape[rank - 1]!;
    const total = size(logits.shape);
    if (total === 0) return fallback(args);
    const result = io.run(args.backend, logits.shape, [logits], (out, xv) => {
      addon.softmax(xv!, out, total / cols, cols);
    });
    return result ?? fallback(args);
  };

/** The attention's scaled masked softmax (attention-softmax.ts). */
export const scaledMaskedSoftmaxKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { x, mask } = args.inputs as Record<string, TensorInfo | undefined>;
    const scale = Number((args.attrs as NamedAttrMap)['scale']);
    if (!x || !allFloat32([x, mask]) || size(x.shape) === 0 || !Number.isFinite(scale)) return fallback(args);
    const cols = x.shape[x.shape.length - 1]!;
    const rows = size(x.shape) / cols;
    const maskRows = mask ? maskRowIndex(x.shape, mask.shape) : new Int32Array(0);
    if (!maskRows) return fallback(args);
    const result = io.run(args.backend, x.shape, mask ? [x, mask] : [x], (out, xv, mv) => {
      addon.scaledMaskedSoftmax(xv!, mv ?? null, maskRows, out, rows, cols, scale);
    });
    return result ?? fallback(args);
  };

/** Log-softmax over the last axis (log-softmax.ts). */
export const logSoftmaxKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { x } = args.inputs as Record<string, TensorInfo | undefined>;
    if (!x || x.dtype !== 'float32' || x.shape.length === 0 || size(x.shape) === 0) return fallback(args);
    const cols = x.shape[x.shape.length - 1]!;
    const result = io.run(args.backend, x.shape, [x], (out, xv) => {
      addon.logSoftmax(xv!, out, size(x.shape) / cols, cols);
    });
    return result ?? fallback(args);
  };

/** Log-softmax's gradient. */
export const logSoftmaxGradKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { dy, y } = args.inputs as Record<string, TensorInfo | undefined>;
    if (!dy || !y || !allFloat32([dy, y]) || y.shape.length === 0 || size(y.shape) === 0)
      return fallback(args);
    if (!util.arraysEqual(dy.shape, y.shape)) return fallback(args);
    const cols = y.shape[y.shape.length - 1]!;
    const result = io.run(args.backend, y.shape, [dy, y], (out, dyv, yv) => {
      addon.logSoftmaxGrad(dyv!, yv!, out, size(y.shape) / cols, cols);
    });
    return result ?? fallback(args);
  };

/** The scaled masked softmax's gradient. */
export const scaledMaskedSoftmaxGradKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { dy, y } = args.inputs as Record<string, TensorInfo | undefined>;
    const scale = Number((args.attrs as NamedAttrMap)['scale']);
    if (!dy || !y || !allFloat32([dy, y]) || size(y.shape) === 0 || size(dy.shape) !== size(y.shape)) {
      return fallback(args);
    }
    if (!Number.isFinite(scale)) return fallback(args);
    const cols = y.shape[y.shape.length - 1]!;
    const result = io.run(args.backend, y.shape, [dy, y], (out, dyv, yv) => {
      addon.scaledMaskedSoftmaxGrad(dyv!, yv!, out, size(y.shape) / cols, cols, scale);
    });
    return result ?? fallback(args);
  };
