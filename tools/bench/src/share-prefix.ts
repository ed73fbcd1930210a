// The update with each prompt's images encoded once per mini-batch (optim.sharePrefix) against
// once per rollout, on the paper-table's models and training settings: STEPS V-Zero steps from
// the same starting student, alternating off / on for REPS pairs, no evaluation. Prints each run's
// median update time per step, the pair's ratio, and how far the runs' losses and gradient norms
// are apart (same seed: the forward pass is the same up to a few ulp, so the first step's loss
// must agree; later steps may drift as float sums are ordered differently).
//   pnpm exec tsx tools/bench/src/share-prefix.ts WORK-FOLDER [STEPS=20] [REPS=2]
// WORK-FOLDER holds world/ and models/{teacher,student} (a `vzero demo` folder, or an ablation's).
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ablatePreset, parseTrainConfig, train, type TrainConfigInput } from '@vzero/train';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: share-prefix.ts WORK-FOLDER [STEPS=20] [REPS=2]');
  process.exit(2);
}
const steps = Number(process.argv[3] ?? '20');
const reps = Number(process.argv[4] ?? '2');
const preset = ablatePreset('paper-table');

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function run(sharePrefix: boolean, rep: number) {
  const out = join(dir as string, 'share-prefix-bench', `${sharePrefix ? 'on' : 'off'}-${rep}`);
  rmSync(out, { recursive: true, force: true });
  const base = preset.train as TrainConfigInput & { optim?: Record<string, unknown> };
  const config = parseTrainConfig({
    ...base,
    method: 'vzero',
    seed: 0,
    steps,
    out,
    checkpointEvery: 0,
    data: { dir: join(dir as string, 'world'), split: 'train' },
    models: {
      teacher: join(dir as string, 'models', 'teacher'),
      student: join(dir as string, 'models', 'student'),
    },
    eval: { splits: [] },
    optim: { ...base.optim, sharePrefix },
  } as TrainConfigInput);
  const load = loadavg()[0] as number;
  const result = await train(config, { hooks: { log: () => undefined } });
  const records = result.records;
  result.student.model.dispose();
  return {
    update: median(records.map((r) => r.time['update'] as number)),
    total: median(records.map((r) => r.time['total'] as number)),
    loss: records.map((r) => r.loss),
    gradNorm: records.map((r) => r.gradNorm),
    load,
  };
}

const ratios: number[] = [];
for (let rep = 0; rep < reps; rep++) {
  const off = await run(false, rep);
  const on = await run(true, rep);
  ratios.push(off.update / on.update);
  const drift = (a: readonly number[], b: readonly number[]) =>
    a.map((x, i) => Math.abs(x - (b[i] as number)) / Math.max(1e-12, Math.abs(x)));
  const lossDrift = drift(off.loss, on.loss);
  const firstSame = lossDrift.findIndex((d) => d > 1e-4);
  console.log(
    `pair ${rep}: update per step off ${off.update.toFixed(0)} ms, on ${on.update.toFixed(0)} ms, ratio ${(off.update / on.update).toFixed(2)}x; ` +
      `whole step ${off.total.toFixed(0)} -> ${on.total.toFixed(0)} ms (${(off.total / on.total).toFixed(2)}x); ` +
      `loss relative difference step 1 ${lossDrift[0]!.toExponential(1)}, ` +
      `steps within 1e-4: ${firstSame < 0 ? `all ${steps}` : `first ${firstSame}`}; ` +
      `grad norm step 1 ${drift(off.gradNorm, on.gradNorm)[0]!.toExponential(1)}; load ${off.load.toFixed(1)} / ${on.load.toFixed(1)}`,
  );
}
console.log(`median update ratio ${median(ratios).toFixed(2)}x over ${reps} pairs of ${steps} steps`);
