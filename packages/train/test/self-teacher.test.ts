import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { loadLabelFree } from '@vzero/world';
import { parseTrainConfig } from '../src/config.js';
import { loadPolicy } from '../src/models.js';
import { PromptFactory } from '../src/prompts.js';
import { SelfTeacher } from '../src/self-teacher.js';
import { train } from '../src/trainer.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 4 });
});

const settings = {
  negative: 'outside-downsampled' as const,
  factor: 2,
  padding: 0.5,
  seed: 1,
  encode: false,
};

describe('self-teacher (the student own weights reading the crop)', () => {
  it('a frozen copy scores exactly what the student weights score with the same views', async () => {
    const student = await loadPolicy(f.models.student, 'models.student', 'student');
    const self = await SelfTeacher.load(f.models.student, 'frozen', 0.5);
    const prompts = new PromptFactory(student.model.config, undefined, {
      ...settings,
      teacherCropOnly: true,
    });
    const [sample] = await loadLabelFree(f.world, 'train');
    const built = await prompts.forSample(sample!);
    // The teacher's prompts hold the crop (or the negative view) alone, in the student's slot.
    expect(built.teacher.positive.images.map((i) => i.role)).toEqual(['full']);
    expect(built.teacher.positive.images[0]?.id).not.toBe(built.student.images[0]?.id);
    const response = student.policy.encodeResponse('the star is red . answer red', 'response');
    const requests = [built.teacher.positive, built.teacher.negative!].map((prompt) => ({
      prompt,
      responseTokenIds: response,
    }));
    const mine = await student.policy.score(requests);
    const theirs = await self.policy.score(requests);
    for (let i = 0; i < requests.length; i++) {
      expect(Array.from(theirs[i]!.logprobs)).toEqual(Array.from(mine[i]!.logprobs));
    }
    // The frozen copy does not move.
    const before = self.model.getWeights()[0]!.tensor.dataSync().slice();
    student.model.setWeights(
      new Map(student.model.getWeights().map((w) => [w.name, tf.add(w.tensor, 1) as tf.Tensor])),
    );
    self.update(student.model);
    expect(Array.from(self.model.getWeights()[0]!.tensor.dataSync())).toEqual(Array.from(before));
    student.model.dispose();
    self.dispose();
  });

  it('an EMA moves towards the student: r * teacher + (1 - r) * student', async () => {
    const student = await loadPolicy(f.models.student, 'models.student', 'student');
    const self = await SelfTeacher.load(f.models.student, 'ema', 0.9);
    const teacherBefore = self.model.getWeights().map((w) => w.tensor.dataSync().slice());
    // Student = teacher + 1 everywhere: the EMA must move every weight by exactly 0.1.
    const shifted = new Map(
      student.model.getWeights().map((w) => [w.name, tf.add(w.tensor, 1) as tf.Tensor]),
    );
    student.model.setWeights(shifted);
    for (const t of shifted.values()) t.dispose();
    const tensors = tf.memory().numTensors;
    self.update(student.model);
    self.update(student.model);
    expect(tf.memory().numTensors).toBe(tensors);
    // Twice: t + 0.1, then 0.9 (t + 0.1) + 0.1 (t + 1) = t + 0.19.
    self.model.getWeights().forEach((w, k) => {
      const now = w.tensor.dataSync();
      const was = teacherBefore[k]!;
      for (let i = 0; i < Math.min(now.length, 16); i++) expect(now[i]! - was[i]!).toBeCloseTo(0.19, 5);
    });
    await expect(SelfTeacher.load(f.models.student, 'ema', 1)).rejects.toThrow(/selfTeacherEma/);
    student.model.dispose();
    self.dispose();
  });

  it('trains V-Zero with an EMA self-teacher, checkpoints it, and leaks nothing', async () => {
    const out = join(f.root, 'self-ema');
    const tensors = tf.memory().numTensors;
    const result = await train(
      parseTrainConfig(
        tinyConfig(f, out, {
          steps: 2,
          checkpointEvery: 1,
          models: { ...f.models, selfTeacher: 'ema', selfTeacherEma: 0.8 },
        }),
      ),
    );
    expect(result.records.map((r) => r.step)).toEqual([1, 2]);
    for (const r of result.records) {
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.gate?.sequences).toBe(9);
    }
    const checkpoints = join(out, 'checkpoints');
    const folders = existsSync(checkpoints) ? readdirSync(checkpoints) : [];
    expect(folders.some((d) => existsSync(join(checkpoints, d, 'self-teacher', 'config.json')))).toBe(true);
    result.student.model.dispose();
    expect(tf.memory().numTensors).toBe(tensors);
  }, 120_000);
});
