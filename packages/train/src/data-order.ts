// Which samples a step trains on: a seeded permutation per epoch, cut into whole batches (the
// incomplete tail of an epoch is dropped, as the reference's data loader does), so no sample
// appears twice in a step. The batch of step s depends only on (seed, s): a resumed run sees
// exactly the data it would have seen.
import { Rng, deriveSeed, InvalidInputError } from '@vzero/core';

export function batchIndices(count: number, batchSize: number, step: number, seed: number): number[] {
  if (count < 1) throw new InvalidInputError('data', count, 'the training split holds no samples');
  if (batchSize > count) {
    throw new InvalidInputError('optim.promptsPerStep', batchSize, `exceeds the ${count} training samples`);
  }
  const stepsPerEpoch = Math.floor(count / batchSize);
  const epoch = Math.floor((step - 1) / stepsPerEpoch);
  const offset = ((step - 1) % stepsPerEpoch) * batchSize;
  const perm = new Rng(deriveSeed(seed, `epoch:${epoch}`)).shuffle(
    Array.from({ length: count }, (_, i) => i),
  );
  return perm.slice(offset, offset + batchSize);
}
