// The native kernel functions. Each takes the original kernel's config as its fallback: inputs
// that are not float32, shapes or attributes it does not handle, and backends whose internals
// are not as expected all go to the original implementation.
import { backend_util, util } from '@tensorflow/tfjs-core';
import type { KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { ioFor, type NativeBackendName } from './io.js';
import { LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL } from '../layer-norm.js';
import { ADAMW_KERNEL } from '../adamw.js';
import {
  SCALED_MASKED_SOFTMAX_GRAD_KERNEL,
  SCALED_MASKED_SOFTMAX_KERNEL,
  maskRowIndex,
} from '../attention-softmax.js';
import { ATTENTION_GRAD_KERNEL, ATTENTION_KERNEL } from '../attention.js';
import { LOG_SOFTMAX_GRAD_KERNEL, LOG_SOFTMAX_KERNEL } from '../log-softmax.js';
import {
  planAttention,
  planAxis,
  planConcat,
  planGather,
  planMatmul,
  planReduce,
  rowBroadcastable,
} from './shapes.js';

/** The kernels this package can replace, in order of value for transformer training. */
export const NATIVE_KERNEL_NAMES = [
  'BatchMatMul',
  '_FusedMatMul',
  'Transpose',
  'Softmax',
  'GatherV2',
  'Sum',
  'Mean',
  'Max',
  'Unpack',
  'SplitV',
  'Concat',
  'Identity',
  'Cast',
] as const;
/**
 * Kernels this package adds (tfjs has no such kernel): the fused layer norm and its gradient,
 * run by the layerNorm op (layer-norm.ts), and the fused AdamW update, run by adamwUpdate
 * (adamw.ts), the attention's scaled masked softmax and its gradient (attention-softmax.ts), and
 * the whole attention and its gradient (attention.ts), and log-softmax and its gradient
 * (log-softmax.ts); each op computes the same with plain ops without them.
 */
export const NATIVE_OP_KERNEL_NAMES = [
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  ADAMW_KERNEL,
  SCALED_MASKED_SOFTMAX_KERNEL,
  SCALED_MASKED_SOFTMAX_GRAD_KERNEL,
  ATTENTION_KERNEL,
  ATTENTION_GRAD_KERNEL,
  LOG_SOFTMAX_KERNEL,
  LOG_SOFTMAX_GRAD_KERNEL,
] as const;
export type NativeKernelName = (typeof NATIVE_KERNEL_NAMES)[number] | (typeof NATIVE_OP_KERNEL_NAMES)[number];

/**
 * The kernels replaced on each backend. wasm's own Softmax (XNNPACK, vectorised exp) measured
 * ~2.5x faster than the native one on the attention shapes ([32,4,99,99]: 2.0-2.7 ms against
 * 5.4-6.7 ms), so wasm keeps it; on cpu the native one replaces five JavaScript kernels.
 * Identity and Cast are replaced on wasm only: wasm's copy the data (Cast even from float32 to
 * float32), cpu's already share it.
 */
export const NATIVE_KERNELS_BY_BACKEND: Readonly<
  Record<NativeBackendName, readonly (typeof NATIVE_KERNEL_NAMES)[number][]>
> = {
  cpu: NATIVE_KERNEL_NAMES.filter((n) => n !== 'Identity' && n !== 'Cast'),
  wasm: NATIVE_KERNEL_NAMES.filter((n) => n !== 'Softmax'),
};

interface RefCountingBackend {
  incRef(dataId: object): void;
}

type KernelArgs = Parameters<KernelFunc>[0];

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

const REDUCE_OPS = { Sum: 0, Mean: 1, Max: 2 } as const;

/** tfjs's axis parsing (negative axes, null = all); undefined where tfjs would throw. */
function parseAxes(axis: unknown, shape: readonly number[]): number[] | undefined {
  try {
    return util.parseAxisParam(axis as number | number[], [...shape]);
  } catch {
    return undefined;
  }
}

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
  original: KernelConfig | undefined,
): KernelFunc {
  const io = ioFor(backendName);
  const fallback = (args: KernelArgs) => {
    if (!original) throw new Error(`tfjs-native: ${name} cannot run these inputs on ${backendName}`);
    return original.kernelFunc(args);
  };
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
    case 'GatherV2':
      return (args) => {
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
    case 'Sum':
    case 'Mean':
    case 'Max':
      return (args) => {
        const x = (args.inputs as Record<string, TensorInfo | undefined>)['x'];
        const attrs = args.attrs as NamedAttrMap;
        if (!x || x.dtype !== 'float32' || size(x.shape) === 0) return fallback(args);
        const axes = parseAxes(name === 'Max' ? attrs['reductionIndices'] : attrs['axis'], x.shape);
        if (!axes) return fallback(args);
        const plan = planReduce(x.shape, axes, attrs['keepDims'] === true);
        const result = io.run(args.backend, plan.outShape, [x], (out, xv) => {
          addon.reduce(xv!, out, Int32Array.from(x.shape), plan.reduced, REDUCE_OPS[name]);
        });
        return result ?? fallback(args);
      };
    case 'Unpack':
      return (args) => {
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
    case 'SplitV':
      return (args) => {
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
    case 'Concat':
      return (args) => {
        const inputs = Object.values(args.inputs as Record<string, TensorInfo | undefined>);
        const first = inputs[0];
        const axis = parseAxes((args.attrs as NamedAttrMap)['axis'] ?? 0, first?.shape ?? []);
        if (!first || axis?.length !== 1 || !inputs.every((t) => t?.dtype === 'float32'))
          return fallback(args);
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
    case 'Identity':
    case 'Cast':
      // Shares the input's memory and counts the reference, as every backend's Reshape does:
      // tensors are immutable, so a copy (what wasm's own Identity makes, e.g. 111 copies of
      // [6144,128] per reference step) buys nothing. Cast from float32 to float32 is the same.
      return (args) => {
        const x = (args.inputs as Record<string, TensorInfo | undefined>)['x'];
        const backend = args.backend as Partial<RefCountingBackend>;
        const to = name === 'Cast' ? (args.attrs as NamedAttrMap)['dtype'] : 'float32';
        if (!x || x.dtype !== 'float32' || to !== 'float32' || typeof backend.incRef !== 'function') {
          return fallback(args); // a real conversion (or a backend without reference counts)
        }
        backend.incRef(x.dataId);
        return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
      };
    case LAYER_NORM_KERNEL:
      return (args) => {
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
    case LAYER_NORM_GRAD_KERNEL:
      return (args) => {
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
    case ADAMW_KERNEL:
      return (args) => {
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
    case SCALED_MASKED_SOFTMAX_KERNEL:
      return (args) => {
        const { x, mask } = args.inputs as Record<string, TensorInfo | undefined>;
        const scale = Number((args.attrs as NamedAttrMap)['scale']);
        if (!x || !allFloat32([x, mask]) || size(x.shape) === 0 || !Number.isFinite(scale))
          return fallback(args);
        const cols = x.shape[x.shape.length - 1]!;
        const rows = size(x.shape) / cols;
        const maskRows = mask ? maskRowIndex(x.shape, mask.shape) : new Int32Array(0);
        if (!maskRows) return fallback(args);
        const result = io.run(args.backend, x.shape, mask ? [x, mask] : [x], (out, xv, mv) => {
          addon.scaledMaskedSoftmax(xv!, mv ?? null, maskRows, out, rows, cols, scale);
        });
        return result ?? fallback(args);
      };
    case ATTENTION_KERNEL:
      return (args) => {
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
        const result = io.runMany(
          args.backend,
          outShapes,
          mask ? [q, k, v, mask] : [q, k, v],
          (outs, ins) => {
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
          },
        );
        return result ?? fallback(args);
      };
    case ATTENTION_GRAD_KERNEL:
      return (args) => {
        const { dy, q, k, v, probs } = args.inputs as Record<string, TensorInfo | undefined>;
        const attrs = args.attrs as NamedAttrMap;
        const heads = Number(attrs['heads']);
        const scale = Number(attrs['scale']);
        const plan = q && k && v ? planAttention(q.shape, k.shape, v.shape, heads) : undefined;
        if (!dy || !q || !k || !v || !probs || !plan || !allFloat32([dy, q, k, v, probs]))
          return fallback(args);
        const { B, H, Tq, Tk, dh } = plan;
        if (
          size(dy.shape) !== size(q.shape) ||
          size(probs.shape) !== B * H * Tq * Tk ||
          !Number.isFinite(scale)
        )
          return fallback(args);
        const result = io.runMany(
          args.backend,
          [q.shape, k.shape, v.shape],
          [dy, q, k, v, probs],
          (outs, ins) => {
            const [dyv, qv, kv, vv, pv] = ins as Float32Array[];
            addon.attentionGrad(
              B,
              H,
              Tq,
              Tk,
              dh,
              dyv!,
              qv!,
              kv!,
              vv!,
              pv!,
              outs[0]!,
              outs[1]!,
              outs[2]!,
              scale,
            );
            return true;
          },
        );
        return result ?? fallback(args);
      };
    case LOG_SOFTMAX_KERNEL:
      return (args) => {
        const { x } = args.inputs as Record<string, TensorInfo | undefined>;
        if (!x || x.dtype !== 'float32' || x.shape.length === 0 || size(x.shape) === 0) return fallback(args);
        const cols = x.shape[x.shape.length - 1]!;
        const result = io.run(args.backend, x.shape, [x], (out, xv) => {
          addon.logSoftmax(xv!, out, size(x.shape) / cols, cols);
        });
        return result ?? fallback(args);
      };
    case LOG_SOFTMAX_GRAD_KERNEL:
      return (args) => {
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
    case SCALED_MASKED_SOFTMAX_GRAD_KERNEL:
      return (args) => {
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
  }
}
