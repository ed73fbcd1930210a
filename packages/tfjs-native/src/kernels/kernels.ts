// The native kernel functions. Each takes the original kernel's config as its fallback: inputs
// that are not float32, shapes or attributes it does not handle, and backends whose internals
// are not as expected all go to the original implementation.
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { ioFor, type NativeBackendName } from './io.js';
import { planMatmul, rowBroadcastable } from './shapes.js';

/** The kernels this package can replace, in order of value for transformer training. */
export const NATIVE_KERNEL_NAMES = ['BatchMatMul', '_FusedMatMul', 'Transpose', 'Softmax'] as const;
export type NativeKernelName = (typeof NATIVE_KERNEL_NAMES)[number];

type KernelArgs = Parameters<KernelFunc>[0];

const ACTIVATIONS: Record<string, number> = {
  linear: 0,
  relu: 1,
  relu6: 2,
  elu: 3,
  sigmoid: 4,
  leakyrelu: 5,
  prelu: 6,
};

function allFloat32(inputs: readonly (TensorInfo | undefined)[]): boolean {
  return inputs.every((t) => t === undefined || t.dtype === 'float32');
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function makeKernel(
  name: NativeKernelName,
  backendName: NativeBackendName,
  addon: NativeAddon,
  original: KernelConfig,
): KernelFunc {
  const io = ioFor(backendName);
  const fallback = (args: KernelArgs) => original.kernelFunc(args);
  switch (name) {
    case 'BatchMatMul':
    case '_FusedMatMul':
      return (args) => {
        const inputs = args.inputs as Record<string, TensorInfo | undefined>;
        const attrs = args.attrs as NamedAttrMap;
        const { a, b, bias } = inputs;
        const prelu = inputs['preluActivationWeights'];
        if (!a || !b || !allFloat32([a, b, bias, prelu])) return fallback(args);
        const plan = planMatmul(a.shape, b.shape, attrs['transposeA'] === true, attrs['transposeB'] === true);
        if (!plan || size(plan.outShape) === 0 || plan.k === 0) return fallback(args);
        const activationName = name === '_FusedMatMul' ? String(attrs['activation'] ?? 'linear') : 'linear';
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
    case 'Transpose':
      return (args) => {
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
    case 'Softmax':
      return (args) => {
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
  }
}
