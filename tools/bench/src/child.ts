// One backend configuration, measured in a fresh process (backends and kernel registrations are
// process-global). The parent passes the fixture and what to run; this writes one ConfigResult
// as JSON to --out. Progress goes to stderr.
//   tsx src/child.ts --config wasm+native --fixture DIR --size default --reps 3 --out FILE [--wins] [--reference]
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  selectBackend,
  type BackendName,
  type LabelFreeSample,
  type Prompt,
  type Trajectory,
} from '@vzero/core';
import { LocalPolicy, loadCheckpoint, type LocalPolicyOptions } from '@vzero/model';
import { sample } from '@vzero/rollout';
import { replay, type ReplayViews } from '@vzero/teacher';
import { nativeKernelsReport, registerNativeKernels } from '@vzero/tfjs-native';
import { loadLabelFree } from '@vzero/world';
import { PromptFactory, train } from '@vzero/train';
import type { ConfigName, SizeName } from './options.js';
import { SIZES } from './options.js';
import { matmulShapes } from './shapes.js';
import { makeReferenceModel, DECODE_TOKENS, REFERENCE_SPEC } from '@vzero/tfjs-native/reference';
import type {
  ConfigResult,
  KernelTallyRow,
  MatmulFigure,
  ReferenceFigures,
  TrainFigures,
  WinsFigures,
} from './results.js';
import { figure, rate, type Figure } from './stats.js';
import { benchTrainConfig, type Fixture } from './fixture.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    fixture: { type: 'string' },
    size: { type: 'string', default: 'default' },
    reps: { type: 'string', default: '3' },
    out: { type: 'string' },
    wins: { type: 'boolean', default: false },
    reference: { type: 'boolean', default: false },
  },
});
const configName = values.config as ConfigName;
const sizeName = values.size as SizeName;
const size = SIZES[sizeName];
const reps = Number(values.reps);
const fixture = JSON.parse(readFileSync(join(values.fixture!, 'fixture.json'), 'utf8')) as Fixture;
const log = (line: string) => process.stderr.write(`[${configName}] ${line}\n`);
const started = performance.now();
const loadStart = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');

