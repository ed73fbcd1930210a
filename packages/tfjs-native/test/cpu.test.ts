import { defineKernelSuite } from './suite.js';

defineKernelSuite('cpu');
