// The toolkit's tfjs models behind the training API, driven by the project's own Tinker client
// over loopback: the server computes what the in-process model computes (log-probs, one Adam
// step, rollouts for a derived seed), the API's losses match their formulas, and repeated
// steps leak no tensors.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSeed, selectBackend, type Prompt } from '@vzero/core';
import { AdamW, LocalPolicy, clipScale, globalNorm, loadCheckpoint } from '@vzero/model';
import { ToolkitRenderer, toolkitSlots } from '@vzero/renderers';
import { ServiceClient, createTinkerServer, type Datum, type TinkerServer } from '@vzero/tinker';
import { makeView, toPromptImage } from '@vzero/views';
import { ToolkitTinkerBackend } from '../src/tinker/backend.js';
import { tinyCheckpoint } from './fixtures.js';

let ckpt: { dir: string; cleanup: () => Promise<void> };
let root: string;
let server: TinkerServer;
let backend: ToolkitTinkerBackend;
let service: ServiceClient;
let local: LocalPolicy;
let renderer: ToolkitRenderer;
let prompts: Prompt[];

// eps well above the float noise of a gradient: Adam's first step is lr * g / (|g| + eps), a sign
// function of g where |g| << eps fails, so a tiny eps would turn rounding noise into lr-sized steps.
const ADAM = {
  learning_rate: 0.01,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-4,
  weight_decay: 0.01,
  grad_clip_norm: 1,
};

async function image(seed: number, size: number, role: 'full' | 'crop') {
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 37 + seed * 101) % 256;
  return toPromptImage(makeView(rgb, size, size), role, 'both');
}

beforeAll(async () => {
  await selectBackend({ prefer: 'wasm' });
  ckpt = await tinyCheckpoint(5);
  root = await mkdtemp(join(tmpdir(), 'vzero-tinker-backend-'));
  backend = new ToolkitTinkerBackend({ baseModels: { tiny: ckpt.dir }, root });
  server = await createTinkerServer({ backend, protobuf: false });
  service = await ServiceClient.create({ baseUrl: server.url, env: {} });
  const loaded = await loadCheckpoint(ckpt.dir);
  local = new LocalPolicy(loaded.model, loaded.tokenizer);
  renderer = new ToolkitRenderer(loaded.tokenizer, toolkitSlots(loaded.model.config));
  const slots = loaded.model.config.images;
  prompts = await Promise.all(
    ['what colour is the sign ?', 'what is the sign ?'].map(async (text, i) => ({
      id: `p${i}`,
      images: await Promise.all(slots.map((s, k) => image(i * 3 + k, s.size, s.role))),
      text,
    })),
  );
}, 120_000);

afterAll(async () => {
  service?.close();
  await server?.close();
  local?.model.dispose();
  await ckpt?.cleanup();
  await rm(root, { recursive: true, force: true });
});

/** A cross_entropy datum of a prompt and response, weight `w[k]` on response token k. */
function ceDatum(prompt: Prompt, response: number[], w: number[]): Datum {
  const t = renderer.renderTraining(prompt, response);
  const weights = t.weights.map((x, i) => (x === 0 ? 0 : (w[i - t.responseStart] as number)));
  return {
    model_input: t.modelInput,
    loss_fn_inputs: {
      target_tokens: { data: t.targetTokens, dtype: 'int64', shape: [t.targetTokens.length] },
      weights: { data: weights, dtype: 'float32', shape: [weights.length] },
    },
  };
}

const responses = [
  [3, 4, 5, 6],
  [7, 8, 1],
];

