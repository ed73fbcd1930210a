// `vzero demo`, the README's main job: on a fresh machine it generates a small world, builds the
// starting models (or loads them when the work folder has them), evaluates the student, runs a
// short V-Zero training and evaluates again. Everything lands in one work folder.
import { existsSync } from 'node:fs';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { loadLabelled, type WorldLabelledSample } from '@vzero/world';
import { parseTrainConfig, type TrainConfig } from '../config.js';
import { correctRow, evaluatePolicy, type EvalSummary } from '../evaluation/accuracy.js';
import { formatDifference } from '../ablate/markdown.js';
import { loadPolicy, type LoadedPolicy } from '../models.js';
import { promptsForModel } from '../prompts.js';
import { pairedBootstrap, type PairedDifference } from '@vzero/bench';
import { ensurePretrainWorlds, ensureWorld } from '../ablate/run.js';
import { ablatePreset, type AblatePreset } from '../ablate/presets.js';
import { pretrainRole } from '../ablate/pretrain.js';
import { createProgress, createStagedProgress, type StageSpec } from '../progress.js';
import { setupTensors, type TensorSetup } from '../tensors.js';
import { runTrain } from './train.js';
import { RESOLVED_CONFIG_FILE, saveResolvedConfig } from '../run/resolved-config.js';
import { addNegativeModes, formatNegativeModes } from '../tracking/negative-modes.js';
import { DEFAULT_CROP_PADDING, NEGATIVE_VIEW_FALLBACKS } from '../view-settings.js';
import { checkStartingTeacher } from '../ablate/starting-check.js';
import { z } from 'zod';
import { flag, seedValue } from './options.js';

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

/** `vzero demo`'s options. */
export const DEMO_OPTIONS = z.strictObject({
  out: flag(
    z.string().default(DEMO_DEFAULTS.out),
    'work folder (reused: existing world and models are loaded)',
    { value: 'dir' },
  ),
  steps: flag(z.number().int().min(1).default(DEMO_DEFAULTS.steps), 'V-Zero training steps', { value: 'n' }),
  seed: flag(seedValue().default(DEMO_DEFAULTS.seed), 'seed', { value: 'k' }),
  fresh: flag(z.boolean().optional(), 'discard the work folder and rebuild everything'),
});

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

/** The demo's stages, in order. */
const STAGES = {
  worlds: 'worlds',
  teacher: 'pretrain the teacher',
  student: 'pretrain the student',
  check: 'check the teacher',
  before: 'evaluate the starting models',
  train: 'V-Zero training',
  after: 'evaluate the trained student',
} as const;

const isEval = (label: string) => label.startsWith('eval ');

/**
 * The demo's stages, with the work each does when nothing is reused. Seconds per unit are the
 * README's measured run's stage times (the 2-core machine, quiet, read from its work folder's
 * file times; docs/PERFORMANCE.md): worlds 80 s for 7912 images, the teacher 92 s for 1200
 * steps, the student 116 s for 1500, the teacher check and the starting evaluations 13 s for
 * 200 + 1600 questions, the 180 V-Zero steps 68 s, the last evaluation 9 s for 800 questions.
 * They weight the overall bar; its time left comes from the pace measured as the demo goes.
 */
export function demoStages(
  o: Pick<DemoOptions, 'steps' | 'scale'>,
  preset: AblatePreset,
  checksTeacher: boolean,
): StageSpec[] {
  const scale = { pretrainWorld: DEMO_DEFAULTS.pretrainWorld, world: DEMO_DEFAULTS.world, ...o.scale };
  const pretrainWorlds = 1 + (preset.world.teacherConfig ? 1 : 0) + (preset.models.student.warmup ? 1 : 0);
  const perWorld = scale.pretrainWorld.train + scale.pretrainWorld.val;
  const questions = EVAL_SPLITS.reduce((a, s) => a + scale.world[s], 0);
  const steps = (role: 'teacher' | 'student', override: number | undefined) => {
    const m = preset.models[role];
    return (override ?? m.steps) + (m.warmup ? (override ?? m.warmup.steps) : 0);
  };
  const pretrain = (label: string) => label.startsWith('pretrain ');
  return [
    {
      name: STAGES.worlds,
      units: pretrainWorlds * perWorld + Object.values(scale.world).reduce((a, n) => a + n, 0),
      secondsPerUnit: 0.01,
    },
    {
      name: STAGES.teacher,
      units: steps('teacher', scale.teacherSteps),
      secondsPerUnit: 0.077,
      counts: pretrain,
    },
    {
      name: STAGES.student,
      units: steps('student', scale.studentSteps),
      secondsPerUnit: 0.077,
      counts: pretrain,
    },
    ...(checksTeacher
      ? [{ name: STAGES.check, units: scale.pretrainWorld.val, secondsPerUnit: 0.01, counts: isEval }]
      : []),
    { name: STAGES.before, units: 2 * questions, secondsPerUnit: 0.007 },
    { name: STAGES.train, units: o.steps, secondsPerUnit: 0.38, counts: (l) => l.startsWith('train ') },
    { name: STAGES.after, units: questions, secondsPerUnit: 0.011 },
  ];
}

