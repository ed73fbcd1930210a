export * from './config.js';
export * from './tokenizer.js';
export * from './pixels.js';
export { MASKED, textLayout, blockCausalMask } from './layout.js';
export type { KeyInfo, TextLayout } from './layout.js';
export * from './model.js';
export * from './sampling.js';
export * from './policy.js';
