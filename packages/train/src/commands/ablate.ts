// `vzero ablate --preset paper-table|smoke [--out DIR] [--docs DIR] [--seeds N]`: regenerates
// RESULTS.md and the JSON behind it. The smoke preset writes its report into the work folder
// unless --docs says otherwise, so a pipeline check never overwrites docs/.
import { join } from 'node:path';
import { ensureWritableDir } from '@vzero/core';
import { onWorldSeed, runAblate, type AblateOutput } from '../ablate/run.js';
import { ablatePreset } from '../ablate/presets.js';
import { formatResolvedConfig, saveResolvedConfig } from '../resolved-config.js';

export interface AblateCommandOptions {
  readonly preset: string;
  readonly out?: string;
  readonly docs?: string;
  readonly seeds?: number;
  /** Training steps per run (default: the preset's). */
  readonly steps?: number;
  /** Confirm on fresh worlds: see AblateOptions.worldSeed. */
  readonly worldSeed?: number;
}

export const ABLATE_DEFAULTS = { preset: 'paper-table' };

export async function runAblateCommand(
  o: AblateCommandOptions,
  log: (line: string) => void,
): Promise<AblateOutput> {
  const named = ablatePreset(o.preset);
  const preset = o.steps !== undefined ? { ...named, steps: o.steps } : named;
  const out = o.out ?? join('runs', 'ablate', preset.name);
  const docs = o.docs ?? (preset.name === 'paper-table' ? 'docs' : out);
  const work = o.worldSeed !== undefined ? `${out}-world${o.worldSeed}` : out;
  // What runs, every default filled in: the options, then the ablation itself.
  const options = { ...o, out, docs };
  log(formatResolvedConfig('ablate', options));
  log(formatResolvedConfig(`ablate: preset ${preset.name}`, onWorldSeed(preset, o.worldSeed)));
  // Both folders are checked before the first run: an unwritable docs folder would otherwise
  // surface only after the whole table was computed.
  await ensureWritableDir(out, '--out');
  await ensureWritableDir(docs, '--docs');
  await ensureWritableDir(work, '--out');
  await saveResolvedConfig(work, options);
  return runAblate(
    {
      preset,
      out: work,
      docs,
      ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
      ...(o.worldSeed !== undefined ? { worldSeed: o.worldSeed } : {}),
    },
    log,
  );
}
