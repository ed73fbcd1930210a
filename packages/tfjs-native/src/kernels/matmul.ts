// Matrix products on the native GEMM: BatchMatMul and the fused bias + activation form.
import type { NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { allFloat32, size, type KernelBuilder } from './common.js';
import { planMatmul, rowBroadcastable } from './shapes.js';

const ACTIVATIONS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  sigmoid: 4,
  leakyrelu: 5,
  prelu: 6,
};

/** BatchMatMul, and _FusedMatMul (bias, activation) when `fused`: one native GEMM call. */
export function matmulKernel(fused: boolean): KernelBuilder {
  return ({ io, addon, fallback }) =>
    (args) => {
      const inputs = args.inputs as Record<string, TensorInfo | undefined>;
      const attrs = args.attrs as NamedAttrMap;
      const { a, b, bias } = inputs;
      const prelu = inputs['preluActivationWeights'];
      if (!a || !b || !allFloat32([a, b, bias, prelu])) return fallback(args);
      const plan = planMatmul(a.shape, b.shape, attrs['transposeA'] === true, attrs['transposeB'] === true);
      if (!plan || size(plan.outShape) === 0 || plan.k === 0) return fallback(args);
      const activationName = fused ? String(attrs['activation'] ?? 'linear') : 'linear';
      const activation = ACTIVATIONS[activationName];
      if (activation === undefined) return fallback(args);
      if (bias && !rowBroadcastable(bias.shape, plan.outShape)) return fallback(args);
      if (activationName === 'prelu' && (!prelu || !rowBroadcastable(prelu.shape, plan.outShape))) {
        return fallback(args);
      }
      const usePrelu = activationName === 'prelu' ? prelu : undefined;
      const alpha = typeof attrs['leakyreluAlpha'] === 'number' ? attrs['leakyreluAlpha'] : 0.2;
      const ins = [a, b, ...(bias ? [bias] : []), ...(usePrelu ? [usePrelu] : [])];
      const result = io.run(args.backend, plan.outShape, ins, (out, av, bv, ...rest) => {
        const biasV = bias ? rest[0]! : null;
        const preluV = usePrelu ? rest[bias ? 1 : 0]! : null;
        addon.matmul(
          av!,
          bv!,
          out,
          plan.batch,
          plan.m,
          plan.n,
          plan.k,
          attrs['transposeA'] === true,
          attrs['transposeB'] === true,
          plan.aIndex,
          plan.bIndex,
          plan.aBatches,
          plan.bBatches,
          biasV,
          activation,
          alpha,
          preluV,
        );
      });
      return result ?? fallback(args);
    };
}
