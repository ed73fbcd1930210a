// Kernels that move data without arithmetic: transpose, gather, unpack, split, concat, and
// Identity / Cast sharing the input's memory.
import { backend_util } from '@tensorflow/tfjs-core';
import type { NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import { parseAxes, size, type KernelBuilder } from './common.js';
import { planAxis, planConcat, planGather } from './shapes.js';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** Transpose of any rank. */
export const transposeKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const x = (args.inputs as Record<string, TensorInfo | undefined>)['x'];
    const perm = (args.attrs as NamedAttrMap)['perm'];
    if (!x || x.dtype !== 'float32' || !Array.isArray(perm) || perm.length !== x.shape.length) {
      return fallback(args);
    }
    const p = perm as number[];
    if (size(x.shape) === 0 || !p.every((d) => Number.isInteger(d) && d >= 0 && d < x.shape.length)) {
      return fallback(args);
    }
    const outShape = p.map((d) => x.shape[d]!);
    const result = io.run(args.backend, outShape, [x], (out, xv) => {
      addon.transpose(xv!, out, Int32Array.from(x.shape), Int32Array.from(p));
    });
    return result ?? fallback(args);
  };

/** GatherV2 along one axis (batchDims 0). */
export const gatherKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const { x, indices } = args.inputs as Record<string, TensorInfo | undefined>;
    const attrs = args.attrs as NamedAttrMap;
    if (!x || !indices || x.dtype !== 'float32' || indices.dtype !== 'int32') return fallback(args);
    const batchDims = attrs['batchDims'] ?? 0;
    const axis = parseAxes(attrs['axis'] ?? 0, x.shape);
    if (batchDims !== 0 || axis?.length !== 1) return fallback(args);
    const plan = planGather(x.shape, indices.shape, axis[0]!);
    if (size(x.shape) === 0 || size(plan.outShape) === 0) return fallback(args);
    // An index outside [0, dim) makes the native side decline: the original kernel then
    // raises tfjs's own error for it.
    const result = io.runMany(
      args.backend,
      [plan.outShape],
      [x, indices],
      ([out], [xv, iv]) =>
        addon.gather(xv as Float32Array, iv as Int32Array, out!, plan.outer, plan.dim, plan.inner) < 0,
    );
    return result?.[0] ?? fallback(args);
  };

/** Unpack: one output per index of the axis. */
export const unpackKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const value = (args.inputs as Record<string, TensorInfo | undefined>)['value'];
    const axis = parseAxes((args.attrs as NamedAttrMap)['axis'] ?? 0, value?.shape ?? []);
    if (!value || value.dtype !== 'float32' || axis?.length !== 1 || size(value.shape) === 0) {
      return fallback(args);
    }
    const plan = planAxis(value.shape, axis[0]!);
    const sizes = new Int32Array(plan.dim).fill(1);
    const outShape = value.shape.filter((_, i) => i !== axis[0]);
    const result = io.runMany(
      args.backend,
      Array.from({ length: plan.dim }, () => outShape),
      [value],
      (outs, [xv]) => {
        addon.split(xv as Float32Array, outs, plan.outer, sizes, plan.inner);
        return true;
      },
    );
    return result ?? fallback(args);
  };

/** SplitV into the given sizes along one axis. */
export const splitKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const x = (args.inputs as Record<string, TensorInfo | undefined>)['x'];
    const attrs = args.attrs as NamedAttrMap;
    const axis = parseAxes(attrs['axis'] ?? 0, x?.shape ?? []);
    if (!x || x.dtype !== 'float32' || axis?.length !== 1 || size(x.shape) === 0) return fallback(args);
    let splits: number[];
    try {
      splits = backend_util.prepareSplitSize(
        x as unknown as Tensor,
        attrs['numOrSizeSplits'] as number | number[],
        axis[0]!,
      );
    } catch {
      return fallback(args);
    }
    const plan = planAxis(x.shape, axis[0]!);
    if (splits.reduce((p, d) => p + d, 0) !== plan.dim || splits.some((d) => !(d >= 0)))
      return fallback(args);
    const outShapes = splits.map((d) => x.shape.map((s, i) => (i === axis[0] ? d : s)));
    const result = io.runMany(args.backend, outShapes, [x], (outs, [xv]) => {
      addon.split(xv as Float32Array, outs, plan.outer, Int32Array.from(splits), plan.inner);
      return true;
    });
    return result ?? fallback(args);
  };

/** Concat along one axis. */
export const concatKernel: KernelBuilder =
  ({ io, addon, fallback }) =>
  (args) => {
    const inputs = Object.values(args.inputs as Record<string, TensorInfo | undefined>);
    const first = inputs[0];
    const axis = parseAxes((args.attrs as NamedAttrMap)['axis'] ?? 0, first?.shape ?? []);
    if (!first || axis?.length !== 1 || !inputs.every((t) => t?.dtype === 'float32')) return fallback(args);
    const plan = planConcat(
      inputs.map((t) => t!.shape),
      axis[0]!,
    );
    if (!plan || size(plan.outShape) === 0) return fallback(args);
    const result = io.runMany(args.backend, [plan.outShape], inputs as TensorInfo[], ([out], ins) => {
      addon.concat(out!, ins as Float32Array[], plan.outer, plan.sizes, plan.inner);
      return true;
    });
    return result?.[0] ?? fallback(args);
  };

/**
 * Identity and Cast (float32 to float32) sharing the input's memory and counting the reference,
 * as every backend's Reshape does:
 * tensors are immutable, so a copy (what wasm's own Identity makes, e.g. 111 copies of
 * [6144,128] per reference step) buys nothing.
 */
export function shareKernel(kind: 'Identity' | 'Cast'): KernelBuilder {
  return ({ fallback }) =>
    (args) => {
      const x = (args.inputs as Record<string, TensorInfo | undefined>)['x'];
      const backend = args.backend as Partial<RefCountingBackend>;
      const to = kind === 'Cast' ? (args.attrs as NamedAttrMap)['dtype'] : 'float32';
      if (!x || x.dtype !== 'float32' || to !== 'float32' || typeof backend.incRef !== 'function') {
        return fallback(args); // a real conversion (or a backend without reference counts)
      }
      backend.incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    };
}
