// JSON Lines reading with errors that name the file and the line.
import { InvalidInputError } from '@vzero/core';

/** Parses JSONL text; blank lines are skipped. A bad line throws naming `<file> line <n>`. */
export function parseJsonl(text: string, file: string): { line: number; value: Record<string, unknown> }[] {
  const out: { line: number; value: Record<string, unknown> }[] = [];
  // A UTF-8 byte-order mark at the start is not part of the first key.
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]?.trim() ?? '';
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      throw new InvalidInputError(
        `${file} line ${i + 1}`,
        raw,
        `not valid JSON (${(error as Error).message})`,
      );
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidInputError(`${file} line ${i + 1}`, raw, 'expected a JSON object');
    }
    out.push({ line: i + 1, value: value as Record<string, unknown> });
  }
  return out;
}

export function toJsonl(rows: readonly unknown[]): string {
  return rows.map((r) => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : '');
}
