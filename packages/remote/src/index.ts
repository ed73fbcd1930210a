export { RemotePolicy, DEFAULT_API_KEY_ENV } from './policy.js';
export type { RemotePolicyOptions, ScoreVia, SeedingMode } from './policy.js';
export { Transport } from './transport.js';
export type { RemoteStats, ReplicaStats, TransportOptions } from './transport.js';
export type { ModelEntry } from './wire.js';
export { RemoteAlignmentError, RemoteError } from './errors.js';
export type { FailureReason } from './errors.js';