async function timeMs(f: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

/** One warm-up, then `reps` timed runs; each run returns its amount of work. */
async function measure(run: () => Promise<number>): Promise<Figure> {
  await run();
  const work: number[] = [];
  const ms: number[] = [];
  for (let i = 0; i < reps; i++) {
    let w = 0;
    ms.push(await timeMs(async () => (w = await run())));
    work.push(w);
  }
  return rate(work, ms);
}

type NativeInfo = NonNullable<ConfigResult['native']>;

async function setup(): Promise<{ ok: true; native: NativeInfo } | { ok: false; reason: string }> {
  const [backend, withNative] = configName.split('+') as [BackendName, string | undefined];
  try {
    await selectBackend({ prefer: backend });
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  }
  if (withNative === 'native') {
    const r = registerNativeKernels({ backends: [backend as 'cpu' | 'wasm'] });
    if (!r.available) return { ok: false, reason: `native kernels unavailable: ${r.reason}` };
  }
  const r = nativeKernelsReport();
  const kernels = backend === 'cpu' || backend === 'wasm' ? [...r.registered[backend]] : [];
  return {
    ok: true,
    native: {
      available: r.available,
      ...(r.reason ? { reason: r.reason } : {}),
      kernels,
      ...(r.blas ? { blas: `${r.blas.library} ${r.blas.coreType}` } : {}),
      ...(r.threads !== undefined ? { threads: r.threads } : {}),
    },
  };
}

async function policies(options: LocalPolicyOptions = {}) {
  const s = await loadCheckpoint(fixture.models.student);
  const t = await loadCheckpoint(fixture.models.teacher, { tokenizerId: s.tokenizer.id });
  return {
    student: new LocalPolicy(s.model, s.tokenizer, { name: 'student', ...options }),
    teacher: new LocalPolicy(t.model, t.tokenizer, { name: 'teacher', ...options }),
    dispose: () => (s.model.dispose(), t.model.dispose()),
  };
}

function factory(student: LocalPolicy, teacher: LocalPolicy) {
  return new PromptFactory(student.model.config, teacher.model.config, {
    negative: 'outside-downsampled',
    factor: 2,
    padding: 0.5,
    seed: 0,
    encode: false,
  });
}

const tokens = (groups: readonly (readonly Trajectory[])[]) =>
  groups.flat().reduce((n, t) => n + t.tokenIds.length, 0);

async function main(): Promise<ConfigResult> {
  const s = await setup();
  if (!s.ok) return { config: configName, available: false, reason: s.reason };
  const tensors: Record<string, number> = { start: tf.memory().numTensors };
  const samples: LabelFreeSample[] = (await loadLabelFree(fixture.world, 'train')).slice(0, size.samples);
  const { student, teacher, dispose } = await policies();
  const result: { -readonly [K in keyof ConfigResult]: ConfigResult[K] } = {
    config: configName,
    available: true,
    size: sizeName,
    backend: tf.getBackend(),
    native: s.native,
  };

  // Views: a fresh factory per run, so every sample is built (no cache hits), all in flight as
  // in the trainer. A sample gives 3 views (full, positive crop, negative).
  log('views');
  const perSample = await measure(async () => {
    const f = factory(student, teacher);
    await Promise.all(samples.map((x) => f.forSample(x)));
    return samples.length;
  });
  result.samplesPerSecond = perSample;
  result.viewsPerSecond = figure(perSample.samples.map((x) => x * 3));

  const f = factory(student, teacher);
  const built = await Promise.all(samples.slice(0, size.prompts).map((x) => f.forSample(x)));
  const prompts: Prompt[] = built.map((b) => b.student);
  const views = new Map<string, ReplayViews>(built.map((b) => [b.student.id, b.teacher]));
  const sampling = { n: size.g, temperature: 1, topP: 1, topK: 0, maxTokens: size.maxTokens, seed: 1 };
  let trajectories: Trajectory[] = [];

  log('rollout');
  result.rolloutTokensPerSecond = await measure(async () => {
    const groups = await sample(student, prompts, sampling);
    trajectories = groups.flat();
    return tokens(groups);
  });
  tensors['afterRollout'] = tf.memory().numTensors;

  log('teacher');
  const replayOptions = { studentTokenizerId: student.tokenizerId, negative: true };
  result.teacherTokensPerSecond = await measure(async () => {
    await replay(teacher, trajectories, views, replayOptions);
    return trajectories.reduce((n, t) => n + t.tokenIds.length, 0) * 2;
  });
  tensors['afterTeacher'] = tf.memory().numTensors;

  if (values.wins) {
    log('algorithmic wins');
    await guard('wins', async () => (result.wins = await wins(prompts, views, sampling, trajectories)));
    tensors['afterWins'] = tf.memory().numTensors;
  }
  dispose();

  log('matmul shapes');
  await guard('matmul', async () => (result.matmul = await matmuls()));
  tensors['afterMatmul'] = tf.memory().numTensors;

  log('training');
  await guard('train', async () => (result.train = await trainSteps()));
  tensors['afterTrain'] = tf.memory().numTensors;

  if (values.reference) {
    log('kernel profile of one V-Zero training step');
    await guard('trainProfile', async () => (result.trainTopKernels = await profileTrainStep()));
    log('reference transformer');
    await guard('reference', async () => (result.reference = await reference()));
    tensors['afterReference'] = tf.memory().numTensors;
  }
  result.tensors = tensors;
  if (Object.keys(errors).length) result.errors = errors;
  return result;
}

/** A failing workload is recorded and the others still run. */
const errors: Record<string, string> = {};
async function guard(name: string, run: () => Promise<unknown>): Promise<void> {
  try {
    await run();
  } catch (error) {
    errors[name] = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`${name} failed: ${errors[name]!.split('\n')[0]}`);
  }
}

