// The consumer test: the packages as a user gets them. Packs every package under packages/ with
// `pnpm pack` (from the built dist/, so run it after `pnpm build`), checks each tarball (LICENSE,
// NOTICE, README, metadata, no workspace: specifiers, source maps whose sources are inside),
// then installs the tarballs with npm into scratch projects in the system's temp folder, outside
// the workspace, and in each one compiles the README examples with a strict `tsc` against the
// installed types and runs them:
//   light      @vzero/core + gate + opd-loss: install size must stay under 80 MB
//   gate-only  @vzero/gate (and core): no TensorFlow.js may be installed; the tensor entry point
//              and selectBackend must fail with MissingDependencyError
//   full       every package: every README example compiles; those that need no server run
// Needs the npm registry for third-party dependencies (npm's cache serves repeats) and nothing
// else. Exit status 1 on any failure. Flags: --keep (leave the scratch folder and print it),
// --only=light|gate-only|full (one project; default all).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const only = args.find((a) => a.startsWith('--only='))?.slice('--only='.length);

/** Install-size limit of core + gate + opd-loss (MiB of disk, as `du -sm` counts). */
const LIGHT_LIMIT_MB = 80;
const EXAMPLE_TIMEOUT_MS = 180_000;

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string };
  publishConfig?: { access?: string };
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** What to do with a README example beyond compiling it. */
interface ExampleRule {
  /** Declarations the example assumes from its surrounding text. */
  readonly preamble?: string;
  /** Why it is compiled but not run. */
  readonly noRun?: string;
  /** A smaller run of the same code: [from, to, why]; `from` must occur in the example. */
  readonly shrink?: readonly [string, string, string];
}

const RULES: Record<string, ExampleRule> = {
  'remote-0': {
    preamble: [
      "import type { Prompt } from '@vzero/core';",
      "import type { ViewsByPrompt } from '@vzero/teacher';",
      'declare const prompts: Prompt[];',
      'declare const views: ViewsByPrompt;',
    ].join('\n'),
    noRun: 'needs two OpenAI-compatible servers (student and teacher)',
  },
  'serve-0': { noRun: 'serves until stopped, on a fixed port, from a trained checkpoint' },
  'renderers-1': { noRun: "needs a Qwen tokenizer.json folder (the package's tests use a shipped one)" },
  'world-0': { shrink: ['n: 2000', 'n: 100', 'run with 100 training samples, not 2000, to keep CI short'] },
  'train-0': { noRun: 'trains from a world dataset and checkpoints; `vzero --help` runs instead' },
};

const failures: string[] = [];
const summary: string[] = [];
const started = Date.now();

function log(line: string): void {
  console.log(`[consumer-test] ${line}`);
}

function fail(line: string): void {
  failures.push(line);
  console.error(`[consumer-test] FAIL ${line}`);
}

/**
 * The environment of a user's shell: without the loader hooks of tsx (NODE_OPTIONS), the
 * workspace's store on NODE_PATH (pnpm's bin shims set it) and the npm_* settings that `pnpm run`
 * exports, all of which would change how the scratch projects install and resolve.
 */
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !['NODE_OPTIONS', 'NODE_PATH'].includes(k) && !/^(npm|pnpm)_/i.test(k),
  ),
);

