export { SERVE_DEFAULTS, startServer } from './server.js';
export type { RunningServer, ServeOptions } from './server.js';
export { HttpError } from './errors.js';
export { MAX_LOGPROBS } from './schemas.js';
export type { PromptLogprobEntry } from './engine.js';
export { ToolkitTinkerBackend, type ToolkitBackendOptions } from './tinker/backend.js';
export {
  startTinkerService,
  type RunningTinkerService,
  type TinkerServiceOptions,
} from './tinker/service.js';
