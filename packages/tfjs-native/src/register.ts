// Explicit, reversible registration of the native kernels into tfjs's kernel registry. The
// original kernel config of each replaced kernel is kept (tf.getKernel) as the fallback and is
// registered back by unregisterNativeKernels; tfjs looks kernels up on every call, so both take
// effect at once.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { availableParallelism } from 'node:os';
import { InvalidInputError } from '@vzero/core';
import {
  builtWithoutOpenblasReason,
  ignoredCoreType,
  loadAddon,
  type GemmKind,
  type NativeAddon,
} from './addon.js';
import type { NativeBackendName } from './kernels/io.js';
import {
  makeKernel,
  NATIVE_KERNELS_BY_BACKEND,
  NATIVE_OP_KERNEL_NAMES,
  type NativeKernelName,
} from './kernels/kernels.js';

export const NATIVE_BACKENDS = ['cpu', 'wasm'] as const satisfies readonly NativeBackendName[];
/** Environment variable with the default thread count of the native kernels. */
export const THREADS_ENV = 'VZERO_NATIVE_THREADS';
/** Environment variable choosing the GEMM: builtin, openblas or auto (the default). */
export const BLAS_ENV = 'VZERO_NATIVE_BLAS';
/** What registerNativeKernels accepts for the GEMM; auto is OpenBLAS where the addon has it. */
export const GEMM_CHOICES = ['auto', 'builtin', 'openblas'] as const;
export type GemmChoice = (typeof GEMM_CHOICES)[number];

export interface RegisterNativeKernelsOptions {
  /** Backends to register into (default both; a backend whose module is not loaded is skipped). */
  readonly backends?: readonly NativeBackendName[];
  /** Worker threads of the native kernels (default $VZERO_NATIVE_THREADS, else the core count). */
  readonly threads?: number;
  /** The GEMM of the matrix products (default $VZERO_NATIVE_BLAS, else auto). */
  readonly blas?: GemmChoice;
  readonly env?: NodeJS.ProcessEnv;
}

export interface NativeKernelsReport {
  /** Whether the addon and its BLAS loaded. */
  readonly available: boolean;
  /** Why not, when unavailable. */
  readonly reason?: string;
  readonly addonPath: string;
  /** Kernel names currently replaced, per backend. */
  readonly registered: Readonly<Record<NativeBackendName, readonly NativeKernelName[]>>;
  /** Backends (or kernels) asked for but not replaced, with why. */
  readonly skipped: readonly { readonly backend: NativeBackendName; readonly reason: string }[];
  /** Which GEMM the matrix products run on, and why that one. */
  readonly gemm?: {
    readonly kind: GemmKind;
    readonly reason: string;
    /** Whether this build of the addon links OpenBLAS at all. */
    readonly openblasBuilt: boolean;
  };
  /** The GEMM in use: OpenBLAS with its core type, or the built-in one with the build the CPU runs. */
  readonly blas?: {
    /** "OpenBLAS" or "built-in GEMM". */
    readonly library: string;
    /** OpenBLAS's core type in use (its kernels), e.g. "Haswell" or "SkylakeX"; for the built-in
     * GEMM its build for this CPU, e.g. "x86-64-v4 (AVX-512), 12x16 tile". */
    readonly coreType: string;
    /** $OPENBLAS_CORETYPE when set: it forces the core type (OpenBLAS reads it at load). */
    readonly forcedCoreType?: string;
    /** Why a forced core type was not used (an AVX-512 type on a CPU without AVX-512). */
    readonly ignoredCoreType?: string;
    readonly config: string;
  };
  readonly threads?: number;
  /** The build of the vectorised row loops (softmax, layer norm, ...) this CPU runs. */
  readonly vectorLevel?: string;
}

interface Registration {
  readonly backend: NativeBackendName;
  readonly name: NativeKernelName;
  /** The replaced kernel; undefined for a kernel this package adds (NATIVE_OP_KERNEL_NAMES). */
  readonly original: KernelConfig | undefined;
}

