// Progress over a job of stages (what `vzero demo` shows): the overall fraction and time left,
// with reused work giving its weight up; progress created inside a stage, wherever that code
// lives, reports to the stage instead of printing its own lines; a terminal gets an overall bar
// and a stage bar, a log a bounded number of lines.
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  OverallProgress,
  createProgress,
  createStagedProgress,
  formatDuration,
  type StageSpec,
} from '../src/progress.js';

/** A stream that records what is written to it; `tty` makes it look like a terminal. */
function recorder(tty: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY: tty, columns: 120 });
  return { stream, text: () => text };
}

const STAGES: StageSpec[] = [
  { name: 'make', units: 100, secondsPerUnit: 0.1 }, // 10 s
  { name: 'train', units: 30, secondsPerUnit: 1, counts: (l) => l.startsWith('train') }, // 30 s
];

const savedCi = process.env['CI'];
afterEach(() => {
  if (savedCi === undefined) delete process.env['CI'];
  else process.env['CI'] = savedCi;
});

describe('OverallProgress', () => {
  it('weights each stage by its units times its seconds per unit, and measures the time left', () => {
    let ms = 0;
    const p = new OverallProgress(STAGES, () => ms);
    expect(p.fraction()).toBe(0);
    expect(p.secondsLeft()).toBeUndefined();
    p.add(0, 100);
    ms = 20_000; // the first quarter took 20 s: three quarters left take 60 s at that pace
    expect(p.fraction()).toBeCloseTo(0.25, 12);
    expect(p.secondsLeft()).toBeCloseTo(60, 9);
    p.finish(0);
    p.add(1, 15);
    expect(p.fraction()).toBeCloseTo(25 / 40, 12);
    p.add(1, 1000); // never past the stage's units
    expect(p.fraction()).toBe(1);
  });

  it('a stage that ends with less counted (reused work) gives the rest of its weight up', () => {
    let ms = 0;
    const p = new OverallProgress(STAGES, () => ms);
    p.finish(0); // nothing made: reused
    expect(p.fraction()).toBe(0);
    p.add(1, 10);
    ms = 10_000;
    // 10 of the 30 s left: a third, and 20 s to go at 1 s a unit, not a pace inflated by the reuse.
    expect(p.fraction()).toBeCloseTo(1 / 3, 12);
    expect(p.secondsLeft()).toBeCloseTo(20, 9);
  });

  it('names a bad stage', () => {
    expect(() => new OverallProgress([{ name: 'x', units: -1, secondsPerUnit: 1 }])).toThrow(
      /stage x: units must be a number >= 0, got -1/,
    );
    expect(() => new OverallProgress([{ name: 'y', units: 1, secondsPerUnit: 0 }])).toThrow(
      /stage y: secondsPerUnit must be > 0/,
    );
    expect(() => new OverallProgress(STAGES).add(2, 1)).toThrow(/no stage 2 \(2 stages\)/);
  });

  it('durations read as seconds, then minutes', () => {
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(210)).toBe('3.5 min');
  });
});

describe('createStagedProgress in a log', () => {
  it('progress inside a stage reports to it: a line per stage and per tenth, none of its own', async () => {
    const { stream, text } = recorder(false);
    const lines: string[] = [];
    let ms = 0;
    const staged = createStagedProgress('job', STAGES, { log: (l) => lines.push(l), stream, now: () => ms });
    await staged.stage('make', async () => {
      // As code elsewhere creates it (a world's images, say): no stream given.
      const p = createProgress('world train', 100);
      for (let i = 1; i <= 100; i++) {
        ms += 100;
        p.update(i);
      }
      p.stop();
    });
    await staged.stage('train', async () => {
      const evals = createProgress('eval val', 50); // not counted in this stage's units
      evals.update(50);
      const p = createProgress('train vzero', 30);
      for (let i = 1; i <= 30; i++) {
        ms += 1000;
        p.update(i, { loss: 0.5 });
      }
    });
    staged.stop();
    expect(text()).toBe('');
    expect(lines[0]).toBe('1/2 make');
    expect(lines).toContain('2/2 train (job 25%, 10 s so far, about 30 s left)');
    // Tenths 1..9 of the whole, each once, with the stage's own progress.
    const tenths = lines.filter((l) => /^job \d0% /.test(l));
    expect(tenths.map((l) => l.split(' ')[1])).toEqual([
      '10%',
      '20%',
      '30%',
      '40%',
      '50%',
      '60%',
      '70%',
      '80%',
      '90%',
    ]);
    expect(lines).toContain('job 50% (20 s so far, about 20 s left): train vzero 10/30 loss 0.5000');
    expect(lines.length).toBe(2 + 9);
  });

  it('outside a stage, progress prints its own lines as before', () => {
    const { stream, text } = recorder(false);
    const p = createProgress('alone', 2, stream);
    p.update(1);
    p.update(2);
    expect(text().split('\n').filter(Boolean)).toHaveLength(2);
    expect(text()).toMatch(/^alone 1\/2 /);
  });

  it('an unknown stage is an error naming it', async () => {
    const staged = createStagedProgress('job', STAGES, { log: () => {}, stream: recorder(false).stream });
    await expect(staged.stage('nope', async () => 1)).rejects.toThrow(/no stage named "nope"/);
  });
});

describe('createStagedProgress on a terminal', () => {
  it('draws the overall bar with the stage and the time left, and the stage bar below it', async () => {
    delete process.env['CI'];
    const { stream, text } = recorder(true);
    let ms = 0;
    const staged = createStagedProgress('job', STAGES, { log: () => {}, stream, now: () => ms });
    await staged.stage('make', async () => {
      const p = createProgress('world train', 100);
      ms += 5000;
      p.update(50);
      staged.log('a line above the bars');
    });
    staged.stop();
    const shown = text();
    expect(shown).toMatch(/job \[[█░]+\] +1[2-4]% \| 1\/2 make \| 5 s so far, about (35|30) s left/);
    expect(shown).toMatch(/ {2}world train \[[█░]+\] 50\/100/);
    expect(shown).toContain('a line above the bars\n');
  });
});
