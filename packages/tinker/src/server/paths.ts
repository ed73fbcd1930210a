// tinker:// checkpoint paths: tinker://<model_id>/<kind>/<checkpoint_id>, or the short
// tinker://<model_id>/<checkpoint_id> that SkyRL accepts for sampler weights
// (SkyRL skyrl/tinker/types.py TinkerPath.parse, api.py asample and load_weights, a9564572).
import type { CheckpointKind, CheckpointRef } from './backend.js';

/** Checkpoint and model ids: SkyRL api.py ID_PATTERN and ID_MAX_LENGTH. */
export const ID_PATTERN = /^[a-zA-Z0-9_-]{1,255}$/;

export function checkpointRef(modelId: string, kind: CheckpointKind, name: string): CheckpointRef {
  return { modelId, kind, name, path: `tinker://${modelId}/${kind}/${name}` };
}

/** Parses a tinker:// path; undefined when it is not one. `kind` is '' for the short form. */
export function parseTinkerPath(path: string): { modelId: string; kind: string; name: string } | undefined {
  const match = /^tinker:\/\/([^/]+)\/(?:([^/]+)\/)?([^/]+)$/.exec(path);
  if (!match) return undefined;
  return { modelId: match[1]!, kind: match[2] ?? '', name: match[3]! };
}
