// `vzero demo`, the README's main job: on a fresh machine it generates a small world, builds the
// starting models (or loads them when the work folder has them), evaluates the student, runs a
// short V-Zero training and evaluates again. Everything lands in one work folder.
import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { loadLabelled, type WorldLabelledSample } from '@vzero/world';
import { parseTrainConfig } from '../config.js';
import { correctRow, evaluatePolicy, type EvalSummary } from '../evaluation.js';
import { formatDifference } from '../ablate/markdown.js';
import { loadPolicy, type LoadedPolicy } from '../models.js';
import { promptsForModel } from '../prompts.js';
import { pairedBootstrap, type PairedDifference } from '@vzero/bench';
import { ensurePretrainWorlds, ensureWorld } from '../ablate/run.js';
import { ablatePreset } from '../ablate/presets.js';
import { pretrainRole } from '../ablate/pretrain.js';
import { createProgress } from '../progress.js';
import { setupTensors } from '../tensors.js';
import { runTrain } from './train.js';
import { RESOLVED_CONFIG_FILE, formatResolvedConfig, saveResolvedConfig } from '../resolved-config.js';
import { addNegativeModes, formatNegativeModes } from '../tracking/negative-modes.js';
import { DEFAULT_CROP_PADDING, NEGATIVE_VIEW_FALLBACKS } from '../view-settings.js';
import { checkStartingTeacher } from '../ablate/starting-check.js';

export const DEMO_DEFAULTS = {
  out: 'runs/demo',
  steps: 180,
  seed: 0,
  /**
   * The world, starting models and training settings of the main comparison (docs/RESULTS.md);
   * the demo runs one seed of V-Zero on them, three times as long as the comparison's 60 steps
   * (three passes over its 512 prompts): at 60 steps one seed's counter-prior gain ranged from
   * -1 to +26 points over the development seeds, at 180 it was +20 to +24
   * (docs/results/faithful.md). The starting models are pre-trained (with labels,
   * standing in for the paper's pretrained models) on a world of their own (seed + 1); V-Zero
   * then trains label-free on another world (seed).
   */
  preset: 'paper-table' as const,
  pretrainWorld: { train: 2000, val: 200 },
  world: { train: 512, test: 400, 'test-counter-prior': 400 },
};

const EVAL_SPLITS = ['test', 'test-counter-prior'] as const;

export interface DemoOptions {
  readonly out: string;
  readonly steps: number;
  readonly seed: number;
  readonly fresh?: boolean;
  /** Smaller worlds and fewer pre-training steps (tests); defaults are DEMO_DEFAULTS and the preset's. */
  readonly scale?: {
    readonly pretrainWorld?: { readonly train: number; readonly val: number };
    readonly world?: { readonly train: number; readonly test: number; readonly 'test-counter-prior': number };
    readonly teacherSteps?: number;
    readonly studentSteps?: number;
  };
}

