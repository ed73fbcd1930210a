// Tensor backend selection: tfjs-node-gpu, then tfjs-node, then wasm, then cpu. The native
// bindings may be absent or fail to load (their install downloads libtensorflow, which needs a
// network the build machines do not have); every skipped backend is recorded with the reason,
// so logs and `vzero doctor` can say what was chosen and why.
//
// TensorFlow.js is an optional peer dependency of this package: nothing here loads it until a
// backend is selected, so the array-only users of @vzero/core (the gate, say) install none.
// The packages that compute with tensors (@vzero/opd-loss, @vzero/tfjs-native) depend on
// tfjs-core and the cpu and wasm backends; tfjs-node(-gpu) are the user's to add.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type * as TF from '@tensorflow/tfjs-core';
// The types of the chained ops (t.reshape(), t.slice(), ...) that registerGradients installs;
// a type-only import, absent from the emitted JavaScript and declarations.
import type {} from '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js';
import { BackendError, InvalidInputError, MissingDependencyError } from './errors.js';

const require = createRequire(import.meta.url);

/** The TensorFlow.js version the toolkit is built and tested against (its peer dependencies). */
export const TFJS_VERSION = '4.22.0';

export const BACKEND_NAMES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** The environment variable that forces a backend (one of BACKEND_NAMES). */
export const BACKEND_ENV = 'VZERO_BACKEND';

export interface BackendAttempt {
  readonly name: BackendName;
  readonly ok: boolean;
  /** Why it was skipped, or what was loaded. */
  readonly detail: string;
}

export interface BackendReport {
  readonly chosen: BackendName;
  /** The tfjs backend name registered in the engine ("tensorflow", "wasm", "cpu"). */
  readonly tfjsBackend: string;
  /** Why this one: forced by the environment or option, or the first that loaded. */
  readonly reason: string;
  readonly attempts: readonly BackendAttempt[];
}

/**
 * Environment variables by name, as `process.env` holds them. A structural type, so that the
 * declarations need no Node typings (`process.env` is assignable to it).
 */
export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

let current: BackendReport | undefined;
let pending: Promise<BackendReport> | undefined;

/** The report of the last selection, if a backend has been selected. */
export function backendReport(): BackendReport | undefined {
  return current;
}

/**
 * Selects and initialises a tensor backend once per process (later calls return the same
 * report unless `force` names a different backend). `prefer` or $VZERO_BACKEND forces one; a
 * forced backend that fails to load is an error, never a silent fallback.
 */
export async function selectBackend(
  options: { readonly prefer?: BackendName; readonly env?: EnvironmentVariables } = {},
): Promise<BackendReport> {
  const env = options.env ?? process.env;
  const fromEnv = env[BACKEND_ENV];
  let forced: BackendName | undefined = options.prefer;
  let forcedBy = 'option prefer';
  if (forced === undefined && fromEnv !== undefined && fromEnv !== '') {
    if (!(BACKEND_NAMES as readonly string[]).includes(fromEnv)) {
      throw new InvalidInputError(BACKEND_ENV, fromEnv, `expected one of ${BACKEND_NAMES.join(', ')}`);
    }
    forced = fromEnv as BackendName;
    forcedBy = `$${BACKEND_ENV}`;
  }
  if (current && (forced === undefined || forced === current.chosen)) return current;
  if (pending && forced === undefined) return pending;
  pending = doSelect(forced, forcedBy);
  try {
    current = await pending;
    return current;
  } finally {
    pending = undefined;
  }
}

let gradients: Promise<void> | undefined;

/**
 * Loads @tensorflow/tfjs-core (its Node entry), or throws a MissingDependencyError naming it.
 * Everything tensor-shaped in this package goes through here, so importing @vzero/core loads no
 * TensorFlow.js.
 */
async function loadTfjsCore(neededFor = 'selectBackend'): Promise<typeof TF> {
  try {
    return await import('@tensorflow/tfjs-core');
  } catch (error) {
    if (isNotFound(error, '@tensorflow/tfjs-core')) {
      throw new MissingDependencyError('@tensorflow/tfjs-core', neededFor, {
        cause: error,
        install: `@tensorflow/tfjs-core@${TFJS_VERSION}`,
      });
    }
    throw error;
  }
}

/**
 * Registers tfjs's gradient functions and its chained ops (the tensor methods t.reshape(),
 * t.slice(), ...). tfjs-core's Node entry registers neither, and its per-file ESM build cannot
 * be loaded by Node's own module loader (extensionless imports), so the build bundles them
 * (dist/tfjs-gradients.js, made by scripts/bundle-gradients.mjs from the installed tfjs-core)
 * into one module that registers them into tfjs-core's global state, as the full
 * @tensorflow/tfjs bundle did. tfjs-core is loaded first, so the engine and Tensor class both
 * copies see are tfjs-core's. Called by selectBackend; idempotent.
 */
