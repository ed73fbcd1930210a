// One vitest run over every package. Imports of @vzero/<name> resolve to that package's
// source, so tests never depend on a stale build.
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));
const packageDirs = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);
const alias = packageDirs.flatMap((d) => [
  { find: new RegExp(`^@vzero/${d}$`), replacement: join(root, 'packages', d, 'src', 'index.ts') },
  // A subpath entry point (@vzero/gate/tensors, @vzero/tfjs-native/reference): src/<subpath>.ts.
  { find: new RegExp(`^@vzero/${d}/([\\w-]+)$`), replacement: join(root, 'packages', d, 'src', '$1.ts') },
]);
const toolDirs = readdirSync(join(root, 'tools')).filter((d) => existsSync(join(root, 'tools', d, 'test')));

export default defineConfig({
  resolve: { alias },
  test: {
    reporters: ['default', join(root, 'tools/vitest/closing-line-reporter.ts')],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: forks keep tfjs backends isolated per file.
    pool: 'forks',
    projects: [
      ...packageDirs.map((d) => ({
        // Inherit the root's timeouts and pool: project configs do not, unless asked to.
        extends: true as const,
        resolve: { alias },
        test: { name: `@vzero/${d}`, root: join(root, 'packages', d), include: ['test/**/*.test.ts'] },
      })),
      ...toolDirs.map((d) => ({
        extends: true as const,
        resolve: { alias },
        test: { name: `tools/${d}`, root: join(root, 'tools', d), include: ['test/**/*.test.ts'] },
      })),
    ],
  },
});
