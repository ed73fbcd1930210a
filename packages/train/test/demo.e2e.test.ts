// The README's main job, at a tiny scale: every stage runs and the report holds its numbers.
import { describe, expect, it, vi } from 'vitest';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runDemo } from '../src/commands/demo.js';

describe('vzero demo', () => {
  it('builds worlds and models, trains, and reports accuracy before and after', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'vzero-demo-')), 'demo');
    const lines: string[] = [];
    const scale = {
      pretrainWorld: { train: 8, val: 4 },
      world: { train: 8, test: 4, 'test-counter-prior': 4 },
      teacherSteps: 2,
      studentSteps: 2,
    };
    // Everything the demo prints: its log, and anything written to stderr around it.
    const stderr = vi.spyOn(process.stderr, 'write');
    const report = await runDemo({ out, steps: 1, seed: 0, scale }, (l) => lines.push(l));
    const printed = [
      ...lines.flatMap((l) => l.split('\n')),
      ...stderr.mock.calls.flatMap(([chunk]) => String(chunk).split('\n').filter(Boolean)),
    ];
    stderr.mockRestore();
    expect(report).toMatch(/\| teacher \(full image \+ positive crop\) \| \d+\.\d% \| \d+\.\d% \|/);
    expect(report).toMatch(/\| student after V-Zero \(1 steps\) \|/);
    const json = JSON.parse(await readFile(join(out, 'demo.json'), 'utf8'));
    expect(json.before).toHaveLength(2);
    expect(json.after[0].n).toBe(4);
    // The change is a paired difference on the same questions, with its 95% interval.
    expect(report).toMatch(
      /\| after minus before, 95% interval \| [+-]\d+\.\d \[[+-]\d+\.\d, [+-]\d+\.\d\] \|/,
    );
    expect(json.change).toHaveLength(2);
    for (const [i, d] of json.change.entries()) {
      expect(d.mean).toBeCloseTo(json.after[i].accuracy - json.before[i].accuracy, 12);
      expect(d.interval.lo).toBeLessThanOrEqual(d.mean);
      expect(d.interval.hi).toBeGreaterThanOrEqual(d.mean);
    }
    expect(existsSync(join(out, 'vzero', 'metrics.jsonl'))).toBe(true);
    // A calm log: one short backend line, where the options are saved rather than the options
    // (no stage's resolved config either), a line per stage and per tenth of the whole with the
    // time left. At this scale it printed 235 lines before the report (152 of them resolved
    // configs, and an 893-character backend line), now about 26.
    expect(lines[0]).toMatch(/^tensor backend \S+, native kernels (on|off)\b.*vzero doctor/);
    expect(lines[1]).toBe(
      `options saved in ${join(out, 'resolved-config.yaml')} (--config reads them back); each stage saves its own beside its output`,
    );
    expect(printed.filter((l) => /resolved config/.test(l))).toEqual([]);
    expect(Math.max(...printed.map((l) => l.length))).toBeLessThanOrEqual(200);
    expect(printed.length).toBeLessThanOrEqual(40);
    expect(lines.filter((l) => /^\d\/\d /.test(l)).map((l) => l.split(' (')[0])).toEqual([
      '1/6 worlds',
      '2/6 pretrain the teacher',
      '3/6 pretrain the student',
      '4/6 evaluate the starting models',
      '5/6 V-Zero training',
      '6/6 evaluate the trained student',
    ]);
    expect(lines.some((l) => /^demo \d0% \(.* so far, about .* left\)/.test(l))).toBe(true);
    expect(parse(await readFile(join(out, 'resolved-config.yaml'), 'utf8'))).toEqual({
      out,
      steps: 1,
      seed: 0,
    });
    // A second run reuses the worlds and models instead of rebuilding them.
    const again: string[] = [];
    await runDemo({ out, steps: 1, seed: 0, scale }, (l) => again.push(l));
    expect(again.filter((l) => /reusing/.test(l)).length).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
