// The training app's folders import downwards only (eslint.config.js, vzero/train-folders): the
// rule runs on text placed at a path inside src/, as `pnpm lint` runs it on the real files.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const src = join(repo, 'packages', 'train', 'src');
const eslint = new ESLint({ cwd: repo });

async function folderErrors(file: string, text: string): Promise<string[]> {
  const [result] = await eslint.lintText(text, { filePath: join(src, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'vzero/train-folders').map((m) => m.message);
}

describe('training app folders', () => {
  it('refuses an upward import and allows a downward one', async () => {
    const upward = "import { flag } from '../commands/options.js';\nexport const probe = flag;\n";
    expect(await folderErrors('run/probe.ts', upward)).toEqual([
      '"../commands/options.js" imports upwards: the library may not import commands/ (docs/ARCHITECTURE.md, "The training app\'s folders")',
    ]);
    expect(await folderErrors('ablate/probe.ts', "export { buildProgram } from '../cli.js';\n")).toHaveLength(
      1,
    );
    expect(
      await folderErrors(
        'commands/probe.ts',
        "import { ablatePreset } from '../ablate/presets.js';\nexport const p = ablatePreset;\n",
      ),
    ).toEqual([]);
    expect(
      await folderErrors('cli.ts', "import { flag } from './commands/options.js';\nexport const p = flag;\n"),
    ).toEqual([]);
  }, 60_000);
});
