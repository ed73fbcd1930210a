import { defineKernelSuite } from './suite.js';

defineKernelSuite('wasm');
