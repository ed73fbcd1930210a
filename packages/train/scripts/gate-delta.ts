// Where the gate's mean delta comes from, pooled over the seeds of one arm of an ablation: the
// recorded steps of every <arm>-seed* run, judged against the labels of the split each run trained
// on (read here, after training), split as the inspector's table splits them
// (src/tracking/inspect-delta.ts). Prints a markdown table.
//   node --import tsx packages/train/scripts/gate-delta.ts runs/ablate/paper-table-world7 vzero
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listInspectSteps, readInspectRecord, INSPECT_DIR } from '../src/tracking/inspect-record.js';
import { readAnswerKey } from '../src/tracking/inspect-stats.js';
import {
  DELTA_HEADERS,
  deltaCells,
  deltaSplit,
  poolSplits,
  type DeltaSplit,
} from '../src/tracking/inspect-delta.js';

/** The pooled split of an arm's runs under `<ablation>/runs`, and how many runs and steps it read. */
export async function armDeltaSplit(
  ablation: string,
  arm: string,
): Promise<{ readonly split: DeltaSplit; readonly runs: number; readonly steps: number }> {
  const runsDir = join(ablation, 'runs');
  const runs = readdirSync(runsDir)
    .filter((r) => new RegExp(`^${arm.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-seed\\d+$`).test(r))
    .sort();
  if (runs.length === 0) throw new Error(`gate-delta: no ${arm}-seed* run under ${runsDir}`);
  const splits: DeltaSplit[] = [];
  let steps = 0;
  for (const run of runs) {
    const config = JSON.parse(readFileSync(join(runsDir, run, 'config.json'), 'utf8')) as {
      data?: { dir?: string; split?: string };
    };
    const key = await readAnswerKey(config.data?.dir, config.data?.split);
    if (!('entries' in key)) throw new Error(`gate-delta: ${run}: ${key.reason}`);
    const dir = join(runsDir, run, INSPECT_DIR);
    const records = await Promise.all((await listInspectSteps(dir)).map((s) => readInspectRecord(dir, s)));
    steps += records.length;
    splits.push(deltaSplit(records, key));
  }
  return { split: poolSplits(splits), runs: runs.length, steps };
}

/** The split as a markdown table. */
export function deltaMarkdown(split: DeltaSplit): string {
  return [
    `| ${DELTA_HEADERS.join(' | ')} |`,
    `|${DELTA_HEADERS.map(() => '---|').join('')}`,
    ...deltaCells(split).map((cells) => `| ${cells.join(' | ')} |`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [ablation, arm = 'vzero'] = process.argv.slice(2);
  if (!ablation) {
    console.error('usage: gate-delta.ts <ablation work folder> [arm (default vzero)]');
    process.exit(2);
  }
  const { split, runs, steps } = await armDeltaSplit(ablation, arm);
  console.log(`${arm}: ${runs} runs, ${steps} recorded steps\n`);
  console.log(deltaMarkdown(split));
}
