// `vzero eval --checkpoint DIR --bench PATH [--out DIR]`: any checkpoint on any benchmark the
// toolkit can read: a world dataset folder (one split), a V* Bench folder, an HR-Bench TSV file.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, ensureWritableDir } from '@vzero/core';
import { assertOutputsApart } from '../fs-safety.js';
import { evaluate, writeReport, type BenchSample, type Report } from '@vzero/bench';
import { loadHRBench, loadLabelled, loadVStarBench, MANIFEST_FILE } from '@vzero/world';
import { loadPolicy } from '../models.js';
import { createProgress } from '../progress.js';
import { promptsForModel } from '../prompts.js';
import { setupTensors } from '../tensors.js';

export interface EvalCommandOptions {
  readonly checkpoint: string;
  readonly bench: string;
  readonly split: string;
  readonly out?: string;
  readonly limit: number;
  readonly seed: number;
}

/** Reads a benchmark from whichever layout `path` holds. */
export async function loadBenchmark(
  path: string,
  split: string,
): Promise<{ name: string; samples: BenchSample[] }> {
  if (!existsSync(path)) throw new InvalidInputError('--bench', path, 'no such file or folder');
  if (statSync(path).isFile()) {
    if (!path.endsWith('.tsv'))
      throw new InvalidInputError('--bench', path, 'a file must be an HR-Bench .tsv');
    const rows = await loadHRBench(path);
    // Rows of one question under different option orders share the question and the image.
    return {
      name: 'HR-Bench',
      samples: rows.map((r) => ({
        ...r,
        ...(r.cycleCategory ? { cycle: r.cycleCategory } : {}),
        groupKey: `${r.question}|${[...r.options].sort().join('|')}`,
      })),
    };
  }
  if (existsSync(join(path, split, MANIFEST_FILE))) {
    return { name: `world ${split}`, samples: await loadLabelled(path, split) };
  }
  return { name: 'V* Bench', samples: await loadVStarBench(path) };
}

export async function runEval(o: EvalCommandOptions, log: (line: string) => void): Promise<Report> {
  if (!(Number.isInteger(o.limit) && o.limit >= 0))
    throw new InvalidInputError('--limit', o.limit, 'expected an integer >= 0 (0 means all)');
  if (o.out !== undefined) {
    // The report goes next to nothing this command reads; checked before the long evaluation.
    const out = o.out;
    await assertOutputsApart(
      [
        { field: '--out', path: out, container: true },
        ...['report.json', 'report.md', 'report.svg', 'report.png'].map((f) => ({
          field: '--out',
          path: join(out, f),
        })),
      ],
      [
        { field: '--checkpoint', path: o.checkpoint },
        { field: '--bench', path: o.bench },
      ],
    );
    await ensureWritableDir(out, '--out');
  }
  await setupTensors(log);
  const loaded = await loadPolicy(o.checkpoint, '--checkpoint', 'policy');
  try {
    const { name, samples: all } = await loadBenchmark(o.bench, o.split);
    const samples = o.limit > 0 ? all.slice(0, o.limit) : all;
    const { withCrop, promptFor } = promptsForModel(loaded.model.config, o.seed);
    log(
      `eval ${o.checkpoint} on ${name}: ${samples.length} questions${withCrop ? ' (with the positive crop)' : ''}`,
    );
    const progress = createProgress('eval', samples.length);
    const report = await evaluate(loaded.policy, samples, {
      promptFor,
      maxTokens: 16,
      benchmark: name,
      method: o.checkpoint,
      onProgress: (p) => progress.update(p.done),
    });
    progress.stop();
    if (o.out) {
      const files = await writeReport(report, o.out);
      log(`report -> ${Object.values(files).join(', ')}`);
    }
    return report;
  } finally {
    loaded.model.dispose();
  }
}
