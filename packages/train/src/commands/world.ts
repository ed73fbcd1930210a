// `vzero world generate` and `vzero world export-parquet`.
import { dirname, join } from 'node:path';
import { InvalidInputError, ensureWritableDir } from '@vzero/core';
import { assertOutputsApart } from '../fs-safety.js';
import {
  NEGATIVE_VIEW_MODES,
  SPLITS,
  exportParquet,
  generateWorld,
  type NegativeViewMode,
  type Split,
} from '@vzero/world';
import { createProgress } from '../progress.js';

export interface GenerateCommandOptions {
  readonly out: string;
  readonly split: string;
  readonly n: number;
  readonly seed: number;
}

export async function runWorldGenerate(
  o: GenerateCommandOptions,
  log: (line: string) => void,
): Promise<void> {
  const splits: Split[] = o.split === 'all' ? [...SPLITS] : [checkSplit(o.split)];
  for (const split of splits) {
    const progress = createProgress(`world ${split}`, o.n);
    const result = await generateWorld(
      { out: o.out, split, n: o.n, seed: o.seed },
      { onProgress: (d) => progress.update(d) },
    );
    progress.stop();
    log(
      `${split}: ${result.n} samples in ${result.dir} (attribute ${result.stats.attribute}, spatial ${result.stats.spatial}, following the priors ${result.stats.followsPrior})`,
    );
  }
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
