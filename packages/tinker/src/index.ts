export * from './types.js';
export * from './errors.js';
export * from './validate.js';
export * from './model-input.js';
export * from './protobuf.js';
