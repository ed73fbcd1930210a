export {
  AGGREGATIONS,
  DEFAULT_OPD_LOSS_CONFIG,
  ESTIMATORS,
  LOSS_MODES,
  opdLossConfig,
  validateOpdLossConfig,
  type Aggregation,
  type Estimator,
  type LossMode,
  type OpdLossConfig,
} from './config.js';
export { aggregateLoss } from './aggregate.js';
export { detach } from './detach.js';
export { K3_LOG_RATIO_CLAMP, K3_VALUE_CLAMP, forwardKlTopK, tokenEstimator } from './estimators.js';
export { checkOpdInputs, validateOpdInputs, type OpdLossInputs } from './inputs.js';
export { opdLoss, opdLossMetrics, ppoSurrogate, type OpdLossMetrics } from './loss.js';
export {
  aggregationFactors,
  crossEntropyWeights,
  policyGradientAdvantages,
  topKCrossEntropyWeights,
  type RemoteLossInputs,
  type Rows,
} from './remote.js';
