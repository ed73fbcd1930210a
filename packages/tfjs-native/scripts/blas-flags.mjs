// Compiler or linker flags for binding.gyp: the system OpenBLAS when its headers are found
// (pkg-config, else the Debian/Ubuntu multiarch locations of cblas.h), otherwise
// -DVZERO_NO_OPENBLAS and no library, which builds every kernel on the built-in GEMM.
// VZERO_NATIVE_NO_OPENBLAS=1 builds without OpenBLAS even when it is installed (for comparisons).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

function pkgConfig(kind) {
  try {
    return execFileSync('pkg-config', [`--${kind}`, 'openblas'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

/**
 * The OpenBLAS this build will use: `{ cflags, libs }` when cblas.h is found, or
 * `{ cflags: '-DVZERO_NO_OPENBLAS', libs: '', without: reason }`.
 */
export function openblasFlags(env = process.env) {
  const without = (reason) => ({ cflags: '-DVZERO_NO_OPENBLAS', libs: '', without: reason });
  if (env.VZERO_NATIVE_NO_OPENBLAS === '1') return without('VZERO_NATIVE_NO_OPENBLAS=1 at build time');
  let cflags = pkgConfig('cflags');
  let libs = pkgConfig('libs');
  if (cflags === undefined || libs === undefined) {
    const dirs = ['/usr/include/openblas'];
    if (existsSync('/usr/include')) {
      for (const d of readdirSync('/usr/include')) {
        if (d.endsWith('-linux-gnu')) dirs.push(`/usr/include/${d}`);
      }
    }
    cflags = dirs
      .filter((d) => existsSync(join(d, 'cblas.h')))
      .map((d) => `-I${d}`)
      .join(' ');
    libs = '-lopenblas';
  }
  const includeDirs = cflags
    .split(/\s+/)
    .filter((f) => f.startsWith('-I'))
    .map((f) => f.slice(2));
  if (!includeDirs.some((d) => existsSync(join(d, 'cblas.h')))) {
    return without('cblas.h not found at build time (Debian/Ubuntu: apt-get install libopenblas-dev)');
  }
  return { cflags, libs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const flags = openblasFlags();
  process.stdout.write(process.argv[2] === 'libs' ? flags.libs : flags.cflags);
}
