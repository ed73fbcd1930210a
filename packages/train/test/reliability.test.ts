// Issue 14: no input may destroy a model or a run, and every failure explains itself. Each
// class of careless input from the hostile-input pass, through the real CLI on real files:
// in-process (runCli) where only the message matters, in a child process where the exit code,
// a hang or a stack trace is the point.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '@vzero/model';
import { run } from './cli-run.js';
import { expectOneLineError, vzero } from './cli-process.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

let f: Fixture;
let base: string; // a finished 3-step run with checkpoints at steps 1, 2 and 3
let expected: Record<string, unknown>[]; // the step records of an uninterrupted 4-step run

function comparable(r: Record<string, unknown>) {
  const { time: _t, tokensPerSecond: _s, timestamp: _w, ...rest } = r;
  return rest;
}

async function stepRecords(runDir: string) {
  const text = await readFile(join(runDir, 'metrics.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r['event'] === undefined)
    .map(comparable);
}

async function configFile(out: string, overrides: Record<string, unknown> = {}) {
  const file = join(f.root, `config-${Math.random().toString(36).slice(2)}.json`);
  await writeFile(file, JSON.stringify(tinyConfig(f, out, { checkpointKeep: 0, ...overrides })));
  return file;
}

/** A copy of the base run to damage, and its resume to step 4. */
async function copyBase(): Promise<string> {
  const dir = join(f.root, `copy-${Math.random().toString(36).slice(2)}`);
  await cp(base, dir, { recursive: true });
  return dir;
}

const resume = async (dir: string, ...extra: string[]) =>
  run(['train', '--config', await configFile(dir, { steps: 3 }), '--resume', '--set', 'steps=4', ...extra]);

beforeAll(async () => {
  f = await makeFixture();
  base = join(f.root, 'base');
  const a = await run(['train', '--config', await configFile(base, { steps: 3, checkpointEvery: 1 })]);
  expect(a.code, a.err).toBe(0);
  const straight = join(f.root, 'straight');
  const b = await run(['train', '--config', await configFile(straight, { steps: 4, checkpointEvery: 1 })]);
  expect(b.code, b.err).toBe(0);
  expected = await stepRecords(straight);
  expect(expected.map((r) => r['step'])).toEqual([1, 2, 3, 4]);
}, 300_000);

describe('outputs never overwrite inputs', () => {
  it('train --set out=<the student checkpoint> is refused before anything is written', async () => {
    const before = await readFile(join(f.models.student, 'config.json'));
    const r = await run(['train', '--config', await configFile(f.models.student)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/out = ".*student": it is models\.student .*which this command reads/);
    expect(await readFile(join(f.models.student, 'config.json'))).toEqual(before);
    expect(existsSync(join(f.models.student, 'metrics.jsonl'))).toBe(false);
    const loaded = await loadCheckpoint(f.models.student);
    loaded.model.dispose();
  });

  it('train out inside the data folder or through a symlink to the teacher is refused', async () => {
    const inData = await run(['train', '--config', await configFile(join(f.world, 'run'))]);
    expect(inData.code).toBe(1);
    expect(inData.err).toMatch(/lies inside data\.dir/);
    const link = join(f.root, 'link-to-teacher');
    await symlink(f.models.teacher, link);
    const viaLink = await run(['train', '--config', await configFile(link)]);
    expect(viaLink.code).toBe(1);
    expect(viaLink.err).toMatch(/models\.teacher/);
  });

  it('gate --out-file equal to --in (by name, symlink or hard link) leaves the input intact', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-rel-gate-'));
    const input = join(dir, 'in.jsonl');
    const text = '{"group":"a","teacher_pos":[-1],"teacher_neg":[-2]}\n';
    await writeFile(input, text);
    await symlink(input, join(dir, 'sym.jsonl'));
    execFileSync('ln', [input, join(dir, 'hard.jsonl')]);
    for (const out of [input, join(dir, 'sym.jsonl'), join(dir, 'hard.jsonl')]) {
      const r = await run(['gate', '--in', input, '--out-file', out]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/--out-file = .*: it is --in/);
    }
    const m = await run(['gate', '--in', input, '--out-file', join(dir, 'o.jsonl'), '--metrics', input]);
    expect(m.code).toBe(1);
    expect(m.err).toMatch(/--metrics = .*: it is --in/);
    expect(await readFile(input, 'utf8')).toBe(text);
  });

  it('eval --out inside the checkpoint and pretrain --out inside the data are refused', async () => {
    const e = await run([
      'eval',
      '--checkpoint',
      f.models.student,
      '--data',
      f.world,
      '--out',
      f.models.student,
    ]);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/--out = .*--checkpoint/);
    expect(existsSync(join(f.models.student, 'report.json'))).toBe(false);
    const p = await run(['pretrain', 'student', '--data', f.world, '--out', join(f.world, 'model')]);
    expect(p.code).toBe(1);
    expect(p.err).toMatch(/--out = .*lies inside --data/);
    expect(existsSync(join(f.world, 'model'))).toBe(false);
  });

  it('world export-parquet --out-file into the split it reads is refused', async () => {
    const manifest = join(f.world, 'train', 'manifest.jsonl');
    const before = await readFile(manifest);
    const r = await run([
      'world',
      'export-parquet',
      '--data',
      f.world,
      '--split',
      'train',
      '--out-file',
      manifest,
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--out-file = .*manifest\.jsonl": it lies inside --data/);
    expect(await readFile(manifest)).toEqual(before);
  });

  it('demo --fresh refuses to delete a folder that holds more than a demo', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-rel-demo-'));
    await writeFile(join(dir, 'thesis.tex'), 'precious');
    const r = await run(['demo', '--fresh', '--out', dir, '--steps', '1']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--fresh would delete this folder, but it holds more than a demo \(thesis\.tex\)/);
    expect(await readFile(join(dir, 'thesis.tex'), 'utf8')).toBe('precious');
  });
});

describe('resume trusts only what it verified', () => {
  it('refuses a changed lr, seed or method, and accepts it with --allow-config-change (recorded)', async () => {
    const dir = await copyBase();
    const stored = await readFile(join(dir, 'config.json'), 'utf8');
    for (const change of ['optim.lr=0.5', 'seed=9', 'method=opd']) {
      const r = await resume(dir, '--set', change);
      expect(r.code, change).toBe(1);
      expect(r.err).toMatch(/the config differs from the run's config\.json \(.*(optim\.lr|seed|method)/);
      expect(r.err).toMatch(/--allow-config-change/);
      expect(await readFile(join(dir, 'config.json'), 'utf8')).toBe(stored);
    }
    const ok = await resume(dir, '--set', 'optim.lr=0.5', '--allow-config-change');
    expect(ok.code, ok.err).toBe(0);
    expect(ok.err).toMatch(/config changed on resume: .*optim\.lr: 0\.01 -> 0\.5/);
    const changes = (await readFile(join(dir, 'config-changes.jsonl'), 'utf8')).trim().split('\n');
    const record = JSON.parse(changes[changes.length - 1] as string);
    expect(record.allowed).toBe('--allow-config-change');
    expect(record.atCheckpoint).toBe(3);
    expect(record.changes).toContainEqual({ key: 'optim.lr', from: 0.01, to: 0.5 });
    expect(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).optim.lr).toBe(0.5);
  });

  it('--allow-config-change without --resume is an error', async () => {
    const r = await run(['train', '--config', await configFile(join(f.root, 'x')), '--allow-config-change']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/only applies with --resume/);
  });

  it('200 flipped bytes in the only checkpoint: resume refuses and names the file', async () => {
    const dir = await copyBase();
    for (const step of [1, 2]) await rm(join(dir, 'checkpoints', `step-00000${step}`), { recursive: true });
    const weights = join(dir, 'checkpoints', 'step-000003', 'student', 'weights.bin');
    const bytes = await readFile(weights);
    for (let i = 0; i < 200; i++) {
      const at = (i * 7919) % bytes.length;
      bytes[at] = (bytes[at] as number) ^ 0xff;
    }
    await writeFile(weights, bytes);
    const r = await resume(dir);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no intact checkpoint to resume from .*student\/weights\.bin: SHA-256 differs/);
  });
});

describe('small corruption does not make a run unresumable', () => {
  it('a truncated state.json: falls back to the newer intact checkpoint and says so', async () => {
    const dir = await copyBase();
    await truncate(join(dir, 'checkpoints', 'step-000003', 'state.json'), 10);
    const r = await resume(dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/skipping .*step-000003: state\.json: SHA-256 differs/);
    expect(r.err).toMatch(/resumed from .*step-000002 \(step 2\)/);
    expect(r.err).toMatch(/dropped 1 metric record\(s\) after step 2/);
    expect(await stepRecords(dir)).toEqual(expected);
  });

  it('a truncated latest.json: resumes from the newest folder', async () => {
    const dir = await copyBase();
    await writeFile(join(dir, 'checkpoints', 'latest.json'), '{"step": 3, "fol');
    const r = await resume(dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/latest\.json is unreadable/);
    expect(r.err).toMatch(/resumed from .*step-000003/);
    expect(await stepRecords(dir)).toEqual(expected);
  });

  it('a partial last metrics line is dropped, and said', async () => {
    const dir = await copyBase();
    const metrics = join(dir, 'metrics.jsonl');
    await writeFile(metrics, (await readFile(metrics, 'utf8')) + '{"step":4,"method":"vze');
    const r = await resume(dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/dropped 1 partial line\(s\) of .*metrics\.jsonl/);
    expect(await stepRecords(dir)).toEqual(expected);
  });

  it('a resume before the first checkpoint logs each step once', async () => {
    const dir = await copyBase();
    await rm(join(dir, 'checkpoints'), { recursive: true });
    const r = await resume(dir);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/no checkpoint yet; starting again from step 0/);
    expect(r.err).toMatch(/dropped 3 metric record\(s\) after step 0/);
    expect(await stepRecords(dir)).toEqual(expected);
  });
});

