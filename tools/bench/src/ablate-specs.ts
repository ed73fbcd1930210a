// Wall clock of `vzero ablate` for two specs (e.g. the paper-table and a copy that changes one
// setting), paired and alternating (A, B, B, A, ...), from work folders warmed with the same
// worlds and starting models (copied from WARM, so no pre-training is timed and no finished run is
// reused), runs one at a time. Prints each time, the ratio, and each arm's val-selected test and
// counter-prior accuracy under both, so a speed change can be read beside what it did to the
// numbers.
// Usage (from the repository root):
//   pnpm tsx tools/bench/src/ablate-specs.ts SPEC-A SPEC-B [seeds (1)] [steps (180)] [pairs (1)] [warm folder (runs/ablate/paper-table)]
// A spec is a file, or a shipped preset's name.
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { timeWarmAblation } from './warm-ablation.js';

const [specA, specB, seeds = '1', steps = '180', pairsArg = '1', warm = 'runs/ablate/paper-table'] =
  process.argv.slice(2);
if (!specA || !specB) {
  console.error('usage: ablate-specs.ts SPEC-A SPEC-B [seeds] [steps] [pairs] [warm folder]');
  process.exit(2);
}
const pairs = Number(pairsArg);
interface ArmNumbers {
  readonly label: string;
  readonly test: number;
  readonly counterPrior: number;
}

async function once(spec: string): Promise<{ minutes: number; arms: ArmNumbers[] }> {
  const which = existsSync(spec) ? ['--spec', spec] : ['--preset', spec];
  const r = await timeWarmAblation(warm, [...which, '--seeds', seeds, '--steps', steps], async (out) => {
    const json = (await readdir(join(out, 'results'))).find((f) => f.endsWith('.json'));
    const report = JSON.parse(await readFile(join(out, 'results', json as string), 'utf8')) as {
      arms: { label: string; selected: { test: { mean: number }; counterPrior: { mean: number } } }[];
    };
    return report.arms.map((a) => ({
      label: a.label,
      test: a.selected.test.mean,
      counterPrior: a.selected.counterPrior.mean,
    }));
  });
  return { minutes: r.minutes, arms: r.read };
}

console.log(
  `vzero ablate A=${specA} B=${specB} --seeds ${seeds} --steps ${steps}, warm from ${warm}; load before: ${loadavg()[0]?.toFixed(2)}`,
);
const ratios: number[] = [];
let last: Record<string, ArmNumbers[]> = {};
for (let p = 0; p < pairs; p++) {
  const times: Record<string, number> = {};
  for (const which of p % 2 === 0 ? ['A', 'B'] : ['B', 'A']) {
    const r = await once(which === 'A' ? specA : specB);
    times[which] = r.minutes;
    last = { ...last, [which]: r.arms };
    console.log(`pair ${p + 1}: ${which}: ${r.minutes.toFixed(2)} min (load ${loadavg()[0]?.toFixed(2)})`);
  }
  ratios.push((times['A'] as number) / (times['B'] as number));
}
console.log(`A / B per pair: ${ratios.map((r) => `${r.toFixed(2)}x`).join(', ')}`);
const pct = (x: number) => (100 * x).toFixed(1);
console.log('arm | test A | test B | counter-prior A | counter-prior B');
for (const a of last['A'] ?? []) {
  const b = (last['B'] ?? []).find((x) => x.label === a.label);
  console.log(
    `${a.label} | ${pct(a.test)} | ${b ? pct(b.test) : '-'} | ${pct(a.counterPrior)} | ${b ? pct(b.counterPrior) : '-'}`,
  );
}
