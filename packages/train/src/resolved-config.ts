// The resolved configuration of a long command, printed before it starts (so a log says what
// ran, with every default filled in) and saved with its outputs.
import { stringify } from 'yaml';

/** `resolved config (<command>):` followed by the config as indented YAML, keys in their order. */
export function formatResolvedConfig(command: string, config: unknown): string {
  const body = stringify(JSON.parse(JSON.stringify(config ?? {})) as unknown, { lineWidth: 0 }).trimEnd();
  return `resolved config (${command}):\n${body
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}`;
}
