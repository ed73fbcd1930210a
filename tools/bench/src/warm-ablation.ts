// One `vzero ablate` from a work folder warmed with the worlds and starting models of WARM (copied,
// so no pre-training is timed and no finished run is reused): what the ablation benchmarks time.
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const WARM_ENTRIES = [
  'world',
  'models',
  'pretrain-world',
  'pretrain-world-teacher',
  'pretrain-world-warmup',
];

/**
 * Runs `pnpm -s vzero ablate ARGS --out DIR --docs DIR` in a fresh folder warmed from `warm`, hands
 * the folder to `read` before it is removed, and returns the wall clock in minutes with what
 * `read` returned. Throws with the command's stderr tail when it fails.
 */
export async function timeWarmAblation<T>(
  warm: string,
  args: readonly string[],
  read: (out: string) => Promise<T>,
): Promise<{ minutes: number; read: T }> {
  const out = await mkdtemp(join(tmpdir(), 'vzero-ablate-bench-'));
  try {
    for (const e of WARM_ENTRIES) await cp(join(warm, e), join(out, e), { recursive: true });
    const started = performance.now();
    const r = spawnSync('pnpm', ['-s', 'vzero', 'ablate', ...args, '--out', out, '--docs', out], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    const minutes = (performance.now() - started) / 60000;
    if (r.status !== 0) throw new Error(`vzero ablate ${args.join(' ')} failed:\n${r.stderr.slice(-2000)}`);
    return { minutes, read: await read(out) };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
