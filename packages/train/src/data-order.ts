// Which samples a step trains on: a seeded permutation per epoch, consumed in order. The batch of
// step s depends only on (seed, s), so a resumed run sees exactly the data it would have seen.
import { Rng, deriveSeed, InvalidInputError } from '@vzero/core';

export function batchIndices(count: number, batchSize: number, step: number, seed: number): number[] {
  if (count < 1) throw new InvalidInputError('data', count, 'the training split holds no samples');
  const out: number[] = [];
  const perms = new Map<number, number[]>();
  for (let k = 0; k < batchSize; k++) {
    const position = (step - 1) * batchSize + k;
    const epoch = Math.floor(position / count);
    let perm = perms.get(epoch);
    if (!perm) {
      perm = new Rng(deriveSeed(seed, `epoch:${epoch}`)).shuffle(Array.from({ length: count }, (_, i) => i));
      perms.set(epoch, perm);
    }
    out.push(perm[position % count] as number);
  }
  return out;
}
