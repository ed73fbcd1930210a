// The world's closed vocabulary. The word-level tokenizer of the small models errors on unknown
// words, so every question, option, prompt and reference response the world writes is built
// from these words only (a test checks every generated sample).

/** Shapes an object of the world can have. */
export const SHAPES = ['circle', 'square', 'triangle', 'star', 'diamond', 'hexagon'] as const;
export type Shape = (typeof SHAPES)[number];

/** Colours an object can be filled with (names as they appear in text). */
export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange', 'white', 'black'] as const;
export type Colour = (typeof COLOURS)[number];

/** Horizontal relations of spatial questions. */
export const RELATIONS = ['left', 'right'] as const;
export type Relation = (typeof RELATIONS)[number];

/** Option letters (upper case, the only upper-case words). */
export const OPTION_LETTERS = ['A', 'B', 'C', 'D'] as const;

const FUNCTION_WORDS = ['what', 'is', 'the', 'colour', 'of', 'on', 'or', 'answer', 'options'] as const;
const PUNCTUATION = ['?', '.', ',', ':'] as const;

/** Every word any world question, option, prompt or reference response can contain. */
export const WORLD_VOCABULARY: readonly string[] = Object.freeze([
  ...PUNCTUATION,
  ...OPTION_LETTERS,
  ...FUNCTION_WORDS,
  ...SHAPES,
  ...COLOURS,
  ...RELATIONS,
]);

const VOCABULARY_SET: ReadonlySet<string> = new Set(WORLD_VOCABULARY);

/** Splits text into words on runs of whitespace (punctuation is already space-separated). */
export function tokenizeWords(text: string): string[] {
  return text.split(/\s+/).filter((w) => w.length > 0);
}

/** The words of `text` that are not in WORLD_VOCABULARY (empty when the text is in-vocabulary). */
export function outOfVocabulary(text: string): string[] {
  return tokenizeWords(text).filter((w) => !VOCABULARY_SET.has(w));
}

export function isShape(value: unknown): value is Shape {
  return typeof value === 'string' && (SHAPES as readonly string[]).includes(value);
}

export function isColour(value: unknown): value is Colour {
  return typeof value === 'string' && (COLOURS as readonly string[]).includes(value);
}
