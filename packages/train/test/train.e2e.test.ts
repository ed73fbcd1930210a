import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadCheckpoint } from '@vzero/model';
import { parseTrainConfig } from '../src/config.js';
import { train } from '../src/trainer.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture();
});

async function weightsOf(dir: string): Promise<Float32Array> {
  const { model } = await loadCheckpoint(dir);
  const parts = model.getWeights().map((w) => w.tensor.dataSync() as Float32Array);
  model.dispose();
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('train, end to end on tiny real models', () => {
  it.each(['vzero', 'opd', 'sft'] as const)(
    '%s runs a few steps, changes the student and logs finite losses',
    async (method) => {
      const out = join(f.root, `run-${method}`);
      const before = await weightsOf(f.models.student);
      const tensors = tf.memory().numTensors;
      const result = await train(parseTrainConfig(tinyConfig(f, out, { method })));
      expect(result.records.map((r) => r.step)).toEqual([1, 2, 3]);
      for (const r of result.records) {
        expect(Number.isFinite(r.loss)).toBe(true);
        expect(r.gradNorm).toBeGreaterThan(0);
      }
      if (method === 'vzero') {
        const gate = result.records[0]?.gate;
        expect(gate?.sequences).toBe(9);
        expect(gate?.groups).toBe(3);
        expect(gate?.weightMin).toBeGreaterThanOrEqual(0);
        expect(gate?.weightMax).toBeLessThanOrEqual(2);
      } else {
        expect(result.records[0]?.gate).toBeUndefined();
      }
      const after = await weightsOf(join(out, 'student'));
      let changed = 0;
      for (let i = 0; i < before.length; i++) if (before[i] !== after[i]) changed++;
      expect(changed).toBeGreaterThan(before.length / 2);
      result.student.model.dispose();
      // Only the loaded models' own weights may remain: the loop itself leaks nothing.
      expect(tf.memory().numTensors).toBe(tensors);
    },
  );

  it('supervised fine-tuning lowers its loss on a fixed batch', async () => {
    const out = join(f.root, 'run-sft-fixed');
    const result = await train(
      parseTrainConfig(
        tinyConfig(f, out, { method: 'sft', steps: 12, optim: { promptsPerStep: 6, lr: 3e-2 } }),
      ),
    );
    const losses = result.records.map((r) => r.loss);
    expect(losses.at(-1)).toBeLessThan((losses[0] as number) * 0.8);
    result.student.model.dispose();
  });

  it('grpo learns from verifiable rewards once the student answers', async () => {
    // A random student never answers, so every reward is 0 and GRPO has nothing to learn from;
    // a few SFT steps first teach it the answer format.
    const sftOut = join(f.root, 'run-sft-for-grpo');
    const sft = await train(
      parseTrainConfig(
        tinyConfig(f, sftOut, { method: 'sft', steps: 15, optim: { promptsPerStep: 6, lr: 3e-2 } }),
      ),
    );
    sft.student.model.dispose();
    const result = await train(
      parseTrainConfig(
        tinyConfig(f, join(f.root, 'run-grpo'), {
          method: 'grpo',
          models: { student: join(sftOut, 'student') },
          rollout: { n: 6, maxTokens: 12, temperature: 1.5 },
        }),
      ),
    );
    const rewards = result.records.map((r) => r.reward as number);
    for (const r of rewards) expect(r >= 0 && r <= 1).toBe(true);
    // Some group had mixed rewards, so some step had a gradient.
    expect(Math.max(...result.records.map((r) => r.gradNorm))).toBeGreaterThan(0);
    result.student.model.dispose();
  });

  it('the label-free paths never read the training labels; the baselines need them', async () => {
    const g = await makeFixture({ train: 4 });
    await rm(join(g.world, 'train', 'labels.jsonl'));
    for (const method of ['vzero', 'opd'] as const) {
      const result = await train(parseTrainConfig(tinyConfig(g, join(g.root, method), { method, steps: 1 })));
      expect(result.records).toHaveLength(1);
      result.student.model.dispose();
    }
    await expect(
      train(parseTrainConfig(tinyConfig(g, join(g.root, 'sft'), { method: 'sft', steps: 1 }))),
    ).rejects.toThrow(/labels\.jsonl/);
    // The answer span is located from the response format: it needs no labels either.
    const span = await train(
      parseTrainConfig(
        tinyConfig(g, join(g.root, 'vzero-answer'), { method: 'vzero', steps: 1, gate: { span: 'answer' } }),
      ),
    );
    const record = span.records[0];
    expect(record?.gate?.sequences).toBe(record?.gate?.groups === undefined ? -1 : 3 * record.gate.groups);
    expect(record?.answerSpanFallbacks).toBeGreaterThanOrEqual(0);
    expect(record?.answerSpanFallbacks).toBeLessThanOrEqual(record?.gate?.sequences ?? -1);
    span.student.model.dispose();
  });

  it('refuses to overwrite an existing run folder', async () => {
    const out = join(f.root, 'run-twice');
    const r = await train(parseTrainConfig(tinyConfig(f, out, { steps: 1 })));
    r.student.model.dispose();
    expect(existsSync(join(out, 'metrics.jsonl'))).toBe(true);
    await expect(train(parseTrainConfig(tinyConfig(f, out, { steps: 1 })))).rejects.toThrow(
      /already holds a run/,
    );
  });
});