describe('the toolkit model behind the training API', () => {
  it('gives the log-probs the in-process model gives, at the response positions', async () => {
    const training = await service.createLoraTrainingClient('tiny', { rank: 8 });
    const data = prompts.map((p, i) =>
      ceDatum(
        p,
        responses[i]!,
        responses[i]!.map(() => 1),
      ),
    );
    const out = await (await training.forward(data, 'cross_entropy')).result();
    const scored = await local.score(prompts.map((p, i) => ({ prompt: p, responseTokenIds: responses[i]! })));
    out.loss_fn_outputs.forEach((o, i) => {
      const start = renderer.renderTraining(prompts[i]!, responses[i]!).responseStart;
      const lp = o['logprobs']!.data.slice(start);
      expect(lp).toHaveLength(responses[i]!.length);
      lp.forEach((x, k) => expect(x).toBeCloseTo(scored[i]!.logprobs[k] as number, 5));
    });
    // cross_entropy is -sum(weights * logprobs) over every datum.
    const expected = -scored.flatMap((s) => Array.from(s.logprobs)).reduce((a, b) => a + b, 0);
    expect(out.metrics['loss:sum']).toBeCloseTo(expected, 4);
  });

  it('takes the Adam step the in-process optimizer takes (weights within float tolerance)', async () => {
    const training = await service.createLoraTrainingClient('tiny', { rank: 8 });
    const w = [
      [0.5, -1, 2, 0.25],
      [1, 1, -0.5],
    ];
    const data = prompts.map((p, i) => ceDatum(p, responses[i]!, w[i]!));
    await (await training.forwardBackward(data, 'cross_entropy')).result();
    await (await training.optimStep(ADAM)).result();
    const saved = await (await training.saveState('after-one')).result();

    // The same step in-process, on a fresh copy of the base model.
    const mine = await loadCheckpoint(ckpt.dir);
    const vars = mine.model.trainableVariables;
    const adam = new AdamW(vars, {
      beta1: 0.9,
      beta2: 0.999,
      epsilon: ADAM.eps,
      weightDecay: 0.01,
      decay: 'all',
    });
    const batch = {
      prompts: prompts.map((p) => new LocalPolicy(mine.model, mine.tokenizer).encodePrompt(p)),
      responses,
    };
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const lp = mine.model.responseLogprobs(batch);
        const weights = tf.tensor2d(
          w.map((r) => [...r, ...new Array(4 - r.length).fill(0)]),
          [2, 4],
        );
        return tf.neg(tf.sum(tf.mul(weights, lp))) as tf.Scalar;
      }, vars);
      const ordered = vars.map((v) => grads[v.name]);
      const norm = globalNorm(ordered.filter((g): g is tf.Tensor => g !== undefined));
      adam.step(ordered, ADAM.learning_rate, clipScale(norm, ADAM.grad_clip_norm));
    });
    const remote = await loadCheckpoint(join(root, saved.path.replace('tinker://', '')));
    let maxDiff = 0;
    let moved = 0;
    const base = await loadCheckpoint(ckpt.dir);
    vars.forEach((v, i) => {
      const a = v.dataSync();
      const b = (remote.model.trainableVariables[i] as tf.Variable).dataSync();
      const c = (base.model.trainableVariables[i] as tf.Variable).dataSync();
      for (let k = 0; k < a.length; k++) {
        maxDiff = Math.max(maxDiff, Math.abs((a[k] as number) - (b[k] as number)));
        moved = Math.max(moved, Math.abs((a[k] as number) - (c[k] as number)));
      }
    });
    expect(moved).toBeGreaterThan(1e-3);
    expect(maxDiff).toBeLessThan(1e-5);
    for (const m of [mine, remote, base]) m.model.dispose();
    adam.dispose();
  });

  it('computes importance_sampling and ppo as their formulas', async () => {
    const training = await service.createLoraTrainingClient('tiny', { rank: 8 });
    const t = renderer.renderTraining(prompts[0]!, responses[0]!);
    const n = t.targetTokens.length;
    const q = t.weights.map((x, i) => (x === 0 ? 0 : -1.5 - 0.1 * i));
    const adv = t.weights.map((x, i) => (x === 0 ? 0 : i % 2 === 0 ? 1.5 : -2));
    const datum: Datum = {
      model_input: t.modelInput,
      loss_fn_inputs: {
        target_tokens: { data: t.targetTokens, dtype: 'int64', shape: [n] },
        logprobs: { data: q, dtype: 'float32', shape: [n] },
        advantages: { data: adv, dtype: 'float32', shape: [n] },
      },
    };
    const is = await (await training.forward([datum], 'importance_sampling')).result();
    const lp = is.loss_fn_outputs[0]!['logprobs']!.data;
    const ratio = lp.map((x, i) => Math.exp(x - (q[i] as number)));
    const isLoss = -ratio.reduce((a, r, i) => a + r * (adv[i] as number), 0);
    expect(is.metrics['loss:sum']).toBeCloseTo(isLoss, 4);
    const ppo = await (
      await training.forward([datum], 'ppo', { clip_low_threshold: 0.7, clip_high_threshold: 1.3 })
    ).result();
    const ppoLoss = -ratio.reduce((a, r, i) => {
      const A = adv[i] as number;
      return a + Math.min(r * A, Math.min(1.3, Math.max(0.7, r)) * A);
    }, 0);
    expect(ppo.metrics['loss:sum']).toBeCloseTo(ppoLoss, 4);
    // The ratios here are far from 1, so the clip really acts.
    expect(Math.abs(ppoLoss - isLoss)).toBeGreaterThan(1e-3);
  });

  it('samples the rollouts the in-process policy makes, given the prompt seed it derives', async () => {
    const sampler = await service.createSamplingClient({ baseModel: 'tiny' });
    const options = { n: 3, temperature: 1, topP: 1, topK: 0, maxTokens: 6, seed: 11 };
    const mine = await local.sample(prompts, options);
    for (const [i, p] of prompts.entries()) {
      const out = await sampler.sample({
        prompt: renderer.render(p).modelInput,
        numSamples: 3,
        samplingParams: {
          temperature: 1,
          max_tokens: 6,
          seed: deriveSeed(11, p.id),
          stop: [...renderer.stopTokens],
        },
      });
      expect(out.sequences.map((s) => s.tokens)).toEqual(mine[i]!.map((r) => [...r.tokenIds]));
      out.sequences.forEach((s, g) =>
        s.logprobs!.forEach((x, k) => expect(x).toBeCloseTo(mine[i]![g]!.logprobs[k] as number, 5)),
      );
    }
  });

  it('rejects a loss on positions this model cannot predict, naming the field', async () => {
    const training = await service.createLoraTrainingClient('tiny', { rank: 8 });
    const d = ceDatum(prompts[0]!, responses[0]!, [1, 1, 1, 1]);
    const weights = d.loss_fn_inputs['weights']!;
    const bad: Datum = {
      ...d,
      loss_fn_inputs: { ...d.loss_fn_inputs, weights: { ...weights, data: weights.data.map(() => 1) } },
    };
    await expect((await training.forward([bad], 'cross_entropy')).result()).rejects.toThrow(/weights\[0\]/);
  });

  it('leaks no tensors across repeated forward_backward and optim_step', async () => {
    const training = await service.createLoraTrainingClient('tiny', { rank: 8 });
    const data = prompts.map((p, i) =>
      ceDatum(
        p,
        responses[i]!,
        responses[i]!.map(() => 1),
      ),
    );
    const round = async () => {
      await (await training.forwardBackward(data, 'cross_entropy')).result();
      await (await training.optimStep(ADAM)).result();
    };
    await round();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) await round();
    expect(tf.memory().numTensors).toBe(before);
  });
});
