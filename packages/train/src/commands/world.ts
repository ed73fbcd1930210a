// `vzero world generate` and `vzero world export-parquet`.
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InvalidInputError, ensureWritableDir } from '@vzero/core';
import { assertOutputsApart, assertReplaceable, swapInFolder } from '../run/fs-safety.js';
import {
  NEGATIVE_VIEW_MODES,
  SPLITS,
  exportParquet,
  generateWorld,
  resolveWorldConfig,
  type NegativeViewMode,
  type Split,
  type WorldConfig,
} from '@vzero/world';
import { DEFAULT_VIEW_SPEC } from '@vzero/views';
import { z } from 'zod';
import { readConfigFile } from '../config.js';
import { flag, seedValue } from './options.js';
import { formatResolvedConfig, saveResolvedConfig } from '../run/resolved-config.js';
import { createProgress } from '../progress.js';

/** `vzero world generate`'s options. */
export const GENERATE_OPTIONS = z.strictObject({
  out: flag(z.string(), 'dataset folder (required)', { value: 'dir' }),
  split: flag(z.string().default('all'), 'train, val, test, test-counter-prior or all', { value: 'name' }),
  n: flag(z.number().int().min(1).default(200), 'samples per split', { value: 'count' }),
  seed: flag(seedValue().default(0), 'world seed', { value: 'k' }),
  settings: flag(
    z.string().optional(),
    'YAML or JSON file of world settings (width, height, targetSizeMin, priorStrength, ...); unset ones keep the defaults',
    { value: 'file' },
  ),
  force: flag(z.boolean().optional(), 'replace splits the folder already holds (swapped in once complete)'),
});

/** `vzero world export-parquet`'s options (runWorldExport takes them with `out` for --out-file). */
export const EXPORT_OPTIONS = z.strictObject({
  data: flag(z.string().optional(), 'world dataset folder (required; the positional [dir] is deprecated)', {
    value: 'dir',
  }),
  outFile: flag(z.string(), 'parquet file to write (required)', { value: 'file', deprecated: ['--out'] }),
  split: flag(z.string().default('train'), 'split to export', { value: 'name' }),
  negative: flag(
    z.string().default(DEFAULT_VIEW_SPEC.negative),
    'negative view in the negative teacher prompt',
    { value: 'mode' },
  ),
  labels: flag(
    z.boolean().optional(),
    'fill reward_model.ground_truth from the labels file (baselines only)',
  ),
});

export interface GenerateCommandOptions {
  readonly out: string;
  readonly split: string;
  readonly n: number;
  readonly seed: number;
  /** A YAML or JSON file of world settings (canvas, object sizes, priors ...); unset keys keep the defaults. */
  readonly settings?: string;
  /** Replace splits the folder already holds (without it, they are refused before any work). */
  readonly force?: boolean;
}

export async function runWorldGenerate(
  o: GenerateCommandOptions,
  log: (line: string) => void,
): Promise<void> {
  const splits: Split[] = o.split === 'all' ? [...SPLITS] : [checkSplit(o.split)];
  const overrides = o.settings !== undefined ? await readWorldSettings(o.settings) : {};
  // What runs, every default filled in: printed, and saved in the dataset folder (--config reruns it).
  const world = resolveWorldConfig(overrides);
  const { force, ...options } = o;
  // Every split is checked before anything is written.
  for (const split of splits) await assertReplaceable('--out', join(o.out, split), force, `a ${split} split`);
  log(formatResolvedConfig('world generate', { ...options, world }));
  await ensureWritableDir(o.out, '--out');
  await saveResolvedConfig(o.out, options);
  // Each split is generated beside its folder and swapped in once complete, so a failed or
  // killed run never leaves a half-written split, nor one that mixes two generations.
  const staging = join(o.out, `.partial-${process.pid}`);
  try {
    for (const split of splits) {
      const progress = createProgress(`world ${split}`, o.n);
      const generated = await generateWorld(
        { out: staging, split, n: o.n, seed: o.seed, ...overrides },
        { onProgress: (d) => progress.update(d) },
      );
      progress.stop();
      await swapInFolder(generated.dir, join(o.out, split));
      const result = { ...generated, dir: join(o.out, split) };
      log(
        `${split}: ${result.n} samples in ${result.dir} (attribute ${result.stats.attribute}, spatial ${result.stats.spatial}, following the priors ${result.stats.followsPrior})`,
      );
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** World settings from a file: an object of WorldConfig keys, unknown ones named by resolveWorldConfig. */
async function readWorldSettings(file: string): Promise<Partial<WorldConfig>> {
  const raw = await readConfigFile(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new InvalidInputError('--settings', file, 'expected a file holding an object of world settings');
  }
  const settings = raw as Partial<WorldConfig>;
  resolveWorldConfig(settings); // checked before anything is written
  return settings;
}

function checkSplit(split: string): Split {
  if (!(SPLITS as readonly string[]).includes(split)) {
    throw new InvalidInputError('--split', split, `expected one of ${SPLITS.join(', ')} or all`);
  }
  return split as Split;
}

export async function runWorldExport(
  dir: string,
  o: { readonly out: string; readonly split: string; readonly negative: string; readonly labels?: boolean },
  log: (line: string) => void,
): Promise<void> {
  if (!(NEGATIVE_VIEW_MODES as readonly string[]).includes(o.negative)) {
    throw new InvalidInputError(
      '--negative',
      o.negative,
      `expected one of ${NEGATIVE_VIEW_MODES.join(', ')}`,
    );
  }
  // The split's folder is read (manifest, images, labels): the parquet file goes elsewhere.
  await assertOutputsApart(
    [{ field: '--out-file', path: o.out }],
    [{ field: '--data', path: join(dir, o.split) }],
  );
  await ensureWritableDir(dirname(o.out), '--out-file');
  let progress: ReturnType<typeof createProgress> | undefined;
  const result = await exportParquet(dir, o.split, o.out, {
    negative: o.negative as NegativeViewMode,
    labelFree: !o.labels,
    onProgress: (done, total) => {
      progress ??= createProgress('export', total);
      progress.update(done);
    },
  });
  progress?.stop();
  log(`${result.rows} rows -> ${result.file}`);
}
