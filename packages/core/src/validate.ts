// Small guards used at package boundaries; each throws InvalidInputError naming the field.
import { InvalidInputError } from './errors.js';

export function assertFiniteNumber(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidInputError(field, value, 'expected a finite number');
  }
}

export function assertPositiveInteger(field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new InvalidInputError(field, value, 'expected a positive integer');
  }
}

export function assertNonNegative(field: string, value: unknown): asserts value is number {
  assertFiniteNumber(field, value);
  if (value < 0) throw new InvalidInputError(field, value, 'expected a number >= 0');
}

export function assertInRange(
  field: string,
  value: unknown,
  lo: number,
  hi: number,
): asserts value is number {
  assertFiniteNumber(field, value);
  if (value < lo || value > hi)
    throw new InvalidInputError(field, value, `expected a number in [${lo}, ${hi}]`);
}
