// Pre-training, what `vzero pretrain teacher|student` runs and what makes an ablation's starting
// models: the starting points the paper takes from pretrained models, trained here on labelled
// world data (labels are fine for this: it plays the role of pre-training). The teacher sees the full image and the positive crop and becomes strong; the
// student sees the full image only and learns the answer format but stays weak on small objects.
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InvalidInputError, Rng, deriveSeed, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { assertOutputsApart, assertReplaceable, swapInFolder } from './run/fs-safety.js';
import {
  LocalPolicy,
  PRETRAIN_DEFAULTS,
  createModel,
  loadCheckpoint,
  pretrain,
  resolveModelConfig,
  saveCheckpoint,
  type ModelConfig,
  type ModelPresetName,
} from '@vzero/model';
import { loadLabelled } from '@vzero/world';
import {
  DEFAULT_TOKENIZER,
  tokenizerDefaults,
  worldTokenizer,
  type TokenizerChoice,
} from './world-tokenizer.js';
import { createProgress } from './progress.js';
import { setupTensors } from './tensors.js';
import { promptsForModel } from './prompts.js';
import { pretrainExamples } from './pretrain-examples.js';
import { counterPriorAccuracy, evaluatePolicy, type EvalSummary } from './evaluation/accuracy.js';

/** The eval split's accuracy, and on its questions against the prior (when it has some). */
export type PretrainEval = EvalSummary & {
  readonly counterPrior?: { readonly accuracy: number; readonly n: number };
};
import { formatResolvedConfig, saveResolvedConfig } from './run/resolved-config.js';

export interface PretrainCommandOptions {
  readonly role: string;
  /** Model preset the overrides apply to (default: the role's own preset). */
  readonly preset?: ModelPresetName;
  /** Architecture overrides, e.g. a 128 px student view: `{ patchSize: 16, images: [...] }`. */
  readonly modelOverrides?: Partial<Omit<ModelConfig, 'vocabSize'>>;
  readonly data: string;
  readonly out: string;
  readonly steps: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly seed: number;
  readonly evalSplit: string;
  readonly evalLimit: number;
  /**
   * Teacher only: this fraction of the training samples is also shown with the negative view
   * (same reference answer), so that without the evidence the teacher answers from what remains
   * (full image, prior) instead of being out of distribution. 0 = positive crops only.
   */
  readonly negativeFraction?: number;
  /** Start from this checkpoint's weights (and architecture) instead of a fresh initialisation. */
  readonly initFrom?: string;
  /** Tokenizer of a fresh model (default DEFAULT_TOKENIZER, see world-tokenizer.ts); initFrom keeps its own. */
  readonly tokenizer?: TokenizerChoice;
  /** Replace what `out` holds (without it, a non-empty `out` is refused before any work). */
  readonly force?: boolean;
}

/** The command's defaults; the batch size, learning rate and seed are @vzero/model's pretrain()'s. */
export const PRETRAIN_COMMAND_DEFAULTS = {
  steps: 400,
  batchSize: PRETRAIN_DEFAULTS.batchSize,
  lr: PRETRAIN_DEFAULTS.lr,
  seed: PRETRAIN_DEFAULTS.seed,
  evalSplit: 'val',
  evalLimit: 0,
  negativeFraction: 0,
};

export interface PretrainCommandResult {
  readonly role: 'teacher' | 'student';
  readonly out: string;
  readonly finalLoss: number;
  readonly eval: PretrainEval;
  readonly seconds: number;
  /** Of `seconds`, the optimizer steps alone (no data loading, no evaluation). */
  readonly trainSeconds: number;
}

