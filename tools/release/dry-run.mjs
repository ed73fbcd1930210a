// `pnpm release:dry [specifier]`: what `nx release` would do, without a terminal and without
// changing anything: the version of every package, its changelog entry, and the contents of
// each tarball `npm publish` would upload (nx runs it with --dry-run). No cloud, no git commit or
// tag (nx.json), no registry writes.
//
// The specifier (semver keyword or exact version) defaults to the version on disk when every
// package has the same one: the first release publishes what the manifests say. nx alone, with
// no specifier and no terminal, waits for an answer that never comes and exits 0 having done
// nothing; this wrapper always passes one and fails unless every package reached the publish
// preview.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const packages = readdirSync(join(root, 'packages'))
  .map((d) => join(root, 'packages', d, 'package.json'))
  .filter((p) => existsSync(p))
  .map((p) => JSON.parse(readFileSync(p, 'utf8')))
  .filter((p) => !p.private);

const versions = new Set(packages.map((p) => p.version));
let specifier = process.argv[2];
if (specifier === undefined) {
  if (versions.size !== 1) {
    console.error(
      `release:dry: the packages have different versions (${[...versions].join(', ')}); pass a specifier`,
    );
    process.exit(2);
  }
  specifier = [...versions][0];
}

const env = { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', NX_TUI: 'false', CI: 'true' };
const nx = (args) =>
  spawnSync('pnpm', ['exec', 'nx', ...args], {
    cwd: root,
    env,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });

// The publish preview packs dist/: build first (cached when nothing changed).
const build = nx(['run-many', '-t', 'build', '--output-style=static']);
if (build.status !== 0) {
  process.stderr.write(build.stdout + build.stderr);
  console.error('release:dry: the build failed');
  process.exit(1);
}

const firstRelease = !process.argv.includes('--not-first-release');
const release = nx([
  'release',
  specifier,
  '--dry-run',
  ...(firstRelease ? ['--first-release'] : []),
  '--yes', // answers the publish prompt; with --dry-run, npm publish only previews
]);
const output = release.stdout + release.stderr;
process.stdout.write(output);
const previewed = (output.match(/Would publish to /g) ?? []).length;
if (release.status !== 0 || previewed !== packages.length) {
  console.error(
    `release:dry: nx release exited ${release.status} with ${previewed} of ${packages.length} publish previews`,
  );
  process.exit(1);
}
console.log(
  `release:dry: ${packages.length} packages at ${specifier} (${firstRelease ? 'first release' : 'from the last release'}); nothing was written`,
);
