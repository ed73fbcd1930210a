// Reductions: Sum, Mean and Max over any axes in one native pass.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { parseAxes, size, type KernelBuilder } from './common.js';
import { planReduce } from './shapes.js';

export const REDUCE_OPS = { Sum: 0, Mean: 1, Max: 2 } as const;

/** Sum, Mean or Max over any axes. */
export function reduceKernel(op: keyof typeof REDUCE_OPS): KernelBuilder {
  return ({ io, addon, fallback }) =>
    (args) => {
      const x = (args.inputs as Record<string, TensorInfo | undefined>)['x'];
      const attrs = args.attrs as NamedAttrMap;
      if (!x || x.dtype !== 'float32' || size(x.shape) === 0) return fallback(args);
      const axes = parseAxes(op === 'Max' ? attrs['reductionIndices'] : attrs['axis'], x.shape);
      if (!axes) return fallback(args);
      const plan = planReduce(x.shape, axes, attrs['keepDims'] === true);
      const result = io.run(args.backend, plan.outShape, [x], (out, xv) => {
        addon.reduce(xv!, out, Int32Array.from(x.shape), plan.reduced, REDUCE_OPS[op]);
      });
      return result ?? fallback(args);
    };
}
