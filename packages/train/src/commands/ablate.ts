// `vzero ablate (--preset NAME | --spec FILE) [--out DIR] [--docs DIR] [--seeds N] [--steps N]
// [--concurrency K] [--jobs N]`:
// regenerates RESULTS.md and the JSON behind it. A preset is a shipped spec file
// (packages/train/presets/NAME.yaml, printed by --print-spec NAME); --spec runs a user's. Only
// the shipped paper-table writes into docs/ by default: any other report goes into the work
// folder unless --docs says otherwise, so a pipeline check or a user's copy never overwrites docs/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { onWorldSeed, runAblate, type AblateOutput } from '../ablate/run.js';
import { ablatePreset } from '../ablate/presets.js';
import { loadAblateSpec, shippedSpecFile } from '../ablate/spec.js';
import { formatResolvedConfig, saveResolvedConfig, toYaml } from '../resolved-config.js';

export interface AblateCommandOptions {
  /** A shipped preset (default paper-table); or: */
  readonly preset?: string;
  /** A spec file (YAML or JSON). */
  readonly spec?: string;
  readonly out?: string;
  readonly docs?: string;
  readonly seeds?: number;
  /** Training steps per run (default: the preset's). */
  readonly steps?: number;
  /** Confirm on fresh worlds: see AblateOptions.worldSeed. */
  readonly worldSeed?: number;
  /** Runs with a student at a training service that go at once: see AblateOptions.concurrency. */
  readonly concurrency?: number;
  /** In-process runs at once, each in its own process: see AblateOptions.jobs. */
  readonly jobs?: number;
}

export const ABLATE_DEFAULTS = { preset: 'paper-table' };

/** The spec a work folder was last run with (the preset's, with --steps applied). */
export const SPEC_AS_RUN = 'spec.yaml';

/** The text of a shipped spec file, comments included: a start for a user's own. */
export function shippedSpecText(name: string): string {
  return readFileSync(shippedSpecFile(name, '--print-spec'), 'utf8');
}

export async function runAblateCommand(
  o: AblateCommandOptions,
  log: (line: string) => void,
): Promise<AblateOutput> {
  if (o.preset !== undefined && o.spec !== undefined)
    throw new InvalidInputError('--spec', o.spec, 'give --preset NAME or --spec FILE, not both');
  const shipped = o.spec === undefined ? (o.preset ?? ABLATE_DEFAULTS.preset) : undefined;
  const named = shipped !== undefined ? ablatePreset(shipped) : loadAblateSpec(o.spec as string);
  const preset = o.steps !== undefined ? { ...named, steps: o.steps } : named;
  const out = o.out ?? join('runs', 'ablate', preset.name);
  const docs = o.docs ?? (shipped === 'paper-table' ? 'docs' : out);
  const work = o.worldSeed !== undefined ? `${out}-world${o.worldSeed}` : out;
  // What runs, every default filled in: the options, then the ablation itself.
  const options = { ...(shipped !== undefined ? { preset: shipped } : {}), ...o, out, docs };
  log(formatResolvedConfig('ablate', options));
  log(formatResolvedConfig(`ablate: preset ${preset.name}`, onWorldSeed(preset, o.worldSeed)));
  // Both folders are checked before the first run: an unwritable docs folder would otherwise
  // surface only after the whole table was computed.
  await ensureWritableDir(out, '--out');
  await ensureWritableDir(docs, '--docs');
  await ensureWritableDir(work, '--out');
  await saveResolvedConfig(work, options);
  // The ablation as run, a file --spec runs again.
  await writeFileAtomic(join(work, SPEC_AS_RUN), toYaml(preset));
  return runAblate(
    {
      preset,
      out: work,
      docs,
      ...(o.seeds !== undefined ? { seeds: o.seeds } : {}),
      ...(o.worldSeed !== undefined ? { worldSeed: o.worldSeed } : {}),
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      ...(o.jobs !== undefined ? { jobs: o.jobs } : {}),
      command: ablateCommandLine(o, shipped),
    },
    log,
  );
}

/** The command line a report quotes: how to make it again (--out and --docs left out). */
function ablateCommandLine(o: AblateCommandOptions, shipped: string | undefined): string {
  const parts = ['pnpm vzero ablate', shipped !== undefined ? `--preset ${shipped}` : `--spec ${o.spec}`];
  if (o.seeds !== undefined) parts.push(`--seeds ${o.seeds}`);
  if (o.steps !== undefined) parts.push(`--steps ${o.steps}`);
  if (o.worldSeed !== undefined) parts.push(`--world-seed ${o.worldSeed}`);
  return parts.join(' ');
}
