// Flat ESLint config: typescript-eslint's recommended rules over every package and tool, and the
// package layering of docs/ARCHITECTURE.md.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

const root = dirname(fileURLToPath(import.meta.url));

// What each package's sources may import from the toolkit (docs/ARCHITECTURE.md, "Packages").
// Arrows point one way: nothing depends on train; gate and opd-loss know nothing about images or
// models; views knows nothing about models; model knows nothing about the world's files;
// rollout, teacher and bench see only the Policy contract. Tests and benchmarks of a package
// may use any package but the app (@vzero/train) as a fixture. A package.json whose
// dependencies break this map fails here, before any file is linted.
const LAYERS = {
  core: [],
  'tfjs-native': ['core'],
  views: ['core'],
  world: ['core', 'views'],
  model: ['core', 'tfjs-native'],
  rollout: ['core'],
  teacher: ['core'],
  gate: ['core'],
  'opd-loss': ['core'],
  bench: ['core', 'rollout'],
  remote: ['core'],
  serve: ['core', 'model', 'renderers', 'tinker', 'views'],
  tinker: ['core'],
  // Tinker-style model inputs per model family; the toolkit's models are taken structurally.
  renderers: ['core'],
  train: [
    'bench',
    'core',
    'gate',
    'model',
    'opd-loss',
    'remote',
    'renderers',
    'rollout',
    'serve',
    'teacher',
    'tfjs-native',
    'tinker',
    'views',
    'world',
  ],
};

for (const dir of readdirSync(resolve(root, 'packages'))) {
  const file = resolve(root, 'packages', dir, 'package.json');
  if (!existsSync(file)) continue;
  const allowed = LAYERS[dir];
  if (!allowed) throw new Error(`eslint.config.js: packages/${dir} has no entry in LAYERS`);
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
    for (const name of Object.keys(pkg[field] ?? {})) {
      const target = name.startsWith('@vzero/') ? name.slice('@vzero/'.length) : undefined;
      if (target && !allowed.includes(target)) {
        throw new Error(
          `eslint.config.js: packages/${dir}/package.json ${field} has ${name}, which LAYERS does not allow`,
        );
      }
    }
  }
}

/** packages/<name>/... or tools/<name>/... of a file, with whether it is a package's shipped code. */
function projectOf(file) {
  const parts = relative(root, file).split(sep);
  if ((parts[0] !== 'packages' && parts[0] !== 'tools') || parts.length < 3) return undefined;
  return {
    kind: parts[0],
    name: parts[1],
    dir: resolve(root, parts[0], parts[1]),
    shipped: parts[0] === 'packages' && (parts[2] === 'src' || parts[2] === 'scripts'),
  };
}

const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'package layering: no upward imports, no relative paths into another package' },
    schema: [],
  },
  create(context) {
    const project = projectOf(context.filename);
    if (!project) return {};
    const check = (node, source) => {
      if (typeof source !== 'string') return;
      if (source.startsWith('.')) {
        const target = resolve(dirname(context.filename), source);
        if (!target.startsWith(project.dir + sep)) {
          context.report({
            node,
            message: `"${source}" reaches out of ${project.kind}/${project.name} by a relative path; import the package (and export what is needed) instead`,
          });
        }
        return;
      }
      const match = /^@vzero\/([^/]+)/.exec(source);
      if (!match || project.kind !== 'packages' || match[1] === project.name) return;
      const target = match[1];
      if (project.shipped && !LAYERS[project.name]?.includes(target)) {
        context.report({
          node,
          message: `@vzero/${project.name} may not depend on @vzero/${target} (allowed: ${LAYERS[project.name]?.join(', ') || 'none'}; see docs/ARCHITECTURE.md)`,
        });
      } else if (!project.shipped && target === 'train') {
        context.report({
          node,
          message: `tests of @vzero/${project.name} may not use the app, @vzero/train`,
        });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

// Inside the training app (packages/train/src): the entry points (cli.ts, bin.ts, index.ts) wire
// the commands, the commands run experiments (ablate/) and the library below them, and nothing
// imports upwards (docs/ARCHITECTURE.md, "The training app's folders").
const TRAIN_SRC = resolve(root, 'packages', 'train', 'src');
const TRAIN_ENTRY = new Set(['cli.ts', 'bin.ts', 'index.ts']);
/** 3: entry points, 2: commands/, 1: ablate/, 0: the rest (methods, steps, run, evaluation, tracking, remote, root modules). */
function trainTier(file) {
  const rel = relative(TRAIN_SRC, file).split(sep);
  if (rel[0] === '..') return undefined;
  if (rel.length === 1 && TRAIN_ENTRY.has(rel[0])) return 3;
  if (rel[0] === 'commands') return 2;
  if (rel[0] === 'ablate') return 1;
  return 0;
}
const TIER_NAMES = ['the library', 'ablate/ (experiments)', 'commands/', 'the entry points'];
const trainFolders = {
  meta: { type: 'problem', docs: { description: 'training app folders: no upward import' }, schema: [] },
  create(context) {
    const from = trainTier(context.filename);
    if (from === undefined) return {};
    const check = (node, source) => {
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = resolve(dirname(context.filename), source).replace(/\.js$/, '.ts');
      const to = trainTier(target);
      if (to !== undefined && to > from) {
        context.report({
          node,
          message: `"${source}" imports upwards: ${TIER_NAMES[from]} may not import ${TIER_NAMES[to]} (docs/ARCHITECTURE.md, "The training app's folders")`,
        });
      }
    };
    return {
      ImportDeclaration: (node) => check(node, node.source.value),
      ExportAllDeclaration: (node) => check(node, node.source.value),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
    };
  },
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/build/**', '**/.nx/**', 'runs/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { vzero: { rules: { boundaries, 'train-folders': trainFolders } } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vzero/boundaries': 'error',
      'vzero/train-folders': 'error',
    },
  },
);
