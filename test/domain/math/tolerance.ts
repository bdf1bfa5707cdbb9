import { expect } from 'vitest';

/**
 * Asserts |actual − expected| ≤ max(abs, rel·|expected|): relative tolerances for values spanning many
 * orders of magnitude (tail probabilities), an absolute floor near zero. NaN actuals always fail.
 */
export function expectClose(
  actual: number,
  expected: number,
  tolerance: { rel?: number; abs?: number },
): void {
  const bound = Math.max(tolerance.abs ?? 0, (tolerance.rel ?? 0) * Math.abs(expected));
  expect(
    Math.abs(actual - expected),
    `actual ${actual}, expected ${expected}, bound ${bound}`,
  ).toBeLessThanOrEqual(bound);
}
