import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainConfig, readConfigFile } from '../src/config.js';

const dir = fileURLToPath(new URL('../examples', import.meta.url));

describe('example configs', () => {
  it.each(readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f)))('%s validates', async (file) => {
    const config = parseTrainConfig(await readConfigFile(join(dir, file)), file);
    expect(config.method).toBeDefined();
  });
});
