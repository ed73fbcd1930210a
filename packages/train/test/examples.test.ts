import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainConfig, readConfigFile } from '../src/config.js';
import { buildProgram } from '../src/cli.js';
import { configFileSchema } from '../src/commands/options.js';
import { parseWithSchema } from '../src/validate.js';

const dir = fileURLToPath(new URL('../examples', import.meta.url));
const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));

// An example named after another command (eval.yaml) holds that command's options; the rest are
// training configs.
const commandOf = (file: string) => {
  const name = file.replace(/\.(ya?ml|json)$/, '');
  return buildProgram().commands.find((c) => c.name() === name && name !== 'train');
};

describe('example configs', () => {
  it('there are both kinds', () => {
    expect(files.some((f) => commandOf(f) === undefined)).toBe(true);
    expect(files.some((f) => commandOf(f) !== undefined)).toBe(true);
  });

  it.each(files)('%s validates', async (file) => {
    const raw = await readConfigFile(join(dir, file));
    const cmd = commandOf(file);
    if (cmd === undefined) {
      expect(parseTrainConfig(raw, file).method).toBeDefined();
    } else {
      const options = parseWithSchema(configFileSchema(cmd), raw, file) as Record<string, unknown>;
      expect(Object.keys(options).length).toBeGreaterThan(0);
    }
  });

  it('a bad value in a command example is named', () => {
    const cmd = commandOf('eval.yaml');
    expect(cmd).toBeDefined();
    expect(() => parseWithSchema(configFileSchema(cmd!), { limit: 'many' }, 'eval.yaml')).toThrow(/limit/);
  });
});
