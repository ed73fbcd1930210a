// What every native kernel function is built from (its backend's I/O, the addon, and the
// original kernel to fall back on) and the input checks the kernels share. Each kernel takes
// the fallback for inputs that are not float32, shapes or attributes it does not handle, and
// backends whose internals are not as expected.
import { util } from '@tensorflow/tfjs-core';
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { NativeAddon } from '../addon.js';
import type { KernelIo } from './io.js';

export type KernelArgs = Parameters<KernelFunc>[0];

export interface KernelSite {
  readonly io: KernelIo;
  readonly addon: NativeAddon;
  /** The original kernel (an error when the backend has none). */
  readonly fallback: (args: KernelArgs) => ReturnType<KernelFunc>;
}

/** Builds one kernel function for a backend. */
export type KernelBuilder = (site: KernelSite) => KernelFunc;

export /** tfjs's axis parsing (negative axes, null = all); undefined where tfjs would throw. */
function parseAxes(axis: unknown, shape: readonly number[]): number[] | undefined {
  try {
    return util.parseAxisParam(axis as number | number[], [...shape]);
  } catch {
    return undefined;
  }
}

export function allFloat32(inputs: readonly (TensorInfo | undefined)[]): boolean {
  return inputs.every((t) => t === undefined || t.dtype === 'float32');
}

export function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}
