import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { selectBackend, formatBackendReport, backendReport, TFJS_VERSION } from '../src/backend.js';
import { InvalidInputError, MissingDependencyError, VZeroError } from '../src/errors.js';

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

describe('TensorFlow.js as an optional peer', () => {
  it('TFJS_VERSION is the version of every TensorFlow.js peer dependency', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      peerDependencies: Record<string, string>;
      peerDependenciesMeta: Record<string, { optional?: boolean }>;
      dependencies?: Record<string, string>;
    };
    expect(pkg.dependencies ?? {}).toEqual({});
    for (const [name, version] of Object.entries(pkg.peerDependencies)) {
      expect(name).toMatch(/^@tensorflow\/tfjs-/);
      expect(version).toBe(TFJS_VERSION);
      expect(pkg.peerDependenciesMeta[name]?.optional).toBe(true);
    }
  });

  it('MissingDependencyError names the package and how to install it', () => {
    const e = new MissingDependencyError('@tensorflow/tfjs-core', 'selectBackend', {
      install: `@tensorflow/tfjs-core@${TFJS_VERSION}`,
    });
    expect(e).toBeInstanceOf(VZeroError);
    expect(e.code).toBe('MISSING_DEPENDENCY');
    expect(e.dependency).toBe('@tensorflow/tfjs-core');
    expect(e.message).toBe(
      'selectBackend needs @tensorflow/tfjs-core, which is not installed (an optional peer dependency): npm install @tensorflow/tfjs-core@4.22.0',
    );
  });

  it('registers the gradients and the chained ops from the bundled module', async () => {
    await selectBackend({ prefer: 'cpu' });
    const x = tf.variable(tf.tensor1d([1, -2, 3]));
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.abs(x)));
    expect(Array.from(grads[x.name]!.dataSync())).toEqual([1, -1, 1]);
    // The chained ops come with them, as they did with the full @tensorflow/tfjs.
    const sliced = x.slice([1], [2]);
    expect(Array.from(sliced.dataSync())).toEqual([-2, 3]);
    tf.dispose([x, value, sliced, ...Object.values(grads)]);
  });
});
