// The README's main job, at a tiny scale: every stage runs and the report holds its numbers.
import { describe, expect, it } from 'vitest';
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
    const report = await runDemo({ out, steps: 1, seed: 0, scale }, (l) => lines.push(l));
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
    // The options, printed first and saved in the work folder (what --config reads back).
    expect(lines[0]).toMatch(/^resolved config \(demo\):\n {2}out: /);
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