let active: Registration[] = [];
let lastSkipped: NativeKernelsReport['skipped'] = [];
/** Why the GEMM in use was chosen (set by registerNativeKernels). */
let gemmReason: string | undefined;

function resolveThreads(options: RegisterNativeKernelsOptions): number {
  const env = options.env ?? process.env;
  if (options.threads !== undefined) {
    if (!Number.isInteger(options.threads) || options.threads < 1 || options.threads > 64) {
      throw new InvalidInputError('threads', options.threads, 'expected an integer in [1, 64]');
    }
    return options.threads;
  }
  const fromEnv = env[THREADS_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw new InvalidInputError(THREADS_ENV, fromEnv, 'expected an integer in [1, 64]');
    }
    return n;
  }
  return Math.max(1, Math.min(availableParallelism(), 64));
}

function resolveGemmChoice(options: RegisterNativeKernelsOptions): { choice: GemmChoice; source: string } {
  if (options.blas !== undefined) {
    if (!(GEMM_CHOICES as readonly string[]).includes(options.blas)) {
      throw new InvalidInputError('blas', options.blas, `expected one of ${GEMM_CHOICES.join(', ')}`);
    }
    return { choice: options.blas, source: `blas: '${options.blas}'` };
  }
  const fromEnv = (options.env ?? process.env)[BLAS_ENV];
  if (fromEnv === undefined || fromEnv === '') return { choice: 'auto', source: 'default' };
  if (!(GEMM_CHOICES as readonly string[]).includes(fromEnv)) {
    throw new InvalidInputError(BLAS_ENV, fromEnv, `expected one of ${GEMM_CHOICES.join(', ')}`);
  }
  return { choice: fromEnv as GemmChoice, source: `${BLAS_ENV}=${fromEnv}` };
}

function withoutOpenblas(path: string): string {
  const note = builtWithoutOpenblasReason(path);
  return `this addon was built without OpenBLAS${note ? ` (${note})` : ''}`;
}

/** Picks the GEMM for `choice` on this addon, tells the addon, and says why. */
function applyGemm(addon: NativeAddon, path: string, choice: GemmChoice, source: string): string {
  const built = addon.info().openblas;
  if (choice === 'builtin') {
    addon.setGemm('builtin');
    return source;
  }
  if (built) {
    addon.setGemm('openblas');
    return choice === 'openblas'
      ? source
      : 'OpenBLAS is built in (VZERO_NATIVE_BLAS=builtin selects the built-in GEMM)';
  }
  addon.setGemm('builtin');
  const without = withoutOpenblas(path);
  return choice === 'openblas' ? `${source}, but ${without}` : without;
}

/**
 * Replaces tfjs's matmul, transpose, softmax (cpu only), gather, reduction (Sum, Mean, Max) and
 * unpack/split/concat kernels on the cpu and/or wasm backend with native ones
 * (NATIVE_KERNELS_BY_BACKEND), and adds the fused layer-norm kernels that the layerNorm op uses
 * (NATIVE_OP_KERNEL_NAMES). Never throws for a missing addon or BLAS: the report says
 * `available: false` and why, and nothing is registered. Calling it again re-registers with
 * the new options. Invalid options raise InvalidInputError.
 */