/** One line on the tensor backend; `vzero doctor` has the details (every backend tried, why). */
export function formatBackendLine(setup: TensorSetup): string {
  const n = setup.native;
  const native = n.available
    ? `native kernels on (${n.blas?.library ?? 'BLAS'}, ${n.threads ?? 1} threads)`
    : 'native kernels off';
  return `tensor backend ${setup.backend.chosen}, ${native}; vzero doctor says why and what else was tried`;
}

export async function runDemo(o: DemoOptions, log: (line: string) => void): Promise<string> {
  const started = performance.now();
  const preset = ablatePreset(DEMO_DEFAULTS.preset);
  const scale = { pretrainWorld: DEMO_DEFAULTS.pretrainWorld, world: DEMO_DEFAULTS.world, ...o.scale };
  // The options as --config reads them (test scales are not options).
  const options = { out: o.out, steps: o.steps, seed: o.seed, ...(o.fresh ? { fresh: true } : {}) };
  log(formatBackendLine(await setupTensors()));
  if (o.fresh) await discardDemoFolder(o.out);
  await ensureWritableDir(o.out, '--out');
  const configFile = await saveResolvedConfig(o.out, options);
  log(
    `options saved in ${configFile} (--config reads them back); each stage saves its own beside its output`,
  );
  const worldDir = join(o.out, 'world');
  const models = { teacher: join(o.out, 'models', 'teacher'), student: join(o.out, 'models', 'student') };
  // The starting teacher must read the crop on its val questions against the prior (checked on
  // val, never on the test splits); below the bar it is pre-trained longer, or the demo stops.
  const check = o.scale === undefined ? preset.checks?.teacher : undefined;

  const progress = createStagedProgress('demo', demoStages(o, preset, check !== undefined), { log });
  // The stages' own logs, less what the demo says once: each stage's resolved config (saved
  // beside its output) and the training's negative-view summary (in the report below).
  const say = (line: string) => {
    if (line.startsWith('resolved config (') || line.startsWith('negative views as made')) return;
    progress.log(line);
  };
  try {
    const worlds = await progress.stage(STAGES.worlds, async () => {
      say(`pre-training worlds (seed ${o.seed + 1}) and ${worldDir} (V-Zero and evaluation, seed ${o.seed})`);
      const sized = { ...preset, world: { ...preset.world, pretrain: scale.pretrainWorld } };
      const made = await ensurePretrainWorlds(o.out, sized, o.seed + 1);
      await ensureWorld(worldDir, scale.world, o.seed, preset.world.config);
      return made;
    });

    for (const role of ['teacher', 'student'] as const) {
      await progress.stage(role === 'teacher' ? STAGES.teacher : STAGES.student, async () => {
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
          say(`${role}: reusing ${models[role]}`);
          return;
        }
        say(`${role} -> ${models[role]}`);
        await rm(models[role], { recursive: true, force: true });
        await pretrainRole(role, spec, worlds[role], models[role], o.seed, say, worlds.warmup);
        await writeFileAtomic(stamp, made);
      });
    }
    if (check) {
      await progress.stage(STAGES.check, () =>
        checkStartingTeacher(models.teacher, preset.models.teacher, worlds.teacher, o.seed, check, say),
      );
    }

    const splits = await Promise.all(EVAL_SPLITS.map((s) => loadLabelled(worldDir, s)));
    const { teacherAcc, before } = await progress.stage(STAGES.before, async () => {
      const teacher = await loadPolicy(models.teacher, 'teacher', 'teacher');
      const base = await loadPolicy(models.student, 'student', 'student');
      try {
        return {
          teacherAcc: await evalSplits(teacher, splits, o.seed, 'teacher'),
          before: await evalSplits(base, splits, o.seed, 'student before'),
        };
      } finally {
        teacher.model.dispose();
        base.model.dispose();
      }
    });

    const runDir = join(o.out, 'vzero');
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
    const result = await progress.stage(STAGES.train, async () => {
      await rm(runDir, { recursive: true, force: true });
      return runTrain(trainConfig, { log: say });
    });
    const negativeModes = addNegativeModes(result.records.map((r) => r.negativeModes));
    const after = await progress.stage(STAGES.after, async () => {
      try {
        return await evalSplits(result.student, splits, o.seed, 'student after');
      } finally {
        result.student.model.dispose();
      }
    });
    return await writeDemoReport(o, {
      splits,
      teacherAcc,
      before,
      after,
      negativeModes,
      trainConfig,
      runDir,
      started,
    });
  } finally {
    progress.stop();
  }
}

async function writeDemoReport(
  o: DemoOptions,
  r: {
    readonly splits: readonly (readonly WorldLabelledSample[])[];
    readonly teacherAcc: readonly EvalSummary[];
    readonly before: readonly EvalSummary[];
    readonly after: readonly EvalSummary[];
    readonly negativeModes: Record<string, number>;
    readonly trainConfig: TrainConfig;
    readonly runDir: string;
    readonly started: number;
  },
): Promise<string> {
  const { splits, teacherAcc, before, after, negativeModes, trainConfig, runDir, started } = r;
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
