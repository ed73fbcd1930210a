// The report's statistics over recorded steps (tracking/inspect-stats.ts) on hand-made records
// whose numbers are worked out by hand, the one-page report built from them, and the guard that
// keeps the training step label-free: no module the V-Zero/OPD step (opdStep, or the recorder it
// calls) reaches may import the report's label reading or name the labels.
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateWorld, loadLabelled } from '@vzero/world';
import { inspectHtml } from '../src/tracking/inspect-html.js';
import type { InspectPrompt, InspectRecord, InspectRollout } from '../src/tracking/inspect-record.js';
import {
  judge,
  readAnswerKey,
  runStats,
  stepStats,
  type AnswerKey,
  type AnswerKeyEntry,
} from '../src/tracking/inspect-stats.js';
import { TINY_WORLD } from './fixture.js';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const PNG = 'data:image/png;base64,iVBORw0KGgo=';

const COLOURS = { options: ['green', 'white', 'yellow', 'purple'], answerIndex: 0 } as const; // A
const SHAPES = { options: ['orange', 'blue', 'purple', 'white'], answerIndex: 1 } as const; // B
const key: AnswerKey = {
  source: '/data/world/train/labels.jsonl',
  entries: new Map<string, AnswerKeyEntry>([
    ['s1', COLOURS],
    ['s2', SHAPES],
  ]),
};

function rollout(index: number, text: string, weight: number): InspectRollout {
  const tokens = text.split(/(?= )/);
  return {
    index,
    text,
    finishReason: 'stop',
    tokens,
    positive: tokens.map(() => -0.5),
    negative: tokens.map(() => -1),
    gateMask: tokens.map(() => 1),
    score: 0.5,
    advantage: weight - 1,
    weight,
  };
}

function prompt(id: string, options: readonly string[], rollouts: InspectRollout[]): InspectPrompt {
  return {
    id,
    category: 'attribute',
    question: `question of ${id}`,
    options,
    negativeMode: 'outside-downsampled',
    images: { student: PNG, positive: PNG, negative: PNG },
    rollouts,
  };
}

// Step 1, three groups: s1 (mixed: right, wrong, right), s2 (both the same: identical), and a
// sample the labels do not know (one rollout: identical).
const step1: InspectRecord = {
  format: 'vzero-inspect',
  version: 2,
  step: 1,
  method: 'vzero',
  prompts: [
    prompt('s1', COLOURS.options, [
      rollout(0, 'the square is green . answer green', 1.2),
      rollout(1, 'answer yellow', 0.5),
      rollout(2, 'the square is green . answer green', 1.3),
    ]),
  ],
  batch: [
    {
      id: 's1',
      identical: false,
      texts: ['the square is green . answer green', 'answer yellow', 'the square is green . answer green'],
      weights: [1.2, 0.5, 1.3],
    },
    { id: 's2', identical: true, texts: ['answer blue', 'answer blue'], weights: [1, 1] },
    { id: 'not-labelled', identical: true, texts: ['x'], weights: [0.7] },
  ],
};
// Step 2: one group, one response with no readable answer (wrong, as evaluation counts it).
const step2: InspectRecord = {
  format: 'vzero-inspect',
  version: 2,
  step: 2,
  method: 'vzero',
  prompts: [prompt('s1', COLOURS.options, [rollout(0, 'blah', 0.9)])],
  batch: [{ id: 's1', identical: true, texts: ['blah'], weights: [0.9] }],
};

describe('right or wrong, as evaluation reads it', () => {
  it('reads the option from the response and compares it with the label', () => {
    expect(judge('the square is green . answer green', COLOURS)).toEqual({
      verdict: 'right',
      letter: 'A',
      answer: 'A',
    });
    expect(judge('answer yellow', COLOURS)).toEqual({ verdict: 'wrong', letter: 'C', answer: 'A' });
    expect(judge('blah', COLOURS)).toEqual({ verdict: 'unanswered', letter: null, answer: 'A' });
  });
});

