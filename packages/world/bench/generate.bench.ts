// Generation and export speed. Run: npx tsx packages/world/bench/generate.bench.ts
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportParquet, generateWorld } from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'vzero-world-bench-'));
try {
  for (const [width, height, n] of [
    [512, 384, 100],
    [2246, 1582, 10],
  ] as const) {
    const t0 = performance.now();
    await generateWorld({ out: join(dir, `${width}`), split: 'train', n, seed: 1, width, height });
    const ms = (performance.now() - t0) / n;
    console.log(`generate ${width}x${height}: ${ms.toFixed(1)} ms/image (n=${n})`);
  }
  const t1 = performance.now();
  await exportParquet(join(dir, '512'), 'train', join(dir, 'train.parquet'));
  console.log(`exportParquet 512x384: ${((performance.now() - t1) / 100).toFixed(1)} ms/row (n=100)`);
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} x${cpus().length}, node ${process.version}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
