export * from './errors.js';
export * from './fs-errors.js';
export * from './config.js';
export * from './rng.js';
export * from './types.js';
export * from './validate.js';
export * from './backend.js';
