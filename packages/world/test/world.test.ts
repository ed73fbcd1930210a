import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownKeyError, withoutAnswer, type Box } from '@vzero/core';
import {
  COLOUR_RGB,
  COLOURS,
  boxArea,
  formatPrompt,
  generateWorld,
  loadLabelFree,
  loadLabelled,
  outOfVocabulary,
  referenceResponse,
  sceneFor,
  resolveWorldConfig,
  tokenizeWords,
  WORLD_VOCABULARY,
  type Colour,
  type WorldLabelledSample,
} from '../src/index.js';

let root: string;
let train: WorldLabelledSample[];
let counter: WorldLabelledSample[];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'vzero-world-'));
  await generateWorld({ out: root, split: 'train', n: 40, seed: 7 });
  await generateWorld({ out: root, split: 'test-counter-prior', n: 24, seed: 7 });
  train = await loadLabelled(root, 'train');
  counter = await loadLabelled(root, 'test-counter-prior');
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Nearest palette colour of an RGB pixel, if it is within 40 of one. */
function paletteColour(r: number, g: number, b: number): Colour | undefined {
  let best: Colour | undefined;
  let bestD = 40;
  for (const c of COLOURS) {
    const [cr, cg, cb] = COLOUR_RGB[c];
    const d = Math.hypot(r - cr, g - cg, b - cb);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

describe('generated images', () => {
  it('are real PNGs whose target box is filled with the stated colour', async () => {
    const attribute = train.filter((s) => s.facts?.kind === 'attribute');
    expect(attribute.length).toBeGreaterThan(10);
    for (const s of attribute) {
      if (!('path' in s.image) || s.facts?.kind !== 'attribute') throw new Error('expected a path and facts');
      const { data, info } = await sharp(s.image.path).raw().toBuffer({ resolveWithObject: true });
      expect(info.format).toBe('raw');
      expect([info.width, info.height]).toEqual([s.width, s.height]);
      const box = s.boxes[0]!;
      const counts = new Map<Colour, number>();
      for (let y = box.y0; y < box.y1; y++) {
        for (let x = box.x0; x < box.x1; x++) {
          const o = (y * info.width + x) * info.channels;
          const c = paletteColour(data[o]!, data[o + 1]!, data[o + 2]!);
          if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
        }
      }
      // The stated colour covers a good part of the box and no other option colour does.
      const stated = counts.get(s.facts.colour) ?? 0;
      expect(stated).toBeGreaterThan(0.3 * boxArea(box));
      for (const o of s.options) if (o !== s.facts.colour) expect(counts.get(o as Colour) ?? 0).toBe(0);
    }
  });

  it('puts spatial targets on the stated side', () => {
    for (const s of [...train, ...counter]) {
      if (s.facts?.kind !== 'spatial') continue;
      const [subject, reference] = s.boxes;
      if (s.facts.relation === 'left') expect(subject!.x1).toBeLessThan(reference!.x0);
      else expect(subject!.x0).toBeGreaterThan(reference!.x1);
    }
  });

  it('keeps every target under 1% of the image area by default', () => {
    for (const s of train)
      for (const b of s.boxes) expect(boxArea(b) / (s.width * s.height)).toBeLessThan(0.01);
  });

  it('describes targets uniquely: no distractor shares a target shape', () => {
    const config = resolveWorldConfig();
    for (let i = 0; i < 30; i++) {
      const scene = sceneFor(3, 'train', i, config);
      const targets = scene.objects.filter((o) => o.role === 'target').map((o) => o.shape);
      for (const shape of targets) expect(scene.objects.filter((o) => o.shape === shape)).toHaveLength(1);
    }
  });

  it('keeps a spatial pair within pairGapMax, and anywhere with the default 0', () => {
    const close = resolveWorldConfig({
      width: 256,
      height: 192,
      targetSizeMin: 28,
      targetSizeMax: 40,
      pairGapMax: 48,
    });
    const far = resolveWorldConfig({ ...close, pairGapMax: 0 });
    let widest = 0;
    for (let i = 0; i < 60; i++) {
      for (const [config, bounded] of [
        [close, true],
        [far, false],
      ] as const) {
        const scene = sceneFor(5, 'train', i, config);
        if (scene.facts.kind !== 'spatial') continue;
        const [a, b] = [...scene.boxes].sort((p, q) => p.x0 - q.x0) as [
          (typeof scene.boxes)[0],
          (typeof scene.boxes)[0],
        ];
        const free = b.x0 - a.x1;
        expect(free).toBeGreaterThanOrEqual(40); // at least one target size apart: never ambiguous
        if (bounded) expect(free).toBeLessThanOrEqual(48);
        else widest = Math.max(widest, free);
      }
    }
    expect(widest).toBeGreaterThan(48); // the bound is not vacuous
    expect(() => resolveWorldConfig({ ...close, pairGapMax: 20 })).toThrow(/world\.pairGapMax/);
  });

  it('keeps a spatial pair within [pairGapMin, pairGapMax] apart and pairRiseMax apart in height', () => {
    const compact = resolveWorldConfig({
      width: 256,
      height: 192,
      targetSizeMin: 40,
      targetSizeMax: 56,
      spatialFraction: 1,
      pairGapMin: 12,
      pairGapMax: 24,
      pairRiseMax: 16,
    });
    let smallest = Infinity;
    let largest = 0;
    let widestRise = 0;
    for (let i = 0; i < 200; i++) {
      const scene = sceneFor(5, 'train', i, compact);
      const [s, r] = scene.boxes as [Box, Box];
      const [a, b] = s.x0 < r.x0 ? [s, r] : [r, s];
      const free = b.x0 - a.x1;
      expect(free).toBeGreaterThanOrEqual(12);
      expect(free).toBeLessThanOrEqual(24);
      expect(Math.abs(a.y0 - b.y0)).toBeLessThanOrEqual(16);
      for (const box of [a, b]) {
        expect(box.x0).toBeGreaterThanOrEqual(0);
        expect(box.y0).toBeGreaterThanOrEqual(0);
        expect(box.x1).toBeLessThanOrEqual(256);
        expect(box.y1).toBeLessThanOrEqual(192);
      }
      smallest = Math.min(smallest, free);
      largest = Math.max(largest, free);
      widestRise = Math.max(widestRise, Math.abs(a.y0 - b.y0));
    }
    // the bounds are reached, not vacuous
    expect(smallest).toBeLessThanOrEqual(14);
    expect(largest).toBeGreaterThanOrEqual(22);
    expect(widestRise).toBeGreaterThanOrEqual(12);
    expect(() => resolveWorldConfig({ pairGapMin: 30, pairGapMax: 20 })).toThrow(/world\.pairGapMax/);
    expect(() => resolveWorldConfig({ gap: 4, pairGapMin: 2 })).toThrow(/world\.pairGapMin/);
    expect(() => resolveWorldConfig({ pairRiseMax: -1 })).toThrow(/world\.pairRiseMax/);
  });

  it('gives no distractor a colour the spatial question names, so each named word picks one object', () => {
    const base = { width: 256, height: 192, targetSizeMin: 40, targetSizeMax: 56, spatialFraction: 1 };
    const sharing = (config: ReturnType<typeof resolveWorldConfig>): number => {
      let shared = 0;
      for (let i = 0; i < 200; i++) {
        const scene = sceneFor(8, 'train', i, config);
        const named = new Set(scene.objects.filter((o) => o.role === 'target').map((o) => o.colour));
        if (scene.objects.some((o) => o.role === 'distractor' && named.has(o.colour))) shared++;
      }
      return shared;
    };
    expect(sharing(resolveWorldConfig({ ...base, spatialColours: true }))).toBe(0);
    // without named colours a distractor often shares one (the rule is not vacuous)
    expect(sharing(resolveWorldConfig({ ...base, spatialColours: false }))).toBeGreaterThan(60);
  });

  it('makes the same scenes as before the spatial-pair settings existed, when they are left at 0', () => {
    // Digests of 200 scenes per config, computed with the code before pairGapMin, pairRiseMax and
    // the named-colour rule were added: existing worlds (and every result made on them) are unchanged.
    const paper = {
      width: 256,
      height: 192,
      targetSizeMin: 40,
      targetSizeMax: 56,
      distractorSizeMin: 24,
      distractorSizeMax: 56,
      distractorsMin: 3,
      distractorsMax: 6,
      pairGapMax: 56,
      spatialColours: true,
      spatialFraction: 0,
    };
    const digest = (overrides: Parameters<typeof resolveWorldConfig>[0]): string => {
      const config = resolveWorldConfig(overrides);
      const h = createHash('sha256');
      for (const split of ['train', 'val', 'test', 'test-counter-prior'] as const)
        for (let i = 0; i < 50; i++) h.update(JSON.stringify(sceneFor(3, split, i, config)));
      return h.digest('hex');
    };
    expect(digest({})).toBe('efe9d7e09f056ae55f1b16271f17ec479c23b247f69a325fbe9b578da1a98588');
    expect(digest(paper)).toBe('653f8c1d5ed4db7b89d3d7f83692b29f5f098bb200e8a3c6845288078aea3814');
    expect(digest({ ...paper, spatialFraction: 0.5, spatialColours: false })).toBe(
      '0dc17775802336c1a10ad80c98151f45efb92fdafe2d2c5abe8d4fd12eb3726c',
    );
  });

  it('names both colours of a spatial pair with spatialColours, and they differ', () => {
    const config = resolveWorldConfig({ spatialColours: true, spatialFraction: 1 });
    for (let i = 0; i < 40; i++) {
      const scene = sceneFor(9, 'train', i, config);
      if (scene.facts.kind !== 'spatial' || !scene.facts.colours) throw new Error('expected named colours');
      const { subject, reference } = scene.facts.colours;
      expect(subject).not.toBe(reference);
      const [s, r] = scene.objects;
      expect([s!.colour, r!.colour]).toEqual([subject, reference]);
      expect(scene.question).toBe(
        `is the ${subject} ${scene.facts.subject} on the left or right of the ${reference} ${scene.facts.reference} ?`,
      );
      const response = referenceResponse({
        options: scene.options,
        answerIndex: scene.answerIndex,
        facts: scene.facts,
      });
      expect(
        response.startsWith(`the ${subject} ${scene.facts.subject} is on the ${scene.facts.relation} of`),
      ).toBe(true);
      expect(outOfVocabulary(scene.question)).toEqual([]);
    }
    // without the setting, the same seed gives the former scenes (no extra draws)
    const plain = sceneFor(9, 'train', 0, resolveWorldConfig({ spatialFraction: 1 }));
    expect(plain.question).toMatch(/^is the \w+ on the left or right of the \w+ \?$/);
  });

  it('gives byte-identical images and manifest for the same seed', async () => {
    const other = await mkdtemp(join(tmpdir(), 'vzero-world-'));
    try {
      await generateWorld({ out: other, split: 'train', n: 40, seed: 7 });
      for (const f of [
        'manifest.jsonl',
        'labels.jsonl',
        'world.json',
        'images/train-000000.png',
        'images/train-000039.png',
      ]) {
        expect(
          Buffer.compare(await readFile(join(other, 'train', f)), await readFile(join(root, 'train', f))),
        ).toBe(0);
      }
      await generateWorld({ out: other, split: 'train', n: 2, seed: 8 });
      const a = await readFile(join(other, 'train', 'images/train-000000.png'));
      expect(Buffer.compare(a, await readFile(join(root, 'train', 'images/train-000000.png')))).not.toBe(0);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('reports progress once per image', async () => {
    const other = await mkdtemp(join(tmpdir(), 'vzero-world-'));
    const calls: [number, number][] = [];
    try {
      await generateWorld(
        { out: other, split: 'val', n: 3, seed: 1 },
        { onProgress: (d, t) => calls.push([d, t]) },
      );
      expect(calls).toEqual([
        [1, 3],
        [2, 3],
        [3, 3],
      ]);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('priors', () => {
  it('hold in train and are violated in test-counter-prior', () => {
    const follows = (xs: WorldLabelledSample[]): number =>
      xs.filter((s) => s.facts?.followsPrior).length / xs.length;
    // priorStrength 0.8 and leftPriorStrength 0.75: well above chance in train, never in counter.
    expect(follows(train)).toBeGreaterThan(0.6);
    expect(follows(counter)).toBe(0);
    for (const s of counter) {
      if (s.facts?.kind === 'attribute') expect(s.facts.colour).not.toBe(s.facts.usualColour);
      else expect(s.facts?.relation).toBe('right');
    }
  });

  it('always offer the usual colour, so answering by prior is wrong on counter-prior samples', () => {
    for (const s of [...train, ...counter]) {
      if (s.facts?.kind === 'attribute') expect(s.options).toContain(s.facts.usualColour);
    }
  });
});

describe('options', () => {
  it('balance the answer letter (loose chi-square over ~200 scenes)', () => {
    const config = resolveWorldConfig({ spatialFraction: 0 });
    const counts = [0, 0, 0, 0];
    const n = 200;
    for (let i = 0; i < n; i++) counts[sceneFor(11, 'train', i, config).answerIndex]! += 1;
    const chi2 = counts.reduce((acc, c) => acc + (c - n / 4) ** 2 / (n / 4), 0);
    expect(chi2).toBeLessThan(16.27); // p = 0.001 for 3 degrees of freedom
    const spatial = resolveWorldConfig({ spatialFraction: 1 });
    const left = Array.from({ length: n }, (_, i) => sceneFor(11, 'train', i, spatial).answerIndex).filter(
      (a) => a === 0,
    ).length;
    expect((left - n / 2) ** 2 / (n / 2) + (n - left - n / 2) ** 2 / (n / 2)).toBeLessThan(10.83);
  });
});

describe('vocabulary', () => {
  it('covers every question, option, prompt and reference response', () => {
    for (const s of [...train, ...counter]) {
      const response = referenceResponse({ options: s.options, answerIndex: s.answerIndex, facts: s.facts! });
      for (const text of [s.question, ...s.options, formatPrompt(s), response])
        expect(outOfVocabulary(text)).toEqual([]);
    }
    expect(new Set(WORLD_VOCABULARY).size).toBe(WORLD_VOCABULARY.length);
    expect(WORLD_VOCABULARY.every((w) => w === w.toLowerCase() || /^[A-D]$/.test(w))).toBe(true);
    expect(tokenizeWords('  the star  is red .\nanswer A ')).toEqual([
      'the',
      'star',
      'is',
      'red',
      '.',
      'answer',
      'A',
    ]);
  });

  it('writes reference responses that state the evidence, then the answer', () => {
    expect(
      referenceResponse({
        options: ['green', 'red', 'blue', 'white'],
        answerIndex: 1,
        facts: {
          kind: 'attribute',
          shape: 'triangle',
          colour: 'red',
          usualColour: 'red',
          followsPrior: true,
        },
      }),
    ).toBe('the triangle is red . answer red');
    expect(
      referenceResponse({
        options: ['left', 'right'],
        answerIndex: 0,
        facts: {
          kind: 'spatial',
          subject: 'star',
          reference: 'square',
          relation: 'left',
          followsPrior: true,
        },
      }),
    ).toBe('the star is on the left of the square . answer left');
  });

  it('ends every reference response with the correct option, named once among the options', () => {
    for (const s of train) {
      const response = referenceResponse({ options: s.options, answerIndex: s.answerIndex, facts: s.facts! });
      const answer = s.options[s.answerIndex] as string;
      expect(response.endsWith(` answer ${answer}`)).toBe(true);
      expect(s.options.filter((o) => o === answer)).toHaveLength(1);
    }
  });
});

describe('loaders', () => {
  it('label-free loading never opens the labels file', async () => {
    const opened: string[] = [];
    const samples = await loadLabelFree(root, 'train', {
      readText: async (p) => {
        opened.push(p);
        return readFile(p, 'utf8');
      },
    });
    expect(samples).toHaveLength(40);
    expect(opened).toEqual([join(root, 'train', 'manifest.jsonl')]);
    for (const s of samples) {
      expect('answer' in s).toBe(false);
      expect('answerIndex' in s).toBe(false);
      expect('facts' in s).toBe(false);
    }
    // The labelled loader reads the labels file, and dropping the answer gives the label-free sample.
    const labelledOpened: string[] = [];
    const labelled = await loadLabelled(root, 'train', {
      readText: async (p) => {
        labelledOpened.push(p);
        return readFile(p, 'utf8');
      },
    });
    expect(labelledOpened).toContain(join(root, 'train', 'labels.jsonl'));
    const { facts: _f, ...rest } = labelled[0]!;
    expect(withoutAnswer(rest)).toEqual(samples[0]);
  });

  it('names the labels file in exactly one module', async () => {
    const src = join(__dirname, '..', 'src');
    const { readdir } = await import('node:fs/promises');
    const files = (await readdir(src)).filter((f) => f.endsWith('.ts'));
    const naming = [];
    for (const f of files)
      if ((await readFile(join(src, f), 'utf8')).includes('labels.jsonl')) naming.push(f);
    expect(naming).toEqual(['labels.ts']);
  });

  it('label-free loading works with the labels file deleted', async () => {
    const other = await mkdtemp(join(tmpdir(), 'vzero-world-'));
    try {
      await generateWorld({ out: other, split: 'test', n: 2, seed: 1 });
      await unlink(join(other, 'test', 'labels.jsonl'));
      expect(await loadLabelFree(other, 'test')).toHaveLength(2);
      await expect(loadLabelled(other, 'test')).rejects.toThrow(/test\/labels\.jsonl/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('bad inputs', () => {
  it('fail with typed errors naming the field', async () => {
    const base = { out: root, split: 'train' as const, n: 1, seed: 1 };
    await expect(generateWorld({ ...base, n: 0 })).rejects.toThrow(InvalidInputError);
    await expect(generateWorld({ ...base, n: -3 })).rejects.toThrow(/^n = -3/);
    await expect(generateWorld({ ...base, n: 1.5 })).rejects.toThrow(/^n = 1.5/);
    await expect(generateWorld({ ...base, split: 'dev' as 'train' })).rejects.toThrow(/^split = "dev"/);
    await expect(generateWorld({ ...base, widht: 100 } as typeof base)).rejects.toThrow(UnknownKeyError);
    await expect(generateWorld({ ...base, widht: 100 } as typeof base)).rejects.toThrow(
      /unknown key "widht".*did you mean "width"/,
    );
    await expect(generateWorld({ ...base, priorStrength: 2 })).rejects.toThrow(/world\.priorStrength = 2/);
    await expect(generateWorld({ ...base, usualColour: { star: 'pink' } as never })).rejects.toThrow(
      /world\.usualColour\.star/,
    );
    await expect(loadLabelFree(root, 'dev')).rejects.toThrow(/^split = "dev"/);
    await expect(loadLabelFree(join(root, 'nowhere'), 'train')).rejects.toThrow(
      /train\/manifest\.jsonl = .*file not found/,
    );
  });

  it('reports a malformed JSONL line with its line number', async () => {
    const other = await mkdtemp(join(tmpdir(), 'vzero-world-'));
    try {
      await generateWorld({ out: other, split: 'val', n: 3, seed: 1 });
      const path = join(other, 'val', 'manifest.jsonl');
      const lines = (await readFile(path, 'utf8')).trim().split('\n');
      await writeFile(path, [lines[0], lines[1], '{"id": "val-x", oops', lines[2]].join('\n'));
      const err = await loadLabelFree(other, 'val').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe('val/manifest.jsonl line 3');
      const row = JSON.parse(lines[0]!) as Record<string, unknown>;
      await writeFile(path, JSON.stringify({ ...row, options: 'red' }) + '\n');
      await expect(loadLabelFree(other, 'val')).rejects.toThrow(/val\/manifest\.jsonl line 1: options/);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});
