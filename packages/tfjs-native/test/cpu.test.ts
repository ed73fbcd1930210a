import { defineDataKernelSuite } from './data-suite.js';
import { defineKernelSuite } from './suite.js';

defineKernelSuite('cpu');
defineDataKernelSuite('cpu');
