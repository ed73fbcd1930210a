import { defineAdamWSuite } from './adamw-suite.js';
import { defineAttentionSoftmaxSuite } from './attention-softmax-suite.js';
import { defineAttentionSuite } from './attention-suite.js';
import { defineDataKernelSuite } from './data-suite.js';
import { defineGemmSuite } from './gemm-suite.js';
import { defineLanesSuite } from './lanes-suite.js';
import { defineLayerNormSuite } from './layer-norm-suite.js';
import { defineLogSoftmaxSuite } from './log-softmax-suite.js';
import { defineKernelSuite } from './suite.js';

defineKernelSuite('wasm');
defineGemmSuite('wasm');
defineDataKernelSuite('wasm');
defineLayerNormSuite('wasm');
defineAdamWSuite('wasm');
defineAttentionSoftmaxSuite('wasm');
defineLanesSuite('wasm');
defineAttentionSuite('wasm');
defineLogSoftmaxSuite('wasm');
