// `vzero pretrain teacher|student`: its options (a zod schema, the flags and --config keys); the
// work is runPretrain in ../pretraining.ts, which the ablation's starting models use too.
import { z } from 'zod';
import { DEFAULT_TOKENIZER, TOKENIZER_CHOICES } from '../world-tokenizer.js';
import { PRETRAIN_COMMAND_DEFAULTS } from '../pretraining.js';
import { flag, seedValue } from './options.js';

export {
  runPretrain,
  PRETRAIN_COMMAND_DEFAULTS,
  type PretrainCommandOptions,
  type PretrainCommandResult,
  type PretrainEval,
} from '../pretraining.js';

/**
 * `vzero pretrain <role>`'s options (runPretrain takes --split and --limit as evalSplit and
 * evalLimit: they are the evaluation's).
 */
export const PRETRAIN_OPTIONS = z.strictObject({
  data: flag(z.string(), 'world dataset folder (required; trains on its train split, evaluates on --split)', {
    value: 'dir',
  }),
  out: flag(z.string(), 'checkpoint folder to write (required)', { value: 'dir' }),
  steps: flag(z.number().int().min(1).default(PRETRAIN_COMMAND_DEFAULTS.steps), 'optimizer steps', {
    value: 'n',
  }),
  batchSize: flag(z.number().int().min(1).default(PRETRAIN_COMMAND_DEFAULTS.batchSize), 'examples per step', {
    value: 'n',
  }),
  lr: flag(
    z.number().min(0, 'a negative rate climbs the loss').default(PRETRAIN_COMMAND_DEFAULTS.lr),
    'peak learning rate',
    { value: 'x' },
  ),
  seed: flag(seedValue().default(PRETRAIN_COMMAND_DEFAULTS.seed), 'seed', { value: 'k' }),
  split: flag(z.string().default(PRETRAIN_COMMAND_DEFAULTS.evalSplit), 'split to report accuracy on', {
    value: 'name',
    deprecated: ['--eval-split'],
  }),
  limit: flag(
    z.number().int().min(0, '0 means all').default(PRETRAIN_COMMAND_DEFAULTS.evalLimit),
    'evaluate on the first n samples (0 = all)',
    { value: 'n', deprecated: ['--eval-limit'] },
  ),
  negativeFraction: flag(
    z.number().default(PRETRAIN_COMMAND_DEFAULTS.negativeFraction),
    'teacher only: also train on the negative view for this fraction of samples',
    { value: 'x' },
  ),
  tokenizer: flag(
    z.enum(TOKENIZER_CHOICES).default(DEFAULT_TOKENIZER),
    'tokenizer of a fresh model (docs/results/tokenizer.md)',
    { value: 'kind' },
  ),
  force: flag(
    z.boolean().optional(),
    'replace the model --out holds (the new one is swapped in once complete)',
  ),
});
