import { mkdtemp, readFile, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FileSystemError, InvalidInputError } from '@vzero/core';
import { HfTokenizer } from '../src/index.js';
import { RUST_TOKENIZER_IDS } from './qwen-golden-ids.js';
import { QWEN_TOKENIZER_DIR, qwenTokenizer, tinyTokenizerJson } from './qwen-tokenizer.js';

let tok: HfTokenizer;
beforeAll(async () => {
  tok = await qwenTokenizer();
});

describe('HfTokenizer on the shipped Qwen3 tokenizer.json', () => {
  it('has the Qwen vocabulary and the chat and vision special tokens at their ids', () => {
    // 151643 BPE tokens + 26 added tokens (151643..151668).
    expect(tok.vocabSize).toBe(151669);
    expect(tok.id).toMatch(/^hf-[0-9a-f]{16}$/);
    const ids = Object.fromEntries(
      [
        '<|endoftext|>',
        '<|im_start|>',
        '<|im_end|>',
        '<|vision_start|>',
        '<|vision_end|>',
        '<|image_pad|>',
      ].map((t) => [t, tok.specialTokens.get(t)]),
    );
    expect(ids).toEqual({
      '<|endoftext|>': 151643,
      '<|im_start|>': 151644,
      '<|im_end|>': 151645,
      '<|vision_start|>': 151652,
      '<|vision_end|>': 151653,
      '<|image_pad|>': 151655,
    });
    expect(tok.tokenId('<think>')).toBe(151667);
    expect(tok.specialTokens.has('<think>')).toBe(false); // added, not special
  });

  it('encodes text to the ids of the reference (Rust) tokenizers library', () => {
    // Expected ids: Hugging Face's Rust `tokenizers` (npm `tokenizers` 0.23.2, the binding of the
    // library transformers uses) on this same tokenizer.json, encode(text, addSpecialTokens: false).
    const golden: [string, number[]][] = [
      ['user\n', [872, 198]],
      ['assistant\n', [77091, 198]],
      ['system\n', [8948, 198]],
      [
        'What colour is the triangle? options : A red , B green , C blue .',
        [3838, 12463, 374, 279, 21495, 30, 2606, 549, 362, 2518, 1154, 425, 6176, 1154, 356, 6303, 659],
      ],
      ['Which shape is left of the star?', [23085, 6083, 374, 2115, 315, 279, 6774, 30]],
      ['The triangle is red. answer A', [785, 21495, 374, 2518, 13, 4226, 362]],
      ['naïve café – 東京?', [3376, 37572, 586, 51950, 1365, 60596, 109, 46553, 30]],
      ['héllo 你好', [71, 18503, 385, 220, 108386]],
      [
        'What colour is the circle?\nA) red\nB) blue  \n\n x',
        [3838, 12463, 374, 279, 12671, 5267, 32, 8, 2518, 198, 33, 8, 6303, 18611, 856],
      ],
      ['<|im_start|>user\n<|vision_start|>', [151644, 872, 198, 151652]],
    ];
    for (const [text, ids] of golden) expect(tok.encode(text), JSON.stringify(text)).toEqual(ids);
  });

  it('agrees with the Rust library on harder text, and decodes it back (in NFC, as the tokenizer normalizes)', () => {
    for (const [text, ids] of RUST_TOKENIZER_IDS) {
      expect(tok.encode(text), JSON.stringify(text)).toEqual(ids);
      expect(tok.decode(ids), JSON.stringify(text)).toBe(text.normalize('NFC'));
    }
  });

  it('decodes back to the text, keeping or skipping special tokens', () => {
    const ids = tok.encode('<|im_start|>naïve café – 東京?<|im_end|>');
    expect(tok.decode(ids)).toBe('<|im_start|>naïve café – 東京?<|im_end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('naïve café – 東京?');
    expect(tok.findSpecialToken('a <|im_end|> b')).toBe('<|im_end|>');
    expect(tok.findSpecialToken('a <think> b')).toBeUndefined();
  });

  it('refuses ids outside the vocabulary and tokens it does not have, naming them', () => {
    expect(() => tok.decode([3838, 151669])).toThrow(InvalidInputError);
    expect(() => tok.decode([3838, 151669])).toThrow(
      /tokenIds\[1\] = 151669: expected a token id in \[0, 151669\)/,
    );
    expect(() => tok.decode([-3])).toThrow(/tokenIds\[0\] = -3/);
    expect(() => tok.tokenId('<|no_such|>')).toThrow(
      /token = "<\|no_such\|>": not a token of this tokenizer/,
    );
  });

  it('gives equal ids to equal files, whichever way they are loaded, and another id to another file', async () => {
    const text = await readFile(join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), 'utf8');
    expect(HfTokenizer.fromJSON(text).id).toBe(tok.id);
    const a = HfTokenizer.fromJSON(tinyTokenizerJson(['<|im_start|>']));
    const b = HfTokenizer.fromJSON(tinyTokenizerJson(['<|im_end|>']));
    expect(a.id).not.toBe(b.id);
    expect(a.encode('a b <|im_start|>')).toEqual([0, 1, 3]);
  });

  it('reads a folder without tokenizer_config.json, and names a missing or broken file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-renderers-'));
    await expect(HfTokenizer.fromDirectory(dir)).rejects.toThrow(FileSystemError);
    await expect(HfTokenizer.fromDirectory(dir)).rejects.toThrow(
      /tokenizer\.json: cannot read the tokenizer: no such file or folder \(ENOENT\)/,
    );
    await symlink(join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
    const bare = await HfTokenizer.fromDirectory(dir);
    expect(bare.id).toBe(tok.id);
    expect(bare.encode('Which shape is left of the star?')).toEqual([
      23085, 6083, 374, 2115, 315, 279, 6774, 30,
    ]);
    expect(() => HfTokenizer.fromJSON('{"model": ')).toThrow(/tokenizer\.json = "10 characters": not JSON/);
    expect(() => HfTokenizer.fromJSON('[]')).toThrow(
      /tokenizer\.json = "object": expected a tokenizer object/,
    );
  });
});
