// `vzero ablate`: worlds -> starting models -> every arm x seed -> JSON + markdown report.
// Checkpoints are chosen on val only: each run is evaluated every `evalEvery` steps on val, test
// and test-counter-prior, the step with the best val accuracy is selected, and the test numbers
// of that step are reported. Finished runs are reused, so an interrupted ablation continues.
import { existsSync } from 'node:fs';
import pLimit from 'p-limit';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidInputError, deriveSeed, type LabelFreeSample } from '@vzero/core';
import {
  generateWorld,
  loadLabelled,
  resolveWorldConfig,
  type WorldConfig,
  type Split,
  type WorldLabelledSample,
} from '@vzero/world';
import { parseTrainConfig, type TrainConfigInput } from '../config.js';
import { evaluatePolicy, type EvalSummary } from '../evaluation/accuracy.js';
import { loadPolicy, type LoadedPolicy } from '../models.js';
import { createProgress } from '../progress.js';
import { setupTensors } from '../tensors.js';
import { train, type EvalRecord, type EvalStudent, type StepRecord } from '../trainer.js';
import { localEvalStudent } from '../records.js';
import { isRemoteStudent } from '../remote/student.js';
import { trainRemote } from '../remote/train.js';
import { ablatePreset, type AblateArm, type AblatePreset } from './presets.js';
import { pretrainRole } from './pretrain.js';
import { checkStartingTeacher } from './starting-check.js';
import { summarise, type AblateReport, type CurvePoint, type RunResult } from './report.js';
import { linkableFrom, renderMarkdown } from './markdown.js';
import { runArmInProcess, stopRunProcesses } from './worker-client.js';
import { loadPlugins } from '../methods/plugins.js';
import { DEFAULT_CROP_PADDING, NEGATIVE_VIEW_FALLBACKS } from '../view-settings.js';
import { EvalPrompts } from '../evaluation/prompts.js';
import { addNegativeModes, type NegativeModeCounts } from '../tracking/negative-modes.js';

export const EVAL_SPLITS = ['val', 'test', 'test-counter-prior'] as const;
export type EvalSplit = (typeof EVAL_SPLITS)[number];

export interface AblateOptions {
  /** Preset name (see ABLATE_PRESETS) or a preset object. */
  readonly preset: string | AblatePreset;
  /** Work folder: worlds, models, one folder per run. */
  readonly out: string;
  /** Where RESULTS.md and results/<preset>.json go. */
  readonly docs: string;
  /** Seeds per arm (default: the preset's). */
  readonly seeds?: number;
  /** Use these starting models instead of pre-training (e.g. test fixtures). */
  readonly models?: { readonly student: string; readonly teacher: string };
  /** Use this world (with train, val, test and test-counter-prior splits) instead of generating one. */
  readonly world?: string;
  /**
   * A world seed other than the preset's: fresh worlds (comparison seed K, pre-training seed
   * K + 1) and freshly pre-trained models, to confirm the results on data no development run
   * used. Its report goes to results/<preset>-world<K>.{json,md}; RESULTS.md (the preset's own
   * seed) lists every such confirmation it finds beside its own numbers.
   */
  readonly worldSeed?: number;
  /** The command line that made the report, as the report should quote it. */
  readonly command?: string;
  /**
   * Runs whose student is at a training service (models.student: tinker://...) that may go at
   * once (default 1): their heavy work is at the service. In-process runs go one at a time
   * whatever this is (they share this process's tensor engine). The report does not depend on it.
   */
  readonly concurrency?: number;
  /**
   * In-process runs that may go at once, each in a process of its own (default 1: one at a time,
   * in this process). A run's numbers do not depend on it. It pays where there are more cores
   * than one run's kernels use (they take every core by default): on 2 cores, --jobs 2 measured
   * 1.00-1.11x (docs/PERFORMANCE.md, "Ablation runs at once").
   */
  readonly jobs?: number;
}

