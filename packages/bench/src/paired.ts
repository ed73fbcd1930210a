// Paired comparisons of two methods evaluated on the same items over the same seeds, with 95%
// intervals a reviewer accepts: a Student-t interval over per-seed differences, and a two-level
// paired bootstrap that resamples seeds and items together (both sources of noise: training
// seeds and the finite test set).
import { InvalidInputError, Rng } from '@vzero/core';
import type { Interval } from './wilson.js';

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (then the normal's). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** t quantile for a two-sided 95% interval with `df` degrees of freedom. */
export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new InvalidInputError('df', df, 'expected an integer >= 1');
  return T975[df - 1] ?? 1.96;
}

export interface PairedDifference {
  /** Mean of a - b. */
  readonly mean: number;
  /** 95% interval of the mean difference. */
  readonly interval: Interval;
  /** The interval excludes 0. */
  readonly measurable: boolean;
}

/**
 * Mean of per-seed differences a[i] - b[i] with a Student-t 95% interval (n - 1 degrees of
 * freedom). A single pair gives an unbounded interval (nothing can be claimed from one seed).
 */
export function seedDifference(a: readonly number[], b: readonly number[]): PairedDifference {
  if (a.length !== b.length) {
    throw new InvalidInputError('b', b.length, `expected as many seeds as a (${a.length})`);
  }
  if (a.length === 0) throw new InvalidInputError('a', a, 'expected at least one seed');
  const d = a.map((x, i) => x - (b[i] as number));
  const n = d.length;
  const mean = d.reduce((s, x) => s + x, 0) / n;
  if (n === 1) return { mean, interval: { lo: -Infinity, hi: Infinity }, measurable: false };
  const sd = Math.sqrt(d.reduce((s, x) => s + (x - mean) * (x - mean), 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  const interval = { lo: mean - half, hi: mean + half };
  return { mean, interval, measurable: interval.lo > 0 || interval.hi < 0 };
}

/**
 * Paired bootstrap of mean(a) - mean(b) over seeds and items: `a[s][i]` and `b[s][i]` are the
 * scores (0/1 or in between) of item i under seed s for the two methods. Each replicate draws
 * seeds with replacement, then items with replacement, and keeps every pairing (same seed index,
 * same item, for both methods). A method without seeds (e.g. the starting model) repeats its one
 * row for every seed. Returns the observed mean difference and the 2.5/97.5 percentiles.
 */
export function pairedBootstrap(
  a: readonly ArrayLike<number>[],
  b: readonly ArrayLike<number>[],
  options: { readonly replicates?: number; readonly seed?: number } = {},
): PairedDifference {
  const seeds = Math.max(a.length, b.length);
  if (a.length === 0 || b.length === 0)
    throw new InvalidInputError('a', a.length, 'expected at least one seed row per method');
  for (const [name, rows] of [
    ['a', a],
    ['b', b],
  ] as const) {
    if (rows.length !== 1 && rows.length !== seeds) {
      throw new InvalidInputError(name, rows.length, `expected 1 or ${seeds} seed rows`);
    }
  }
  const items = (a[0] as ArrayLike<number>).length;
  if (items === 0) throw new InvalidInputError('a[0]', items, 'expected at least one item');
  const rowA = (s: number) => a[a.length === 1 ? 0 : s] as ArrayLike<number>;
  const rowB = (s: number) => b[b.length === 1 ? 0 : s] as ArrayLike<number>;
  // Differences per seed and item, checked once.
  const diff: Float64Array[] = [];
  for (let s = 0; s < seeds; s++) {
    const ra = rowA(s);
    const rb = rowB(s);
    if (ra.length !== items || rb.length !== items) {
      throw new InvalidInputError(
        `seed ${s}`,
        `${ra.length}/${rb.length} items`,
        `expected ${items} items for both methods`,
      );
    }
    const d = new Float64Array(items);
    for (let i = 0; i < items; i++) {
      const x = (ra[i] as number) - (rb[i] as number);
      if (!Number.isFinite(x))
        throw new InvalidInputError(`seed ${s} item ${i}`, x, 'expected finite scores');
      d[i] = x;
    }
    diff.push(d);
  }
  let total = 0;
  for (const d of diff) for (const x of d) total += x;
  const mean = total / (seeds * items);
  const replicates = options.replicates ?? 2000;
  const rng = new Rng(options.seed ?? 0);
  const stats = new Float64Array(replicates);
  for (let r = 0; r < replicates; r++) {
    let sum = 0;
    for (let s = 0; s < seeds; s++) {
      const d = diff[rng.int(0, seeds)] as Float64Array;
      for (let i = 0; i < items; i++) sum += d[rng.int(0, items)] as number;
    }
    stats[r] = sum / (seeds * items);
  }
  stats.sort();
  const interval = { lo: quantile(stats, 0.025), hi: quantile(stats, 0.975) };
  return { mean, interval, measurable: interval.lo > 0 || interval.hi < 0 };
}

/** Linear-interpolated quantile of sorted values. */
function quantile(sorted: Float64Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}
