// The toolkit's version, read from @vzero/train's package.json (one folder above both src/ and
// dist/, so the same code works from source and from the published build).
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function toolkitVersion(): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return cached;
}
