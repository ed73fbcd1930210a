// The split of the gate's mean delta (tracking/inspect-delta.ts) on a hand-made record whose
// numbers are worked out by hand, and the inspector page's table of it.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateWorld, loadLabelled } from '@vzero/world';
import { armDeltaSplit, deltaMarkdown } from '../scripts/gate-delta.js';
import { inspectFileName } from '../src/tracking/inspect-record.js';
import { TINY_WORLD } from './fixture.js';
import { inspectHtml } from '../src/tracking/inspect-html.js';
import { deltaRows, deltaSplit, poolSplits } from '../src/tracking/inspect-delta.js';
import type { InspectRecord, InspectRollout } from '../src/tracking/inspect-record.js';
import type { AnswerKey } from '../src/tracking/inspect-stats.js';

const PNG = 'data:image/png;base64,iVBORw0KGgo=';
const key: AnswerKey = {
  source: '/data/world/train/labels.jsonl',
  entries: new Map([['s1', { options: ['green', 'red', 'blue', 'pink'], answerIndex: 0 }]]),
};

function rollout(
  text: string,
  positive: number[],
  negative: number[] | null,
  gateMask = positive.map(() => 1),
): InspectRollout {
  return {
    index: 0,
    text,
    finishReason: 'stop',
    tokens: text.split(/(?= )/),
    positive,
    negative,
    gateMask,
    score: 0,
    advantage: 0,
    weight: 1,
  };
}

// tokens: "the" " square" " is" " <colour>"; only the colour differs between the views
const record: InspectRecord = {
  format: 'vzero-inspect',
  version: 2,
  step: 1,
  method: 'vzero',
  prompts: [
    {
      id: 's1',
      category: 'attribute',
      question: 'what is the colour of the square ?',
      options: ['green', 'red', 'blue', 'pink'],
      negativeMode: 'outside-downsampled',
      images: { student: PNG, positive: PNG, negative: PNG },
      rollouts: [
        // right: the answer token gains 0.25 (the teacher half expects green without the evidence)
        rollout('the square is green', [0, 0, 0, -0.05], [0, 0, 0, -0.3]),
        // wrong: the evidence rules red out, -4 + 0.5 = -3.5; the wording token " is" differs by +0.1
        rollout('the square is red', [0, 0, -0.1, -4], [0, 0, -0.2, -0.5]),
        // the gate did not read the last token: left out
        rollout('the square is blue', [0, 0, 0, -6], [0, 0, 0, -1], [1, 1, 1, 0]),
      ],
    },
    {
      // not in the labels: left out of every part
      id: 'unknown',
      category: 'attribute',
      question: 'q',
      options: ['green', 'red'],
      negativeMode: 'outside-downsampled',
      images: { student: PNG, positive: PNG, negative: PNG },
      rollouts: [rollout('the square is red', [0, 0, 0, -9], [0, 0, 0, 0])],
    },
  ],
};

