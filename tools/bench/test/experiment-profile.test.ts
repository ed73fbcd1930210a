// The experiment profile splits a run's recorded wall clock into training stages, evaluations and
// the rest; the figures below are worked out by hand from the records.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProfile, profileByArm, profileRun, readRuns } from '../src/experiment-profile.js';

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0) + s * 1000).toISOString();
// step 0's evaluation reused (same instant), two steps of 2 s and 3 s, an evaluation of 4 s after
// the second, and 1 s of checkpointing before the last record
const lines = [
  { event: 'eval', step: 0, timestamp: at(0) },
  { event: 'eval', step: 0, timestamp: at(0) },
  { step: 1, time: { views: 500, rollout: 500, update: 1000, total: 2000 }, timestamp: at(2) },
  { step: 2, time: { views: 1000, rollout: 1000, update: 500, total: 3000 }, timestamp: at(5) },
  { event: 'eval', step: 2, timestamp: at(9) },
  { event: 'final', timestamp: at(10) },
];

describe('experiment profile', () => {
  it('splits one run into stages, evaluations and the rest', () => {
    const p = profileRun('vzero-seed0', lines);
    expect(p.steps).toBe(2);
    expect(p.evaluations).toBe(3);
    expect(p.stages).toEqual({ views: 1.5, rollout: 1.5, update: 1.5, 'step-other': 0.5 });
    expect(p.evaluation).toBe(4);
    expect(p.wall).toBe(10); // first record to last: 10 s (the first record is an evaluation)
    expect(p.other).toBeCloseTo(10 - 5 - 4, 9);
  });

  it('sums runs by arm and prints each part as a share', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vzero-profile-'));
    try {
      for (const run of ['vzero-seed0', 'vzero-seed1', 'opd-seed0']) {
        await mkdir(join(dir, 'runs', run), { recursive: true });
        await writeFile(
          join(dir, 'runs', run, 'metrics.jsonl'),
          lines.map((l) => JSON.stringify(l)).join('\n') + '\n',
        );
      }
      const runs = readRuns(dir);
      expect(runs.map((r) => r.run)).toEqual(['opd-seed0', 'vzero-seed0', 'vzero-seed1']);
      const vzero = profileByArm(runs).get('vzero')!;
      expect(vzero.runs).toBe(2);
      expect(vzero.parts['evaluation']).toBe(8);
      const table = formatProfile(runs);
      // evaluation: 4 of 10 s in every run
      expect(table).toMatch(
        /^vzero \| 2 \| 10 \| 15\.0% \| 15\.0% \| 0\.0% \| 0\.0% \| 15\.0% \| 5\.0% \| 40\.0% \| 10\.0%$/m,
      );
      expect(table).toMatch(/^all \| 3 \| 10 \|/m);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