/**
 * The preset on world seed `worldSeed` (comparison seed K, pre-training seed K + 1); the preset
 * itself when that is its own seed or none is given.
 */
export function onWorldSeed(named: AblatePreset, worldSeed: number | undefined): AblatePreset {
  if (worldSeed !== undefined && !(Number.isInteger(worldSeed) && worldSeed >= 0)) {
    throw new InvalidInputError('--world-seed', worldSeed, 'expected an integer >= 0');
  }
  if (worldSeed === undefined || worldSeed === named.world.seed) return named;
  return { ...named, world: { ...named.world, seed: worldSeed, pretrainSeed: worldSeed + 1 } };
}

export interface AblateOutput {
  readonly report: AblateReport;
  readonly json: string;
  readonly markdown: string;
}

export async function runAblate(o: AblateOptions, log: (line: string) => void): Promise<AblateOutput> {
  const started = performance.now();
  const named = typeof o.preset === 'string' ? ablatePreset(o.preset) : o.preset;
  // A spec's plug-ins (loaded already when it was read from a file): its arms may name their methods.
  await loadPlugins(named.plugins ?? [], { field: `preset ${named.name}: plugins` });
  const preset = onWorldSeed(named, o.worldSeed);
  const confirming = preset !== named;
  const seeds = o.seeds ?? preset.seeds;
  if (!Number.isInteger(seeds) || seeds < 1)
    throw new InvalidInputError('--seeds', seeds, 'expected an integer >= 1');
  const concurrency = o.concurrency ?? 1;
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new InvalidInputError('--concurrency', concurrency, 'expected an integer >= 1');
  const jobs = o.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1)
    throw new InvalidInputError('--jobs', jobs, 'expected an integer >= 1');
  const setup = await setupTensors(log);
  await mkdir(o.out, { recursive: true });

  // 1. Worlds.
  const world = o.world ?? join(o.out, 'world');
  if (!o.world) {
    log(`ablate ${preset.name}: world -> ${world}`);
    await ensureWorld(world, preset.world.main, preset.world.seed, preset.world.config);
  }
  const models = o.models ?? {
    teacher: join(o.out, 'models', 'teacher'),
    student: join(o.out, 'models', 'student'),
  };
  if (!o.models) {
    log(`ablate ${preset.name}: pre-training worlds -> ${o.out}`);
    const worlds = await ensurePretrainWorlds(o.out, preset, preset.world.pretrainSeed);
    for (const role of ['teacher', 'student'] as const) {
      // Reused only when built from the same spec and worlds (a changed preset pre-trains anew).
      const stamp = join(models[role], 'pretrain-spec.json');
      // The teacher's crops (padding, negative fallbacks) are part of what it was trained on.
      const spec = JSON.stringify({
        spec: preset.models[role],
        world: preset.world,
        role,
        ...(role === 'teacher'
          ? { views: { padding: DEFAULT_CROP_PADDING, fallback: NEGATIVE_VIEW_FALLBACKS } }
          : {}),
      });
      if (existsSync(stamp) && (await readFile(stamp, 'utf8')) === spec) {
        log(`${role}: reusing ${models[role]}`);
      } else {
        await rm(models[role], { recursive: true, force: true });
        await pretrainRole(role, preset.models[role], worlds[role], models[role], 0, log, worlds.warmup);
        await writeFile(stamp, spec);
      }
      // Checked on reuse too: the bar may be new, or stricter, since the model was made.
      const check = role === 'teacher' ? preset.checks?.teacher : undefined;
      if (check) {
        await checkStartingTeacher(models.teacher, preset.models.teacher, worlds.teacher, 0, check, log);
        await writeFile(stamp, spec);
      }
    }
  }

  const splits = Object.fromEntries(
    await Promise.all(EVAL_SPLITS.map(async (s) => [s, await loadLabelled(world, s)] as const)),
  ) as Record<EvalSplit, WorldLabelledSample[]>;

  // 3. The starting models on every split (the teacher with the positive and the negative view).
  const teacher = await loadPolicy(models.teacher, 'models.teacher', 'teacher');
  const startingTeacher = {
    positive: await evalAll(teacher, splits, 'positive'),
    negative: await evalAll(teacher, splits, 'negative'),
  };
  teacher.model.dispose();
  const base = await loadPolicy(models.student, 'models.student', 'student');
  const baseEval = await evalAll(base, splits, 'student');
  base.model.dispose();
  log(
    `starting models: teacher test ${pct(startingTeacher.positive.test)} (negative view ${pct(startingTeacher.negative.test)}), student test ${pct(baseEval.test)}, counter-prior ${pct(baseEval['test-counter-prior'])}`,
  );

  // 4. Every arm x seed: in-process runs `jobs` at a time (more than one: each in a process of its
  // own), remote ones up to `concurrency` at once; results keep the spec's order whatever order
  // they finish in.
  const trained = preset.arms.filter((a) => a.method !== 'base');
  const planned = trained.flatMap((arm) => Array.from({ length: seeds }, (_, seed) => ({ arm, seed })));
  const remoteJobs = planned.filter((j) => isRemoteArm(preset, j.arm)).length;
  if (concurrency > 1 && remoteJobs === 0)
    log(`--concurrency ${concurrency}: no arm's student is at a training service; runs go one at a time`);
  const local = pLimit(jobs);
  const remote = pLimit(concurrency);
  const parallel = (concurrency > 1 && remoteJobs > 1) || jobs > 1;
  const ctx: RunContext = { out: o.out, world, models, splits, baseEval, parallel };
  let begun = 0;
  // One failed run ends the ablation: the runs still going in processes of their own stop too.
  const runs: RunResult[] = await Promise.all(
    planned.map(({ arm, seed }) => {
      const isRemote = isRemoteArm(preset, arm);
      return (isRemote ? remote : local)(async () => {
        log(`run ${++begun}/${planned.length}: ${arm.id} seed ${seed}`);
        if (isRemote || jobs === 1) return runArm(arm, seed, preset, ctx, log);
        // A finished run is read here; only a run to make costs a process.
        return (
          (await finishedRun(runPlan(arm, seed, preset, ctx), log)) ??
          runArmInProcess(arm, seed, preset, ctx, log)
        );
      });
    }),
  ).catch(async (error: unknown) => {
    await stopRunProcesses();
    throw error;
  });

  const report = summarise({
    preset,
    seeds,
    backend: `${setup.backend.chosen}${setup.native.available ? ' + native kernels' : ''}`,
    minutes: (performance.now() - started) / 60000,
    ...(o.command !== undefined ? { command: o.command } : {}),
    starting: {
      teacher: startingTeacher,
      student: baseEval,
    },
    runs,
    splitSizes: Object.fromEntries(EVAL_SPLITS.map((s) => [s, splits[s].length])) as Record<
      EvalSplit,
      number
    >,
  });
  const stem = confirming ? `${preset.name}-world${preset.world.seed}` : preset.name;
  const json = join(o.docs, 'results', `${stem}.json`);
  const markdown = confirming ? join(o.docs, 'results', `${stem}.md`) : join(o.docs, 'RESULTS.md');
  await mkdir(join(o.docs, 'results'), { recursive: true });
  await writeFile(json, JSON.stringify(report, null, 2) + '\n');
  const confirmations = confirming ? [] : await readConfirmations(join(o.docs, 'results'), preset.name);
  await writeFile(
    markdown,
    renderMarkdown(
      report,
      confirming ? `${stem}.json` : `results/${stem}.json`,
      confirmations,
      linkableFrom(dirname(markdown)),
    ),
  );
  log(`ablate ${preset.name}: ${report.minutes.toFixed(1)} min; ${markdown}, ${json}`);
  return { report, json, markdown };
}

