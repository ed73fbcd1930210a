// One ablation run in a process of its own (see ./worker-client.ts): reads the job file named
// by its argument, loads the plug-ins the ablation's process loaded, makes the run with the
// ablation's own runArm, and exits 0 once result.json is written, or 1 with the error on stderr.
import { readFile } from 'node:fs/promises';
import { loadLabelled, type WorldLabelledSample } from '@vzero/world';
import { setupTensors } from '../tensors.js';
import { loadPlugins } from '../methods/plugins.js';
import { EVAL_SPLITS, runArm, type EvalSplit } from './run.js';
import type { RunJob } from './worker-client.js';

async function main(jobFile: string): Promise<void> {
  const job = JSON.parse(await readFile(jobFile, 'utf8')) as RunJob;
  // Before the run's config is checked: its method may be one a plug-in registers.
  await loadPlugins(job.plugins, { field: `${jobFile}: plugins` });
  await setupTensors();
  const arm = job.preset.arms.find((a) => a.id === job.armId);
  if (!arm) throw new Error(`${jobFile}: no arm ${job.armId} in the job's spec`);
  const splits = Object.fromEntries(
    await Promise.all(EVAL_SPLITS.map(async (s) => [s, await loadLabelled(job.ctx.world, s)] as const)),
  ) as Record<EvalSplit, WorldLabelledSample[]>;
  await runArm(arm, job.seed, job.preset, { ...job.ctx, splits, parallel: true }, (line) =>
    process.stdout.write(line + '\n'),
  );
}

const jobFile = process.argv[2];
if (!jobFile) {
  process.stderr.write('usage: worker JOB_FILE\n');
  process.exit(2);
}
main(jobFile).then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
