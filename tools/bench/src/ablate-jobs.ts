// Wall clock of `vzero ablate` with in-process runs one at a time (--jobs 1) against two at once
// (--jobs 2, one process per run), paired and alternating (1, 2, 2, 1, ...) on the same spec, from
// work folders warmed with the same worlds and starting models (copied from WARM, so no
// pre-training is timed and no finished run is reused). Prints each time and the ratio.
// Usage (from the repository root):
//   pnpm tsx tools/bench/src/ablate-jobs.ts [preset (paper-table-60)] [seeds (1)] [steps (20)] [pairs (1)] [warm folder (runs/ablate/paper-table)]
import { loadavg } from 'node:os';
import { timeWarmAblation } from './warm-ablation.js';

const [
  preset = 'paper-table-60',
  seeds = '1',
  steps = '20',
  pairsArg = '1',
  warm = 'runs/ablate/paper-table',
] = process.argv.slice(2);
const pairs = Number(pairsArg);

async function once(jobs: number): Promise<number> {
  const args = ['--preset', preset, '--seeds', seeds, '--steps', steps, '--jobs', String(jobs)];
  return (await timeWarmAblation(warm, args, async () => undefined)).minutes;
}

const times: Record<number, number[]> = { 1: [], 2: [] };
console.log(
  `vzero ablate --preset ${preset} --seeds ${seeds} --steps ${steps}, warm from ${warm}; load before: ${loadavg()[0]?.toFixed(2)}`,
);
for (let p = 0; p < pairs; p++) {
  for (const jobs of p % 2 === 0 ? [1, 2] : [2, 1]) {
    const m = await once(jobs);
    times[jobs]?.push(m);
    console.log(`pair ${p + 1}: --jobs ${jobs}: ${m.toFixed(2)} min (load ${loadavg()[0]?.toFixed(2)})`);
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const ratios = (times[1] ?? []).map((t, i) => t / (times[2]?.[i] ?? Number.NaN));
console.log(
  `--jobs 1: ${mean(times[1] ?? []).toFixed(2)} min, --jobs 2: ${mean(times[2] ?? []).toFixed(2)} min; ` +
    `speed-up per pair ${ratios.map((r) => r.toFixed(2)).join(', ')} (mean ${mean(ratios).toFixed(2)}x)`,
);
