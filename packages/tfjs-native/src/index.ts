// @vzero/tfjs-native: optional native (BLAS) kernels for TensorFlow.js's cpu and wasm backends.
export {
  isNativeKernel,
  registerNativeKernels,
  unregisterNativeKernels,
  nativeKernelsReport,
  nativeKernelsAvailable,
  NATIVE_BACKENDS,
  THREADS_ENV,
  BLAS_ENV,
  GEMM_CHOICES,
  type GemmChoice,
  type RegisterNativeKernelsOptions,
  type NativeKernelsReport,
} from './register.js';
export {
  NATIVE_KERNEL_NAMES,
  NATIVE_KERNELS_BY_BACKEND,
  NATIVE_OP_KERNEL_NAMES,
  type NativeKernelName,
} from './kernels/kernels.js';
export { layerNorm, LAYER_NORM_KERNEL, LAYER_NORM_GRAD_KERNEL } from './layer-norm.js';
export {
  scaledMaskedSoftmax,
  maskRowIndex,
  SCALED_MASKED_SOFTMAX_KERNEL,
  SCALED_MASKED_SOFTMAX_GRAD_KERNEL,
} from './attention-softmax.js';
export {
  attention,
  attentionAppend,
  attentionOps,
  canAppendAttention,
  ATTENTION_KERNEL,
  ATTENTION_GRAD_KERNEL,
  ATTENTION_APPEND_KERNEL,
  type AppendableCache,
} from './attention.js';
export { fusedLinear } from './linear.js';
export { logSoftmax, LOG_SOFTMAX_KERNEL, LOG_SOFTMAX_GRAD_KERNEL } from './log-softmax.js';
export { adamwUpdate, ADAMW_KERNEL, type AdamWUpdateSettings, type AdamWUpdated } from './adamw.js';
export type { NativeBackendName } from './kernels/io.js';
export { missingAddonFunctions, unsafeCoreType, ADDON_ENV, type GemmKind } from './addon.js';
export {
  planAxis,
  planConcat,
  planGather,
  planMatmul,
  planReduce,
  rowBroadcastable,
  type AxisPlan,
  type MatmulPlan,
} from './kernels/shapes.js';
