// Answer extraction from free-form responses to multiple-choice questions. Accepts the option
// letter ("B", "(b)", "B. red", "... the answer is (b)") or the option's text ("red"). Anything
// else, including a response that names several options without committing, is no answer: it
// counts as wrong and is reported separately as "unanswered".
import { optionLetter } from '@vzero/core';

/** How an answer was recognised. */
export type ExtractionRule = 'answer-phrase' | 'leading-letter' | 'option-text' | 'parenthesised-letter';

export interface ExtractedAnswer {
  /** Index of the chosen option (0 = "A"). */
  readonly index: number;
  readonly letter: string;
  readonly rule: ExtractionRule;
}

const ANSWER_PHRASE = /\b(?:final\s+)?answer\b(?:\s+is)?\s*[:=]?\s*(?:option\s+)?/gi;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * A letter at the start of `text`: "(b)", "B", "B.", "B)", "B: red". A bare letter followed by a
 * word ("A red car", "I think") is read as a word, except an uppercase one right after "answer
 * is" (`trusted`); a lowercase one followed by a word ("answer is a red car") never is a letter.
 */
function leadingLetter(text: string, count: number, trusted: boolean): number | undefined {
  const s = text.trimStart();
  const paren = /^\(\s*([A-Za-z])\s*\)/.exec(s);
  const bare = /^([A-Za-z])(?=$|[\s.,:;)!?])/.exec(s);
  let letter: string | undefined;
  if (paren) letter = paren[1];
  else if (bare) {
    letter = bare[1] as string;
    const after = s.slice(1);
    const standsAlone = after.trim() === '' || /^\s*[.):,;!?]/.test(after);
    if (!standsAlone && (!trusted || letter === letter.toLowerCase())) return undefined;
  }
  if (letter === undefined) return undefined;
  const index = letter.toUpperCase().charCodeAt(0) - 65;
  return index >= 0 && index < count ? index : undefined;
}

/** Option whose text `text` starts with (longest match wins: "dark red" over "red"). */
function leadingOptionText(text: string, options: readonly string[]): number | undefined {
  const s = text.trimStart().toLowerCase();
  let best: number | undefined;
  let bestLength = 0;
  options.forEach((option, i) => {
    const o = option.trim().toLowerCase();
    if (o === '' || !s.startsWith(o)) return;
    const next = s.charAt(o.length);
    if (next !== '' && /\w/.test(next)) return;
    if (o.length > bestLength) {
      best = i;
      bestLength = o.length;
    }
  });
  return best;
}

/** Options whose text occurs as whole words; an option inside a longer found option is dropped. */
function mentionedOptions(text: string, options: readonly string[]): number[] {
  const found: number[] = [];
  options.forEach((option, i) => {
    const o = option.trim();
    if (o === '') return;
    const re = new RegExp(`(?<![\\w])${escapeRegExp(o)}(?![\\w])`, 'i');
    if (re.test(text)) found.push(i);
  });
  return found.filter(
    (i) =>
      !found.some((j) => {
        if (j === i) return false;
        const a = (options[i] ?? '').trim().toLowerCase();
        const b = (options[j] ?? '').trim().toLowerCase();
        return b.length > a.length && b.includes(a);
      }),
  );
}

/** Distinct option letters written in parentheses: "(b)", "( C )". */
function parenthesisedLetters(text: string, count: number): Set<number> {
  const letters = new Set<number>();
  for (const m of text.matchAll(/\(\s*([A-Za-z])\s*\)/g)) {
    const index = (m[1] as string).toUpperCase().charCodeAt(0) - 65;
    if (index >= 0 && index < count) letters.add(index);
  }
  return letters;
}

function answer(index: number, rule: ExtractionRule): ExtractedAnswer {
  return { index, letter: optionLetter(index), rule };
}

/**
 * The option a response commits to, or undefined. Rules, first match wins:
 * 1. after the last "answer [is] [:]": a letter ("(b)", "B") or the start of an option's text;
 * 2. the response starts with a letter: "B", "(b)", "B. red", "B) red" (and names no other
 *    letter in parentheses);
 * 3. exactly one option's text occurs as whole words ("red"; "dark red" hides "red");
 * 4. exactly one distinct parenthesised letter "(C)" occurs.
 */
export function extractAnswer(response: string, options: readonly string[]): ExtractedAnswer | undefined {
  const count = options.length;
  const text = response.trim();
  if (text === '' || count === 0) return undefined;

  let lastEnd = -1;
  for (const m of text.matchAll(ANSWER_PHRASE)) lastEnd = (m.index ?? 0) + m[0].length;
  if (lastEnd >= 0) {
    const rest = text.slice(lastEnd);
    const byLetter = leadingLetter(rest, count, true);
    if (byLetter !== undefined) return answer(byLetter, 'answer-phrase');
    const byText = leadingOptionText(rest, options);
    if (byText !== undefined) return answer(byText, 'answer-phrase');
  }

  const letters = parenthesisedLetters(text, count);
  const leading = leadingLetter(text, count, false);
  // "(A) or (B)" leads with a letter but commits to nothing.
  if (leading !== undefined && [...letters].every((i) => i === leading))
    return answer(leading, 'leading-letter');

  const mentioned = mentionedOptions(text, options);
  if (mentioned.length === 1) return answer(mentioned[0] as number, 'option-text');

  if (letters.size === 1) return answer([...letters][0] as number, 'parenthesised-letter');
  return undefined;
}
