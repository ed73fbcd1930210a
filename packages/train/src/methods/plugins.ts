// Plug-in modules: a module that registers training methods (registerMethod) when it is imported,
// loaded before a config is checked by `vzero train --plugin MODULE`, `vzero ablate --plugin
// MODULE` and an ablation spec's `plugins:` list. A plug-in is a path (a .js file, or a .ts file
// where the process runs through tsx, as `pnpm vzero` does) or the name of an installed package.
// The modules loaded are remembered (loadedPlugins), so that the run processes of `vzero ablate
// --jobs N` load the same ones before they check their run's config.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InvalidInputError } from '@vzero/core';

/** Plug-ins loaded in this process, in order: absolute paths, or package names. */
const loaded: string[] = [];

/** Whether a plug-in is given by its path (not a package name): ./x, ../x, /x, or a file x.js / x.ts. */
export function isPluginPath(spec: string): boolean {
  return spec.startsWith('.') || isAbsolute(spec) || /\.[cm]?[jt]s$/.test(spec);
}

/** A plug-in as this process loads it: a path made absolute against `from`; a package name as it is. */
export function pluginKey(spec: string, from: string): string {
  return isPluginPath(spec) ? resolve(from, spec) : spec;
}

/** What import() takes for a plug-in: a file URL, or the package's entry as found from `from`. */
function importable(key: string, from: string): string {
  if (isAbsolute(key)) return pathToFileURL(key).href;
  try {
    // From the folder that names it (a package installed beside the spec or the project).
    return pathToFileURL(createRequire(join(from, 'package.json')).resolve(key)).href;
  } catch {
    return key; // an ESM-only package, or one this package finds: import() resolves it
  }
}

export interface LoadPluginsOptions {
  /** Folder the paths are relative to (default: the working folder). */
  readonly from?: string;
  /** What names the list in an error: '--plugin', or '<spec file>: plugins'. */
  readonly field?: string;
}

/**
 * Imports each plug-in not loaded yet, in order; returns their keys (absolute paths, package
 * names). A plug-in that is missing or fails to load is an InvalidInputError naming it and why.
 */
export async function loadPlugins(
  specs: readonly string[],
  { from = process.cwd(), field = '--plugin' }: LoadPluginsOptions = {},
): Promise<string[]> {
  const keys: string[] = [];
  for (const spec of specs) {
    if (typeof spec !== 'string' || spec.trim() === '')
      throw new InvalidInputError(field, spec, 'expected the path of a module or the name of a package');
    const key = pluginKey(spec, from);
    keys.push(key);
    if (loaded.includes(key)) continue;
    if (isAbsolute(key) && !existsSync(key)) throw new InvalidInputError(field, spec, `no such file: ${key}`);
    try {
      await import(importable(key, from));
    } catch (error) {
      const e = error as { code?: string; message?: string };
      const hint =
        e.code === 'ERR_UNKNOWN_FILE_EXTENSION'
          ? ' (a TypeScript plug-in loads where the process runs through tsx, as `pnpm vzero` does; else compile it to .js)'
          : '';
      const failure = new InvalidInputError(
        field,
        spec,
        `could not be loaded: ${(e.message ?? String(error)).split('\n')[0]}${hint}`,
      );
      failure.cause = error;
      throw failure;
    }
    loaded.push(key);
  }
  return keys;
}

/** The plug-ins this process has loaded, in order (what a run process of `vzero ablate --jobs` loads). */
export function loadedPlugins(): readonly string[] {
  return [...loaded];
}