export async function runDemo(o: DemoOptions, log: (line: string) => void): Promise<string> {
  const started = performance.now();
  const preset = ablatePreset(DEMO_DEFAULTS.preset);
  const scale = { pretrainWorld: DEMO_DEFAULTS.pretrainWorld, world: DEMO_DEFAULTS.world, ...o.scale };
  // The options as --config reads them (test scales are not options).
  const options = { out: o.out, steps: o.steps, seed: o.seed, ...(o.fresh ? { fresh: true } : {}) };
  log(formatResolvedConfig('demo', options));
  await setupTensors(log);
  if (o.fresh) await discardDemoFolder(o.out);
  await ensureWritableDir(o.out, '--out');
  await saveResolvedConfig(o.out, options);
  const worldDir = join(o.out, 'world');
  const models = { teacher: join(o.out, 'models', 'teacher'), student: join(o.out, 'models', 'student') };

  log(
    `1/4 worlds -> ${o.out}: pre-training worlds (seed ${o.seed + 1}) and ${worldDir} (V-Zero and evaluation)`,
  );
  const sized = { ...preset, world: { ...preset.world, pretrain: scale.pretrainWorld } };
  const worlds = await ensurePretrainWorlds(o.out, sized, o.seed + 1);
  await ensureWorld(worldDir, scale.world, o.seed, preset.world.config);

  for (const role of ['teacher', 'student'] as const) {
    const steps = role === 'teacher' ? scale.teacherSteps : scale.studentSteps;
    const base = preset.models[role];
    // Test scales shrink the warm-up with the main phase.
    const spec = {
      ...base,
      ...(steps !== undefined ? { steps } : {}),
      ...(steps !== undefined && base.warmup ? { warmup: { ...base.warmup, steps } } : {}),
    };
    // Reused only when made from the same spec and, for the teacher, the same crops.
    const stamp = join(models[role], 'demo-spec.json');
    const made = JSON.stringify({
      spec,
      seed: o.seed,
      ...(role === 'teacher'
        ? { views: { padding: DEFAULT_CROP_PADDING, fallback: NEGATIVE_VIEW_FALLBACKS } }
        : {}),
    });
    if (
      existsSync(join(models[role], 'accuracy.json')) &&
      existsSync(stamp) &&
      (await readFile(stamp, 'utf8')) === made
    ) {
      log(`2/4 ${role}: reusing ${models[role]}`);
      continue;
    }
    log(`2/4 pretrain ${role} -> ${models[role]}`);
    await rm(models[role], { recursive: true, force: true });
    await pretrainRole(role, spec, worlds[role], models[role], o.seed, log, worlds.warmup);
    await writeFileAtomic(stamp, made);
  }
  // The starting teacher must read the crop on its val questions against the prior (checked on
  // val, never on the test splits); below the bar it is pre-trained longer, or the demo stops.
  const check = o.scale === undefined ? preset.checks?.teacher : undefined;
  if (check) {
    await checkStartingTeacher(models.teacher, preset.models.teacher, worlds.teacher, o.seed, check, log);
  }

  log('3/4 evaluate the starting models');
  const teacher = await loadPolicy(models.teacher, 'teacher', 'teacher');
  const base = await loadPolicy(models.student, 'student', 'student');
  const splits = await Promise.all(EVAL_SPLITS.map((s) => loadLabelled(worldDir, s)));
  const teacherAcc = await evalSplits(teacher, splits, o.seed, 'teacher');
  const before = await evalSplits(base, splits, o.seed, 'student before');
  teacher.model.dispose();
  base.model.dispose();

  log(`4/4 V-Zero training, ${o.steps} steps`);
  const runDir = join(o.out, 'vzero');
  await rm(runDir, { recursive: true, force: true });
  const trainConfig = parseTrainConfig({
    ...preset.train,
    method: 'vzero',
    seed: o.seed,
    steps: o.steps,
    out: runDir,
    checkpointEvery: 0,
    data: { dir: worldDir, split: 'train' },
    models,
    eval: { splits: [] },
  });
  const result = await runTrain(trainConfig, { log });
  const negativeModes = addNegativeModes(result.records.map((r) => r.negativeModes));
  const after = await evalSplits(result.student, splits, o.seed, 'student after');
  result.student.model.dispose();

  // After minus before on the same questions: a paired bootstrap over the questions.
  const change = EVAL_SPLITS.map((_, i) =>
    pairedBootstrap([correctRow(after[i]?.correct ?? '')], [correctRow(before[i]?.correct ?? '')], {
      seed: o.seed,
    }),
  );
  const minutes = (performance.now() - started) / 60000;
  const pct = (e: EvalSummary) => `${(e.accuracy * 100).toFixed(1)}%`;
  const rows = [
    ['teacher (full image + positive crop)', ...teacherAcc.map(pct)],
    ['student before (full image only)', ...before.map(pct)],
    [`student after V-Zero (${o.steps} steps)`, ...after.map(pct)],
    ['after minus before, 95% interval', ...change.map(formatDifference)],
  ];
  const n = splits.map((s) => s.length);
  const table = [
    `| model | ${EVAL_SPLITS.map((s, i) => `${s} (n ${n[i]})`).join(' | ')} |`,
    `|---|${EVAL_SPLITS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  const verdicts = EVAL_SPLITS.map((s, i) => {
    const d = change[i] as PairedDifference;
    return `${s}: ${d.measurable ? (d.mean > 0 ? 'measurably better' : 'measurably worse') : 'no measurable change'}`;
  }).join('; ');
  const report = `${table}\n\nafter V-Zero, ${verdicts} (paired bootstrap over the questions; measurable = the interval excludes 0)\nnegative views as made (requested ${trainConfig.views.negative}): ${formatNegativeModes(negativeModes)}\nwork folder ${o.out}; ${minutes.toFixed(1)} min in all; metrics in ${join(runDir, 'metrics.jsonl')}`;
  await writeFileAtomic(join(o.out, 'demo.md'), report + '\n');
  await writeFileAtomic(
    join(o.out, 'demo.json'),
    JSON.stringify(
      { splits: EVAL_SPLITS, teacher: teacherAcc, before, after, change, negativeModes, minutes },
      null,
      2,
    ) + '\n',
  );
  return report;
}

/** What a demo work folder holds; --fresh deletes a folder only when it holds nothing else. */
const DEMO_ENTRIES = new Set([
  'world',
  'pretrain-world',
  'pretrain-world-teacher',
  'pretrain-world-warmup',
  'models',
  'vzero',
  'demo.md',
  'demo.json',
  RESOLVED_CONFIG_FILE,
]);

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

async function evalSplits(
  loaded: LoadedPolicy,
  splits: readonly (readonly WorldLabelledSample[])[],
  seed: number,
  what: string,
): Promise<EvalSummary[]> {
  const { promptFor } = promptsForModel(loaded.model.config, seed);
  const out: EvalSummary[] = [];
  for (const [i, samples] of splits.entries()) {
    const progress = createProgress(`eval ${what} ${EVAL_SPLITS[i]}`, samples.length);
    out.push(
      await evaluatePolicy(loaded.policy, samples, promptFor, {
        items: true,
        onProgress: (done) => progress.update(done),
      }),
    );
    progress.stop();
  }
  return out;
}