describe('where the mean delta comes from', () => {
  it('splits the scored tokens by verdict and by answer vs wording, by hand', () => {
    const s = deltaSplit([record], key);
    // 4 + 4 + 3 scored tokens
    expect(s.all.tokens).toBe(11);
    expect(s.all.sum).toBeCloseTo(0.25 - 3.5 + 0.1, 12);
    expect(s.all.positive).toBe(2); // +0.25 and +0.1
    expect(s.right).toEqual({ tokens: 4, sum: expect.closeTo(0.25, 12) as number, positive: 1 });
    // the blue response is wrong too; its three scored tokens are wording with delta 0
    expect(s.wrong.tokens).toBe(7);
    expect(s.wrong.sum).toBeCloseTo(-3.4, 12);
    expect(s['answer tokens'].tokens).toBe(2);
    expect(s['answer tokens, right'].sum).toBeCloseTo(0.25, 12);
    expect(s['answer tokens, wrong'].sum).toBeCloseTo(-3.5, 12);
    expect(s['wording tokens'].tokens).toBe(9);
    expect(s['wording tokens, wrong'].sum).toBeCloseTo(0.1, 12);
    const rows = deltaRows(s);
    const byPart = new Map(rows.map((r) => [r.part, r]));
    expect(byPart.get('all')!.mean).toBeCloseTo(-3.15 / 11, 12);
    // the contributions of a partition add up to the mean
    const add = (a: string, b: string) =>
      byPart.get(a as never)!.contribution! + byPart.get(b as never)!.contribution!;
    expect(add('right', 'wrong')).toBeCloseTo(byPart.get('all')!.mean!, 12);
    expect(add('answer tokens', 'wording tokens')).toBeCloseTo(byPart.get('all')!.mean!, 12);
    expect(byPart.get('answer tokens, wrong')!.positiveShare).toBe(0);
  });

  it('pools runs by adding their sums', () => {
    const s = deltaSplit([record], key);
    const pooled = poolSplits([s, s]);
    expect(pooled.all.tokens).toBe(22);
    expect(pooled.wrong.sum).toBeCloseTo(-6.8, 12);
    expect(deltaRows(pooled)[0]!.mean).toBeCloseTo(deltaRows(s)[0]!.mean!, 12);
  });

  it('skips rollouts without a negative replay (OPD)', () => {
    const opd: InspectRecord = {
      ...record,
      prompts: [{ ...record.prompts[0]!, rollouts: [rollout('the square is green', [0, 0, 0, 0], null)] }],
    };
    expect(deltaSplit([opd], key).all.tokens).toBe(0);
  });

  it('is a table on the inspector page when the labels are read, and absent without them', () => {
    const base = { run: 'vzero-seed0', records: [record], metrics: [], facts: {} };
    const html = inspectHtml({ ...base, answers: key });
    expect(html).toContain('Where the mean delta comes from');
    expect(html).toMatch(
      /<tr><td>answer tokens, wrong<\/td><td>1<\/td><td>9\.1%<\/td><td>-3\.500<\/td><td>-0\.318<\/td><td>0\.0%<\/td><\/tr>/,
    );
    const without = inspectHtml({ ...base, answers: { reason: 'no labels' } });
    expect(without).not.toContain('delta-table');
  });
});

describe('scripts/gate-delta.ts', () => {
  it("pools an arm's seeds, judged against each run's own training labels", async () => {
    const root = await mkdtemp(join(tmpdir(), 'vzero-gate-delta-'));
    try {
      const world = join(root, 'world');
      await generateWorld({ out: world, split: 'train', n: 2, seed: 3, ...TINY_WORLD });
      const [sample] = await loadLabelled(world, 'train');
      const options = sample!.options;
      const right = options[sample!.answerIndex]!;
      const wrong = options.find((o) => o !== right)!;
      // one right and one wrong response; only the stated option's token differs between the views
      const rec: InspectRecord = {
        ...record,
        prompts: [
          {
            ...record.prompts[0]!,
            id: sample!.id,
            options,
            rollouts: [
              rollout(`answer ${right}`, [0, -0.1], [0, -0.6]),
              rollout(`answer ${wrong}`, [0, -5], [0, -1]),
            ],
          },
        ],
      };
      for (const run of ['vzero-seed0', 'vzero-seed1', 'vzero-token-seed0']) {
        await mkdir(join(root, 'runs', run, 'inspect'), { recursive: true });
        await writeFile(
          join(root, 'runs', run, 'config.json'),
          JSON.stringify({ data: { dir: world, split: 'train' } }),
        );
        await writeFile(join(root, 'runs', run, 'inspect', inspectFileName(1)), JSON.stringify(rec));
      }
      const { split, runs, steps } = await armDeltaSplit(root, 'vzero');
      // vzero-token-seed0 is another arm
      expect(runs).toBe(2);
      expect(steps).toBe(2);
      expect(split['answer tokens, right']).toEqual({
        tokens: 2,
        sum: expect.closeTo(1, 12) as number,
        positive: 2,
      });
      expect(split['answer tokens, wrong'].sum).toBeCloseTo(-8, 12);
      expect(split['wording tokens'].tokens).toBe(4);
      expect(deltaMarkdown(split)).toMatch(
        /^\| answer tokens, wrong \| 2 \| 25\.0% \| -4\.000 \| -1\.000 \| 0\.0% \|$/m,
      );
      await expect(armDeltaSplit(root, 'grpo')).rejects.toThrow(/no grpo-seed\* run/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
