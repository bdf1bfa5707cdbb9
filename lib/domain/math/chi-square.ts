import { regularizedGammaPair } from './special.ts';
import { requirePositive } from './validate.ts';

/**
 * χ² distribution with k degrees of freedom (k > 0, real): F(x) = P(k/2, x/2). The survival function
 * uses the upper incomplete gamma directly, so tiny p-values keep their relative precision.
 */

function tails(x: number, k: number): { p: number; q: number } {
  requirePositive('k', k);
  if (Number.isNaN(x)) return { p: Number.NaN, q: Number.NaN };
  if (x <= 0) return { p: 0, q: 1 };
  return regularizedGammaPair(k / 2, x / 2);
}

/**
 * Distribution function P(X ≤ x) of a χ²(k) variable (0 for x ≤ 0).
 *
 * @example
 * chiSquareCdf(3.841458820694124, 1); // ≈ 0.95 (the 5% critical value)
 */
export function chiSquareCdf(x: number, k: number): number {
  return tails(x, k).p;
}

/**
 * Survival function P(X > x) of a χ²(k) variable: the p-value of a likelihood-ratio statistic x.
 * Computed from the upper incomplete gamma Q(k/2, x/2), not as 1 − cdf, so it stays accurate far in the tail.
 *
 * @example
 * chiSquareSurvival(0.46147, 1); // 0.49694… (MATLAB varbacktest POF p-value)
 */
export function chiSquareSurvival(x: number, k: number): number {
  return tails(x, k).q;
}
