// Wilson score interval for a binomial proportion: well-behaved at 0, 1 and small n, unlike the
// normal (Wald) interval.

export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson interval of `successes` out of `trials` (successes may be fractional, e.g. a mean
 * accuracy over sampled responses times the question count). [0, 1] when trials is 0.
 */
export function wilsonInterval(successes: number, trials: number, z = Z95): Interval {
  if (!(trials > 0)) return { lo: 0, hi: 1 };
  const p = Math.min(1, Math.max(0, successes / trials));
  const z2 = z * z;
  const denom = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denom;
  // Clamped so that rounding never puts the estimate outside its interval (p = 0 gives lo = 0).
  return { lo: Math.min(p, Math.max(0, centre - half)), hi: Math.max(p, Math.min(1, centre + half)) };
}
