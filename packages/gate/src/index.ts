export {
  DEFAULT_GATE_CONFIG,
  GATE_PRESETS,
  GATE_PRESET_NAMES,
  gateConfig,
  validateGateConfig,
  type GateConfig,
  type GatePreset,
} from './config.js';
export { computeGate, type GateDiagnostics, type GateResult, type GateSequence } from './gate.js';
// The tensor adapter (computeGateTensors, weightsTensor) is the `@vzero/gate/tensors` entry point:
// it needs @tensorflow/tfjs-core, an optional peer dependency that this entry never loads.
