// The K largest entries of a row by partial selection: O(V * K) instead of sorting all V entries,
// for the teacher's top-K log-probs per token (K is small, V is the vocabulary).

/**
 * Indices of the `k` largest values of `row`, largest first; equal values keep the lower index
 * first (the order a stable descending sort gives). k is clamped to [0, row.length].
 */
export function largestK(row: ArrayLike<number>, k: number): number[] {
  const n = Math.min(Math.max(0, Math.floor(k)), row.length);
  const best: number[] = [];
  if (n === 0) return best;
  // An index beats another when its value is larger, or equal with a lower index.
  const beats = (i: number, j: number): boolean => row[i]! > row[j]! || (row[i] === row[j] && i < j);
  for (let i = 0; i < row.length; i++) {
    if (best.length === n && !beats(i, best[n - 1]!)) continue;
    let pos = best.length === n ? n - 1 : best.length;
    // Shift the entries i beats one place down, then put i in the gap.
    while (pos > 0 && beats(i, best[pos - 1]!)) {
      best[pos] = best[pos - 1]!;
      pos--;
    }
    best[pos] = i;
  }
  return best;
}
