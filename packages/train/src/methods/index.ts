// The method registry: every training method the app knows, built in (methods/opd.ts: vzero and
// opd; methods/sft.ts; methods/grpo.ts) or registered at run time with registerMethod(spec). The
// app derives everything per method from here: the config's `method` names and method sections
// (config.ts), whether a run loads a teacher (run-setup.ts) and reads its folder (run/run-dir.ts),
// the warnings (sanity.ts), which data a step loads and the step itself (steps/index.ts), and
// whether a student at a training service can train with it (config.ts, remote/train.ts).
import { InvalidInputError } from '@vzero/core';
import { SHARED_CONFIG_KEYS, trainConfigSchemaWith, type MethodName } from '../config.js';
import { addMethod, findMethod, isBuiltinMethod, registeredMethods, removeMethod } from './registry.js';
import { DATA_KINDS, TEACHER_VIEWS, type AnyMethodSpec, type DataKind, type MethodSpec } from './spec.js';
import type { z } from 'zod';

export { BUILTIN_METHODS, findMethod, registeredMethods } from './registry.js';
export {
  DATA_KINDS,
  TEACHER_VIEWS,
  defineMethod,
  readsNegativeView,
  type AnyMethodSpec,
  type ConfigIssue,
  type DataKind,
  type MethodSection,
  type MethodSpec,
  type SampleOf,
  type TeacherView,
} from './spec.js';
export { opdMethod, vzeroMethod } from './opd.js';
export { sftMethod } from './sft.js';
export { grpoMethod } from './grpo.js';

/** A method name: lower case letters, digits and '-', starting with a letter. */
const NAME = /^[a-z][a-z0-9-]*$/;
/** A section key: letters and digits, starting with a letter (as the app's own keys). */
const SECTION_KEY = /^[A-Za-z][A-Za-z0-9]*$/;
/** Names a method may not take: 'base' is the untrained starting student in `vzero ablate`. */
const RESERVED_NAMES: ReadonlySet<string> = new Set(['base']);

/**
 * Adds a training method: from now on `method: <name>` trains with it in this process (`vzero
 * train`, train(), and the config's validation, its section included). Throws an
 * InvalidInputError naming the field when the spec is not one the app can run: a bad or taken
 * name, an unknown data kind or teacher view, a section key another section has, or a section
 * without a default for every key.
 */
export function registerMethod<N extends string, D extends DataKind, K extends string, S extends z.ZodType>(
  spec: MethodSpec<N, D, K, S>,
): void {
  const checked = spec as unknown as AnyMethodSpec;
  checkSpec(checked);
  addMethod(checked);
}

/** Removes a method registered with registerMethod (the built-in ones stay); false when none had the name. */
export function unregisterMethod(name: string): boolean {
  if (isBuiltinMethod(name))
    throw new InvalidInputError('method', name, 'a built-in method cannot be unregistered');
  return removeMethod(name);
}

/** The names of every registered method, the built-in ones first. */
export function methodNames(): MethodName[] {
  return registeredMethods().map((m) => m.name);
}

/** The spec of the method called `name`; an InvalidInputError naming the registered ones otherwise. */
export function methodSpec(name: MethodName): AnyMethodSpec {
  const spec = findMethod(name);
  if (!spec)
    throw new InvalidInputError(
      'method',
      name,
      `not a registered method (registered: ${methodNames().join(', ')})`,
    );
  return spec;
}

/**
 * Whether a run of `method` loads a teacher (and so reads models.teacher). Takes any value, as a
 * run folder's config may be partial: an unknown method needs none.
 */
export function methodNeedsTeacher(method: unknown): boolean {
  return findMethod(method)?.teacher !== undefined;
}

