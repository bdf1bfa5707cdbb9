/**
 * Argument checks shared by the math module. A violated precondition is a programming error, not a
 * market condition, so it raises a plain `RangeError` (never a `QmtError`) naming the argument.
 * NaN fails every check because each test is written as `!(condition)`.
 */

/** `p` must lie in [0, 1]. */
export function requireProbability(name: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${name} must be a probability in [0, 1], got ${p}`);
}

/** `p` must lie in the open interval (0, 1). */
export function requireOpenProbability(name: string, p: number): void {
  if (!(p > 0 && p < 1)) throw new RangeError(`${name} must lie in (0, 1), got ${p}`);
}

/** `v` must be a strictly positive number (Infinity allowed only when `allowInfinity`). */
export function requirePositive(name: string, v: number, allowInfinity = false): void {
  if (!(v > 0) || (!allowInfinity && v === Number.POSITIVE_INFINITY)) {
    throw new RangeError(`${name} must be a positive${allowInfinity ? '' : ' finite'} number, got ${v}`);
  }
}

/** `v` must be a non-negative integer. */
export function requireCount(name: string, v: number): void {
  if (!(Number.isSafeInteger(v) && v >= 0))
    throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
}

/** Every element must be finite; returns nothing, throws naming the first offending index. */
export function requireFiniteValues(name: string, values: ArrayLike<number>): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (!Number.isFinite(v)) throw new RangeError(`${name}[${i}] must be finite, got ${v}`);
  }
}
