export { buildProgram, runCli, type CliIo } from './cli.js';
export {
  METHODS,
  NEGATIVE_MODES,
  NEGATIVE_VIEW_MODES,
  applyOverrides,
  checkTrainConfig,
  currentTrainConfigSchema,
  parseTrainConfig,
  readConfigFile,
  trainConfigSchema,
  type Method,
  type MethodName,
  type TrainConfig,
  type TrainConfigInput,
} from './config.js';
export {
  BUILTIN_METHODS,
  defineMethod,
  findMethod,
  methodNames,
  methodNeedsTeacher,
  methodSpec,
  readsNegativeView,
  registerMethod,
  registeredMethods,
  unregisterMethod,
  type AnyMethodSpec,
  type ConfigIssue,
  type DataKind,
  type MethodSection,
  type MethodSpec,
  type SampleOf,
  type TeacherView,
} from './methods/index.js';
export { samplingOptions, studentPrompts, throughput, type StepContext } from './steps/context.js';
export { updateInMiniBatches, type MiniBatch, type ObjectiveOf, type StudentForward } from './mini-batch.js';
export type { StepResult } from './records.js';
export {
  train,
  RunInterruptedError,
  type EvalRecord,
  type StepRecord,
  type TrainHooks,
  type TrainResult,
} from './trainer.js';
export {
  RunLockedError,
  RUN_LOCK_FILE,
  acquireRunLock,
  type LockHolder,
  type RunLock,
} from './run/run-lock.js';
export { AdamW, type AdamWConfig, type AdamWState } from './optim.js';
export { trainLossConfig, trainOptimizerConfig } from './run-setup.js';
export { PromptFactory, type PromptSettings, type QuestionSample, type SamplePrompts } from './prompts.js';
export { evaluatePolicy, summarise, type EvalSummary } from './evaluation/accuracy.js';
export { EvalPrompts } from './evaluation/prompts.js';
export { groupAdvantages, grpoLoss, rewardOf } from './grpo.js';
export { loadPolicy, type LoadedPolicy } from './models.js';
export { setupTensors, formatNative, type TensorSetup } from './tensors.js';
export { doctorReport, formatDoctor, type DoctorReport } from './commands/doctor.js';
export { runGateCommand, type GateCommandOptions } from './commands/gate.js';
export { runDemo, DEMO_DEFAULTS, type DemoOptions } from './commands/demo.js';
export { runEval, loadBenchmark, type EvalCommandOptions } from './commands/eval.js';
export { runPretrain, PRETRAIN_COMMAND_DEFAULTS, type PretrainCommandOptions } from './commands/pretrain.js';
export { parseGateLine, readGateJsonl, type GateOutputLine } from './gate-jsonl.js';
export { runAblate, type AblateOptions, type AblateOutput } from './ablate/run.js';
export { ABLATE_PRESETS, ablatePreset, type AblatePreset } from './ablate/presets.js';
export { runAblateCommand, type AblateCommandOptions } from './commands/ablate.js';
export {
  ablateSpecSchema,
  currentAblateSpecSchema,
  loadAblateSpec,
  parseAblateSpec,
  readAblateSpec,
} from './ablate/spec.js';
export { loadPlugins, loadedPlugins, type LoadPluginsOptions } from './methods/plugins.js';
