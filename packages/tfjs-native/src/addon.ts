// Loads the compiled addon lazily (nothing native happens on import). A missing build or a
// missing shared library becomes a reason string, never an exception.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The GEMMs an addon can run its matrix products on. */
export type GemmKind = 'builtin' | 'openblas';

/** The functions the C++ addon exports (src/native/addon.cc). */
export interface NativeAddon {
  info(): {
    /** Whether this build links OpenBLAS (its headers were found at build time). */
    openblas: boolean;
    /** The GEMM the products run on now. */
    gemm: GemmKind;
    /** The build of the built-in GEMM this CPU runs, e.g. "x86-64-v4 (AVX-512), 12x16 tile". */
    builtinGemm: string;
    /** OpenBLAS's core type, configuration and thread count (builds with OpenBLAS only). */
    corename?: string;
    config?: string;
    blasThreads?: number;
    threads: number;
    hardwareThreads: number;
    /** The build of the vectorised row loops this CPU runs, e.g. "x86-64-v4 (AVX-512)". */
    vectorLevel: string;
  };
  setThreads(threads: number): void;
  /** The GEMM of every later product; "openblas" throws in a build without it. */
  setGemm(gemm: GemmKind): void;
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
  /** Layer norm of x [rows, cols] over cols with gamma, beta [cols]. */
  layerNorm(
    x: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /** Its gradients: dx [rows, cols], dgamma and dbeta [cols]. */
  layerNormGrad(
    dy: Float32Array,
    x: Float32Array,
    gamma: Float32Array,
    dx: Float32Array,
    dgamma: Float32Array,
    dbeta: Float32Array,
    rows: number,
    cols: number,
    eps: number,
  ): void;
  /**
   * One AdamW step per element into new arrays xOut, mOut, vOut; `c` are scale, beta1,
   * 1 - beta1, beta2, 1 - beta2, c1, c2, epsilon, lr, decay (see adamw.ts).
   */
  adamw(
    x: Float32Array,
    g: Float32Array,
    m: Float32Array,
    v: Float32Array,
    xOut: Float32Array,
    mOut: Float32Array,
    vOut: Float32Array,
    ...c: number[]
  ): void;
  /** Softmax over cols of x [rows, cols] * scale + mask rows maskRows[r] (mask null: none). */
  scaledMaskedSoftmax(
    x: Float32Array,
    mask: Float32Array | null,
    maskRows: Int32Array,
    out: Float32Array,
    rows: number,
    cols: number,
    scale: number,
  ): void;
  /**
   * Attention per head: q and out [B, Tq, H * dh], k and v [B, H, Tk, dh], mask rows as for
   * scaledMaskedSoftmax; probs (null: not kept) receives the softmax [B, H, Tq, Tk].
   */
  attention(
    batch: number,
    heads: number,
    queries: number,
    keys: number,
    headWidth: number,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    mask: Float32Array | null,
    maskRows: Int32Array,
    out: Float32Array,
    probs: Float32Array | null,
    scale: number,
  ): void;
  /** Its gradients from the kept probabilities: dq (q's layout), dk and dv (k's layout). */
  attentionGrad(
    batch: number,
    heads: number,
    queries: number,
    keys: number,
    headWidth: number,
    dy: Float32Array,
    q: Float32Array,
    k: Float32Array,
    v: Float32Array,
    probs: Float32Array,
    dq: Float32Array,
    dk: Float32Array,
    dv: Float32Array,
    scale: number,
  ): void;
  /**
   * Decoding attention over a preallocated cache: writes kNew, vNew [B, Tq, H * dh] into
   * positions keys - queries .. keys - 1 of kCache, vCache [B, H, capacity, dh] in place, then
   * computes attention over their first `keys` positions (as attention does, without probs).
   */
  attentionAppend(
    batch: number,
    heads: number,
    queries: number,
    keys: number,
    headWidth: number,
    capacity: number,
    q: Float32Array,
    kNew: Float32Array,
    vNew: Float32Array,
    kCache: Float32Array,
    vCache: Float32Array,
    mask: Float32Array | null,
    maskRows: Int32Array,
    out: Float32Array,
    scale: number,
  ): void;
  /** Log-softmax of x [rows, cols] over cols. */
  logSoftmax(x: Float32Array, out: Float32Array, rows: number, cols: number): void;
  /** Its gradient from the output y: dy - exp(y) * sum(dy) per row. */
  logSoftmaxGrad(dy: Float32Array, y: Float32Array, dx: Float32Array, rows: number, cols: number): void;
  /** Its gradient in x from the output y: scale * (dy * y - y * sum(dy * y)). */
  scaledMaskedSoftmaxGrad(
    dy: Float32Array,
    y: Float32Array,
    dx: Float32Array,
    rows: number,
    cols: number,
    scale: number,
  ): void;
}

/** Every function the TypeScript side calls: an addon built from older sources lacks some. */
const ADDON_FUNCTIONS = [
  'info',
  'setThreads',
  'setGemm',
  'matmul',
  'transpose',
  'softmax',
  'gather',
  'split',
  'concat',
  'reduce',
  'layerNorm',
  'layerNormGrad',
  'adamw',
  'scaledMaskedSoftmax',
  'scaledMaskedSoftmaxGrad',
  'attention',
  'attentionGrad',
  'attentionAppend',
  'logSoftmax',
  'logSoftmaxGrad',
] as const satisfies readonly (keyof NativeAddon)[];

// Compile-time check that the list names every function of NativeAddon.
const ADDON_FUNCTIONS_COMPLETE: Exclude<keyof NativeAddon, (typeof ADDON_FUNCTIONS)[number]> extends never
  ? true
  : never = true;
void ADDON_FUNCTIONS_COMPLETE;

/** The addon functions `candidate` (a loaded module) lacks, by name; empty when it has them all. */
export function missingAddonFunctions(candidate: unknown): string[] {
  const exports = (candidate ?? {}) as Record<string, unknown>;
  return ADDON_FUNCTIONS.filter((name) => typeof exports[name] !== 'function');
}

export type AddonLoad =
  | { readonly ok: true; readonly addon: NativeAddon; readonly path: string }
  | { readonly ok: false; readonly reason: string; readonly path: string };

/** The addon's path: build/ beside src/ and dist/, so one path serves sources and the build. */
export const ADDON_PATH = fileURLToPath(new URL('../build/Release/tfjs_native.node', import.meta.url));
const FAILURE_PATH = fileURLToPath(new URL('../build/native-build-failure.txt', import.meta.url));
/** Environment variable naming another build of the addon to load (e.g. one made without OpenBLAS). */
export const ADDON_ENV = 'VZERO_NATIVE_ADDON';

/** The addon file to load: $VZERO_NATIVE_ADDON when set, else ADDON_PATH. */
export function addonPath(env: NodeJS.ProcessEnv = process.env): string {
  const forced = env[ADDON_ENV];
  return forced ? resolve(forced) : ADDON_PATH;
}

/**
 * Why the addon at `path` has no OpenBLAS, from the note its build wrote beside it
 * (build/native-gemm.txt: "builtin" and the reason); undefined when there is no such note.
 */
export function builtWithoutOpenblasReason(path: string): string | undefined {
  try {
    const lines = readFileSync(join(dirname(path), '..', 'native-gemm.txt'), 'utf8').split('\n');
    return lines[0] === 'builtin' && lines[1] ? lines[1] : undefined;
  } catch {
    return undefined;
  }
}

let cached: AddonLoad | undefined;
let coreTypeNote: string | undefined;

/** OpenBLAS core types whose kernels use AVX-512 (F, BW, DQ, VL). */
const AVX512_CORE_TYPES = ['skylakex', 'cooperlake', 'sapphirerapids'];
const AVX512_FLAGS = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'];

/**
 * Whether a forced OpenBLAS core type can run on a CPU with these /proc/cpuinfo flags: forcing
 * an AVX-512 core type (1.5-2x faster sgemm on AVX-512 CPUs that OpenBLAS 0.3.21 misdetects as
 * Haswell, such as Zen 5) on a CPU without AVX-512 would crash with an illegal instruction.
 * Returns the reason to ignore it, or undefined when it is safe (or not an AVX-512 type).
 */
export function unsafeCoreType(coreType: string, cpuFlags: readonly string[]): string | undefined {
  if (!AVX512_CORE_TYPES.includes(coreType.toLowerCase())) return undefined;
  const missing = AVX512_FLAGS.filter((f) => !cpuFlags.includes(f));
  return missing.length ? `this CPU lacks ${missing.join(', ')}` : undefined;
}

function cpuFlags(): string[] | undefined {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('flags'));
    return line?.split(':')[1]?.trim().split(/\s+/);
  } catch {
    return undefined;
  }
}