describe('checkpoint pruning', () => {
  it('keeps the newest checkpointKeep and the best by loss', async () => {
    const out = join(f.root, 'pruned');
    const r = await run([
      'train',
      '--config',
      await configFile(out, { steps: 5, checkpointEvery: 1, checkpointKeep: 2, checkpointBest: 'loss' }),
    ]);
    expect(r.code, r.err).toBe(0);
    const records = await stepRecords(out);
    const best = records.reduce((a, b) => ((b['loss'] as number) < (a['loss'] as number) ? b : a));
    const want = [...new Set([4, 5, best['step'] as number])].sort().map((s) => `step-00000${s}`);
    const have = (await readdir(join(out, 'checkpoints'))).filter((n) => n.startsWith('step-')).sort();
    expect(have).toEqual(want);
  });
});

describe('silent nonsense is said or refused', () => {
  it('rollout.n = 1 with the gate on warns that every weight is 1', async () => {
    const r = await run([
      'train',
      '--config',
      await configFile(join(f.root, 'n1'), { steps: 1, rollout: { n: 1, maxTokens: 4 } }),
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/warning: rollout\.n = 1 with method vzero: .*every weight is 1/);
  });

  it.each([
    [['eval', '--checkpoint', 'x', '--data', 'y', '--limit', '-1'], /--limit must be >= 0 \(0 means all\)/],
    [['eval', '--checkpoint', 'x', '--data', 'y', '--seed', '-1'], /--seed must be >= 0/],
    [['world', 'generate', '--out', 'x', '--seed', '-1'], /--seed must be >= 0/],
    [
      ['gate', '--in', 'x', '--out-file', 'y', '--alpha', '-1'],
      /--alpha must be >= 0 \(a negative alpha inverts the gate/,
    ],
  ])('%j is rejected with the reason', async (args, message) => {
    const r = await run(args);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(message);
  });

  it('positive teacher log-probs in vzero gate are rejected with file, line and index', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-rel-gate-'));
    const input = join(dir, 'in.jsonl');
    await writeFile(
      input,
      '{"group":"a","teacher_pos":[-1,-2],"teacher_neg":[-1,-1]}\n{"group":"a","teacher_pos":[-1,0.7],"teacher_neg":[-1,-1]}\n',
    );
    const r = await run(['gate', '--in', input, '--out-file', join(dir, 'out.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/in\.jsonl:2 teacher_pos\[1\] = 0\.7: a log-probability must be <= 0/);
    expect(existsSync(join(dir, 'out.jsonl'))).toBe(false);
  });
});

describe('in a real process: no hang, no stack trace, exit code 1', () => {
  it('--out /proc/foo fails at once for train and world generate', async () => {
    const t = await vzero(['train', '--config', await configFile('/proc/foo')], 60_000);
    expect(expectOneLineError(t)).toMatch(/\/proc\/foo: cannot create the folder for out/);
    const w = await vzero(['world', 'generate', '--out', '/proc/foo', '--n', '2'], 60_000);
    expect(expectOneLineError(w)).toMatch(/\/proc\/foo.*cannot create the folder for --out/);
  });

  it('world generate --n 1e9 is refused against the free space before writing anything', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'vzero-rel-n-')), 'world');
    const r = await vzero(['world', 'generate', '--out', out, '--split', 'train', '--n', '1e9']);
    expect(expectOneLineError(r)).toMatch(/n = 1000000000: the split needs about .* GB .* free; lower --n/);
    expect(existsSync(join(out, 'train', 'images'))).toBe(false);
  });

  it('--out naming an existing file where a folder is expected', async () => {
    const file = join(f.root, 'a-file');
    await writeFile(file, 'x');
    const r = await vzero(['train', '--config', await configFile(file)]);
    expect(expectOneLineError(r)).toMatch(/a-file: out .*: this is a file, not a folder \(ENOTDIR\)/);
    expect(await readFile(file, 'utf8')).toBe('x');
  });
});

