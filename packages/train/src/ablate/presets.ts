// Ablation presets: everything one `vzero ablate` run needs (worlds, starting models, the arms
// and their training settings, seeds). A preset changes what it must through world config,
// model overrides and train config, never through package defaults. The shipped presets are
// spec files, packages/train/presets/<name>.yaml (./spec.ts reads and validates them): to change
// one, edit its file; `vzero ablate --spec FILE` runs a user's copy.
import { loadAblateSpec, shippedSpecFile, shippedSpecNames, type AblatePreset } from './spec.js';

// The format's types are defined with its schema (./spec.ts); the ablation takes them from here.
export type { AblateArm, AblatePreset, ArmId } from './spec.js';

/** A shipped preset: the spec file packages/train/presets/<name>.yaml, validated. */
export function ablatePreset(name: string): AblatePreset {
  return loadAblateSpec(shippedSpecFile(name));
}

/** Every shipped preset by name, each read from its spec file when first used. */
export const ABLATE_PRESETS: Readonly<Record<string, AblatePreset>> = Object.freeze(
  Object.defineProperties(
    {},
    Object.fromEntries(
      shippedSpecNames().map((name) => [name, { enumerable: true, get: () => ablatePreset(name) }]),
    ),
  ),
);