export function registerGradients(): Promise<void> {
  gradients ??= (async () => {
    await loadTfjsCore('registerGradients');
    // The same relative path from src/ (sources run by vitest or tsx) and from dist/.
    const bundle = new URL('../dist/tfjs-gradients.js', import.meta.url);
    try {
      await import(bundle.href);
    } catch (error) {
      gradients = undefined;
      if (isNotFound(error, 'tfjs-gradients.js')) {
        throw new BackendError(
          `tfjs's gradient functions are not built (${bundle.pathname} is missing): run \`pnpm install\` or \`pnpm build\` in the workspace`,
          { cause: error },
        );
      }
      throw error;
    }
  })();
  return gradients;
}

function isNotFound(error: unknown, what: string): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    error instanceof Error &&
    error.message.includes(what)
  );
}

async function doSelect(forced: BackendName | undefined, forcedBy: string): Promise<BackendReport> {
  const tf = await loadTfjsCore();
  await registerGradients();
  // The cpu kernels are registered whichever backend wins (as the full @tensorflow/tfjs bundle
  // did): @vzero/tfjs-native replaces cpu kernels next to wasm ones, and tests switch to cpu.
  if (!notInstalled('@tensorflow/tfjs-backend-cpu')) await import('@tensorflow/tfjs-backend-cpu');
  const attempts: BackendAttempt[] = [];
  const order = forced ? [forced] : BACKEND_NAMES;
  for (const name of order) {
    const attempt = await tryBackend(tf, name);
    attempts.push(attempt);
    if (attempt.ok) {
      const reason = forced
        ? `forced by ${forcedBy}`
        : `first available in order ${BACKEND_NAMES.join(' > ')}`;
      return { chosen: name, tfjsBackend: tf.getBackend(), reason, attempts };
    }
  }
  if (forced) {
    throw new BackendError(
      `backend "${forced}" (forced by ${forcedBy}) could not be used: ${attempts[0]?.detail}`,
    );
  }
  throw new BackendError(
    `no tensor backend could be used: ${attempts.map((a) => `${a.name}: ${a.detail}`).join('; ')}`,
  );
}

async function tryBackend(tf: typeof TF, name: BackendName): Promise<BackendAttempt> {
  try {
    switch (name) {
      case 'node-gpu':
      case 'node': {
        const pkg = name === 'node-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
        // Checking for the binding first avoids half-registering kernels from a broken install.
        const missing = missingNativeBinding(pkg);
        if (missing) return { name, ok: false, detail: missing };
        await import(pkg);
        if (!(await tf.setBackend('tensorflow')))
          return { name, ok: false, detail: `${pkg} loaded but did not initialise` };
        return { name, ok: true, detail: `${pkg} (libtensorflow)` };
      }
      case 'wasm': {
        const missing = notInstalled('@tensorflow/tfjs-backend-wasm');
        if (missing) return { name, ok: false, detail: missing };
        await import('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm')))
          return { name, ok: false, detail: 'wasm backend did not initialise' };
        return { name, ok: true, detail: '@tensorflow/tfjs-backend-wasm' };
      }
      case 'cpu': {
        const missing = notInstalled('@tensorflow/tfjs-backend-cpu');
        if (missing) return { name, ok: false, detail: missing };
        await import('@tensorflow/tfjs-backend-cpu');
        // The cpu backend's "install tfjs-node" banner is noise here: the report says why.
        tf.env().set('PROD', true);
        if (!(await tf.setBackend('cpu')))
          return { name, ok: false, detail: 'cpu backend did not initialise' };
        return { name, ok: true, detail: '@tensorflow/tfjs-backend-cpu (plain JavaScript)' };
      }
    }
  } catch (error) {
    return { name, ok: false, detail: firstLine(error) };
  }
}

/** Why a backend package cannot be imported from here, or undefined when it resolves. */
function notInstalled(pkg: string): string | undefined {
  try {
    require.resolve(pkg);
    return undefined;
  } catch {
    return `${pkg} is not installed (an optional peer dependency of @vzero/core: npm install ${pkg}@${TFJS_VERSION})`;
  }
}

/** Why a tfjs-node package cannot load, or undefined when its native binding is present. */
function missingNativeBinding(pkg: string): string | undefined {
  let root: string;
  try {
    root = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return `${pkg} is not installed (optional; install it on a machine that can download libtensorflow)`;
  }
  const lib = join(root, 'lib');
  const built =
    existsSync(lib) && readdirSync(lib).some((d) => existsSync(join(lib, d, 'tfjs_binding.node')));
  return built
    ? undefined
    : `${pkg} is installed but its native binding was not built (its install script downloads libtensorflow; run \`pnpm approve-builds\` or \`npm rebuild ${pkg}\` on a networked machine)`;
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const line = text.split('\n')[0] ?? text;
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** One line for logs: "backend wasm (first available ...; skipped node-gpu: ..., node: ...)". */
export function formatBackendReport(report: BackendReport): string {
  const skipped = report.attempts.filter((a) => !a.ok).map((a) => `${a.name}: ${a.detail}`);
  return `backend ${report.chosen} (${report.reason}${skipped.length ? `; skipped ${skipped.join('; ')}` : ''})`;
}
