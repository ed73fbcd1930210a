// Builds the native addon with node-gyp: over the system OpenBLAS when its headers are present,
// else on the built-in GEMM (every kernel builds either way; scripts/blas-flags.mjs decides, and
// VZERO_NATIVE_NO_OPENBLAS=1 forces the built-in one). Never fails the install: when the
// compiler, Node's headers or node-gyp is missing, it writes the reason to
// build/native-build-failure.txt (the runtime report shows it) and exits 0, so the workspace
// installs and runs without the native kernels. build/native-gemm.txt records which GEMM was
// built in and why. Skips the build when the addon is up to date (sources and that choice);
// `--force` rebuilds.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openblasFlags } from './blas-flags.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const addon = join(root, 'build', 'Release', 'tfjs_native.node');
const failureFile = join(root, 'build', 'native-build-failure.txt');
const gemmFile = join(root, 'build', 'native-gemm.txt');
const sources = ['binding.gyp', 'src/native/addon.cc', 'src/native/gemm.h', 'scripts/blas-flags.mjs'].map(
  (f) => join(root, f),
);
const force = process.argv.includes('--force');
const blas = openblasFlags();
// First line: the GEMM linked in; second: why not OpenBLAS (read by src/addon.ts).
const gemmNote = blas.without ? `builtin\n${blas.without}\n` : 'openblas\n';

function upToDate() {
  if (!existsSync(addon) || !existsSync(gemmFile) || readFileSync(gemmFile, 'utf8') !== gemmNote)
    return false;
  const built = statSync(addon).mtimeMs;
  return sources.every((s) => !existsSync(s) || statSync(s).mtimeMs <= built);
}

function fail(reason) {
  mkdirSync(dirname(failureFile), { recursive: true });
  writeFileSync(failureFile, `${reason}\n`);
  console.warn(`@vzero/tfjs-native: native kernels not built (optional): ${reason}`);
  process.exit(0);
}

/** node-gyp: a dependency if installed, the one the package manager names, or npm's bundled copy. */
function findNodeGyp() {
  const require = createRequire(import.meta.url);
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    /* not a dependency */
  }
  const candidates = [
    process.env.npm_config_node_gyp,
    join(
      dirname(process.execPath),
      '..',
      'lib',
      'node_modules',
      'npm',
      'node_modules',
      'node-gyp',
      'bin',
      'node-gyp.js',
    ),
    join(dirname(process.execPath), 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  return candidates.find((c) => c && existsSync(c) && c.endsWith('.js'));
}

if (process.env.VZERO_NATIVE_SKIP_BUILD === '1') fail('skipped: VZERO_NATIVE_SKIP_BUILD=1');
if (!force && upToDate()) process.exit(0);

const gyp = findNodeGyp();
if (!gyp) fail('node-gyp not found (it ships with npm; or add node-gyp to this package)');

const args = [gyp, 'rebuild'];
// Build against the headers installed with Node when npm is not configured otherwise: node-gyp
// would otherwise download them, which offline machines cannot.
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) {
  args.push(`--nodedir=${prefix}`);
}
const result = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
if (result.status !== 0 || !existsSync(addon)) {
  const log = `${result.stdout ?? ''}\n${result.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
  fail(`node-gyp rebuild failed (exit ${result.status}):\n${log}`);
}
rmSync(failureFile, { force: true });
writeFileSync(gemmFile, gemmNote);
console.log(
  `@vzero/tfjs-native: native kernels built (build/Release/tfjs_native.node) with ${blas.without ? `the built-in GEMM (${blas.without})` : 'OpenBLAS and the built-in GEMM'}`,
);
