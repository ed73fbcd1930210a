// The native kernel functions: which kernels are replaced on which backend, and each one's
// builder (matmul.ts, movement.ts, reduce.ts, softmax.ts, fused.ts). Each takes the original
// kernel's config as its fallback: inputs that are not float32, shapes or attributes it does not
// handle, and backends whose internals are not as expected all go to the original implementation.
import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import { ioFor, type NativeBackendName } from './io.js';
import type { KernelArgs, KernelBuilder } from './common.js';
import {
  adamwKernel,
  attentionAppendKernel,
  attentionGradKernel,
  attentionKernel,
  layerNormGradKernel,
  layerNormKernel,
} from './fused.js';
import { matmulKernel } from './matmul.js';
import {
  concatKernel,
  gatherKernel,
  shareKernel,
  splitKernel,
  transposeKernel,
  unpackKernel,
} from './movement.js';
import { reduceKernel } from './reduce.js';
import {
  logSoftmaxGradKernel,
  logSoftmaxKernel,
  scaledMaskedSoftmaxGradKernel,
  scaledMaskedSoftmaxKernel,
  softmaxKernel,
} from './softmax.js';
import { LAYER_NORM_GRAD_KERNEL, LAYER_NORM_KERNEL } from '../layer-norm.js';
import { ADAMW_KERNEL } from '../adamw.js';
import { SCALED_MASKED_SOFTMAX_GRAD_KERNEL, SCALED_MASKED_SOFTMAX_KERNEL } from '../attention-softmax.js';
import { ATTENTION_APPEND_KERNEL, ATTENTION_GRAD_KERNEL, ATTENTION_KERNEL } from '../attention.js';
import { LOG_SOFTMAX_GRAD_KERNEL, LOG_SOFTMAX_KERNEL } from '../log-softmax.js';

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
 * (log-softmax.ts); each op computes the same with plain ops without them. Also the decoding
 * attention over a preallocated cache (attention.ts attentionAppend), which has no plain-op
 * path: its callers check canAppendAttention() and concatenate caches without it.
 */
export const NATIVE_OP_KERNEL_NAMES = [
  LAYER_NORM_KERNEL,
  LAYER_NORM_GRAD_KERNEL,
  ADAMW_KERNEL,
  SCALED_MASKED_SOFTMAX_KERNEL,
  SCALED_MASKED_SOFTMAX_GRAD_KERNEL,
  ATTENTION_KERNEL,
  ATTENTION_GRAD_KERNEL,
  ATTENTION_APPEND_KERNEL,
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

const BUILDERS: Readonly<Record<NativeKernelName, KernelBuilder>> = {
  BatchMatMul: matmulKernel(false),
  _FusedMatMul: matmulKernel(true),
  Transpose: transposeKernel,
  Softmax: softmaxKernel,
  GatherV2: gatherKernel,
  Sum: reduceKernel('Sum'),
  Mean: reduceKernel('Mean'),
  Max: reduceKernel('Max'),
  Unpack: unpackKernel,
  SplitV: splitKernel,
  Concat: concatKernel,
  Identity: shareKernel('Identity'),
  Cast: shareKernel('Cast'),
  [LAYER_NORM_KERNEL]: layerNormKernel,
  [LAYER_NORM_GRAD_KERNEL]: layerNormGradKernel,
  [ADAMW_KERNEL]: adamwKernel,
  [SCALED_MASKED_SOFTMAX_KERNEL]: scaledMaskedSoftmaxKernel,
  [SCALED_MASKED_SOFTMAX_GRAD_KERNEL]: scaledMaskedSoftmaxGradKernel,
  [ATTENTION_KERNEL]: attentionKernel,
  [ATTENTION_GRAD_KERNEL]: attentionGradKernel,
  [ATTENTION_APPEND_KERNEL]: attentionAppendKernel,
  [LOG_SOFTMAX_KERNEL]: logSoftmaxKernel,
  [LOG_SOFTMAX_GRAD_KERNEL]: logSoftmaxGradKernel,
};

export function makeKernel(
  name: NativeKernelName,
  backendName: NativeBackendName,
  addon: NativeAddon,
  original: KernelConfig | undefined,
): KernelFunc {
  const fallback = (args: KernelArgs) => {
    if (!original) throw new Error(`tfjs-native: ${name} cannot run these inputs on ${backendName}`);
    return original.kernelFunc(args);
  };
  return BUILDERS[name]({ io: ioFor(backendName), addon, fallback });
}
