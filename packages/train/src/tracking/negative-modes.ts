// Which mode actually made a run's negative views: the requested one where it can be made, a
// fallback elsewhere. Summed over steps (and seeds) and printed wherever a run's settings are.

/** Counts of negative views by the mode that made them. */
export type NegativeModeCounts = Readonly<Record<string, number>>;

/** The sum of several count records (steps of a run, runs of an arm). */
export function addNegativeModes(
  records: readonly (NegativeModeCounts | undefined)[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (!r) continue;
    for (const [mode, n] of Object.entries(r)) out[mode] = (out[mode] ?? 0) + n;
  }
  return out;
}

/**
 * "outside-downsampled 98.9% (1424 of 1440), outside-crop 1.1% (16)": modes by share, largest
 * first; "none" when nothing was counted.
 */
export function formatNegativeModes(counts: NegativeModeCounts | undefined): string {
  const entries = Object.entries(counts ?? {}).filter(([, n]) => n > 0);
  const total = entries.reduce((a, [, n]) => a + n, 0);
  if (total === 0) return 'none';
  return entries
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([mode, n], i) => `${mode} ${((100 * n) / total).toFixed(1)}% (${i === 0 ? `${n} of ${total}` : n})`)
    .join(', ');
}