function run(
  cmd: string,
  argv: readonly string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
  timeout?: number,
) {
  const t0 = Date.now();
  const result = spawnSync(cmd, argv, {
    cwd,
    env: { ...cleanEnv, ...env },
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...(timeout === undefined ? {} : { timeout }),
  });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  return { ok: result.status === 0, status: result.status, output, seconds: (Date.now() - t0) / 1000 };
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

// ---------------------------------------------------------------------------------------------
// 1. Pack and check every tarball.

const scratch = mkdtempSync(join(tmpdir(), 'vzero-consumer-'));
const tarballs = join(scratch, 'tarballs');
mkdirSync(tarballs);
const rootLicense = readFileSync(join(root, 'LICENSE'), 'utf8');
const rootRepository = 'git+https://github.com/vzero/vzero-ts.git';

const packages: { dir: string; pkg: PackageJson; tarball: string }[] = [];
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    continue;
  }
  if (pkg.private) continue;
  const packed = run('pnpm', ['pack', '--pack-destination', tarballs], join(root, 'packages', dir));
  if (!packed.ok) {
    fail(`pnpm pack in packages/${dir}:\n${tail(packed.output)}`);
    continue;
  }
  const tarball = join(tarballs, `${pkg.name.replace('@', '').replace('/', '-')}-${pkg.version}.tgz`);
  packages.push({ dir, pkg, tarball });
  checkTarball(dir, tarball);
}
log(`packed ${packages.length} packages into ${tarballs}`);

