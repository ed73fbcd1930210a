// The ablation's world folder is reused when it was made with the same settings, including a
// world made before a setting existed (its saved config lacks the key, which meant the default).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureWorld } from '../src/ablate/run.js';

const config = {
  width: 96,
  height: 64,
  targetSizeMin: 12,
  targetSizeMax: 16,
  distractorsMin: 1,
  distractorsMax: 2,
};
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vzero-ensure-world-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('ensureWorld', () => {
  it('reuses a world whose saved config lacks keys added since (their defaults), and remakes a changed one', async () => {
    await ensureWorld(dir, { train: 4 }, 3, config);
    const stamp = join(dir, 'train', 'world.json');
    const saved = JSON.parse(await readFile(stamp, 'utf8')) as { config: Record<string, unknown> };
    // as an older version wrote it: without the spatial-pair settings
    delete saved.config['pairGapMin'];
    delete saved.config['pairRiseMax'];
    await writeFile(stamp, JSON.stringify(saved));
    const marker = join(dir, 'train', 'marker');
    await writeFile(marker, 'kept');
    await ensureWorld(dir, { train: 4 }, 3, config);
    expect(existsSync(marker)).toBe(true);
    // a setting that changes the scenes remakes the split
    await ensureWorld(dir, { train: 4 }, 3, { ...config, spatialFraction: 1, pairGapMin: 4 });
    expect(existsSync(marker)).toBe(false);
    const remade = JSON.parse(await readFile(stamp, 'utf8')) as { config: Record<string, unknown> };
    expect(remade.config['pairGapMin']).toBe(4);
  });
});
