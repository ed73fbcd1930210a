import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from './cli-run.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

describe('vzero doctor', () => {
  it('reports node, the backend chosen and why, and sharp/libvips', async () => {
    const r = await run(['doctor', '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out);
    expect(report.node).toBe(process.version);
    expect(['node-gpu', 'node', 'wasm', 'cpu']).toContain(report.backend.chosen);
    expect(report.backend.attempts.at(-1).ok).toBe(true);
    expect(report.sharp.libvips).toMatch(/^\d+\.\d+/);
    const text = await run(['doctor']);
    expect(text.out).toMatch(/^backend {5}\w+/m);
    expect(text.out).toMatch(/libvips/);
    // Which GEMM the native kernels run on, and why (built-in or OpenBLAS), when they are on.
    if (report.nativeKernels.available) {
      expect(['builtin', 'openblas']).toContain(report.nativeKernels.gemm.kind);
      expect(report.nativeKernels.gemm.reason.length).toBeGreaterThan(0);
      expect(text.out).toMatch(/^gemm {8}(built-in|OpenBLAS)/m);
    }
  });

  it('--json parses as the README documents it: `pnpm -s vzero doctor --json` (no pnpm banner)', () => {
    const r = spawnSync('pnpm', ['-s', 'vzero', 'doctor', '--json'], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).node).toBe(process.version);
  });

  it('fails clearly on an unknown command', async () => {
    const r = await run(['dcotor']);
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/unknown command 'dcotor'/);
  });
});
