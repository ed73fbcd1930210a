export {
  DEFAULT_GATE_CONFIG,
  DEFAULT_GATE_PRESET,
  GATE_PRESETS,
  GATE_PRESET_NAMES,
  gateConfig,
  validateGateConfig,
  type GateConfig,
  type GatePreset,
} from './config.js';
export { computeGate, type GateDiagnostics, type GateResult, type GateSequence } from './gate.js';
export { computeTokenGate, type TokenGateResult } from './token-gate.js';
// The tensor adapter (computeGateTensors, weightsTensor, computeTokenGateTensors, tokenWeightsTensor) is the `@vzero/gate/tensors` entry point:
// it needs @tensorflow/tfjs-core, an optional peer dependency that this entry never loads.
