export {
  DEFAULT_GATE_CONFIG,
  GATE_PRESETS,
  gateConfig,
  validateGateConfig,
  type GateConfig,
  type GatePreset,
} from './config.js';
export { computeGate, type GateDiagnostics, type GateResult, type GateSequence } from './gate.js';
export { computeGateTensors, weightsTensor } from './tensors.js';
