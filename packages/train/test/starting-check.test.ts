// The starting teacher's bar (checks.teacher in an ablation spec, the demo's preset): read on
// the val questions against the prior of the teacher's own pre-training world, extended by more
// pre-training while below, and a stop with a message naming the numbers when it stays below.
import { cp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWorld, loadLabelled } from '@vzero/world';
import { StartingModelError, checkStartingTeacher } from '../src/ablate/starting-check.js';
import type { PretrainSpec } from '../src/ablate/pretrain.js';
import { TINY_WORLD, makeFixture, type Fixture } from './fixture.js';

let f: Fixture;
/** A teacher pre-training world with weak priors: most val questions go against them. */
let world: string;
beforeAll(async () => {
  f = await makeFixture({ train: 4 });
  world = join(f.root, 'teacher-world');
  for (const split of ['train', 'val'] as const)
    await generateWorld({ out: world, split, n: 12, seed: 5, ...TINY_WORLD, priorStrength: 0.3 });
}, 120_000);
afterAll(async () => {
  await rm(f.root, { recursive: true, force: true });
});

const spec: PretrainSpec = { preset: 'tiny', steps: 2, batchSize: 4, lr: 3e-3 };

describe('the starting teacher bar', () => {
  it('the fixture world has val questions against the prior', async () => {
    const val = await loadLabelled(world, 'val');
    expect(val.filter((s) => s.facts?.followsPrior === false).length).toBeGreaterThan(0);
  });

  it('passes a teacher at or above the bar, evaluating one made before the number was recorded', async () => {
    const dir = join(f.root, 'teacher-pass');
    await cp(f.models.teacher, dir, { recursive: true });
    const lines: string[] = [];
    const check = { minCounterPrior: 0, extraSteps: 2, maxExtensions: 1 };
    expect(await checkStartingTeacher(dir, spec, world, 0, check, (l) => lines.push(l))).toBe(0);
    expect(lines.join('\n')).toMatch(/not recorded; evaluating it now[\s\S]*at or above the bar 0\.0%/);
  }, 120_000);

  it('extends a teacher below the bar, then stops naming the numbers; the folder stays a checkpoint', async () => {
    const dir = join(f.root, 'teacher-fail');
    await cp(f.models.teacher, dir, { recursive: true });
    const lines: string[] = [];
    const check = { minCounterPrior: 1, extraSteps: 2, maxExtensions: 1 };
    const error = await checkStartingTeacher(dir, spec, world, 0, check, (l) => lines.push(l)).catch(
      (e: unknown) => e,
    );
    // An untrained tiny teacher answers almost nothing right (if it happened to get every question
    // right, the bar of 100% would pass: the check is then vacuous, and so is this test).
    expect(error).toBeInstanceOf(StartingModelError);
    expect((error as Error).message).toMatch(
      /teacher .*teacher-fail: \d+\.\d% on val questions against the prior \(n \d+\) with the crop, below the bar 100\.0% after 1 extension\(s\) of 2 steps/,
    );
    expect(
      lines.some((l) => /below the bar 100\.0%: pre-training 2 more steps \(1 of at most 1\)/.test(l)),
    ).toBe(true);
    // The extension's model replaced the folder, and it records its number now.
    const accuracy = JSON.parse(await readFile(join(dir, 'accuracy.json'), 'utf8')) as {
      counterPrior?: { n: number };
    };
    expect(accuracy.counterPrior?.n).toBeGreaterThan(0);
    expect(existsSync(`${dir}-before-extension`)).toBe(false);
  }, 180_000);
});