function checkTarball(dir: string, tarball: string): void {
  const where = `${dir} tarball`;
  const entries = new Set(
    execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((e) => e.replace(/^package\//, '')),
  );
  for (const required of [
    'LICENSE',
    'NOTICE',
    'README.md',
    'package.json',
    'dist/index.js',
    'dist/index.d.ts',
  ]) {
    if (!entries.has(required)) fail(`${where}: ${required} is missing`);
  }
  const read = (entry: string) =>
    execFileSync('tar', ['-xzOf', tarball, `package/${entry}`], { encoding: 'utf8' });
  if (entries.has('LICENSE') && read('LICENSE') !== rootLicense)
    fail(`${where}: LICENSE differs from the root LICENSE`);
  const pkg = JSON.parse(read('package.json')) as PackageJson;
  if (pkg.license !== 'Apache-2.0') fail(`${where}: license is ${pkg.license}`);
  if (pkg.repository?.url !== rootRepository || pkg.repository.directory !== `packages/${dir}`) {
    fail(`${where}: repository should be ${rootRepository} with directory packages/${dir}`);
  }
  if (pkg.name.startsWith('@') && pkg.publishConfig?.access !== 'public')
    fail(`${where}: publishConfig.access is not public`);
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies'] as const) {
    for (const [name, spec] of Object.entries(pkg[field] ?? {})) {
      if (spec.startsWith('workspace:')) fail(`${where}: ${field}.${name} is still ${spec}`);
    }
  }
  if (Object.keys(pkg.dependencies ?? {}).includes('@tensorflow/tfjs'))
    fail(`${where}: depends on the full @tensorflow/tfjs`);
  // Source maps ship with their sources: every map's sources must be in the tarball.
  for (const entry of entries) {
    if (!entry.endsWith('.map')) continue;
    let map: { sources?: string[] };
    try {
      map = JSON.parse(read(entry)) as { sources?: string[] };
    } catch (error) {
      fail(`${where}: ${entry} is not a source map (${(error as Error).message})`);
      continue;
    }
    for (const source of map.sources ?? []) {
      const resolved = join(dirname(entry), source);
      if (!entries.has(resolved))
        fail(`${where}: ${entry} points at ${resolved}, which is not in the tarball`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// 2. README examples.

interface Example {
  readonly id: string;
  readonly dir: string;
  readonly code: string;
  readonly rule: ExampleRule;
}

const examples: Example[] = [];
for (const { dir } of packages) {
  const readme = readFileSync(join(root, 'packages', dir, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  // The examples are the blocks that import the toolkit; the others show signatures.
  blocks
    .filter((b) => /^import .* from '@vzero\//m.test(b))
    .forEach((code, i) => {
      const id = `${dir}-${i}`;
      examples.push({ id, dir, code, rule: RULES[id] ?? {} });
    });
}

// ---------------------------------------------------------------------------------------------
// 3. Scratch projects.

interface Project {
  readonly name: string;
  readonly packages: readonly string[];
  readonly examples: readonly string[];
  readonly extra?: Record<string, string>;
  readonly check?: (dir: string) => void;
}

const all = packages.map((p) => p.dir);
const projects: Project[] = [
  {
    name: 'light',
    packages: ['core', 'gate', 'opd-loss'],
    examples: examples.filter((e) => ['core', 'gate', 'opd-loss'].includes(e.dir)).map((e) => e.id),
    check: (dir) => {
      const mb = diskMb(join(dir, 'node_modules'));
      summary.push(
        `install size core + gate + opd-loss: ${mb} MB (limit ${LIGHT_LIMIT_MB} MB); ${breakdown(dir)}`,
      );
      if (mb >= LIGHT_LIMIT_MB) fail(`core + gate + opd-loss install ${mb} MB, limit ${LIGHT_LIMIT_MB} MB`);
      if (exists(join(dir, 'node_modules', '@tensorflow', 'tfjs')))
        fail('light install holds the full @tensorflow/tfjs');
    },
  },
  {
    name: 'gate-only',
    packages: ['gate', 'core'],
    examples: ['gate-0'],
    extra: {
      'missing-tfjs.ts': [
        "import { MissingDependencyError, selectBackend } from '@vzero/core';",
        "import { computeGate } from '@vzero/gate';",
        // A variable specifier: this file's types must not need tfjs-core either.
        "const tensors = '@vzero/gate/tensors';",
        'const { computeGateTensors } = (await import(tensors)) as { computeGateTensors: (...a: unknown[]) => unknown };',
        '',
        "console.log(computeGate([{ group: 'a', positive: [-1], negative: [-2] }]).weights);",
        'const expectMissing = async (what: string, call: () => unknown): Promise<void> => {',
        '  try {',
        '    await call();',
        '    throw new Error(`${what} did not throw`);',
        '  } catch (error) {',
        "    if (!(error instanceof MissingDependencyError) || error.dependency !== '@tensorflow/tfjs-core') throw error;",
        '    console.log(`${what}: ${error.message}`);',
        '  }',
        '};',
        "await expectMissing('computeGateTensors', () => computeGateTensors(null, null, null, []));",
        "await expectMissing('selectBackend', () => selectBackend());",
      ].join('\n'),
    },
    check: (dir) => {
      const mb = diskMb(join(dir, 'node_modules'));
      summary.push(`install size gate alone (with core): ${mb} MB; ${breakdown(dir)}`);
      if (exists(join(dir, 'node_modules', '@tensorflow'))) fail('gate-only install holds TensorFlow.js');
    },
  },
  {
    name: 'full',
    packages: all,
    examples: examples.map((e) => e.id),
  },
];

for (const project of projects) {
  if (only !== undefined && project.name !== only) continue;
  runProject(project);
}

function runProject(project: Project): void {
  const t0 = Date.now();
  const dir = join(scratch, project.name);
  mkdirSync(join(dir, 'src'), { recursive: true });
  const file = (name: string) => `file:${packages.find((p) => p.dir === name)!.tarball}`;
  const deps = Object.fromEntries(
    project.packages.map((d) => [packages.find((p) => p.dir === d)!.pkg.name, file(d)]),
  );
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: `vzero-consumer-${project.name}`,
        private: true,
        type: 'module',
        dependencies: deps,
        // Nested requirements of @vzero/* resolve to the same tarballs, never to a registry.
        overrides: Object.fromEntries(Object.keys(deps).map((name) => [name, `$${name}`])),
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES2023', 'DOM'],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          skipLibCheck: project.name === 'gate-only' ? false : true,
          types: ['node'],
          rootDir: 'src',
          outDir: 'out',
        },
        include: ['src'],
      },
      null,
      2,
    ),
  );
  // The native kernels' addon is compiled by its install script only when asked: it takes
  // minutes on a small machine, and the package falls back cleanly without it.
  const native = process.env.VZERO_CONSUMER_NATIVE === '1' ? {} : { VZERO_NATIVE_SKIP_BUILD: '1' };
  const install = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    dir,
    native,
  );
  if (!install.ok) {
    fail(`${project.name}: npm install:\n${tail(install.output)}`);
    return;
  }
  // @types/node for the examples' own compile, installed apart so it does not count in the size.
  log(`${project.name}: npm install ${project.packages.length} tarballs in ${install.seconds.toFixed(0)} s`);
  project.check?.(dir);
  const types = run(
    'npm',
    [
      'install',
      '--no-save',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      '@types/node@20',
    ],
    dir,
  );
  if (!types.ok) fail(`${project.name}: npm install @types/node:\n${tail(types.output)}`);

  const chosen = examples.filter((e) => project.examples.includes(e.id));
  for (const e of chosen) {
    let code = e.code;
    if (e.rule.shrink) {
      const [from, to, why] = e.rule.shrink;
      if (!code.includes(from)) fail(`${e.id}: the example no longer contains "${from}" (update RULES)`);
      code = code.replace(from, to);
      log(`${project.name}: ${e.id}: ${why}`);
    }
    writeFileSync(join(dir, 'src', `${e.id}.ts`), `${e.rule.preamble ?? ''}\n${code}`);
  }
  for (const [name, code] of Object.entries(project.extra ?? {})) writeFileSync(join(dir, 'src', name), code);
  const compiled = run(process.execPath, [tsc, '-p', 'tsconfig.json'], dir);
  if (!compiled.ok) {
    fail(`${project.name}: strict tsc over the README examples:\n${tail(compiled.output, 40)}`);
    return;
  }
  log(
    `${project.name}: strict tsc over ${chosen.length + Object.keys(project.extra ?? {}).length} files passed`,
  );

  const programs = [
    ...chosen.map((e) => ({ name: e.id, noRun: e.rule.noRun })),
    ...Object.keys(project.extra ?? {}).map((f) => ({ name: f.replace(/\.ts$/, ''), noRun: undefined })),
  ];
  for (const program of programs) {
    if (program.noRun) {
      log(`${project.name}: ${program.name} compiled, not run (${program.noRun})`);
      continue;
    }
    const ran = run(
      process.execPath,
      [join('out', `${program.name}.js`)],
      dir,
      { VZERO_BACKEND: '' },
      EXAMPLE_TIMEOUT_MS,
    );
    if (!ran.ok) fail(`${project.name}: example ${program.name} (exit ${ran.status}):\n${tail(ran.output)}`);
    else log(`${project.name}: ${program.name} ran in ${ran.seconds.toFixed(1)} s`);
  }
  if (project.name === 'full') {
    const help = run(
      process.execPath,
      [join('node_modules', '@vzero', 'train', 'dist', 'bin.js'), '--help'],
      dir,
    );
    if (!help.ok || !help.output.includes('vzero')) fail(`full: vzero --help:\n${tail(help.output)}`);
    else log('full: vzero --help ran');
  }
  summary.push(`${project.name}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

function exists(path: string): boolean {
  try {
    readdirSync(path);
    return true;
  } catch {
    return false;
  }
}

function diskMb(path: string): number {
  const kb = Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]);
  return Math.round((kb / 1024) * 10) / 10;
}

/** The largest installed packages, for the log. */
function breakdown(dir: string): string {
  const modules = join(dir, 'node_modules');
  const sizes: [string, number][] = [];
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.')) continue;
    const names = entry.startsWith('@')
      ? readdirSync(join(modules, entry)).map((n) => `${entry}/${n}`)
      : [entry];
    for (const name of names) sizes.push([name, diskMb(join(modules, name))]);
  }
  sizes.sort((a, b) => b[1] - a[1]);
  return `largest: ${sizes
    .slice(0, 5)
    .map(([n, mb]) => `${n} ${mb} MB`)
    .join(', ')}`;
}

// ---------------------------------------------------------------------------------------------

for (const line of summary) log(line);
log(`${failures.length} failure(s) in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (keep) log(`scratch projects kept in ${scratch}`);
else rmSync(scratch, { recursive: true, force: true });
process.exit(failures.length > 0 ? 1 : 0);