async function wins(
  prompts: Prompt[],
  views: Map<string, ReplayViews>,
  sampling: { n: number; temperature: number; topP: number; topK: number; maxTokens: number; seed: number },
  trajectories: Trajectory[],
): Promise<WinsFigures> {
  const modes: [string, LocalPolicyOptions][] = [
    ['cache+share', {}],
    ['cache', { sharePrefix: false }],
    ['none', { useCache: false, sharePrefix: false }],
  ];
  const rollout: Record<string, Figure> = {};
  const teacherFig: Record<string, Figure> = {};
  for (const [mode, options] of modes) {
    const p = await policies(options);
    rollout[mode] = await measure(async () => tokens(await sample(p.student, prompts, sampling)));
    if (mode === 'cache+share') {
      rollout['cache+share, one prompt per call'] = await measure(async () =>
        tokens(await sample(p.student, prompts, { ...sampling, batchSize: 1 })),
      );
    }
    teacherFig[mode] = await measure(async () => {
      await replay(p.teacher, trajectories, views, {
        studentTokenizerId: p.student.tokenizerId,
        negative: true,
      });
      return trajectories.reduce((n, t) => n + t.tokenIds.length, 0) * 2;
    });
    p.dispose();
  }
  const r = (a: Figure | undefined, b: Figure | undefined) => (a && b ? a.median / b.median : NaN);
  return {
    rollout,
    teacher: teacherFig,
    ratios: {
      rolloutKvCache: r(rollout['cache'], rollout['none']),
      rolloutPrefixSharing: r(rollout['cache+share'], rollout['cache']),
      rolloutBatching: r(rollout['cache+share'], rollout['cache+share, one prompt per call']),
      rolloutAll: r(rollout['cache+share'], rollout['none']),
      teacherKvCache: r(teacherFig['cache'], teacherFig['none']),
      teacherPrefixSharing: r(teacherFig['cache+share'], teacherFig['cache']),
      teacherAll: r(teacherFig['cache+share'], teacherFig['none']),
    },
  };
}

async function matmuls(): Promise<MatmulFigure[]> {
  const out: MatmulFigure[] = [];
  for (const m of matmulShapes(sizeName)) {
    const a = tf.randomNormal(m.batch > 1 ? [m.batch, m.m, m.k] : [m.m, m.k]);
    const b = tf.randomNormal(
      m.batch > 1
        ? [m.batch, m.transB ? m.n : m.k, m.transB ? m.k : m.n]
        : m.transB
          ? [m.n, m.k]
          : [m.k, m.n],
    );
    const flop = 2 * m.batch * m.m * m.n * m.k;
    // Enough calls per timed run to last a few ms even on fast paths.
    const calls = Math.max(1, Math.min(20, Math.round(2e8 / flop)));
    const gflops = await measure(async () => {
      for (let i = 0; i < calls; i++) {
        const c = tf.matMul(a, b, false, m.transB);
        // Wait for the product by reading one element: reading all of it back (dataSync) copies
        // the output into a fresh JS array, which on wasm took longer than the matmul itself
        // (~30 ms for the 9 MB attention-score output against ~2.5 ms of compute).
        if (i === calls - 1) {
          const one = c.slice(new Array<number>(c.rank).fill(0), new Array<number>(c.rank).fill(1));
          await one.data();
          one.dispose();
        }
        c.dispose();
      }
      return (calls * flop) / 1e9;
    });
    tf.dispose([a, b]);
    out.push({ shape: m.label, model: m.model, gflops });
  }
  return out;
}