export async function runPretrain(
  o: PretrainCommandOptions,
  log: (line: string) => void,
): Promise<PretrainCommandResult> {
  if (o.role !== 'teacher' && o.role !== 'student') {
    throw new InvalidInputError('role', o.role, 'expected "teacher" or "student"');
  }
  const role = o.role;
  const negativeFraction = o.negativeFraction ?? 0;
  if (!(negativeFraction >= 0 && negativeFraction <= 1)) {
    throw new InvalidInputError('negativeFraction', negativeFraction, 'expected a number in [0, 1]');
  }
  if (negativeFraction > 0 && role !== 'teacher') {
    throw new InvalidInputError('negativeFraction', negativeFraction, 'only the teacher has a negative view');
  }
  if (!(Number.isInteger(o.seed) && o.seed >= 0))
    throw new InvalidInputError('--seed', o.seed, 'expected an integer >= 0');
  // The checkpoint folder is checked before training: never the data, and writable.
  await assertOutputsApart(
    [{ field: '--out', path: o.out }],
    [
      { field: '--data', path: o.data },
      ...(o.initFrom !== undefined ? [{ field: 'initFrom', path: o.initFrom }] : []),
    ],
  );
  await assertReplaceable('--out', o.out, o.force, 'a model or other files');
  await ensureWritableDir(o.out, '--out');
  // Everything is written beside --out and swapped in once complete: a run that fails or is
  // killed leaves the folder as it was.
  const staging = `${resolve(o.out)}.partial-${process.pid}`;
  await setupTensors(log);
  // Continuing from a checkpoint keeps its architecture and tokenizer (a second pre-training phase).
  const init = o.initFrom !== undefined ? await loadCheckpoint(o.initFrom) : undefined;
  const tokenizer = init?.tokenizer ?? worldTokenizer(o.tokenizer);
  const config =
    init?.model.config ??
    resolveModelConfig(o.preset ?? role, {
      ...tokenizerDefaults(tokenizer),
      ...o.modelOverrides,
      vocabSize: tokenizer.size,
    });
  if (role === 'teacher' && !config.images.some((s) => s.role === 'crop')) {
    throw new InvalidInputError('modelOverrides.images', config.images, 'the teacher needs a crop slot');
  }
  // What runs, every default filled in; saved beside the checkpoint as pretrain-config.json.
  const common = { data: o.data, out: o.out, steps: o.steps, batchSize: o.batchSize, lr: o.lr, seed: o.seed };
  const resolved = {
    role,
    ...common,
    evalSplit: o.evalSplit,
    evalLimit: o.evalLimit,
    negativeFraction,
    tokenizer: init ? `(from ${o.initFrom})` : (o.tokenizer ?? DEFAULT_TOKENIZER),
    ...(o.initFrom !== undefined ? { initFrom: o.initFrom } : {}),
    preset: init ? `(from ${o.initFrom})` : (o.preset ?? role),
    model: config,
  };
  log(formatResolvedConfig(`pretrain ${role}`, resolved));
  const model = init?.model ?? createModel(config);
  try {
    const { promptFor, negativeFor } = promptsForModel(config, o.seed);
    const pickNegatives = new Rng(deriveSeed(o.seed, 'pretrain-negatives'));

    const train = await loadLabelled(o.data, 'train');
    const examples = await pretrainExamples(
      train,
      { promptFor, negativeFor },
      negativeFraction,
      pickNegatives,
    );
    log(
      `pretrain ${role}: ${model.parameterCount} parameters, ${examples.length} examples` +
        (negativeFraction > 0 ? ` (${examples.length - train.length} with the negative view)` : '') +
        `, ${o.steps} steps`,
    );
    const started = performance.now();
    const progress = createProgress(`pretrain ${role}`, o.steps);
    const result = await pretrain(model, tokenizer, examples, {
      steps: o.steps,
      batchSize: o.batchSize,
      lr: o.lr,
      seed: o.seed,
      onProgress: (p) => progress.update(p.step, { loss: p.loss, 'steps/s': p.stepsPerSecond }),
    });
    progress.stop();
    const policy = new LocalPolicy(model, tokenizer, { name: role });
    const evalSamples = await loadLabelled(o.data, o.evalSplit);
    const limited = o.evalLimit > 0 ? evalSamples.slice(0, o.evalLimit) : evalSamples;
    const evalProgress = createProgress(`eval ${o.evalSplit}`, limited.length);
    // Room for the longest reference response (plain bytes spell one in ~60 tokens).
    const longest = examples.reduce((m, e) => Math.max(m, tokenizer.encode(e.response).length + 1), 0);
    const scored = await evaluatePolicy(policy, limited, promptFor, {
      maxTokens: Math.max(16, longest + 2),
      items: true,
      onProgress: (done) => evalProgress.update(done),
    });
    evalProgress.stop();
    // The questions against the prior apart: the starting-model conditions are read there.
    const { correct, ...overall } = scored;
    const counterPrior = counterPriorAccuracy(limited, correct ?? '');
    const summary: PretrainEval = { ...overall, ...(counterPrior ? { counterPrior } : {}) };
    const seconds = (performance.now() - started) / 1000;
    const finalLoss =
      result.losses.slice(-20).reduce((a, b) => a + b, 0) / Math.max(1, Math.min(20, result.losses.length));
    await rm(staging, { recursive: true, force: true });
    await saveCheckpoint(staging, model, tokenizer, {
      role,
      steps: result.steps,
      finalLoss,
      accuracy: summary.accuracy,
      evalSplit: o.evalSplit,
    });
    await writeFileAtomic(join(staging, 'pretrain-config.json'), JSON.stringify(resolved, null, 2) + '\n');
    // The command's own options, by the flags' names: `vzero pretrain <role> --config` reruns it.
    await saveResolvedConfig(staging, {
      ...common,
      split: o.evalSplit,
      limit: o.evalLimit,
      negativeFraction,
      ...(init ? {} : { tokenizer: o.tokenizer ?? DEFAULT_TOKENIZER }),
    });
    await writeFileAtomic(
      join(staging, 'accuracy.json'),
      JSON.stringify({ role, split: o.evalSplit, ...summary, finalLoss, seconds }, null, 2) + '\n',
    );
    await swapInFolder(staging, o.out);
    log(
      `${role}: ${o.evalSplit} accuracy ${(summary.accuracy * 100).toFixed(1)}% (n ${summary.n}${counterPrior ? `; against the prior ${(counterPrior.accuracy * 100).toFixed(1)}%, n ${counterPrior.n}` : ''}), final loss ${finalLoss.toFixed(3)}, ${seconds.toFixed(0)} s -> ${o.out}`,
    );
    return { role, out: o.out, finalLoss, eval: summary, seconds, trainSeconds: result.elapsedMs / 1000 };
  } catch (error) {
    await rm(staging, { recursive: true, force: true }).catch(() => {});
    throw error;
  } finally {
    model.dispose();
  }
}
