// Loads the compiled addon lazily (nothing native happens on import). A missing build or a
// missing shared library becomes a reason string, never an exception.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** The functions the C++ addon exports (src/native/addon.cc). */
export interface NativeAddon {
  info(): {
    corename: string;
    config: string;
    threads: number;
    blasThreads: number;
    hardwareThreads: number;
  };
  setThreads(threads: number): void;
  matmul(
    a: Float32Array,
    b: Float32Array,
    out: Float32Array,
    batch: number,
    m: number,
    n: number,
    k: number,
    transA: boolean,
    transB: boolean,
    aIndex: Int32Array,
    bIndex: Int32Array,
    aBatches: number,
    bBatches: number,
    bias: Float32Array | null,
    activation: number,
    alpha: number,
    prelu: Float32Array | null,
  ): void;
  transpose(x: Float32Array, out: Float32Array, shape: Int32Array, perm: Int32Array): void;
  softmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** x [outer, dim, inner] -> out [outer, indices.length, inner]; -1, or the first bad index's position. */
  gather(
    x: Float32Array,
    indices: Int32Array,
    out: Float32Array,
    outer: number,
    dim: number,
    inner: number,
  ): number;
  /** x [outer, sum(sizes), inner] -> outs[j] [outer, sizes[j], inner]. */
  split(x: Float32Array, outs: Float32Array[], outer: number, sizes: Int32Array, inner: number): void;
  /** inputs[j] [outer, sizes[j], inner] -> out [outer, sum(sizes), inner]. */
  concat(out: Float32Array, inputs: Float32Array[], outer: number, sizes: Int32Array, inner: number): void;
  /** Reduces the axes flagged in `reduced`; op 0 sum, 1 mean, 2 max. */
  reduce(x: Float32Array, out: Float32Array, shape: Int32Array, reduced: Int32Array, op: number): void;
}

export type AddonLoad =
  | { readonly ok: true; readonly addon: NativeAddon; readonly path: string }
  | { readonly ok: false; readonly reason: string; readonly path: string };

/** The addon's path: build/ beside src/ and dist/, so one path serves sources and the build. */
export const ADDON_PATH = fileURLToPath(new URL('../build/Release/tfjs_native.node', import.meta.url));
const FAILURE_PATH = fileURLToPath(new URL('../build/native-build-failure.txt', import.meta.url));

let cached: AddonLoad | undefined;

export function loadAddon(): AddonLoad {
  if (cached) return cached;
  cached = tryLoad();
  return cached;
}

function tryLoad(): AddonLoad {
  const path = ADDON_PATH;
  if (process.env['VZERO_NATIVE_DISABLE'] === '1') {
    return { ok: false, reason: 'disabled by VZERO_NATIVE_DISABLE=1', path };
  }
  if (!existsSync(path)) {
    const why = existsSync(FAILURE_PATH)
      ? readFileSync(FAILURE_PATH, 'utf8').trim().split('\n')[0]
      : undefined;
    return {
      ok: false,
      reason: `native addon not built${why ? ` (${why})` : ''}; install libopenblas-dev and run \`pnpm --filter @vzero/tfjs-native run build:native\``,
      path,
    };
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    return { ok: true, addon, path };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `native addon failed to load: ${text.split('\n')[0] ?? text}`, path };
  }
}
