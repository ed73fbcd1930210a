export {
  DEFAULT_ROLLOUT_OPTIONS,
  validateRolloutOptions,
  type RolloutOptions,
  type RolloutProgress,
} from './options.js';
export { sample, groupIdFor, isPromptSeeded, PolicyOutputError, type PromptSeededPolicy } from './sample.js';
export { padTrajectories, type PadOptions, type PaddedBatch } from './pad.js';
export { rolloutStats, type RolloutStats } from './stats.js';