export interface RunContext {
  readonly out: string;
  readonly world: string;
  readonly models: { readonly student: string; readonly teacher: string };
  readonly splits: Record<EvalSplit, WorldLabelledSample[]>;
  readonly baseEval: Record<EvalSplit, EvalSummary>;
  /** Other runs go at the same time: progress as plain lines (bars would fight for the line). */
  readonly parallel: boolean;
}

/** The arm's training config keys, the spec's `train` with the arm's own merged over it. */
const armTrain = (preset: AblatePreset, arm: AblateArm): TrainConfigInput =>
  merge(preset.train, arm.train ?? {});

/** Whether the arm's student is at a training service (its models.student is tinker://...). */
function isRemoteArm(preset: AblatePreset, arm: AblateArm): boolean {
  const student = armTrain(preset, arm).models?.student;
  return typeof student === 'string' && isRemoteStudent({ models: { student } as never });
}

/** A run's folder, training config and reuse key. */
function runPlan(arm: AblateArm, seed: number, preset: AblatePreset, ctx: RunContext) {
  const dir = join(ctx.out, 'runs', `${arm.id}-seed${seed}`);
  const remote = isRemoteArm(preset, arm);
  const raw = merge(armTrain(preset, arm), {
    method: arm.method as TrainConfigInput['method'],
    seed,
    steps: preset.steps,
    out: dir,
    checkpointEvery: 0,
    data: { dir: ctx.world, split: 'train' },
    // A student at a training service stays there; the teacher is the ablation's.
    models: remote ? { teacher: ctx.models.teacher } : ctx.models,
    eval: { splits: [...EVAL_SPLITS], every: preset.evalEvery },
  });
  // A finished run is reused only when it was made with the same training config, worlds and
  // starting-model specs (a changed preset reruns it).
  const key = JSON.stringify({
    raw,
    world: preset.world,
    models: preset.models,
    evalEvery: preset.evalEvery,
  });
  return { dir, resultFile: join(dir, 'result.json'), remote, raw, key };
}

