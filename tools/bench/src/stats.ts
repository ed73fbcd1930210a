// Repeated measurements are reported as median and spread (min..max), never a single run: the
// machines this runs on are shared, so one figure alone says little.
import { InvalidInputError } from '@vzero/core';

export interface Figure {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: readonly number[];
}

export function figure(samples: readonly number[]): Figure {
  if (samples.length === 0) throw new InvalidInputError('samples', samples, 'expected at least one value');
  for (const s of samples)
    if (!Number.isFinite(s)) throw new InvalidInputError('samples', s, 'expected finite values');
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, samples: [...samples] };
}

/** A figure of rates (per second) from durations in ms and the work done in each. */
export function rate(work: readonly number[], ms: readonly number[]): Figure {
  return figure(ms.map((t, i) => (work[i] ?? 0) / (t / 1000)));
}

/** "12.3 (11.9-13.0)": median and spread, with a sensible number of digits. */
export function formatFigure(f: Figure | undefined, digits?: number): string {
  if (!f) return 'n/a';
  const d = digits ?? (Math.abs(f.median) >= 100 ? 0 : Math.abs(f.median) >= 10 ? 1 : 2);
  if (f.samples.length === 1) return f.median.toFixed(d);
  return `${f.median.toFixed(d)} (${f.min.toFixed(d)}-${f.max.toFixed(d)})`;
}