describe('statistics of recorded steps (by hand)', () => {
  it('per step: share of all-identical groups, mean weight of right and of wrong responses', () => {
    const s = stepStats(step1, key);
    // 2 of 3 groups identical; right: 1.2, 1.3 (s1) and 1, 1 (s2) -> 4.5 / 4; wrong: 0.5.
    expect(s).toMatchObject({
      step: 1,
      groups: 3,
      identicalGroups: 2,
      wholeStep: true,
      rollouts: 6,
      right: 4,
      wrong: 1,
      unknown: 1,
    });
    expect(s.identicalShare).toBeCloseTo(2 / 3, 12);
    expect(s.meanWeightRight).toBeCloseTo(1.125, 12);
    expect(s.meanWeightWrong).toBeCloseTo(0.5, 12);
    // Without labels: the identical share stays, correctness is unknown.
    const bare = stepStats(step1, undefined);
    expect(bare).toMatchObject({ identicalGroups: 2, right: 0, wrong: 0, unknown: 6 });
    expect(bare.meanWeightRight).toBeNull();
  });

  it('over the run: every group and response pooled once', () => {
    const total = runStats([stepStats(step1, key), stepStats(step2, key)]);
    // Groups 3 + 1, identical 2 + 1; right as step 1; wrong 0.5 and 0.9 -> 0.7.
    expect(total).toMatchObject({ steps: 2, groups: 4, identicalGroups: 3, right: 4, wrong: 2 });
    expect(total.identicalShare).toBeCloseTo(0.75, 12);
    expect(total.meanWeightRight).toBeCloseTo(1.125, 12);
    expect(total.meanWeightWrong).toBeCloseTo(0.7, 12);
  });

  it('a record from before whole-step summaries counts the prompts it shows', () => {
    const { batch: _batch, ...rest } = step1;
    const old: InspectRecord = { ...rest, version: 1 };
    const s = stepStats(old, key);
    expect(s).toMatchObject({ groups: 1, identicalGroups: 0, wholeStep: false, right: 2, wrong: 1 });
    expect(s.meanWeightRight).toBeCloseTo(1.25, 12);
  });
});

describe('the one-page report (content)', () => {
  const page = inspectHtml({
    run: 'hand-made',
    records: [step1, step2],
    metrics: [
      { step: 1, loss: 1, gate: { weightStd: 0.2 } },
      { step: 2, loss: 0.5, gate: { weightStd: 0.3 } },
      { event: 'eval', step: 0, split: 'val', accuracy: 0.25, n: 4 },
      { event: 'eval', step: 2, split: 'val', accuracy: 0.5, n: 4 },
    ],
    facts: { method: 'vzero' },
    answers: key,
  });

  it('holds every step, opens at the newest, and links them all', () => {
    expect(page.match(/<section class="step[^"]*" id="step-\d+"/g)).toEqual([
      '<section class="step" id="step-1"',
      '<section class="step opening" id="step-2"',
    ]);
    expect(page).toContain(
      '<select id="step-select"><option value="step-1">1</option><option value="step-2" selected>2</option></select>',
    );
    // Step 1 links forward, step 2 back; neither has a link past the ends.
    const [, one, two] = page.split('<section class="step') as [string, string, string];
    const section = (n: number) => (n === 1 ? one : two);
    expect(section(1)).toContain('<a class="next" href="#step-2">step 2 →</a>');
    expect(section(1)).not.toContain('class="prev"');
    expect(section(2)).toContain('<a class="prev" href="#step-1">← step 1</a>');
    expect(section(2)).not.toContain('class="next"');
    // The table: per step and the pooled row, numbers from the hand-worked statistics.
    expect(page).toContain(
      '<tr data-target="step-1" data-step="1"><td><a href="#step-1">1</a></td><td>2 / 3</td><td>66.7%</td><td>6</td><td>4 / 5</td><td>1.125</td><td>0.500</td><td>+0.625</td></tr>',
    );
    expect(page).toContain(
      '<tr class="overall"><td>all 2 recorded</td><td>3 / 4</td><td>75.0%</td><td>7</td><td>4 / 6</td><td>1.125</td><td>0.700</td><td>+0.425</td></tr>',
    );
    expect(page).toContain('/data/world/train/labels.jsonl');
  });

  it('marks each shown response right or wrong with the letter read', () => {
    const verdicts = [...page.matchAll(/<td class="verdict (\w+)"[^>]*>([^<]*)<\/td>/g)].map((m) => [
      m[1],
      m[2],
    ]);
    expect(verdicts).toEqual([
      ['right', '✓ A'],
      ['wrong', '✗ C'],
      ['right', '✓ A'],
      ['wrong', '✗ no answer'],
    ]);
  });

  it('draws the recorded steps and evaluation accuracy in panels of their own', () => {
    for (const title of [
      'groups whose G responses are all identical',
      'mean gate weight: right vs wrong responses',
      'evaluation accuracy',
      'gate: weight std',
    ])
      expect(page).toContain(`data-title="${title}"`);
  });

  it('without labels says why and has no verdicts', () => {
    const bare = inspectHtml({
      run: 'hand-made',
      records: [step1],
      metrics: [],
      facts: {},
      answers: { reason: 'the labels of /nowhere could not be read' },
    });
    expect(bare).toContain('No right/wrong column: the labels of /nowhere could not be read.');
    expect(bare).not.toMatch(/class="verdict (right|wrong)"/);
    expect(bare).not.toContain('data-title="mean gate weight: right vs wrong responses"');
  });
});

