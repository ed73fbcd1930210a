// The client, in three classes: ServiceClient (service-client.ts), TrainingClient
// (training-client.ts) and SamplingClient (sampling-client.ts).
export * from './service-client.js';
export * from './training-client.js';
export * from './sampling-client.js';