/** The run's result when it is already made with these settings (results written before runs recorded their settings are reused with a note). */
async function finishedRun(
  { resultFile, key }: Pick<ReturnType<typeof runPlan>, 'resultFile' | 'key'>,
  log: (line: string) => void,
): Promise<RunResult | undefined> {
  if (!existsSync(resultFile)) return undefined;
  const done = JSON.parse(await readFile(resultFile, 'utf8')) as RunResult;
  if (done.key === undefined || done.key === key) {
    log(
      `  reusing ${resultFile}${done.key === undefined ? ' (written before runs recorded their settings: not checked)' : ''}`,
    );
    return done;
  }
  log(`  ${resultFile} was made with other settings: running again`);
  return undefined;
}

export async function runArm(
  arm: AblateArm,
  seed: number,
  preset: AblatePreset,
  ctx: RunContext,
  log: (line: string) => void,
): Promise<RunResult> {
  const armId = arm.id;
  const plan = runPlan(arm, seed, preset, ctx);
  const { dir, resultFile, remote, raw, key } = plan;
  const done = await finishedRun(plan, log);
  if (done) return done;
  await rm(dir, { recursive: true, force: true });
  const config = parseTrainConfig(raw, `preset ${preset.name} arm ${armId}`);

  // Training time excludes evaluation: the clock runs over the steps only.
  let trainMs = 0;
  const points = new Map<
    number,
    { seconds: number; acc: Partial<Record<EvalSplit, number>>; correct: Partial<Record<EvalSplit, string>> }
  >();
  const gateStats: StepRecord['gate'][] = [];
  const negativeModes: NegativeModeCounts[] = [];
  const evaluate = async (student: EvalStudent, split: string, step: number): Promise<EvalRecord> => {
    const s = split as EvalSplit;
    // The local starting student is evaluated once for all runs; a service's, by each run.
    const summary =
      step === 0 && !remote
        ? ctx.baseEval[s]
        : await evalSplit(
            student,
            ctx.splits[s],
            'student',
            `eval ${armId} seed ${seed} ${s} (step ${step})`,
            ctx.parallel,
          );
    const point = points.get(step) ?? { seconds: trainMs / 1000, acc: {}, correct: {} };
    point.acc[s] = summary.accuracy;
    if (summary.correct !== undefined) point.correct[s] = summary.correct;
    points.set(step, point);
    // Per-question results stay in the run's result, not in every metrics line.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { correct, ...numbers } = summary;
    return { event: 'eval', step, split, ...numbers };
  };
  const progress = createProgress(`${armId} seed ${seed}`, preset.steps, process.stderr, ctx.parallel);
  const hooks = {
    evaluate,
    onStep: (r: StepRecord) => {
      trainMs += r.time['total'] ?? 0;
      if (r.gate) gateStats.push(r.gate);
      if (r.negativeModes) negativeModes.push(r.negativeModes);
      progress.update(r.step, { loss: r.loss });
    },
    onEval: (e: EvalRecord) => {
      if (e.step > 0)
        log(`  ${armId} seed ${seed} step ${e.step} ${e.split}: ${(e.accuracy * 100).toFixed(1)}%`);
    },
  };
  if (remote) await trainRemote(config, { hooks });
  else (await train(config, { hooks })).student.model.dispose();
  progress.stop();
  const curve: CurvePoint[] = [...points.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([step, p]) => ({
      step,
      seconds: p.seconds,
      val: p.acc.val ?? Number.NaN,
      test: p.acc.test ?? Number.NaN,
      counterPrior: p.acc['test-counter-prior'] ?? Number.NaN,
      ...(p.correct.test !== undefined && p.correct['test-counter-prior'] !== undefined
        ? { correct: { test: p.correct.test, counterPrior: p.correct['test-counter-prior'] } }
        : {}),
    }));
  const gate =
    gateStats.length > 0
      ? {
          weightStd: mean(gateStats.map((g) => g?.weightStd ?? 0)),
          fractionDeltaPositive: mean(gateStats.map((g) => g?.fractionDeltaPositive ?? 0)),
          deltaMean: mean(gateStats.map((g) => g?.deltaMean ?? 0)),
        }
      : undefined;
  const run: RunResult = {
    arm: armId,
    seed,
    curve,
    trainSeconds: trainMs / 1000,
    ...(gate ? { gate } : {}),
    ...(negativeModes.length ? { negativeModes: addNegativeModes(negativeModes) } : {}),
    key,
  };
  await writeFile(resultFile, JSON.stringify(run, null, 2) + '\n');
  return run;
}

