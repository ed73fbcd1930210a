// `vzero ablate --preset paper-table|smoke [--out DIR] [--docs DIR] [--seeds N]`: regenerates
// RESULTS.md and the JSON behind it. The smoke preset writes its report into the work folder
// unless --docs says otherwise, so a pipeline check never overwrites docs/.
import { join } from 'node:path';
import { ensureWritableDir } from '@vzero/core';
import { runAblate, type AblateOutput } from '../ablate/run.js';
import { ablatePreset } from '../ablate/presets.js';

export interface AblateCommandOptions {
  readonly preset: string;
  readonly out?: string;
  readonly docs?: string;
  readonly seeds?: number;
  /** Confirm on fresh worlds: see AblateOptions.worldSeed. */
  readonly worldSeed?: number;
}

export const ABLATE_DEFAULTS = { preset: 'paper-table' };

export async function runAblateCommand(
  o: AblateCommandOptions,
  log: (line: string) => void,
): Promise<AblateOutput> {
  const preset = ablatePreset(o.preset);
  const out = o.out ?? join('runs', 'ablate', preset.name);
  const docs = o.docs ?? (preset.name === 'paper-table' ? 'docs' : out);
  // Both folders are checked before the first run: an unwritable docs folder would otherwise
  // surface only after the whole table was computed.
  await ensureWritableDir(out, '--out');
  await ensureWritableDir(docs, '--docs');
  return runAblate(
    {
      preset,
      out: o.worldSeed !== undefined ? `${out}-world${o.worldSeed}` : out,
      docs,
      ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
      ...(o.worldSeed !== undefined ? { worldSeed: o.worldSeed } : {}),
    },
    log,
  );
}
