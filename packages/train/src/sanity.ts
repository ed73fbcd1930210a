// Settings that validate but make a run quietly meaningless: each gets a warning naming the key
// and what it does, printed before the run starts. Each method names its own (its spec's
// `warnings`, methods/).
import type { TrainConfig } from './config.js';
import { methodSpec } from './methods/index.js';

export function configWarnings(config: TrainConfig): string[] {
  return methodSpec(config.method).warnings?.(config) ?? [];
}
