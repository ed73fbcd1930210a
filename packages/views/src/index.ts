export * from './box.js';
export * from './region.js';
export * from './image.js';
export * from './spec.js';
export * from './view.js';
export * from './tensor.js';
export * from './cache.js';
export * from './views.js';
