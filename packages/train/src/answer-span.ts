// The answer span of a response, located from the response format alone (never from a label):
// the tokens after the last "answer" marker ("the star is red . answer red" -> "red"). The gate
// can score only these tokens (`gate.span: answer`), so that the evidence-bearing answer is not
// diluted by the boilerplate the rollouts of a group share (a weak point of length averaging).

/** The marker the reference response format puts before the answer (also "final answer", "answer:"). */
const ANSWER_MARKER = /\banswer\b/gi;

export interface AnswerSpan {
  /** 1 for a real token after the marker, 0 elsewhere; same length as the input mask. */
  readonly mask: Uint8Array;
  /** False when the response has no marker or nothing after it: then `mask` is the input mask. */
  readonly found: boolean;
}

/**
 * The answer-span mask of one response, given the text of each of its tokens (`pieces`, which
 * concatenate to the response text) and its real-token mask. A token belongs to the span when it
 * starts at or after the end of the last marker and is not whitespace only. A response without a
 * marker, or with nothing after it, keeps its whole mask (`found: false`): it then weighs in as
 * with `span: all` rather than dropping out of its group.
 */
export function answerSpanMask(pieces: readonly string[], mask: ArrayLike<number>): AnswerSpan {
  const length = mask.length;
  const starts = new Array<number>(pieces.length);
  let offset = 0;
  pieces.forEach((piece, k) => {
    starts[k] = offset;
    offset += piece.length;
  });
  const text = pieces.join('');
  let markerEnd = -1;
  for (const m of text.matchAll(ANSWER_MARKER)) markerEnd = m.index + m[0].length;
  const span = new Uint8Array(length);
  let count = 0;
  if (markerEnd >= 0) {
    for (let k = 0; k < length && k < pieces.length; k++) {
      if (mask[k] !== 1) continue;
      if ((starts[k] as number) >= markerEnd && (pieces[k] as string).trim() !== '') {
        span[k] = 1;
        count++;
      }
    }
  }
  if (count > 0) return { mask: span, found: true };
  return { mask: Uint8Array.from({ length }, (_, k) => (mask[k] === 1 ? 1 : 0)), found: false };
}

/**
 * The text of each token of a response, such that the pieces concatenate to the decoded
 * response: piece k is what decoding k + 1 tokens adds to decoding k (word-level tokenizers
 * join words with spaces, byte-level ones may need several tokens for one character).
 */
export function responsePieces(decode: (ids: readonly number[]) => string, ids: readonly number[]): string[] {
  const pieces: string[] = [];
  let previous = '';
  for (let k = 0; k < ids.length; k++) {
    const text = decode(ids.slice(0, k + 1));
    // A decoder that is not prefix-consistent (rare) still yields one piece per token.
    pieces.push(text.startsWith(previous) ? text.slice(previous.length) : ` ${decode([ids[k] as number])}`);
    previous = text;
  }
  return pieces;
}