/** Why a forced OPENBLAS_CORETYPE was dropped before loading, if it was. */
export function ignoredCoreType(): string | undefined {
  return coreTypeNote;
}

export function loadAddon(): AddonLoad {
  if (cached) return cached;
  cached = tryLoad();
  return cached;
}

function tryLoad(): AddonLoad {
  const path = addonPath();
  if (process.env['VZERO_NATIVE_DISABLE'] === '1') {
    return { ok: false, reason: 'disabled by VZERO_NATIVE_DISABLE=1', path };
  }
  if (!existsSync(path)) {
    if (path !== ADDON_PATH) return { ok: false, reason: `${ADDON_ENV}=${path}: no such file`, path };
    const why = existsSync(FAILURE_PATH)
      ? readFileSync(FAILURE_PATH, 'utf8').trim().split('\n')[0]
      : undefined;
    return {
      ok: false,
      reason: `native addon not built${why ? ` (${why})` : ''}; it needs g++, make and python3: run \`pnpm --filter @vzero/tfjs-native run build:native\``,
      path,
    };
  }
  // OpenBLAS reads OPENBLAS_CORETYPE once, when the addon loads it: drop an unsafe one first.
  const forced = process.env['OPENBLAS_CORETYPE'];
  const flags = forced ? cpuFlags() : undefined;
  const unsafe = forced && flags ? unsafeCoreType(forced, flags) : undefined;
  if (forced && unsafe) {
    coreTypeNote = `ignored OPENBLAS_CORETYPE=${forced}: ${unsafe}`;
    delete process.env['OPENBLAS_CORETYPE'];
  }
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    const missing = missingAddonFunctions(addon);
    if (missing.length > 0) {
      return {
        ok: false,
        reason: `native addon is out of date (it lacks ${missing.join(', ')}); rebuild it with \`pnpm --filter @vzero/tfjs-native run build:native\``,
        path,
      };
    }
    return { ok: true, addon, path };
  } catch (error) {
    const text = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `native addon failed to load: ${text.split('\n')[0] ?? text}`, path };
  }
}
