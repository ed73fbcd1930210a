// What @vzero/tinker may depend on: @vzero/core (typed errors), zod and @bufbuild/protobuf, and
// never TensorFlow.js (an engine behind TinkerBackend brings its own).
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

it('depends on core, zod and @bufbuild/protobuf only', () => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  expect(Object.keys(pkg.dependencies ?? {}).sort()).toEqual(['@bufbuild/protobuf', '@vzero/core', 'zod']);
  expect(pkg.peerDependencies).toBeUndefined();
  expect(pkg.optionalDependencies).toBeUndefined();
});
