import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, formatBackendReport, backendReport } from '../src/backend.js';
import { InvalidInputError } from '../src/errors.js';

describe('selectBackend', () => {
  it('falls through the native bindings to wasm and says why each was skipped', async () => {
    const report = await selectBackend({ env: {} });
    // On machines without libtensorflow the native bindings are skipped with a reason.
    const nativeOk = report.attempts.some((a) => (a.name === 'node' || a.name === 'node-gpu') && a.ok);
    if (!nativeOk) {
      expect(report.chosen).toBe('wasm');
      expect(report.attempts.map((a) => a.name)).toEqual(['node-gpu', 'node', 'wasm']);
      for (const a of report.attempts.slice(0, 2)) expect(a.detail.length).toBeGreaterThan(0);
    }
    expect(tf.getBackend()).toBe(report.tfjsBackend);
    expect(formatBackendReport(report)).toMatch(new RegExp(`^backend ${report.chosen} \\(`));
    expect(backendReport()).toBe(report);
  });

  it('honours $VZERO_BACKEND and computes the same numbers on cpu and wasm', async () => {
    const cpu = await selectBackend({ env: { VZERO_BACKEND: 'cpu' } });
    expect(cpu.chosen).toBe('cpu');
    expect(cpu.reason).toMatch(/VZERO_BACKEND/);
    const onCpu = tf.tidy(() =>
      tf
        .matMul(
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
          tf.tensor2d([[5], [6]]),
        )
        .dataSync(),
    );
    const wasm = await selectBackend({ prefer: 'wasm' });
    expect(wasm.chosen).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    const onWasm = tf.tidy(() =>
      tf
        .matMul(
          tf.tensor2d([
            [1, 2],
            [3, 4],
          ]),
          tf.tensor2d([[5], [6]]),
        )
        .dataSync(),
    );
    expect(Array.from(onCpu)).toEqual([17, 39]);
    expect(Array.from(onWasm)).toEqual([17, 39]);
  });

  it('rejects an unknown backend name in the environment', async () => {
    await expect(selectBackend({ env: { VZERO_BACKEND: 'gpu' } })).rejects.toThrow(InvalidInputError);
    await expect(selectBackend({ env: { VZERO_BACKEND: 'gpu' } })).rejects.toThrow(/VZERO_BACKEND = "gpu"/);
  });
});
