// @vzero/core's published declarations compile in a consumer that has no Node typings: a
// browser bundle, or a project that never installed @types/node. The declarations are emitted
// from the current source (what `pnpm build` puts in dist/), installed as a package into a
// scratch project whose tsconfig has `types: []` and `skipLibCheck: false`, and a small program
// using the public API is type-checked against them.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(pkg, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc');
let scratch: string;
let declarations: string;

function run(args: readonly string[], cwd: string): { ok: boolean; output: string } {
  try {
    execFileSync(process.execPath, [tsc, ...args], { cwd, encoding: 'utf8', stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** A consumer project with core's declarations installed under node_modules; returns its folder. */
function consumer(name: string, program: string, extraDeclarations = ''): string {
  const dir = join(scratch, name);
  const installed = join(dir, 'node_modules', '@vzero', 'core');
  mkdirSync(installed, { recursive: true });
  cpSync(declarations, join(installed, 'dist'), { recursive: true });
  if (extraDeclarations) {
    const index = join(installed, 'dist', 'index.d.ts');
    writeFileSync(index, `${readFileSync(index, 'utf8')}\n${extraDeclarations}\n`);
  }
  cpSync(join(pkg, 'package.json'), join(installed, 'package.json'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, private: true, type: 'module' }));
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        lib: ['ES2023'],
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        // No @types/* at all, and the installed declarations are checked, not skipped.
        types: [],
        skipLibCheck: false,
      },
      include: ['index.ts'],
    }),
  );
  writeFileSync(join(dir, 'index.ts'), program);
  return dir;
}

const PROGRAM = `
import {
  BACKEND_NAMES,
  FileSystemError,
  InvalidInputError,
  VZeroError,
  Rng,
  describeErrno,
  formatBackendReport,
  isSystemError,
  selectBackend,
  toFileSystemError,
  withoutAnswer,
  type BackendReport,
  type EnvironmentVariables,
  type LabelledSample,
  type Policy,
  type Prompt,
  type SystemError,
} from '@vzero/core';

const env: EnvironmentVariables = { VZERO_BACKEND: 'cpu' };
export const selecting: Promise<BackendReport> = selectBackend({ prefer: 'cpu', env });
export const names: readonly string[] = BACKEND_NAMES;
export const line = (r: BackendReport): string => formatBackendReport(r);

export function why(error: unknown): string {
  if (isSystemError(error)) {
    const e: SystemError = error;
    return \`\${e.syscall} \${e.code}: \${describeErrno(e.code)}\${e.path ? \` (\${e.path})\` : ''}\`;
  }
  const converted = toFileSystemError(error, 'a/path', 'read');
  if (converted instanceof FileSystemError) return \`\${converted.path} \${converted.errno ?? ''}\`;
  if (converted instanceof VZeroError) return converted.code;
  return String(converted);
}

export const bad = new InvalidInputError('steps', -1, 'expected >= 1');
export const rng = new Rng(7);
export const prompt: Prompt | undefined = undefined;
export const policy: Policy | undefined = undefined;
export const sample: LabelledSample = {
  id: 'q1',
  image: { path: 'a.png' },
  question: 'what colour is the star ?',
  options: ['red', 'blue'],
  boxes: [{ x0: 1, y0: 2, x1: 3, y1: 4 }],
  category: 'attribute',
  answer: 'B',
  answerIndex: 1,
};
export const labelFree = withoutAnswer(sample);
`;

describe('@vzero/core declarations without @types/node', () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'vzero-core-types-'));
    declarations = join(scratch, 'dist');
    const emitted = run(
      [
        '-p',
        'tsconfig.build.json',
        '--emitDeclarationOnly',
        '--declarationMap',
        'false',
        '--outDir',
        declarations,
      ],
      pkg,
    );
    expect(emitted.output).toBe('');
  }, 120_000);

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('name no Node type (Buffer, NodeJS.*, node: modules)', () => {
    for (const file of readdirSync(declarations).filter((f) => f.endsWith('.d.ts'))) {
      const text = readFileSync(join(declarations, file), 'utf8');
      expect(text, file).not.toMatch(/\bNodeJS\.|\bBuffer\b|from ['"]node:|reference types="node"/);
    }
  });

  it('compile in a strict consumer with types: [] and skipLibCheck off', () => {
    const result = run(['-p', 'tsconfig.json'], consumer('uses-core', PROGRAM));
    expect(result.output).toBe('');
    expect(result.ok).toBe(true);
  }, 60_000);

  it('the consumer really has no Node typings: a declaration naming NodeJS fails there', () => {
    const dir = consumer(
      'control',
      PROGRAM,
      'export declare function leaks(env: NodeJS.ProcessEnv): Buffer;',
    );
    const result = run(['-p', 'tsconfig.json'], dir);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(/Cannot find (name|namespace) 'NodeJS'/);
  }, 60_000);
});
