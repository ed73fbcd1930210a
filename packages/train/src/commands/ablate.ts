// `vzero ablate (--preset NAME | --spec FILE) [--out DIR] [--docs DIR] [--seeds N] [--steps N]
// [--concurrency K] [--jobs N] [--plugin MODULE]`:
// regenerates RESULTS.md and the JSON behind it. A preset is a shipped spec file
// (packages/train/presets/NAME.yaml, printed by --print-spec NAME); --spec runs a user's. Only
// the shipped paper-table writes into docs/ by default: any other report goes into the work
// folder unless --docs says otherwise, so a pipeline check or a user's copy never overwrites docs/.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, ensureWritableDir, writeFileAtomic } from '@vzero/core';
import { onWorldSeed, runAblate, type AblateOutput } from '../ablate/run.js';
import { ablatePreset } from '../ablate/presets.js';
import { readAblateSpec, shippedSpecFile } from '../ablate/spec.js';
import { formatResolvedConfig, saveResolvedConfig, toYaml } from '../run/resolved-config.js';
import { z } from 'zod';
import { flag, seedValue } from './options.js';
import { loadPlugins } from '../methods/plugins.js';

export const ABLATE_DEFAULTS = { preset: 'paper-table' };

/**
 * `vzero ablate`'s options (the command line's, a --config file's, and runAblateCommand's, which
 * ignores --print-spec: the command prints the spec and stops).
 */
export const ABLATE_OPTIONS = z.strictObject({
  preset: flag(
    z.string().optional(),
    "a shipped spec: paper-table (the default: 180 steps; last regenerated in 68.5 min for 35 runs on 2 cores with --jobs 2, finished runs reused; its runs' training alone 99.2 min), paper-table-60 (the same at 60 steps; last regenerated in 54.6 min, its runs' training 21.5 min), stem, dense, perceivable, or smoke (2 steps)",
    { value: 'name' },
  ),
  spec: flag(
    z.string().optional(),
    'a spec file (YAML or JSON: worlds, models, training, seeds, arms) instead of --preset',
    { value: 'file' },
  ),
  printSpec: flag(z.string().optional(), 'print a shipped spec to stdout (to copy and edit) and exit', {
    value: 'name',
  }),
  out: flag(z.string().optional(), 'work folder (default runs/ablate/<preset>; finished runs are reused)', {
    value: 'dir',
  }),
  docs: flag(z.string().optional(), 'where RESULTS.md and results/<preset>.json go (paper-table: docs)', {
    value: 'dir',
  }),
  seeds: flag(z.number().int().min(1).optional(), "seeds per arm (default: the preset's)", { value: 'n' }),
  steps: flag(z.number().int().min(1).optional(), "training steps per run (default: the preset's)", {
    value: 'n',
  }),
  worldSeed: flag(
    seedValue().optional(),
    'confirm on fresh worlds and models (comparison seed k, pre-training k + 1); report: results/<preset>-world<k>.*',
    { value: 'k' },
  ),
  concurrency: flag(
    z.number().int().min(1).optional(),
    'runs whose student is at a training service (models.student: tinker://...) that go at once; in-process runs go one at a time (default 1)',
    { value: 'k' },
  ),
  jobs: flag(
    z.number().int().min(1).optional(),
    'in-process runs at once, each in a process of its own (default 1); for machines with more cores than one run uses (on 2 cores it measured no faster: docs/PERFORMANCE.md); the numbers do not depend on it',
    { value: 'n' },
  ),
  plugins: flag(
    z.array(z.string()).optional(),
    "a module that registers training methods (registerMethod), imported before the spec is read, and by every run's process; repeatable (a spec may list its own: plugins)",
    { value: 'module', flag: 'plugin' },
  ),
});

export type AblateCommandOptions = Omit<z.input<typeof ABLATE_OPTIONS>, 'printSpec'>;

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
  // Plug-ins first: the spec's arms may name the methods they register.
  await loadPlugins(o.plugins ?? []);
  const shipped = o.spec === undefined ? (o.preset ?? ABLATE_DEFAULTS.preset) : undefined;
  const named =
    o.spec !== undefined ? await readAblateSpec(o.spec) : ablatePreset(o.preset ?? ABLATE_DEFAULTS.preset);
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
  for (const plugin of o.plugins ?? []) parts.push(`--plugin ${plugin}`);
  if (o.seeds !== undefined) parts.push(`--seeds ${o.seeds}`);
  if (o.steps !== undefined) parts.push(`--steps ${o.steps}`);
  if (o.worldSeed !== undefined) parts.push(`--world-seed ${o.worldSeed}`);
  return parts.join(' ');
}
