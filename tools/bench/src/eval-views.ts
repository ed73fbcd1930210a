// Evaluation with the views built once per process (EvalPrompts) against a fresh factory per
// evaluation, as a run evaluates: the same student, the same 400 questions, alternating, paired.
// Prints each pair's seconds and the ratio, and checks the per-question results are identical.
//   pnpm exec tsx tools/bench/src/eval-views.ts [WORK-FOLDER=runs/ablate/paper-table] [REPS=3]
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { deriveSeed } from '@vzero/core';
import { loadLabelled } from '@vzero/world';
import { EvalPrompts, PromptFactory, evaluatePolicy, loadPolicy, setupTensors } from '@vzero/train';

const dir = process.argv[2] ?? 'runs/ablate/paper-table';
const reps = Number(process.argv[3] ?? '3');
await setupTensors(() => undefined);
const loaded = await loadPolicy(join(dir, 'models', 'student'), 'student', 'student');
const samples = await loadLabelled(join(dir, 'world'), 'val');
const settings = {
  negative: 'outside-downsampled' as const,
  factor: 2,
  padding: 0,
  seed: deriveSeed(0, 'views'),
  encode: false,
};
const shared = new EvalPrompts();
const evaluateWith = async (factory: PromptFactory) => {
  const t = performance.now();
  const r = await evaluatePolicy(loaded.policy, samples, (s) => factory.student(s), { items: true });
  return { seconds: (performance.now() - t) / 1000, correct: r.correct };
};
// the run's first evaluation builds the shared views; later ones reuse them
const first = await evaluateWith(shared.factory(loaded.model.config, undefined, settings));
console.log(
  `first evaluation (builds the views): ${first.seconds.toFixed(2)} s; load ${loadavg()[0]!.toFixed(2)}`,
);
const ratios: number[] = [];
for (let rep = 0; rep < reps; rep++) {
  const a = await evaluateWith(new PromptFactory(loaded.model.config, undefined, settings));
  const b = await evaluateWith(shared.factory(loaded.model.config, undefined, settings));
  if (a.correct !== b.correct || a.correct !== first.correct) throw new Error('per-question results differ');
  ratios.push(a.seconds / b.seconds);
  console.log(
    `rep ${rep}: fresh views ${a.seconds.toFixed(2)} s, shared views ${b.seconds.toFixed(2)} s, ratio ${(a.seconds / b.seconds).toFixed(2)}x; load ${loadavg()[0]!.toFixed(2)}`,
  );
}
ratios.sort((x, y) => x - y);
console.log(
  `median ratio ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)}x over ${reps} pairs (${samples.length} questions, identical results)`,
);
loaded.model.dispose();
