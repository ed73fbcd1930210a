// The starting teacher's quality as a checked condition, read on its own pre-training world's
// val split, never on a test split: on the questions whose colour goes against the prior, the
// teacher must read the crop at least `minCounterPrior` of the time. Below the bar it is
// pre-trained `extraSteps` more, up to `maxExtensions` times; then the experiment stops with a
// message instead of running V-Zero against a teacher that cannot read the evidence (whose gate
// would then weigh rollouts by noise).
import { existsSync } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import { VZeroError } from '@vzero/core';
import { loadLabelled } from '@vzero/world';
import { counterPriorAccuracy, evaluatePolicy } from '../evaluation/accuracy.js';
import { loadPolicy } from '../models.js';
import { promptsForModel } from '../prompts.js';
import { createProgress } from '../progress.js';
import { pretrainRole, type PretrainSpec } from './pretrain.js';

export interface TeacherCheck {
  /** Least accuracy with the crop on val questions against the prior, in [0, 1]. */
  readonly minCounterPrior: number;
  /** Pre-training steps added each time the teacher is below the bar. */
  readonly extraSteps: number;
  /** Times it may be extended before the experiment stops. */
  readonly maxExtensions: number;
}

export class StartingModelError extends VZeroError {
  constructor(message: string) {
    super('STARTING_MODEL_BELOW_BAR', message);
  }
}

type CounterPrior = { readonly accuracy: number; readonly n: number };

/** The teacher's val accuracy against the prior: from accuracy.json, or evaluated now for a model made before it was recorded. */
async function teacherCounterPrior(
  dir: string,
  world: string,
  seed: number,
  log: (line: string) => void,
): Promise<CounterPrior | undefined> {
  const file = `${dir}/accuracy.json`;
  if (existsSync(file)) {
    const recorded = JSON.parse(await readFile(file, 'utf8')) as {
      counterPrior?: CounterPrior;
      split?: string;
    };
    if (recorded.counterPrior) return recorded.counterPrior;
  }
  log(`teacher ${dir}: its val accuracy against the prior was not recorded; evaluating it now`);
  const loaded = await loadPolicy(dir, 'models.teacher', 'teacher');
  try {
    const samples = await loadLabelled(world, 'val');
    const { promptFor } = promptsForModel(loaded.model.config, seed);
    const progress = createProgress('eval teacher val', samples.length);
    const scored = await evaluatePolicy(loaded.policy, samples, promptFor, {
      items: true,
      maxTokens: 64,
      onProgress: (d) => progress.update(d),
    });
    progress.stop();
    return counterPriorAccuracy(samples, scored.correct ?? '');
  } finally {
    loaded.model.dispose();
  }
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Checks the pre-trained teacher in `dir` (made from `spec` on `world`, seed `seed`), extending
 * its pre-training while it is below the bar. Returns how many times it was extended.
 */
export async function checkStartingTeacher(
  dir: string,
  spec: PretrainSpec,
  world: string,
  seed: number,
  check: TeacherCheck,
  log: (line: string) => void,
): Promise<number> {
  let measured = await teacherCounterPrior(dir, world, seed, log);
  for (let extension = 0; ; extension++) {
    if (measured === undefined) {
      throw new StartingModelError(
        `teacher ${dir}: its pre-training world's val split (${world}) has no question against the prior, so checks.teacher.minCounterPrior cannot be checked; give the teacher's world weaker priors (world.teacherConfig.priorStrength) or drop the check`,
      );
    }
    const where = `val questions against the prior (n ${measured.n})`;
    if (measured.accuracy >= check.minCounterPrior) {
      log(
        `teacher: ${pct(measured.accuracy)} on ${where}, at or above the bar ${pct(check.minCounterPrior)}`,
      );
      return extension;
    }
    if (extension === check.maxExtensions) {
      throw new StartingModelError(
        `teacher ${dir}: ${pct(measured.accuracy)} on ${where} with the crop, below the bar ${pct(check.minCounterPrior)}` +
          (extension > 0 ? ` after ${extension} extension(s) of ${check.extraSteps} steps` : '') +
          `: V-Zero's gate needs a teacher that reads the crop. Pre-train it longer (models.teacher.steps, or checks.teacher.extraSteps / maxExtensions) or use another seed`,
      );
    }
    log(
      `teacher: ${pct(measured.accuracy)} on ${where}, below the bar ${pct(check.minCounterPrior)}: pre-training ${check.extraSteps} more steps (${extension + 1} of at most ${check.maxExtensions})`,
    );
    // The model so far is the starting point; the folder is replaced once the new phase is done.
    const previous = `${dir}-before-extension`;
    await rm(previous, { recursive: true, force: true });
    await rename(dir, previous);
    // eslint-disable-next-line @typescript-eslint/no-unused-vars
    const { warmup, ...phase } = spec; // a continuation: no warm-up phase
    const more = await pretrainRole(
      'teacher',
      { ...phase, steps: check.extraSteps, initFrom: previous },
      world,
      dir,
      seed + extension + 1,
      log,
    );
    await rm(previous, { recursive: true, force: true });
    measured = more.val.counterPrior;
  }
}
