// Hand-made labelled samples: the image is never read by the scoring code.
import { optionLetter } from '@vzero/core';
import type { BenchSample } from '../src/index.js';

export function question(
  id: string,
  options: readonly string[],
  answerIndex: number,
  extra: { category?: string; groupKey?: string; cycle?: string } = {},
): BenchSample {
  return {
    id,
    image: { bytes: new Uint8Array() },
    question: 'what colour is the sign ?',
    options,
    boxes: [{ x0: 0, y0: 0, x1: 4, y1: 4 }],
    category: extra.category ?? 'attribute',
    answer: optionLetter(answerIndex),
    answerIndex,
    ...(extra.groupKey !== undefined ? { groupKey: extra.groupKey } : {}),
    ...(extra.cycle !== undefined ? { cycle: extra.cycle } : {}),
  };
}

/** Options rotated left by `shift` (HR-Bench's cyclic orders) with the answer index moved along. */
export function rotated(
  id: string,
  options: readonly string[],
  answerIndex: number,
  shift: number,
  category: string,
): BenchSample {
  const n = options.length;
  const order = options.map((_o, i) => options[(i + shift) % n] as string);
  return question(`${id}-c${shift}`, order, (answerIndex - shift + n) % n, {
    category,
    groupKey: id,
    cycle: `cycle${shift}`,
  });
}