async function trainSteps(): Promise<TrainFigures> {
  const out = await mkdtemp(join(tmpdir(), 'vzero-bench-train-'));
  const tensorsAfterStep: number[] = [];
  try {
    const config = benchTrainConfig(fixture, size, reps + 1, out);
    const result = await train(config, {
      hooks: { onStep: () => tensorsAfterStep.push(tf.memory().numTensors), log },
    });
    result.student.model.dispose();
    const timed = result.records.slice(1); // the first step is a warm-up
    const stages = Object.keys(timed[0]?.time ?? {});
    const stageMs: Record<string, Figure> = {};
    for (const k of stages) stageMs[k] = figure(timed.map((r) => r.time[k] ?? 0));
    return {
      stepsPerSecond: figure(timed.map((r) => 1000 / (r.time['total'] ?? NaN))),
      stageMs,
      tensorsAfterStep,
      config: { prompts: size.prompts, g: size.g, maxTokens: size.maxTokens, miniBatches: size.miniBatches },
    };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

type KernelTally = KernelTallyRow[];

/**
 * Total kernel time by kernel name (tf.profile), largest first, each with its heaviest input
 * shapes: which calls of that kernel to look at next.
 */
async function tally(info: Awaited<ReturnType<typeof tf.profile>>, top = 12): Promise<KernelTally> {
  const byName = new Map<
    string,
    { ms: number; calls: number; shapes: Map<string, { ms: number; calls: number }> }
  >();
  for (const k of info.kernels) {
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    const v = byName.get(k.name) ?? { ms: 0, calls: 0, shapes: new Map() };
    v.ms += ms;
    v.calls++;
    const key = k.inputShapes.map((s) => `[${(s ?? []).join(',')}]`).join('x');
    const sv = v.shapes.get(key) ?? { ms: 0, calls: 0 };
    sv.ms += ms;
    sv.calls++;
    v.shapes.set(key, sv);
    byName.set(k.name, v);
  }
  return [...byName.entries()]
    .map(([name, v]) => {
      const [shapes, h] = [...v.shapes.entries()].sort((a, b) => b[1].ms - a[1].ms)[0]!;
      return { name, ms: v.ms, calls: v.calls, heaviest: { shapes, ms: h.ms, calls: h.calls } };
    })
    .sort((a, b) => b.ms - a.ms)
    .slice(0, top);
}

/** One more V-Zero training step (rollout, teacher, update) under tf.profile. */
async function profileTrainStep(): Promise<KernelTally> {
  const out = await mkdtemp(join(tmpdir(), 'vzero-bench-profile-'));
  try {
    const config = benchTrainConfig(fixture, size, 1, out);
    let student: { model: { dispose(): void } } | undefined;
    const info = await tf.profile(async () => {
      student = (await train(config)).student;
      return [];
    });
    student?.model.dispose();
    return await tally(info);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

async function reference(): Promise<ReferenceFigures> {
  const model = makeReferenceModel(REFERENCE_SPEC, 1);
  try {
    const stepMs: number[] = [];
    const decodeMs: number[] = [];
    for (let i = 0; i <= reps; i++) {
      const t = await timeMs(() => model.step());
      if (i > 0) stepMs.push(t);
      log(`reference step ${i}: ${t.toFixed(0)} ms`);
    }
    // Kernel-time tally of one more step: which tfjs kernels dominate.
    const topKernels = await tally(
      await tf.profile(() => {
        model.step();
      }),
    );
    // The training steps above already warmed every forward kernel up.
    for (let i = 0; i < reps; i++) {
      const t = await timeMs(() => model.decode());
      decodeMs.push(t);
      log(`reference decode ${i}: ${t.toFixed(0)} ms`);
    }
    const decodeTokens = REFERENCE_SPEC.batch * DECODE_TOKENS;
    return {
      stepMs: figure(stepMs),
      decodeMs: figure(decodeMs),
      decodeTokensPerSecond: rate(
        decodeMs.map(() => decodeTokens),
        decodeMs,
      ),
      topKernels,
    };
  } finally {
    model.dispose();
  }
}

const result = await main().catch((error: unknown): ConfigResult => ({
  config: configName,
  available: false,
  reason: `failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
}));
const final: ConfigResult = {
  ...result,
  peakRssMiB: process.resourceUsage().maxRSS / 1024,
  wallSeconds: (performance.now() - started) / 1000,
  loadAverage: {
    start: loadStart,
    end: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  },
};
writeFileSync(values.out!, JSON.stringify(final));
log(`done in ${final.wallSeconds?.toFixed(1)} s`);
