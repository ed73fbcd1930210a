// The kernels this package adds for its fused ops: layer norm, AdamW and attention, with the
// gradients.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { maskRowIndex } from '../attention-softmax.js';
import { allFloat32, size, type KernelBuilder } from './common.js';
import { planAttention } from './shapes.js';

/** The fused AdamW kernel's attributes, in the order the addon takes them. */
const ADAMW_ATTRS = [
  'scale',
  'beta1',
  'oneMinusBeta1',
  'beta2',
  'oneMinusBeta2',
  'c1',
  'c2',
  'epsilon',
  'lr',
  'decay',
] as const;

/** The fused layer norm (layer-norm.ts). */
export const layerNormKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { x, gamma, beta } = args.inputs as Record<string, TensorInfo | undefined>;
    const eps = Number((args.attrs as NamedAttrMap)['epsilon']);
    const cols = x?.shape[x.shape.length - 1];
    if (!x || !gamma || !beta || !allFloat32([x, gamma, beta]) || !cols || size(gamma.shape) !== cols) {
      return fallback(args);
    }
    if (size(beta.shape) !== cols || !(eps > 0)) return fallback(args);
    const rows = size(x.shape) / cols;
    const result = io.run(args.backend, x.shape, [x, gamma, beta], (out, xv, gv, bv) => {
      addon.layerNorm(xv!, gv!, bv!, out, rows, cols, eps);
    });
    return result ?? fallback(args);
  };

/** The layer norm's gradient: dx, dgamma, dbeta in one pass. */
export const layerNormGradKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { dy, x, gamma } = args.inputs as Record<string, TensorInfo | undefined>;
    const eps = Number((args.attrs as NamedAttrMap)['epsilon']);
    const cols = x?.shape[x.shape.length - 1];
    if (!dy || !x || !gamma || !allFloat32([dy, x, gamma]) || !cols || size(gamma.shape) !== cols) {
      return fallback(args);
    }
    if (size(dy.shape) !== size(x.shape) || !(eps > 0)) return fallback(args);
    const rows = size(x.shape) / cols;
    const result = io.runMany(
      args.backend,
      [x.shape, gamma.shape, gamma.shape],
      [dy, x, gamma],
      (outs, ins) => {
        const [dyv, xv, gv] = ins as Float32Array[];
        addon.layerNormGrad(dyv!, xv!, gv!, outs[0]!, outs[1]!, outs[2]!, rows, cols, eps);
        return true;
      },
    );
    return result ?? fallback(args);
  };

/** The fused AdamW update (adamw.ts): new x, m, v. */
export const adamwKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { x, g, m, v } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as NamedAttrMap;
    if (!x || !g || !m || !v || !allFloat32([x, g, m, v])) return fallback(args);
    const n = size(x.shape);
    if (n === 0 || [g, m, v].some((t) => size(t.shape) !== n)) return fallback(args);
    const c = ADAMW_ATTRS.map((k) => Number(attrs[k]));
    if (!c.every(Number.isFinite)) return fallback(args);
    const result = io.runMany(args.backend, [x.shape, x.shape, x.shape], [x, g, m, v], (outs, ins) => {
      const [xv, gv, mv, vv] = ins as Float32Array[];
      addon.adamw(xv!, gv!, mv!, vv!, outs[0]!, outs[1]!, outs[2]!, ...c);
      return true;
    });
    return result ?? fallback(args);
  };

/** The whole attention (attention.ts), with the probabilities when the gradient needs them. */
export const attentionKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { q, k, v, mask } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as NamedAttrMap;
    const heads = Number(attrs['heads']);
    const scale = Number(attrs['scale']);
    const withProbs = attrs['withProbs'] === true;
    const plan = q && k && v ? planAttention(q.shape, k.shape, v.shape, heads) : undefined;
    if (!q || !k || !v || !plan || !allFloat32([q, k, v, mask]) || !Number.isFinite(scale))
      return fallback(args);
    const { B, H, Tq, Tk, dh } = plan;
    const maskRows = mask ? maskRowIndex([B, H, Tq, Tk], mask.shape) : new Int32Array(0);
    if (!maskRows) return fallback(args);
    const outShapes = withProbs ? [q.shape, [B, H, Tq, Tk]] : [q.shape];
    const result = io.runMany(args.backend, outShapes, mask ? [q, k, v, mask] : [q, k, v], (outs, ins) => {
      const [qv, kv, vv, mv] = ins as Float32Array[];
      addon.attention(
        B,
        H,
        Tq,
        Tk,
        dh,
        qv!,
        kv!,
        vv!,
        mv ?? null,
        maskRows,
        outs[0]!,
        outs[1] ?? null,
        scale,
      );
      return true;
    });
    return result ?? fallback(args);
  };

/**
 * Decoding attention over a preallocated cache (attention.ts attentionAppend): writes the new
 * keys and values into the cache tensors' own memory, then attends over the filled positions.
 */
export const attentionAppendKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { q, kNew, vNew, kCache, vCache, mask } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as NamedAttrMap;
    const heads = Number(attrs['heads']);
    const scale = Number(attrs['scale']);
    const length = Number(attrs['length']);
    const plan =
      q && kCache && vCache ? planAttention(q.shape, kCache.shape, vCache.shape, heads) : undefined;
    if (!q || !kNew || !vNew || !kCache || !vCache || !plan || !Number.isFinite(scale)) return fallback(args);
    if (!allFloat32([q, kNew, vNew, kCache, vCache, mask])) return fallback(args);
    const { B, H, Tq, Tk: capacity, dh } = plan;
    const Tk = length + Tq;
    if (!Number.isInteger(length) || length < 0 || Tk > capacity) return fallback(args);
    if (size(kNew.shape) !== size(q.shape) || size(vNew.shape) !== size(q.shape)) return fallback(args);
    const maskRows = mask ? maskRowIndex([B, H, Tq, Tk], mask.shape) : new Int32Array(0);
    if (!maskRows) return fallback(args);
    const inputs = mask ? [q, kNew, vNew, kCache, vCache, mask] : [q, kNew, vNew, kCache, vCache];
    const result = io.run(args.backend, q.shape, inputs, (out, qv, kn, vn, kc, vc, mv) => {
      addon.attentionAppend(
        B,
        H,
        Tq,
        Tk,
        dh,
        capacity,
        qv!,
        kn!,
        vn!,
        kc!,
        vc!,
        mv ?? null,
        maskRows,
        out,
        scale,
      );
    });
    return result ?? fallback(args);
  };

/** The attention's gradient: dq, dk, dv. */
export const attentionGradKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { dy, q, k, v, probs } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as NamedAttrMap;
    const heads = Number(attrs['heads']);
    const scale = Number(attrs['scale']);
    const plan = q && k && v ? planAttention(q.shape, k.shape, v.shape, heads) : undefined;
    if (!dy || !q || !k || !v || !probs || !plan || !allFloat32([dy, q, k, v, probs])) return fallback(args);
    const { B, H, Tq, Tk, dh } = plan;
    if (size(dy.shape) !== size(q.shape) || size(probs.shape) !== B * H * Tq * Tk || !Number.isFinite(scale))
      return fallback(args);
    const result = io.runMany(
      args.backend,
      [q.shape, k.shape, v.shape],
      [dy, q, k, v, probs],
      (outs, ins) => {
        const [dyv, qv, kv, vv, pv] = ins as Float32Array[];
        addon.attentionGrad(B, H, Tq, Tk, dh, dyv!, qv!, kv!, vv!, pv!, outs[0]!, outs[1]!, outs[2]!, scale);
        return true;
      },
    );
    return result ?? fallback(args);
  };