function checkSpec(spec: AnyMethodSpec): void {
  const at = (field: string) =>
    `registerMethod(${typeof spec?.name === 'string' ? spec.name : '?'}).${field}`;
  if (spec === null || typeof spec !== 'object')
    throw new InvalidInputError('registerMethod', spec, 'expected a method spec object');
  if (typeof spec.name !== 'string' || !NAME.test(spec.name))
    throw new InvalidInputError(
      at('name'),
      spec.name,
      'expected lower case letters, digits and "-", starting with a letter',
    );
  if (RESERVED_NAMES.has(spec.name))
    throw new InvalidInputError(
      at('name'),
      spec.name,
      'reserved: "base" is the untrained student in vzero ablate',
    );
  if (findMethod(spec.name))
    throw new InvalidInputError(
      at('name'),
      spec.name,
      isBuiltinMethod(spec.name)
        ? 'a built-in method has this name'
        : 'a method of this name is registered (unregisterMethod it first)',
    );
  if (typeof spec.description !== 'string' || spec.description.trim() === '')
    throw new InvalidInputError(at('description'), spec.description, 'expected a one-line description');
  if (!DATA_KINDS.includes(spec.data))
    throw new InvalidInputError(at('data'), spec.data, `expected one of ${DATA_KINDS.join(', ')}`);
  if (typeof spec.step !== 'function')
    throw new InvalidInputError(at('step'), spec.step, 'expected the step function');
  if (spec.warnings !== undefined && typeof spec.warnings !== 'function')
    throw new InvalidInputError(at('warnings'), spec.warnings, 'expected a function of the config');
  checkTeacher(spec, at);
  if (spec.remote !== undefined) {
    if (spec.remote !== 'opd')
      throw new InvalidInputError(
        at('remote'),
        spec.remote,
        "expected 'opd' (the remote OPD trainer) or none",
      );
    if (spec.data !== 'label-free' || spec.teacher === undefined)
      throw new InvalidInputError(
        at('remote'),
        spec.remote,
        'the remote OPD trainer runs label-free methods with a teacher',
      );
  }
  if (spec.config !== undefined) checkSection(spec, at);
}

function checkTeacher(spec: AnyMethodSpec, at: (field: string) => string): void {
  if (spec.teacher === undefined) return;
  const views: unknown = spec.teacher?.views;
  if (!Array.isArray(views) || views.some((v) => !TEACHER_VIEWS.includes(v as never)))
    throw new InvalidInputError(at('teacher.views'), views, `expected a list of ${TEACHER_VIEWS.join(', ')}`);
  if (!views.includes('positive'))
    throw new InvalidInputError(
      at('teacher.views'),
      views,
      "the teacher always replays the positive view: list 'positive'",
    );
  if (new Set(views).size !== views.length)
    throw new InvalidInputError(at('teacher.views'), views, 'a view is listed twice');
}

function checkSection(spec: AnyMethodSpec, at: (field: string) => string): void {
  const section = spec.config as NonNullable<AnyMethodSpec['config']>;
  if (typeof section.key !== 'string' || !SECTION_KEY.test(section.key))
    throw new InvalidInputError(
      at('config.key'),
      section.key,
      'expected letters and digits, starting with a letter',
    );
  if (SHARED_CONFIG_KEYS.includes(section.key))
    throw new InvalidInputError(at('config.key'), section.key, 'a section every method shares has this key');
  const owner = registeredMethods().find((m) => m.config?.key === section.key);
  if (owner)
    throw new InvalidInputError(
      at('config.key'),
      section.key,
      `method ${owner.name} has a section of this key`,
    );
  if (typeof (section.schema as { safeParse?: unknown } | undefined)?.safeParse !== 'function')
    throw new InvalidInputError(at('config.schema'), section.schema, 'expected a zod schema');
  if (section.check !== undefined && typeof section.check !== 'function')
    throw new InvalidInputError(at('config.check'), section.check, 'expected a function');
  // Every run's config carries every registered section, filled in: the section's defaults (and
  // its check, on a config of defaults) must pass.
  const defaults = trainConfigSchemaWith(spec).safeParse({});
  if (!defaults.success) {
    const issue = defaults.error.issues[0];
    throw new InvalidInputError(
      at('config.schema'),
      issue?.path.join('.'),
      `the section must validate when a config leaves it out (a default for every key): ${issue?.path.join('.')}: ${issue?.message}`,
    );
  }
}
