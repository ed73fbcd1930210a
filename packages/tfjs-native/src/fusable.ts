// Whether a fused op may call its kernel: every tensor is float32 and non-empty, and the kernel is
// registered for the active backend (registerNativeKernels added it). Otherwise the op runs its
// plain-op path; empty tensors go there too, since a kernel this package adds has no original to
// fall back to.
import * as tf from '@tensorflow/tfjs-core';

export function fusable(kernel: string, tensors: readonly tf.Tensor[]): boolean {
  return (
    tensors.every((t) => t.dtype === 'float32' && t.size > 0) &&
    tf.getKernel(kernel, tf.getBackend()) !== undefined
  );
}