export function registerNativeKernels(options: RegisterNativeKernelsOptions = {}): NativeKernelsReport {
  const backends = options.backends ?? NATIVE_BACKENDS;
  for (const b of backends) {
    if (!(NATIVE_BACKENDS as readonly string[]).includes(b)) {
      throw new InvalidInputError('backends', b, `expected some of ${NATIVE_BACKENDS.join(', ')}`);
    }
  }
  const threads = resolveThreads(options);
  const gemm = resolveGemmChoice(options);
  const load = loadAddon();
  if (!load.ok) {
    lastSkipped = backends.map((backend) => ({ backend, reason: load.reason }));
    return nativeKernelsReport();
  }
  unregisterNativeKernels();
  load.addon.setThreads(threads);
  const reason = applyGemm(load.addon, load.path, gemm.choice, gemm.source);
  const skipped: { backend: NativeBackendName; reason: string }[] = [];
  for (const backend of backends) {
    const names = NATIVE_KERNELS_BY_BACKEND[backend];
    const missing = names.filter((name) => !tf.getKernel(name, backend));
    if (missing.length === names.length) {
      skipped.push({
        backend,
        reason: `no ${backend} kernels registered (import @tensorflow/tfjs-backend-${backend} first)`,
      });
      continue;
    }
    if (missing.length > 0) skipped.push({ backend, reason: `no original kernel for ${missing.join(', ')}` });
    for (const name of names) {
      const original = tf.getKernel(name, backend);
      if (!original) continue;
      tf.unregisterKernel(name, backend);
      // The original's setupFunc still runs on backend initialisation (the wasm backend binds
      // its functions there), so a later restore or fallback finds it ready.
      tf.registerKernel({
        ...original,
        kernelFunc: makeKernel(name, backend, load.addon, original),
      });
      active.push({ backend, name, original });
    }
    for (const name of NATIVE_OP_KERNEL_NAMES) {
      if (tf.getKernel(name, backend)) tf.unregisterKernel(name, backend); // left by another copy
      tf.registerKernel({
        kernelName: name,
        backendName: backend,
        kernelFunc: makeKernel(name, backend, load.addon, undefined),
      });
      active.push({ backend, name, original: undefined });
    }
  }
  lastSkipped = skipped;
  gemmReason = reason;
  return nativeKernelsReport();
}

/** Whether the kernel `name` on `backend` (default: the active one) is this package's. */
export function isNativeKernel(name: string, backend: string = tf.getBackend()): boolean {
  return active.some((r) => r.name === name && r.backend === backend);
}

/** Restores every original kernel replaced by registerNativeKernels. Safe to call any time. */
export function unregisterNativeKernels(): void {
  for (const { backend, name, original } of active) {
    if (tf.getKernel(name, backend)) tf.unregisterKernel(name, backend);
    if (original) tf.registerKernel(original);
  }
  active = [];
  lastSkipped = [];
}

/** Where the native kernels stand, as a plain object (for logs and `vzero doctor`). */
export function nativeKernelsReport(): NativeKernelsReport {
  const load = loadAddon();
  const registered: Record<NativeBackendName, NativeKernelName[]> = { cpu: [], wasm: [] };
  for (const r of active) registered[r.backend].push(r.name);
  if (!load.ok) {
    return { available: false, reason: load.reason, addonPath: load.path, registered, skipped: lastSkipped };
  }
  const info = load.addon.info();
  const forced = process.env['OPENBLAS_CORETYPE'];
  const ignored = ignoredCoreType();
  const defaultReason = info.openblas ? 'OpenBLAS is built in' : withoutOpenblas(load.path);
  return {
    available: true,
    addonPath: load.path,
    registered,
    skipped: lastSkipped,
    gemm: { kind: info.gemm, reason: gemmReason ?? defaultReason, openblasBuilt: info.openblas },
    blas:
      info.gemm === 'openblas'
        ? {
            library: 'OpenBLAS',
            coreType: info.corename ?? 'unknown',
            ...(forced ? { forcedCoreType: forced } : {}),
            ...(ignored ? { ignoredCoreType: ignored } : {}),
            config: info.config ?? 'unknown',
          }
        : {
            library: 'built-in GEMM',
            coreType: info.builtinGemm,
            config: 'packed panels, register-blocked micro-kernel, FMA where the CPU has it',
          },
    threads: info.threads,
    vectorLevel: info.vectorLevel,
  };
}

/** Whether the addon can be loaded here (builds and BLAS present), without registering anything. */
export function nativeKernelsAvailable(): boolean {
  return loadAddon().ok;
}
