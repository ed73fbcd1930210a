// `pnpm bench`: the performance suite. Makes a small world and random-weight checkpoints, runs
// every backend configuration in a fresh child process (backends and kernel registrations are
// process-global), collects their JSON, adds the BLAS ceiling (numpy) and the PyTorch reference,
// prints tables and optionally writes everything as JSON (--json FILE) for comparing runs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeFixture } from './fixture.js';
import { parseSuiteOptions, SIZES, USAGE, type ConfigName, type SuiteOptions } from './options.js';
import { formatReport } from './report.js';
import type { ConfigResult, SuiteResult } from './results.js';
import { matmulShapes, SQUARE_1024 } from './shapes.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const CHILD = join(here, 'child.ts');
const PYTHON_DIR = join(here, '..', 'python');
const TORCH_SCRIPT = join(here, '..', 'torch', 'reference.py');

/** glibc malloc settings that keep freed memory for reuse instead of unmapping it. */
const MALLOC_TUNING = {
  MALLOC_MMAP_THRESHOLD_: String(32 * 1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(4 * 1024 * 1024 * 1024),
};

const load = () =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
const log = (line: string) => process.stderr.write(`${line}\n`);

function machine(): SuiteResult['machine'] {
  const lscpu = spawnSync('lscpu', { encoding: 'utf8' });
  const model = /^Model name:\s*(.+)$/m.exec(lscpu.stdout ?? '')?.[1]?.trim();
  return {
    cpu: model ?? cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    ...(process.env['OPENBLAS_CORETYPE'] ? { openblasCoretype: process.env['OPENBLAS_CORETYPE'] } : {}),
  };
}

function childEnv(config: ConfigName, options: SuiteOptions): NodeJS.ProcessEnv {
  const [backend, native] = config.split('+');
  const env: NodeJS.ProcessEnv = { ...process.env, VZERO_BACKEND: backend };
  // The trainer registers native kernels itself when the addon loads: plain configs switch it off.
  if (native === 'native') delete env['VZERO_NATIVE_DISABLE'];
  else env['VZERO_NATIVE_DISABLE'] = '1';
  if (options.tuneMalloc) Object.assign(env, MALLOC_TUNING);
  return env;
}

async function runChild(config: ConfigName, options: SuiteOptions, dir: string): Promise<ConfigResult> {
  const out = join(dir, `result-${config.replace('+', '-')}.json`);
  const args = ['--import', 'tsx', CHILD, '--config', config, '--fixture', dir, '--size', options.size];
  args.push('--reps', String(options.reps), '--out', out);
  if (options.wins.includes(config)) args.push('--wins');
  if (options.reference.includes(config)) args.push('--reference');
  log(`== ${config} (load ${load()})`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, args, {
      env: childEnv(config, options),
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.on('close', resolve);
  });
  if (!existsSync(out))
    return { config, available: false, reason: `child process exited with code ${code} and no result` };
  return JSON.parse(readFileSync(out, 'utf8')) as ConfigResult;
}

/** Python interpreters to try (the system one has Debian's numpy and python3-torch). */
function pythons(): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(p, ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
    const exe = r.status === 0 ? r.stdout.trim() : undefined;
    if (exe && !seen.has(exe)) {
      seen.add(exe);
      out.push(p);
    }
  }
  return out;
}

function runPython(options: SuiteOptions): unknown {
  const shapes = [SQUARE_1024, ...matmulShapes(options.size)];
  const sgemm: unknown[] = [];
  const torch: unknown[] = [];
  const env = { ...process.env, ...(options.tuneMalloc ? MALLOC_TUNING : {}) };
  for (const py of pythons()) {
    log(`== numpy sgemm ceiling with ${py} (load ${load()})`);
    const r = spawnSync(
      py,
      ['-W', 'ignore', join(PYTHON_DIR, 'sgemm.py'), JSON.stringify(shapes), String(options.reps)],
      {
        encoding: 'utf8',
        env,
        timeout: 600_000,
      },
    );
    if (r.status === 0) sgemm.push(JSON.parse(r.stdout));
    else
      sgemm.push({ python: py, unavailable: (r.stderr || r.error?.message || '').trim().split('\n').pop() });
    const hasTorch = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
    if (!hasTorch) {
      torch.push({
        python: py,
        unavailable: 'torch is not importable (Debian: apt-get install python3-torch)',
      });
      continue;
    }
    log(`== PyTorch reference with ${py} (load ${load()})`);
    const loadStart = load();
    const t = spawnSync(py, ['-W', 'ignore', TORCH_SCRIPT, '--reps', String(options.reps)], {
      encoding: 'utf8',
      env,
      timeout: 900_000,
    });
    if (t.status === 0) {
      const parsed = JSON.parse(t.stdout) as Record<string, unknown>;
      delete parsed['config'];
      torch.push({ python: py, ...parsed, loadAverage: { start: loadStart, end: load() } });
    } else
      torch.push({ python: py, unavailable: (t.stderr || t.error?.message || '').trim().split('\n').pop() });
  }
  return { sgemm, torch };
}

async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const loadStart = load();
  const dir = await mkdtemp(join(tmpdir(), 'vzero-bench-'));
  try {
    log(`making the world (${SIZES[options.size].samples} samples) and random-weight checkpoints in ${dir}`);
    await makeFixture(dir, SIZES[options.size]);
    const configs: ConfigResult[] = [];
    for (const c of options.configs) configs.push(await runChild(c, options, dir));
    const python = options.python ? runPython(options) : undefined;
    return {
      version: 1,
      date: new Date().toISOString(),
      machine: machine(),
      options: { ...options },
      loadAverage: { start: loadStart, end: load() },
      configs,
      ...(python ? { python } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const options = parseSuiteOptions(process.argv.slice(2));
if (options.help) {
  console.log(USAGE);
} else {
  const result = await runSuite(options);
  console.log(formatReport(result));
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 2)}\n`);
}