/**
 * The labelled worlds the starting models are pre-trained on, in `out`: the student's (the
 * preset's world settings with its own overrides, if any), the teacher's (with its own overrides, if any) and the student's
 * warm-up world (if its spec has one). Each is reused when it was made with the same settings.
 */
export async function ensurePretrainWorlds(
  out: string,
  preset: AblatePreset,
  seed: number,
): Promise<{ student: string; teacher: string; warmup?: string }> {
  const { config, teacherConfig, studentConfig, pretrain } = preset.world;
  const student = join(out, 'pretrain-world');
  await ensureWorld(student, pretrain, seed, { ...config, ...studentConfig });
  const teacher = teacherConfig ? join(out, 'pretrain-world-teacher') : student;
  if (teacherConfig) await ensureWorld(teacher, pretrain, seed, { ...config, ...teacherConfig });
  const warmupSpec = preset.models.student.warmup;
  if (!warmupSpec) return { student, teacher };
  const warmup = join(out, 'pretrain-world-warmup');
  await ensureWorld(warmup, pretrain, seed, { ...config, ...warmupSpec.world });
  return { student, teacher, warmup };
}

/** Confirmation reports (results/<preset>-world<K>.json) beside the preset's own, by world seed. */
async function readConfirmations(dir: string, name: string): Promise<AblateReport[]> {
  const pattern = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-world(\\d+)\\.json$`);
  const files = (await readdir(dir)).filter((f) => pattern.test(f)).sort();
  const out: AblateReport[] = [];
  for (const f of files) out.push(JSON.parse(await readFile(join(dir, f), 'utf8')) as AblateReport);
  return out;
}

/** Generates the splits a folder lacks, or holds with another size, seed or settings. */
export async function ensureWorld(
  dir: string,
  sizes: Readonly<Partial<Record<Split, number>>>,
  seed: number,
  config: AblatePreset['world']['config'],
): Promise<void> {
  for (const [split, n] of Object.entries(sizes) as [Split, number][]) {
    const stamp = join(dir, split, 'world.json');
    if (existsSync(stamp)) {
      const made = JSON.parse(await readFile(stamp, 'utf8')) as {
        n?: number;
        seed?: number;
        config?: unknown;
      };
      // Reused only when made with the same size, seed and settings (a changed preset regenerates).
      // Both sides resolved: a world made before a setting existed was made with its default.
      const sameConfig =
        JSON.stringify(resolveWorldConfig(made.config as Partial<WorldConfig>)) ===
        JSON.stringify(resolveWorldConfig(config));
      if (made.n === n && made.seed === seed && sameConfig) continue;
    }
    await rm(join(dir, split), { recursive: true, force: true });
    const progress = createProgress(`world ${split}`, n);
    await generateWorld({ out: dir, split, n, seed, ...config }, { onProgress: (d) => progress.update(d) });
    progress.stop();
  }
}

type View = 'student' | 'positive' | 'negative';

async function evalAll(
  loaded: LoadedPolicy,
  splits: Record<EvalSplit, WorldLabelledSample[]>,
  view: View,
): Promise<Record<EvalSplit, EvalSummary>> {
  const out: Partial<Record<EvalSplit, EvalSummary>> = {};
  for (const s of EVAL_SPLITS)
    out[s] = await evalSplit(localEvalStudent(loaded), splits[s], view, `eval ${view} ${s}`);
  return out as Record<EvalSplit, EvalSummary>;
}

/** Views of the evaluation questions, built once in this process for every run and step. */
const evalPrompts = new EvalPrompts();

async function evalSplit(
  loaded: EvalStudent,
  samples: readonly WorldLabelledSample[],
  view: View,
  label: string,
  plain = false,
): Promise<EvalSummary> {
  const slots = loaded.imageSlots;
  const factory = evalPrompts.factory(slots, view === 'student' ? undefined : slots, {
    negative: 'outside-downsampled',
    factor: 2,
    padding: DEFAULT_CROP_PADDING,
    seed: deriveSeed(0, 'views'),
    encode: loaded.encodeImages,
  });
  const progress = createProgress(label, samples.length, process.stderr, plain);
  try {
    return await evaluatePolicy(loaded.policy, samples, (s) => promptFor(s), {
      items: true,
      onProgress: (done) => progress.update(done),
    });
  } finally {
    progress.stop();
  }
  async function promptFor(s: WorldLabelledSample) {
    if (view === 'student') return factory.student(s);
    if (view === 'positive') return factory.teacherPositive(s);
    // The views need no answers: hand forSample the sample without them.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { answer, answerIndex, facts, ...free } = s;
    const { teacher } = await factory.forSample(free as LabelFreeSample);
    return teacher.negative as NonNullable<typeof teacher.negative>;
  }
}

/** Merges config objects one level per section (later wins). */
function merge(a: TrainConfigInput, b: TrainConfigInput): TrainConfigInput {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object'
        ? { ...(cur as object), ...(v as object) }
        : v;
  }
  return out as TrainConfigInput;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const pct = (e: EvalSummary) => `${(e.accuracy * 100).toFixed(1)}%`;
