// The toolkit's side of the PyTorch peer of the default V-Zero training step (torch/vzero_step.py).
//   npx tsx tools/bench/src/vzero-peer.ts export <dir>      one step's inputs and results -> <dir>/step.json
//   npx tsx tools/bench/src/vzero-peer.ts time <dir> <steps> the trainer's own step, per stage (JSON line)
//   npx tsx tools/bench/src/vzero-peer.ts profile <dir>     kernel tallies per stage (tf.profile)
// `export` builds the suite's fixture (its world and random-weight student and teacher with the
// real presets) in <dir>, then runs one step the way the trainer's distillStep does, through the
// same packages: prompts, G rollouts (KV-cached sampling), both teacher replays (one score call,
// prefix shared), the reference gate, and the two mini-batch updates (k1 PG loss, AdamW with
// clipping). It writes every input the peer needs (weights, image patches, token ids, the
// rollouts) and the toolkit's results (teacher log-probs, gate weights, the student's
// log-probs, each mini-batch's loss and gradient norm), so the peer can check it computes the
// same. `time` runs `train()` (what `vzero train` runs) on that fixture and prints the median
// per-stage times of steps 2..N (step 1 warms up).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { deriveSeed, type Prompt, type Trajectory } from '@vzero/core';
import { computeGate, gateConfig } from '@vzero/gate';
import { patchify, slotTokens, type VisionLanguageModel } from '@vzero/model';
import { opdLoss } from '@vzero/opd-loss';
import { padTrajectories, sample } from '@vzero/rollout';
import { replay, type ReplayViews } from '@vzero/teacher';
import {
  AdamW,
  PromptFactory,
  loadPolicy,
  setupTensors,
  train,
  trainLossConfig,
  trainOptimizerConfig,
} from '@vzero/train';
import { loadLabelFree } from '@vzero/world';
import { benchTrainConfig, makeFixture } from './fixture.js';
import { SIZES } from './options.js';

const size = SIZES.default;

function weights(model: VisionLanguageModel) {
  return Object.fromEntries(
    model.getWeights().map((w) => [w.name, { shape: w.tensor.shape, data: Array.from(w.tensor.dataSync()) }]),
  );
}

function images(model: VisionLanguageModel, prompt: Prompt) {
  const p = model.config.patchSize;
  return prompt.images.map((img, slot) => {
    const s = model.config.images[slot];
    if (!s || !img.pixels) throw new Error(`prompt ${prompt.id}: image ${slot} has no slot or pixels`);
    return {
      id: img.id,
      role: s.role,
      tokens: slotTokens(model.config, slot),
      patches: Array.from(patchify(img.pixels, s.size, p, `${prompt.id}.images[${slot}]`)),
    };
  });
}

type Stage = <T>(name: string, fn: () => Promise<T> | T) => Promise<T>;

/** Runs each stage under tf.profile and prints its wall time, kernel time and top kernels. */
const profiled: Stage = async (name, fn) => {
  const t0 = performance.now();
  let result: Awaited<ReturnType<typeof fn>> | undefined;
  const info = await tf.profile(async () => {
    result = await fn();
    return [];
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { ms: number; calls: number }>();
  let kernelMs = 0;
  // tf.profile also lists ops and scopes around their kernels ("fusedMatMul__op", "unnamed
  // scope"): only kernels are counted, so nothing is counted twice.
  const kernels = info.kernels.filter((k) => !k.name.endsWith('__op') && k.name !== 'unnamed scope');
  for (const k of kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    kernelMs += ms;
    const e = byName.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    byName.set(k.name, e);
  }
  const top = [...byName]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 8)
    .map(([n, e]) => `${n} ${e.ms.toFixed(1)}/${e.calls}`)
    .join(', ');
  // The heaviest input shapes of the heaviest kernel.
  const first = [...byName].sort((a, b) => b[1].ms - a[1].ms)[0]?.[0];
  const shapes = new Map<string, number>();
  for (const k of kernels) {
    if (k.name !== first || typeof k.kernelTimeMs !== 'number') continue;
    const key = (k.inputShapes ?? []).map((sh) => `[${(sh ?? []).join(',')}]`).join('x');
    shapes.set(key, (shapes.get(key) ?? 0) + k.kernelTimeMs);
  }
  const heavy = [...shapes]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 4)
    .map(([key, ms]) => `${key} ${ms.toFixed(1)}`)
    .join(', ');
  console.log(
    `${name}: wall ${wall.toFixed(0)} ms (profiled), ${kernels.length} kernels taking ${kernelMs.toFixed(0)} ms; top (ms/calls): ${top}; ${first} by input shapes (ms): ${heavy}`,
  );
  return result as Awaited<ReturnType<typeof fn>>;
};
const plain: Stage = async (_name, fn) => fn();

