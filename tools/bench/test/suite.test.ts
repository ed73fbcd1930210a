// The suite end to end in --quick mode on one configuration: the JSON a comparison needs is
// there, with finite positive rates, and the unavailable tfjs-node configuration says why.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { SuiteResult } from '../src/results.js';
import { parseSuiteOptions } from '../src/options.js';
import { figure } from '../src/stats.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vzero-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const positive = (
  f: { median: number; min: number; max: number; samples: readonly number[] } | undefined,
) => {
  expect(f).toBeDefined();
  expect(f!.samples.length).toBeGreaterThan(0);
  for (const s of f!.samples) expect(Number.isFinite(s) && s > 0).toBe(true);
  expect(f!.min).toBeLessThanOrEqual(f!.median);
  expect(f!.median).toBeLessThanOrEqual(f!.max);
};

describe('pnpm bench --quick', () => {
  it('writes the expected JSON for one configuration and reports tfjs-node as unavailable', () => {
    const json = join(dir, 'out.json');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'tools/bench/src/main.ts', '--quick', '--configs', 'wasm,node', '--json', json],
      { cwd: root, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('train steps/s');
    const result = JSON.parse(readFileSync(json, 'utf8')) as SuiteResult;
    expect(result.version).toBe(1);
    expect(result.machine.cores).toBeGreaterThan(0);
    expect(result.loadAverage.start).toMatch(/^\d/);
    const [wasm, node] = result.configs;
    expect(wasm?.config).toBe('wasm');
    expect(wasm?.available).toBe(true);
    expect(wasm?.backend).toBe('wasm');
    // Plain configuration: no native kernel registered, even though the trainer would register them.
    expect(wasm?.native?.kernels).toEqual([]);
    positive(wasm?.viewsPerSecond);
    positive(wasm?.rolloutTokensPerSecond);
    positive(wasm?.teacherTokensPerSecond);
    positive(wasm?.train?.stepsPerSecond);
    for (const stage of ['views', 'rollout', 'teacher', 'gate', 'update', 'total'])
      expect(wasm?.train?.stageMs[stage]).toBeDefined();
    // One warm-up + one timed step; the tensor count does not grow from step to step.
    const after = wasm?.train?.tensorsAfterStep ?? [];
    expect(after).toHaveLength(2);
    expect(after[1]).toBe(after[0]);
    positive(wasm?.matmul?.[0]?.gflops);
    expect(wasm?.peakRssMiB).toBeGreaterThan(10);
    expect(node?.config).toBe('node');
    expect(node?.available).toBe(false);
    expect(node?.reason).toMatch(/tfjs-node/);
  });
});

describe('options and statistics', () => {
  it('rejects unknown configurations and bad repetition counts, naming the option', () => {
    expect(() => parseSuiteOptions(['--configs', 'cpu,gpu'])).toThrow(/--configs.*gpu/);
    expect(() => parseSuiteOptions(['--reps', '0'])).toThrow(/--reps/);
    expect(() => parseSuiteOptions(['--size', 'huge'])).toThrow(/--size/);
    const quick = parseSuiteOptions(['--quick']);
    expect(quick).toMatchObject({ size: 'quick', reps: 1, python: false, wins: [], reference: [] });
    expect(parseSuiteOptions([]).configs).toEqual(['cpu', 'cpu+native', 'wasm', 'wasm+native', 'node']);
  });

  it('computes median and spread by hand', () => {
    expect(figure([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3 });
    expect(figure([4, 1, 2, 3]).median).toBe(2.5);
    expect(() => figure([])).toThrow(/samples/);
    expect(() => figure([1, NaN])).toThrow(/samples/);
  });
});
