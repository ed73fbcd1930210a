// One place where the app prepares the tensor engine: pick the backend (core), then register
// the native kernels (built-in GEMM, or OpenBLAS where installed) into it. Without the addon the report says why and
// everything still runs on the plain backend.
import { formatBackendReport, selectBackend, type BackendReport } from '@vzero/core';
import { nativeKernelsReport, registerNativeKernels, type NativeKernelsReport } from '@vzero/tfjs-native';

export interface TensorSetup {
  readonly backend: BackendReport;
  readonly native: NativeKernelsReport;
}

let setup: Promise<TensorSetup> | undefined;

export function setupTensors(log: (line: string) => void = () => {}): Promise<TensorSetup> {
  setup ??= (async () => {
    const backend = await selectBackend();
    // Native kernels only replace cpu/wasm kernels; tfjs-node has its own.
    const native =
      backend.chosen === 'cpu' || backend.chosen === 'wasm'
        ? registerNativeKernels({ backends: [backend.chosen] })
        : nativeKernelsReport();
    log(`${formatBackendReport(backend)}; ${formatNative(native)}`);
    return { backend, native };
  })();
  return setup;
}

export function formatNative(r: NativeKernelsReport): string {
  if (!r.available) return `native kernels off (${r.reason ?? 'unavailable'})`;
  const kernels = Object.entries(r.registered)
    .filter(([, names]) => names.length > 0)
    .map(([b, names]) => `${b}: ${names.join(', ')}`);
  return `native kernels ${kernels.length ? kernels.join('; ') : 'available, none registered'} (${r.blas?.library ?? 'BLAS'} ${r.blas?.coreType ?? ''}, ${r.threads ?? 1} threads${r.vectorLevel ? `, row loops ${r.vectorLevel}` : ''})`;
}
