// What a user sees from the long commands: the resolved config first, saved with the outputs,
// and progress on every stage (training steps and each evaluation).
import { beforeAll, describe, expect, it } from 'vitest';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { run } from './cli-run.js';
import { vzero } from './cli-process.js';
import { makeFixture, tinyConfig, type Fixture } from './fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await makeFixture({ train: 6, val: 3 });
});

/** The YAML block after "resolved config (<command>):" in a log. */
function resolvedBlock(err: string, command: string): unknown {
  const lines = err.split('\n');
  const at = lines.indexOf(`resolved config (${command}):`);
  expect(at, err).toBeGreaterThanOrEqual(0);
  const body: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (!l.startsWith('  ')) break;
    body.push(l.slice(2));
  }
  return parse(body.join('\n'));
}

describe('long commands print and save their resolved config, and show progress', () => {
  it('train (a real process): config first, equal to config.json; progress of steps and evaluations', async () => {
    const out = join(f.root, 'train-cli');
    const file = join(f.root, 'train-cli.json');
    // Only a few keys given: the printed config has every default filled in.
    await writeFile(
      file,
      JSON.stringify(tinyConfig(f, out, { steps: 2, eval: { splits: ['val'], limit: 2 } })),
    );
    const r = await vzero(['train', '--config', file, '--set', 'gate.preset=paper'], 120_000);
    expect(r.code, r.err).toBe(0);
    const printed = resolvedBlock(r.err, 'train');
    const saved = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(printed).toEqual(saved);
    expect(saved['gate']).toMatchObject({ preset: 'paper' });
    expect(saved['loss']).toMatchObject({ estimator: 'k1', clamp: 10 }); // defaults filled in
    // The config comes before any work.
    expect(r.err.indexOf('resolved config (train):')).toBeLessThan(r.err.indexOf('train vzero'));
    // Progress: the steps, and each evaluation (before training and after the last step).
    expect(r.err).toMatch(/^train vzero 2\/2 /m);
    expect(r.err).toMatch(/^eval val \(step 0\) 2\/2 /m);
    expect(r.err).toMatch(/^eval val \(step 2\) 2\/2 /m);
  }, 150_000);

  it('pretrain: the config with the model it builds, saved as pretrain-config.json', async () => {
    const out = join(f.root, 'student-cli');
    const r = await run([
      'pretrain',
      'student',
      '--data',
      f.world,
      '--out',
      out,
      '--steps',
      '2',
      '--batch-size',
      '2',
      '--limit',
      '2',
    ]);
    expect(r.code, r.err).toBe(0);
    const printed = resolvedBlock(r.err, 'pretrain student') as Record<string, unknown>;
    const saved = JSON.parse(await readFile(join(out, 'pretrain-config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(printed).toEqual(saved);
    expect(saved).toMatchObject({
      role: 'student',
      steps: 2,
      batchSize: 2,
      lr: 3e-3,
      evalSplit: 'val',
      seed: 0,
    });
    const model = saved['model'] as { vocabSize: number; images: unknown[] };
    expect(model.vocabSize).toBeGreaterThan(10);
    expect(model.images).toHaveLength(1); // the student sees the full image only
    expect(r.err.indexOf('resolved config')).toBeLessThan(r.err.indexOf('parameters'));
  });
});
