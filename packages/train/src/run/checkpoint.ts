// A training checkpoint: the student's weights, the EMA self-teacher's (state too), and the
// optimizer's moments; restore() puts them back for --resume.
import { join } from 'node:path';
import { readFile, writeFile } from 'node:fs/promises';
import type * as tf from '@tensorflow/tfjs-core';
import { saveCheckpoint as saveModel, loadCheckpoint } from '@vzero/model';
import type { AdamWState } from '../optim.js';
import { saveCheckpoint, type RunDir } from './run-dir.js';
import type { StepContext } from '../steps/context.js';

interface TrainerState {
  readonly step: number;
  readonly optimizer: AdamWState;
}

type Saved = Pick<StepContext, 'student' | 'self' | 'optimizer'>;

export async function checkpoint(ctx: Saved, run: RunDir, step: number): Promise<void> {
  await saveCheckpoint(run, step, async (folder) => {
    await saveModel(join(folder, 'student'), ctx.student.model, ctx.student.tokenizer, { step });
    // An EMA self-teacher is state too: a resumed run must continue from the same average.
    if (ctx.self?.mode === 'ema') {
      await saveModel(join(folder, 'self-teacher'), ctx.self.model, ctx.student.tokenizer, { step });
    }
    const state: TrainerState = { step, optimizer: ctx.optimizer.getState() };
    await writeFile(join(folder, 'state.json'), JSON.stringify(state));
  });
}

export async function restore(ctx: Saved, folder: string): Promise<void> {
  const loaded = await loadCheckpoint(join(folder, 'student'), { tokenizerId: ctx.student.tokenizer.id });
  const weights = new Map(loaded.model.getWeights().map((w) => [w.name, w.tensor as tf.Tensor]));
  ctx.student.model.setWeights(weights);
  loaded.model.dispose();
  if (ctx.self?.mode === 'ema') {
    const ema = await loadCheckpoint(join(folder, 'self-teacher'), { tokenizerId: ctx.student.tokenizer.id });
    ctx.self.model.setWeights(new Map(ema.model.getWeights().map((w) => [w.name, w.tensor as tf.Tensor])));
    ema.model.dispose();
  }
  const state = JSON.parse(await readFile(join(folder, 'state.json'), 'utf8')) as TrainerState;
  ctx.optimizer.setState(state.optimizer);
}