// A small real file system for the full and read-only cases: tmpfs when this process may mount
// (root in a container with CAP_SYS_ADMIN); otherwise these tests skip and say why.
describe('full and read-only file systems (tmpfs)', () => {
  const mountDir = join(tmpdir(), `vzero-tmpfs-${process.pid}`);
  let mounted: string | undefined;
  let skipReason = '';
  const mount = (opts: string) => execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', mountDir]);

  beforeAll(async () => {
    await mkdir(mountDir, { recursive: true });
    try {
      mount('size=512k');
      mounted = mountDir;
    } catch (error) {
      skipReason = `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]})`;
    }
  });
  afterAll(async () => {
    if (mounted) execFileSync('umount', [mountDir]);
    await rm(mountDir, { recursive: true, force: true });
  });

  it('a full disk: gate and train fail with one line, and leave no half output', async (ctx) => {
    if (!mounted) return ctx.skip(skipReason);
    // Fill the tmpfs but a few KB: the config fits, a checkpoint does not.
    await writeFile(join(mountDir, 'filler'), Buffer.alloc(500 * 1024)).catch(() => {});
    const dir = await mkdtemp(join(tmpdir(), 'vzero-rel-full-'));
    const input = join(dir, 'in.jsonl');
    const line = '{"group":"a","teacher_pos":[-1,-2,-3,-4],"teacher_neg":[-2,-2,-2,-2]}\n';
    await writeFile(input, line.repeat(2000));
    const g = await vzero(['gate', '--in', input, '--out-file', join(mountDir, 'weights.jsonl')]);
    expect(expectOneLineError(g)).toMatch(
      /weights\.jsonl: cannot write: no space left on the device \(ENOSPC\)/,
    );
    expect((await readdir(mountDir)).sort()).toEqual(['filler']);

    const out = join(mountDir, 'run');
    const t = await vzero(['train', '--config', await configFile(out, { steps: 1 })], 120_000);
    expect(expectOneLineError(t)).toMatch(/no space left on the device \(ENOSPC\)/);
    const left = existsSync(join(out, 'checkpoints')) ? await readdir(join(out, 'checkpoints')) : [];
    expect(left.filter((n) => n.startsWith('step-') || n.startsWith('.tmp'))).toEqual([]);
  });

  it('a read-only file system: one line naming the path and the cause', async (ctx) => {
    if (!mounted) return ctx.skip(skipReason);
    execFileSync('mount', ['-o', 'remount,ro', mountDir]);
    try {
      const r = await vzero(['world', 'generate', '--out', join(mountDir, 'world'), '--n', '2']);
      expect(expectOneLineError(r)).toMatch(/world.*read-only file system \(EROFS\)/);
    } finally {
      execFileSync('mount', ['-o', 'remount,rw', mountDir]);
    }
  });
});
