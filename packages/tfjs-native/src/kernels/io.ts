// How a kernel reads its inputs and allocates its output on each backend, without copies.
// cpu: inputs are the backend's own Float32Arrays (read only: the backend owns them); the output
// is a fresh array handed to the backend. wasm: everything lives in the wasm heap; the output is
// allocated first because allocation may grow the heap, which detaches earlier views.
// Both paths use backend members that are not public tfjs API, so each is checked at call time
// and a kernel falls back to the original implementation when one is missing.
import type { TensorInfo } from '@tensorflow/tfjs-core';

export type NativeBackendName = 'cpu' | 'wasm';

export interface KernelIo {
  /** Runs `fn` with the output and input arrays; undefined when this backend cannot. */
  run(
    backend: unknown,
    outShape: readonly number[],
    inputs: readonly TensorInfo[],
    fn: (out: Float32Array, ...inputs: Float32Array[]) => void,
  ): TensorInfo | undefined;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): unknown;
}

function isCpuBackend(b: unknown): b is CpuBackendLike {
  const x = b as Partial<CpuBackendLike> | null;
  return !!x && typeof x.makeTensorInfo === 'function' && typeof x.data?.get === 'function';
}

function isWasmBackend(b: unknown): b is WasmBackendLike {
  const x = b as Partial<WasmBackendLike> | null;
  return !!x && typeof x.makeOutput === 'function' && typeof x.typedArrayFromHeap === 'function';
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

const cpuIo: KernelIo = {
  run(backend, outShape, inputs, fn) {
    if (!isCpuBackend(backend)) return undefined;
    const values: Float32Array[] = [];
    for (const t of inputs) {
      const v = backend.data.get(t.dataId)?.values;
      if (!(v instanceof Float32Array) || v.length !== size(t.shape)) return undefined;
      values.push(v);
    }
    const out = new Float32Array(size(outShape));
    fn(out, ...values);
    return backend.makeTensorInfo([...outShape], 'float32', out);
  },
};

const wasmIo: KernelIo = {
  run(backend, outShape, inputs, fn) {
    if (!isWasmBackend(backend)) return undefined;
    const info = backend.makeOutput([...outShape], 'float32');
    // Views only after the allocation above: it may have grown (and detached) the heap.
    const out = backend.typedArrayFromHeap(info);
    const values = inputs.map((t) => backend.typedArrayFromHeap(t));
    if (!(out instanceof Float32Array) || !values.every((v) => v instanceof Float32Array)) {
      throw new Error('tfjs-native: the wasm backend did not return float32 heap views');
    }
    fn(out, ...(values as Float32Array[]));
    return info;
  },
};

export function ioFor(backend: NativeBackendName): KernelIo {
  return backend === 'cpu' ? cpuIo : wasmIo;
}