async function exportStep(dir: string, profile = false): Promise<void> {
  await mkdir(dir, { recursive: true });
  const fixture = await makeFixture(dir, size);
  const config = benchTrainConfig(fixture, size, 1, join(dir, 'run'));
  await setupTensors();
  const student = await loadPolicy(config.models.student, 'models.student', 'student');
  const teacher = await loadPolicy(config.models.teacher, 'models.teacher', 'teacher', student.tokenizer.id);
  const factory = new PromptFactory(student.model.config, teacher.model.config, {
    negative: config.views.negative,
    factor: config.views.factor,
    padding: config.views.padding,
    seed: deriveSeed(config.seed, 'views'),
    encode: false,
    cropSize: config.views.cropSize,
  });
  const samples = (await loadLabelFree(config.data.dir, config.data.split)).slice(0, size.prompts);
  const built = await Promise.all(samples.map((s) => factory.forSample(s)));
  // profile: one unprofiled warm-up step, then one under tf.profile; export: one step.
  if (profile) await oneStep(plain);
  await oneStep(profile ? profiled : plain);
  student.model.dispose();
  teacher.model.dispose();

  async function oneStep(stage: Stage): Promise<void> {
    const groups = await stage('rollout', () =>
      sample(
        student.policy,
        built.map((b) => b.student),
        {
          n: size.g,
          temperature: config.rollout.temperature,
          topP: config.rollout.topP,
          topK: config.rollout.topK,
          maxTokens: size.maxTokens,
          seed: deriveSeed(config.seed, 'rollout:1'),
        },
      ),
    );
    const trajectories: Trajectory[] = groups.flat();
    const views = new Map<string, ReplayViews>(built.map((b) => [b.student.id, b.teacher]));
    const scores = await stage('teacher', () =>
      replay(teacher.policy, trajectories, views, {
        studentTokenizerId: student.tokenizer.id,
        negative: true,
      }),
    );
    const gate = computeGate(
      trajectories.map((tr, i) => ({
        group: tr.groupId,
        positive: scores[i]?.positive as Float32Array,
        negative: scores[i]?.negative as Float32Array,
        mask: tr.mask,
      })),
      gateConfig(config.gate.preset),
    );
    // The update, as the trainer's updateInMiniBatches: one pass in mini-batches of consecutive rows.
    const lossConfig = trainLossConfig(config);
    const optim = trainOptimizerConfig(config);
    const initialStudent = weights(student.model);
    const optimizer = new AdamW(student.model.trainableVariables, optim);
    const promptById = new Map(built.map((b) => [b.student.id, b.student]));
    const parts = Math.min(size.miniBatches, trajectories.length);
    const miniBatches = Array.from({ length: parts }, (_, p) => {
      const lo = Math.floor((p * trajectories.length) / parts);
      const hi = Math.floor(((p + 1) * trajectories.length) / parts);
      return Array.from({ length: hi - lo }, (_, i) => lo + i);
    });
    const updates = await stage('update', () =>
      miniBatches.map((rows) => {
        const chunk = rows.map((r) => trajectories[r] as Trajectory);
        const padded = padTrajectories(chunk, { padId: student.tokenizer.padId });
        const T = padded.length;
        const B = chunk.length;
        const teacherRows = new Float32Array(B * T);
        rows.forEach((r, b) => teacherRows.set((scores[r]?.positive as Float32Array).subarray(0, T), b * T));
        const batch = student.policy.batch(
          chunk.map((tr) => promptById.get(tr.promptId) as Prompt),
          chunk.map((tr) => tr.tokenIds),
        );
        return tf.tidy(() => {
          const constants = {
            oldLogprobs: tf.tensor2d(padded.logprobs, [B, T]),
            teacherLogprobs: tf.tensor2d(teacherRows, [B, T]),
            mask: tf.tensor2d(padded.mask, [B, T]),
            weights: tf.tensor1d(rows.map((r) => gate.weights[r] as number)),
          };
          let studentLogprobs: number[] = [];
          const { value, grads } = tf.variableGrads(() => {
            const sl = student.model.responseLogprobs(batch);
            studentLogprobs = Array.from(sl.dataSync());
            return opdLoss({ studentLogprobs: sl, ...constants }, lossConfig);
          }, student.model.trainableVariables);
          const loss = value.dataSync()[0] as number;
          const gradNorm = optimizer.apply(grads);
          return { rows, T, loss, gradNorm, studentLogprobs };
        });
      }),
    );
    optimizer.dispose();
    if (profile) return;
    const encode = (p: Prompt, model: VisionLanguageModel, policy: typeof student.policy) => ({
      id: p.id,
      tokenIds: policy.encodePrompt(p).tokenIds,
      images: images(model, p),
    });
    const out = {
      size,
      tokenizer: {
        padId: student.tokenizer.padId,
        eosId: student.tokenizer.eosId,
        size: student.tokenizer.size,
      },
      student: { config: student.model.config, weights: initialStudent, updated: weights(student.model) },
      teacher: { config: teacher.model.config, weights: weights(teacher.model) },
      prompts: built.map((b) => ({
        student: encode(b.student, student.model, student.policy),
        positive: encode(b.teacher.positive, teacher.model, teacher.policy),
        negative: encode(b.teacher.negative as Prompt, teacher.model, teacher.policy),
      })),
      trajectories: trajectories.map((tr, i) => ({
        promptId: tr.promptId,
        groupId: tr.groupId,
        tokenIds: tr.tokenIds,
        logprobs: Array.from(tr.logprobs),
        mask: Array.from(tr.mask),
        positive: Array.from(scores[i]?.positive ?? []),
        negative: Array.from(scores[i]?.negative ?? []),
      })),
      gate: {
        config: gateConfig(config.gate.preset),
        scores: Array.from(gate.scores),
        weights: Array.from(gate.weights),
      },
      loss: lossConfig,
      optim,
      updates,
    };
    await writeFile(join(dir, 'step.json'), JSON.stringify(out));
    console.log(
      `wrote ${join(dir, 'step.json')}: ${trajectories.length} rollouts, losses ${updates.map((u) => u.loss).join(', ')}`,
    );
  }
}

async function timeSteps(dir: string, steps: number): Promise<void> {
  const fixture = await makeFixture(dir, size);
  const stages: Record<string, number[]> = {};
  await train(benchTrainConfig(fixture, size, steps, join(dir, `time-run-${process.pid}`)), {
    hooks: {
      onStep: (r) => {
        if (r.step === 1) return;
        for (const [k, v] of Object.entries(r.time)) (stages[k] ??= []).push(v);
      },
    },
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  console.log(
    JSON.stringify({
      stack: 'tfjs',
      threads: Number(process.env['VZERO_NATIVE_THREADS'] ?? 0) || undefined,
      medianMs: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, median(v)])),
      totalMs: stages['total'],
    }),
  );
}

const [mode, dir, steps] = process.argv.slice(2);
if (mode === 'export' && dir) await exportStep(dir);
else if (mode === 'profile' && dir) await exportStep(dir, true);
else if (mode === 'time' && dir) await timeSteps(dir, Number(steps ?? 6));
else {
  console.error('usage: vzero-peer.ts export <dir> | time <dir> <steps> | profile <dir>');
  process.exit(2);
}
