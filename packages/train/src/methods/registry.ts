// The method registry's state: the toolkit's own methods, then any registered at run time
// (registerMethod in methods/index.ts checks a spec before it is added here). config.ts reads it
// to build the config's schema, so this module imports nothing of the app's config.
import { grpoMethod } from './grpo.js';
import { opdMethod, vzeroMethod } from './opd.js';
import { sftMethod } from './sft.js';
import type { AnyMethodSpec } from './spec.js';

/**
 * The built-in methods, in the order help and docs list them. The train config's type (its
 * `method` names and method sections) is derived from these specs' types.
 */
export const BUILTIN_METHODS = [vzeroMethod, opdMethod, sftMethod, grpoMethod] as const;

const registry = new Map<string, AnyMethodSpec>(BUILTIN_METHODS.map((m) => [m.name, m]));
let version = 0;

/** Every registered method, the built-in ones first, then in the order they were registered. */
export function registeredMethods(): readonly AnyMethodSpec[] {
  return [...registry.values()];
}

/** Grows whenever a method is registered or removed (what a cached schema is keyed on). */
export function registryVersion(): number {
  return version;
}

/** The method called `name`, when one is registered. */
export function findMethod(name: unknown): AnyMethodSpec | undefined {
  return typeof name === 'string' ? registry.get(name) : undefined;
}

export function isBuiltinMethod(name: string): boolean {
  return BUILTIN_METHODS.some((m) => m.name === name);
}

/** Adds a checked spec (methods/index.ts registerMethod does the checking). */
export function addMethod(spec: AnyMethodSpec): void {
  registry.set(spec.name, spec);
  version++;
}

/** Removes a registered method; false when none has the name. */
export function removeMethod(name: string): boolean {
  const removed = registry.delete(name);
  if (removed) version++;
  return removed;
}
