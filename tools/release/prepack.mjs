#!/usr/bin/env node
// Every package's `prepack`: a tarball must never ship without its build. Run in the package's
// folder (npm and pnpm run lifecycle scripts there). When a file the package's exports point to
// is missing, or older than the newest file under src/, the package is built first (its own
// `build` script); when that build fails (e.g. a workspace dependency is not built: run
// `pnpm build` at the root), packing stops with the reason instead of making a tarball that fails
// on import.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));

/** Every file path named by main, types and exports (conditions and subpaths). */
function targets(p) {
  const out = new Set();
  const walk = (v) => {
    if (typeof v === 'string') {
      if (v.startsWith('./') && !v.endsWith('package.json')) out.add(v);
    } else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(p.main);
  walk(p.types);
  walk(p.exports);
  walk(p.bin);
  return [...out].filter((t) => !t.includes('*'));
}

function newest(folder) {
  let latest = 0;
  if (!existsSync(folder)) return latest;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const files = targets(pkg).map((t) => join(dir, t));
const source = newest(join(dir, 'src'));
const stale = files.filter((f) => !existsSync(f) || statSync(f).mtimeMs < source);
if (stale.length === 0) process.exit(0);

if (!pkg.scripts?.build) {
  console.error(`${pkg.name}: ${stale.join(', ')} missing or older than src/, and no build script`);
  process.exit(1);
}
console.error(
  `${pkg.name}: building before packing (${stale.length} of ${files.length} entry files missing or stale)`,
);
const built = spawnSync('npm', ['run', '--silent', 'build'], { cwd: dir, stdio: 'inherit' });
const still = files.filter((f) => !existsSync(f));
if (built.status !== 0 || still.length > 0) {
  console.error(
    `${pkg.name}: not packed: the build ${built.status !== 0 ? `failed (exit ${built.status})` : `left ${still.join(', ')} missing`}; ` +
      'build the workspace first (pnpm build at the root)',
  );
  process.exit(1);
}
