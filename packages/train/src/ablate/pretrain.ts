// Starting models for an ablation: `vzero pretrain` with model-config overrides (e.g. a 128 px
// student in 16 px patches), so a preset can change what the student perceives without
// touching the package defaults. Pre-training uses labels: it stands in for the paper's
// pretrained models and happens on a world of its own, never on the evaluation splits.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidInputError, deriveSeed, type Prompt } from '@vzero/core';
import {
  LocalPolicy,
  Tokenizer,
  createModel,
  pretrain,
  resolveModelConfig,
  saveCheckpoint,
  type ModelConfig,
  type ModelPresetName,
} from '@vzero/model';
import { WORLD_VOCABULARY, loadLabelled, referenceResponse, type WorldLabelledSample } from '@vzero/world';
import { evaluatePolicy, type EvalSummary } from '../evaluation.js';
import { createProgress } from '../progress.js';
import { PromptFactory } from '../prompts.js';

export interface PretrainSpec {
  /** Model preset the overrides apply to ('tiny', 'student' or 'teacher'). */
  readonly preset: ModelPresetName;
  readonly overrides?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
}

export interface PretrainedModel {
  readonly dir: string;
  readonly val: EvalSummary;
  readonly seconds: number;
}

/** Pre-trains one role on `world`'s train split and reports accuracy on its val split. */
export async function pretrainRole(
  role: 'teacher' | 'student',
  spec: PretrainSpec,
  world: string,
  out: string,
  seed: number,
  log: (line: string) => void,
): Promise<PretrainedModel> {
  const tokenizer = Tokenizer.fromWords(WORLD_VOCABULARY);
  const config = resolveModelConfig(spec.preset, { ...spec.overrides, vocabSize: tokenizer.size });
  if (role === 'teacher' && !config.images.some((s) => s.role === 'crop')) {
    throw new InvalidInputError('teacher.overrides.images', config.images, 'the teacher needs a crop slot');
  }
  const model = createModel(config);
  try {
    const factory = new PromptFactory(config, role === 'teacher' ? config : undefined, {
      negative: 'outside-downsampled',
      factor: 2,
      padding: 0.5,
      seed: deriveSeed(seed, 'views'),
      encode: false,
    });
    const promptFor = (s: WorldLabelledSample): Promise<Prompt> =>
      role === 'teacher' ? factory.teacherPositive(s) : factory.student(s);
    const train = await loadLabelled(world, 'train');
    const examples = await Promise.all(
      train.map(async (s) => ({
        prompt: await promptFor(s),
        response: referenceResponse({
          options: s.options,
          answerIndex: s.answerIndex,
          facts: s.facts ?? fail(s.id),
        }),
      })),
    );
    const started = performance.now();
    const progress = createProgress(`pretrain ${role}`, spec.steps);
    await pretrain(model, tokenizer, examples, {
      steps: spec.steps,
      batchSize: spec.batchSize,
      learningRate: spec.lr,
      seed,
      onProgress: (p) => progress.update(p.step, { loss: p.loss }),
    });
    progress.stop();
    const policy = new LocalPolicy(model, tokenizer, { name: role });
    const val = await evaluatePolicy(policy, await loadLabelled(world, 'val'), promptFor);
    const seconds = (performance.now() - started) / 1000;
    await mkdir(out, { recursive: true });
    await saveCheckpoint(out, model, tokenizer, { role, steps: spec.steps, accuracy: val.accuracy });
    await writeFile(
      join(out, 'accuracy.json'),
      JSON.stringify({ role, split: 'val', ...val, seconds }) + '\n',
    );
    log(
      `pretrain ${role}: val ${(val.accuracy * 100).toFixed(1)}% (n ${val.n}), ${seconds.toFixed(0)} s -> ${out}`,
    );
    return { dir: out, val, seconds };
  } finally {
    model.dispose();
  }
}

function fail(id: string): never {
  throw new InvalidInputError(
    `${id}.facts`,
    undefined,
    'pre-training needs world samples with evidence facts',
  );
}
