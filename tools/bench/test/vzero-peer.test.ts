// The PyTorch peer of the default V-Zero step computes what the toolkit computes: the toolkit
// exports one step (weights, rollouts, its log-probs, gate weights, losses) and the peer's
// --check recomputes them from the same inputs. Skipped where PyTorch is not installed
// (Debian: apt-get install python3-torch).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const python = '/usr/bin/python3';
const hasTorch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'vzero-peer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const peer = (json: string) =>
  spawnSync(python, [join(root, 'tools/bench/torch/vzero_step.py'), json, '--check'], {
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  });

describe.skipIf(!hasTorch)(`PyTorch peer of the V-Zero step${hasTorch ? '' : ' (skipped: no torch)'}`, () => {
  it('recomputes the toolkit step, and flags a changed gate weight', { timeout: 300_000 }, () => {
    const exported = spawnSync('npx', ['tsx', 'tools/bench/src/vzero-peer.ts', 'export', dir], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(exported.stderr).not.toMatch(/Error/);
    expect(exported.status).toBe(0);
    const json = join(dir, 'step.json');
    const ok = peer(json);
    expect(ok.stdout).not.toMatch(/FAIL/);
    expect(ok.stdout.match(/^ok /gm)).toHaveLength(12);
    expect(ok.status).toBe(0);

    const data = JSON.parse(readFileSync(json, 'utf8')) as { gate: { weights: number[] } };
    data.gate.weights[0] = (data.gate.weights[0] ?? 1) + 0.01;
    const changed = join(dir, 'changed.json');
    writeFileSync(changed, JSON.stringify(data));
    const bad = peer(changed);
    expect(bad.stdout).toMatch(/^FAIL gate weights \(same log-probs\)/m);
    expect(bad.status).toBe(1);
  });
});
