// The resolved configuration of a long command, printed before it starts (so a log says what
// ran, with every default filled in) and saved with its outputs.
import { join } from 'node:path';
import { stringify } from 'yaml';
import { writeFileAtomic } from '@vzero/core';

/** `resolved config (<command>):` followed by the config as indented YAML, keys in their order. */
export function formatResolvedConfig(command: string, config: unknown): string {
  const body = toYaml(config).trimEnd();
  return `resolved config (${command}):\n${body
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}`;
}

/** The file a long command saves its resolved options in (`--config` reads it back). */
export const RESOLVED_CONFIG_FILE = 'resolved-config.yaml';

/** Writes `config` as YAML to `dir`/resolved-config.yaml; returns the file. */
export async function saveResolvedConfig(dir: string, config: unknown): Promise<string> {
  const file = join(dir, RESOLVED_CONFIG_FILE);
  await writeFileAtomic(file, toYaml(config));
  return file;
}

/** Plain YAML of a JSON-like value (undefined fields dropped), keys in their order. */
export function toYaml(value: unknown): string {
  return stringify(JSON.parse(JSON.stringify(value ?? {})) as unknown, { lineWidth: 0 });
}
