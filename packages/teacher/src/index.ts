export {
  replay,
  AlignmentError,
  type ReplayViews,
  type ViewsByPrompt,
  type ReplayOptions,
  type ReplayProgress,
} from './replay.js';
