// Component configs are plain typed defaults; overrides are checked key by key so that a typo
// ("alhpa") is an error naming the key, never a silently ignored setting.
import { InvalidInputError, UnknownKeyError } from './errors.js';

/**
 * Merges `overrides` into `defaults`. Unknown keys throw UnknownKeyError; a value whose type
 * differs from the default's type throws InvalidInputError naming `where.key`.
 * Keys whose default is `undefined` accept any value (optional settings).
 */
export function resolveConfig<T extends object>(
  defaults: T,
  overrides: Partial<T> | undefined,
  where: string,
): T {
  if (overrides === undefined) return { ...defaults };
  const overrideRecord: unknown = overrides;
  if (overrideRecord === null || typeof overrideRecord !== 'object' || Array.isArray(overrideRecord)) {
    throw new InvalidInputError(where, overrideRecord, 'expected an object of settings');
  }
  const known = Object.keys(defaults);
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [key, value] of Object.entries(overrides)) {
    if (!Object.prototype.hasOwnProperty.call(defaults, key)) throw new UnknownKeyError(where, key, known);
    if (value === undefined) continue;
    const def = out[key];
    if (def !== undefined && typeof def !== typeof value) {
      throw new InvalidInputError(`${where}.${key}`, value, `expected a ${typeof def}`);
    }
    out[key] = value;
  }
  return out as T;
}