describe('the labels are the report’s, read after training', () => {
  it('reads the split the run trained on, and says why when it cannot', async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-answer-key-'));
    const world = join(root, 'world');
    await generateWorld({ out: world, split: 'train', n: 3, seed: 3, ...TINY_WORLD });
    const read = await readAnswerKey(relative(root, world), 'train', root);
    expect('entries' in read).toBe(true);
    const labelled = await loadLabelled(world, 'train');
    for (const s of labelled)
      expect((read as AnswerKey).entries.get(s.id)).toEqual({
        options: s.options,
        answerIndex: s.answerIndex,
      });
    const missing = await readAnswerKey(world, 'val', root);
    expect(missing).toMatchObject({ reason: expect.stringContaining(join(world, 'val', 'labels.jsonl')) });
    expect(await readAnswerKey(undefined, 'train')).toEqual({
      reason: "the run's config.json names no data.dir and data.split",
    });
  });
});

/**
 * The relative modules a module loads when it runs: its imports and re-exports, side-effect and
 * dynamic imports, but not `import type` / `export type` statements, which compile to nothing.
 */
function runtimeImports(text: string): string[] {
  const out: string[] = [];
  const statement = /^\s*(?:import|export)\s+(type\s+)?[^;]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (const m of text.matchAll(statement)) if (!m[1]) out.push(m[2] as string);
  for (const m of text.matchAll(/^\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/gm)) out.push(m[1] as string);
  for (const m of text.matchAll(/\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(m[1] as string);
  return out;
}

/** The modules of packages/train/src that `entries` load when they run, themselves included. */
async function reachable(entries: readonly string[]): Promise<Map<string, string>> {
  const seen = new Map<string, string>();
  const stack = [...entries];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    const text = await readFile(join(SRC, file), 'utf8');
    seen.set(file, text);
    for (const spec of runtimeImports(text))
      stack.push(normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
  }
  return seen;
}

/** The module of packages/train/src that exports the function `name` (wherever it lives). */
async function moduleDefining(name: string): Promise<string> {
  const files = (await readdir(SRC, { recursive: true })).filter((f) => f.endsWith('.ts'));
  const found: string[] = [];
  for (const file of files)
    if (new RegExp(`export (async )?function ${name}\\b`).test(await readFile(join(SRC, file), 'utf8')))
      found.push(file);
  expect(found, `modules exporting ${name}`).toHaveLength(1);
  return found[0] as string;
}

/** What would bring answers into a module: the report's label reading, or the labels themselves. */
function labelUses(modules: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [file, text] of modules) {
    if (file === join('tracking', 'inspect-stats.ts')) out.push(`${file} (the report's labels)`);
    for (const m of text.matchAll(/\b(loadLabelled|readLabels|LABELS_FILE|answerIndex)\b|labels\.jsonl/g))
      out.push(`${file}: ${m[0]}`);
  }
  return out;
}

describe('the training path stays label-free', () => {
  it('follows the imports that load code, not the type-only ones', () => {
    expect(
      runtimeImports(
        [
          "import { a, type B } from './a.js';",
          "import type { C } from './c.js';",
          "export { d } from '../d.js';",
          "export type { E } from './e.js';",
          "import './f.js';",
          "const g = await import('./g.js');",
          "import {\n  h,\n  i,\n} from './h.js';",
          "import { z } from 'zod';",
        ].join('\n'),
      ),
    ).toEqual(['./a.js', '../d.js', './h.js', './f.js', './g.js']);
  });

  it('no module the V-Zero/OPD step or its recorder reaches reads labels or the report’s statistics', async () => {
    const training = await reachable([
      await moduleDefining('opdStep'),
      join('tracking', 'inspect-record.ts'),
    ]);
    expect(training.size).toBeGreaterThan(5); // the walk follows imports
    expect(labelUses(training)).toEqual([]);
    // The check can fail: the report's command reaches both.
    const report = labelUses(await reachable([join('commands', 'inspect.ts')]));
    expect(report).toContain(`${join('tracking', 'inspect-stats.ts')} (the report's labels)`);
    expect(report).toContain(`${join('tracking', 'inspect-stats.ts')}: loadLabelled`);
  });
});
