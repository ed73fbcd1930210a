// Questions a local checkpoint cannot read: with a closed word vocabulary (every checkpoint
// written before the byte-level tokenizers) a question with a word outside it, and with any
// tokenizer a prompt longer than the model's maxTextLength. `vzero eval` finds them before it
// starts, says how many there are and why, and scores them as unanswered (wrong) through a
// policy that gives them an empty response instead of calling the model: no question can stop
// an evaluation half-way, and none is dropped silently.
import type { Policy, Prompt, SampledResponse, SamplingOptions } from '@vzero/core';
import { splitWords, type Tokenizer } from '@vzero/model';
import { formatPrompt } from '@vzero/world';

export interface Unanswerable {
  readonly id: string;
  readonly reason: string;
}

/**
 * The questions of `samples` whose prompt text `tokenizer` cannot encode, or whose prompt leaves
 * no room for an answer token in `room` text positions (the <bos> token counted).
 */
export function findUnanswerable(
  samples: readonly { readonly id: string; readonly question: string; readonly options: readonly string[] }[],
  tokenizer: Tokenizer,
  room: number,
): Unanswerable[] {
  const out: Unanswerable[] = [];
  for (const s of samples) {
    const text = formatPrompt(s);
    const closed = tokenizer.kind === 'word' && !tokenizer.byteFallback;
    const unknown = closed ? splitWords(text).filter((w) => !tokenizer.has(w)) : [];
    if (unknown.length > 0) {
      out.push({ id: s.id, reason: `unknown word ${JSON.stringify(unknown[0])}` });
      continue;
    }
    const length = 1 + tokenizer.encode(text).length;
    if (length >= room) out.push({ id: s.id, reason: `prompt of ${length} tokens (maxTextLength ${room})` });
  }
  return out;
}

/** Lines for the log: how many questions are unanswerable and why, the first few named. */
export function describeUnanswerable(
  found: readonly Unanswerable[],
  total: number,
  tokenizer: Tokenizer,
): string[] {
  if (found.length === 0) return [];
  const closed = tokenizer.kind === 'word' && !tokenizer.byteFallback;
  const words = found.filter((u) => u.reason.startsWith('unknown word')).length;
  const lines: string[] = [];
  if (closed) {
    lines.push(
      `this checkpoint has a closed vocabulary (${tokenizer.size} tokens, written before the byte-level tokenizers): ` +
        `${words} of ${total} questions contain words outside it`,
    );
  }
  if (found.length > words)
    lines.push(`${found.length - words} of ${total} questions are longer than the model takes`);
  lines.push(
    `these ${found.length} questions are scored as unanswered (wrong), e.g. ` +
      found
        .slice(0, 3)
        .map((u) => `${u.id} (${u.reason})`)
        .join(', '),
  );
  return lines;
}

/** `inner`, except that prompts whose id is in `skip` get empty responses without a model call. */
export function skippingPolicy(inner: Policy, skip: ReadonlySet<string>): Policy {
  if (skip.size === 0) return inner;
  const empty = (): SampledResponse => ({
    tokenIds: [],
    logprobs: new Float32Array(0),
    samplingLogprobs: new Float32Array(0),
    finishReason: 'stop',
    text: '',
  });
  return {
    name: inner.name,
    tokenizerId: inner.tokenizerId,
    contextLength: inner.contextLength,
    ...(inner.samplingSeedScope !== undefined ? { samplingSeedScope: inner.samplingSeedScope } : {}),
    decode: (ids) => inner.decode(ids),
    score: (requests, options) => inner.score(requests, options),
    async sample(prompts: readonly Prompt[], options: SamplingOptions): Promise<SampledResponse[][]> {
      const asked = prompts.filter((p) => !skip.has(p.id));
      const answers = asked.length > 0 ? await inner.sample(asked, options) : [];
      let k = 0;
      return prompts.map((p) =>
        skip.has(p.id) ? Array.from({ length: options.n }, empty) : (answers[k++] as SampledResponse[]),
      );
    },
  };
}
