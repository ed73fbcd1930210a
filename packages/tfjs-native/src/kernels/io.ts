// How a kernel reads its inputs and allocates its output on each backend, without copies.
// cpu: inputs are the backend's own Float32Arrays (read only: the backend owns them); the output
// is a fresh array handed to the backend. wasm: everything lives in the wasm heap; the output is
// allocated first because allocation may grow the heap, which detaches earlier views.
// Both paths use backend members that are not public tfjs API, so each is checked at call time
// and a kernel falls back to the original implementation when one is missing.
import type { TensorInfo } from '@tensorflow/tfjs-core';

export type NativeBackendName = 'cpu' | 'wasm';

/** What a kernel sees of an input: float32 data, or int32 (indices). */
export type InputArray = Float32Array | Int32Array;

export interface KernelIo {
  /** Runs `fn` with the output and float32 input arrays; undefined when this backend cannot. */
  run(
    backend: unknown,
    outShape: readonly number[],
    inputs: readonly TensorInfo[],
    fn: (out: Float32Array, ...inputs: Float32Array[]) => void,
  ): TensorInfo | undefined;
  /**
   * Several float32 outputs, float32 or int32 inputs (each must match its dtype). `fn` may
   * return false to decline after looking at the data (e.g. an out-of-range index): the outputs
   * are freed and the result is undefined, so the caller falls back to the original kernel.
   */
  runMany(
    backend: unknown,
    outShapes: readonly (readonly number[])[],
    inputs: readonly TensorInfo[],
    fn: (outs: Float32Array[], inputs: InputArray[]) => boolean,
  ): TensorInfo[] | undefined;
}

interface CpuBackendLike {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): unknown;
  disposeData(dataId: object, force?: boolean): unknown;
}

function isCpuBackend(b: unknown): b is CpuBackendLike {
  const x = b as Partial<CpuBackendLike> | null;
  return !!x && typeof x.makeTensorInfo === 'function' && typeof x.data?.get === 'function';
}

function isWasmBackend(b: unknown): b is WasmBackendLike {
  const x = b as Partial<WasmBackendLike> | null;
  return (
    !!x &&
    typeof x.makeOutput === 'function' &&
    typeof x.typedArrayFromHeap === 'function' &&
    typeof x.disposeData === 'function'
  );
}

function size(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

/** Whether an array is what a tensor of this dtype and shape should be backed by. */
function matches(v: unknown, t: TensorInfo): v is InputArray {
  const ok =
    t.dtype === 'float32' ? v instanceof Float32Array : t.dtype === 'int32' && v instanceof Int32Array;
  return ok && (v as InputArray).length === size(t.shape);
}

const cpuIo: KernelIo = {
  run(backend, outShape, inputs, fn) {
    const r = cpuIo.runMany(backend, [outShape], inputs, (outs, ins) => {
      fn(outs[0]!, ...(ins as Float32Array[]));
      return true;
    });
    return r?.[0];
  },
  runMany(backend, outShapes, inputs, fn) {
    if (!isCpuBackend(backend)) return undefined;
    const values: InputArray[] = [];
    for (const t of inputs) {
      if (t.dtype !== 'float32' && t.dtype !== 'int32') return undefined;
      const v = backend.data.get(t.dataId)?.values;
      if (!matches(v, t)) return undefined;
      values.push(v);
    }
    const outs = outShapes.map((s) => new Float32Array(size(s)));
    if (!fn(outs, values)) return undefined;
    return outs.map((o, i) => backend.makeTensorInfo([...outShapes[i]!], 'float32', o));
  },
};

const wasmIo: KernelIo = {
  run(backend, outShape, inputs, fn) {
    const r = wasmIo.runMany(backend, [outShape], inputs, (outs, ins) => {
      fn(outs[0]!, ...(ins as Float32Array[]));
      return true;
    });
    return r?.[0];
  },
  runMany(backend, outShapes, inputs, fn) {
    if (!isWasmBackend(backend)) return undefined;
    if (inputs.some((t) => t.dtype !== 'float32' && t.dtype !== 'int32')) return undefined;
    const infos = outShapes.map((s) => backend.makeOutput([...s], 'float32'));
    // Views only after the allocations above: they may have grown (and detached) the heap.
    const outs = infos.map((info) => backend.typedArrayFromHeap(info));
    const values = inputs.map((t) => backend.typedArrayFromHeap(t));
    const free = () => infos.forEach((info) => backend.disposeData(info.dataId, true));
    if (!outs.every((o) => o instanceof Float32Array) || !values.every((v, i) => matches(v, inputs[i]!))) {
      free();
      throw new Error('tfjs-native: the wasm backend did not return heap views of the expected type');
    }
    if (!fn(outs as Float32Array[], values as InputArray[])) {
      free();
      return undefined;
    }
    return infos;
  },
};
export function ioFor(backend: NativeBackendName): KernelIo {
  return backend === 'cpu' ? cpuIo : wasmIo;
}
