// `vzero demo`, the README's main job: on a fresh machine it generates a small world, builds the
// starting models (or loads them when the work folder has them), evaluates the student, runs a
// short V-Zero training and evaluates again. Everything lands in one work folder.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { loadLabelled, type Split, type WorldLabelledSample } from '@vzero/world';
import { parseTrainConfig } from '../config.js';
import { evaluatePolicy, type EvalSummary } from '../evaluation.js';
import { loadPolicy, type LoadedPolicy } from '../models.js';
import { promptsForModel } from '../prompts.js';
import { runPretrain } from './pretrain.js';
import { setupTensors } from '../tensors.js';
import { runTrain } from './train.js';
import { runWorldGenerate } from './world.js';

export const DEMO_DEFAULTS = {
  out: 'runs/demo',
  steps: 30,
  seed: 0,
  /**
   * The starting models are pre-trained (with labels, standing in for the paper's pretrained
   * models) on a world of their own (seed + 1); V-Zero then trains label-free on another world.
   */
  pretrainWorld: { train: 2000, val: 200 },
  world: { train: 256, val: 64, test: 200, 'test-counter-prior': 200 },
  teacherSteps: 600,
  studentSteps: 300,
};

const EVAL_SPLITS = ['test', 'test-counter-prior'] as const;

export interface DemoOptions {
  readonly out: string;
  readonly steps: number;
  readonly seed: number;
  readonly fresh?: boolean;
  /** Smaller worlds and fewer pre-training steps (tests); defaults are DEMO_DEFAULTS. */
  readonly scale?: Partial<
    Pick<typeof DEMO_DEFAULTS, 'pretrainWorld' | 'world' | 'teacherSteps' | 'studentSteps'>
  >;
}

export async function runDemo(o: DemoOptions, log: (line: string) => void): Promise<string> {
  const started = performance.now();
  const scale = { ...DEMO_DEFAULTS, ...o.scale };
  await setupTensors(log);
  if (o.fresh) await discardDemoFolder(o.out);
  await ensureWritableDir(o.out, '--out');
  const worldDir = join(o.out, 'world');
  const pretrainDir = join(o.out, 'pretrain-world');
  const models = { teacher: join(o.out, 'models', 'teacher'), student: join(o.out, 'models', 'student') };

  log(`1/4 worlds -> ${pretrainDir} (pre-training) and ${worldDir} (V-Zero and evaluation)`);
  await ensureWorld(pretrainDir, scale.pretrainWorld, o.seed + 1, log);
  await ensureWorld(worldDir, scale.world, o.seed, log);

  for (const role of ['teacher', 'student'] as const) {
    if (existsSync(join(models[role], 'config.json'))) {
      log(`2/4 ${role}: reusing ${models[role]}`);
      continue;
    }
    log(`2/4 pretrain ${role} -> ${models[role]}`);
    await runPretrain(
      {
        role,
        data: pretrainDir,
        out: models[role],
        steps: role === 'teacher' ? scale.teacherSteps : scale.studentSteps,
        batchSize: 16,
        lr: 3e-3,
        seed: o.seed,
        evalSplit: 'val',
        evalLimit: 0,
      },
      log,
    );
  }

  log('3/4 evaluate the starting models');
  const teacher = await loadPolicy(models.teacher, 'teacher', 'teacher');
  const base = await loadPolicy(models.student, 'student', 'student');
  const splits = await Promise.all(EVAL_SPLITS.map((s) => loadLabelled(worldDir, s)));
  const teacherAcc = await evalSplits(teacher, splits, o.seed);
  const before = await evalSplits(base, splits, o.seed);
  teacher.model.dispose();
  base.model.dispose();

  log(`4/4 V-Zero training, ${o.steps} steps`);
  const runDir = join(o.out, 'vzero');
  await rm(runDir, { recursive: true, force: true });
  const config = parseTrainConfig({
    method: 'vzero',
    seed: o.seed,
    steps: o.steps,
    out: runDir,
    checkpointEvery: 0,
    data: { dir: worldDir, split: 'train' },
    models,
    eval: { splits: [] },
  });
  const result = await runTrain(config, { log });
  const after = await evalSplits(result.student, splits, o.seed);
  result.student.model.dispose();

  const minutes = (performance.now() - started) / 60000;
  const pct = (e: EvalSummary) => `${(e.accuracy * 100).toFixed(1)}%`;
  const rows = [
    ['teacher (full image + positive crop)', ...teacherAcc.map(pct)],
    ['student before (full image only)', ...before.map(pct)],
    [`student after V-Zero (${o.steps} steps)`, ...after.map(pct)],
  ];
  const n = splits.map((s) => s.length);
  const table = [
    `| model | ${EVAL_SPLITS.map((s, i) => `${s} (n ${n[i]})`).join(' | ')} |`,
    `|---|${EVAL_SPLITS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const report = `${table}\n\nwork folder ${o.out}; ${minutes.toFixed(1)} min in all; metrics in ${join(runDir, 'metrics.jsonl')}`;
  await writeFileAtomic(join(o.out, 'demo.md'), report + '\n');
  await writeFileAtomic(
    join(o.out, 'demo.json'),
    JSON.stringify({ splits: EVAL_SPLITS, teacher: teacherAcc, before, after, minutes }, null, 2) + '\n',
  );
  return report;
}

/** What a demo work folder holds; --fresh deletes a folder only when it holds nothing else. */
const DEMO_ENTRIES = new Set(['world', 'pretrain-world', 'models', 'vzero', 'demo.md', 'demo.json']);

async function discardDemoFolder(out: string): Promise<void> {
  if (!existsSync(out)) return;
  const entries = await readdir(out).catch(() => {
    throw new InvalidInputError('--out', out, 'is not a folder; --fresh deletes a demo work folder only');
  });
  const foreign = entries.filter((e) => !DEMO_ENTRIES.has(e));
  if (foreign.length > 0) {
    throw new InvalidInputError(
      '--out',
      out,
      `--fresh would delete this folder, but it holds more than a demo (${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? ', ...' : ''}); choose another --out`,
    );
  }
  await rm(out, { recursive: true, force: true });
}

/** Generates the missing splits of a world (a split is reused when its manifest exists). */
async function ensureWorld(
  dir: string,
  sizes: Partial<Record<Split, number>>,
  seed: number,
  log: (l: string) => void,
) {
  for (const [split, n] of Object.entries(sizes) as [Split, number][]) {
    if (existsSync(join(dir, split, 'manifest.jsonl'))) {
      log(`  ${split}: reusing ${join(dir, split)}`);
      continue;
    }
    await runWorldGenerate({ out: dir, split, n, seed }, log);
  }
}

async function evalSplits(
  loaded: LoadedPolicy,
  splits: readonly (readonly WorldLabelledSample[])[],
  seed: number,
): Promise<EvalSummary[]> {
  const { promptFor } = promptsForModel(loaded.model.config, seed);
  const out: EvalSummary[] = [];
  for (const samples of splits) out.push(await evaluatePolicy(loaded.policy, samples, promptFor));
  return out;
}
