// Typed errors. Every error that reports bad input names the field and the value, so a user
// sees "mask[3] of sequence 2 is NaN" instead of a NaN three packages later.

/** Base class of every error the toolkit throws on purpose. `code` is stable for programs. */
export class VZeroError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Renders a value for an error message: short, and readable for NaN, infinities and objects. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  if (typeof value === 'string')
    return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `${value}n`;
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return String(value);
  }
}

/** A field of some input holds a value the toolkit cannot use. */
export class InvalidInputError extends VZeroError {
  readonly field: string;
  readonly value: unknown;
  constructor(field: string, value: unknown, reason: string) {
    super('INVALID_INPUT', `${field} = ${describeValue(value)}: ${reason}`);
    this.field = field;
    this.value = value;
  }
}

/** A config object carries a key that the component does not know (often a typo). */
export class UnknownKeyError extends VZeroError {
  readonly key: string;
  readonly where: string;
  constructor(where: string, key: string, known: readonly string[]) {
    const hint = closest(key, known);
    super(
      'UNKNOWN_KEY',
      `unknown key "${key}" in ${where}${hint ? ` (did you mean "${hint}"?)` : ''}; known keys: ${known.join(', ')}`,
    );
    this.key = key;
    this.where = where;
  }
}

/** Two inputs that must agree in shape or length do not. */
export class ShapeMismatchError extends VZeroError {
  readonly field: string;
  constructor(field: string, expected: string, actual: string) {
    super('SHAPE_MISMATCH', `${field}: expected ${expected}, got ${actual}`);
    this.field = field;
  }
}

/** A tensor backend was requested but could not be used. */
export class BackendError extends VZeroError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BACKEND', message, options);
  }
}

/**
 * An optional dependency that this call needs is not installed (TensorFlow.js is an optional
 * peer of @vzero/core and @vzero/gate, so their array paths install no tensor library).
 */
export class MissingDependencyError extends VZeroError {
  /** The npm package to install, e.g. "@tensorflow/tfjs-core". */
  readonly dependency: string;
  /** `install` is what to add, with its version (default: the dependency's name). */
  constructor(dependency: string, neededFor: string, options?: { cause?: unknown; install?: string }) {
    super(
      'MISSING_DEPENDENCY',
      `${neededFor} needs ${dependency}, which is not installed (an optional peer dependency): npm install ${options?.install ?? dependency}`,
      options,
    );
    this.dependency = dependency;
  }
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const sub = (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, sub));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}
