import { logGamma, regularizedBetaPair } from './special.ts';
import { requireCount, requireProbability } from './validate.ts';

/**
 * Binomial distribution Bin(n, p): number of successes (e.g. VaR breaches) in n independent trials.
 */

/**
 * P(X ≤ k) for X ~ Bin(n, p), via the identity P(X ≤ k) = I_{1−p}(n − k, k + 1) (regularized incomplete
 * beta), which costs O(√n) instead of k terms and stays accurate for large n. Non-integer k is floored
 * (as scipy does); k < 0 gives 0 and k ≥ n gives 1.
 *
 * @example
 * binomialCdf(4, 250, 0.01); // 0.892187… (Basel: 4 exceptions still green)
 */
export function binomialCdf(k: number, n: number, p: number): number {
  requireCount('n', n);
  requireProbability('p', p);
  if (Number.isNaN(k)) return Number.NaN;
  const kk = Math.floor(k);
  if (kk < 0) return 0;
  if (kk >= n) return 1;
  if (p === 0) return 1;
  if (p === 1) return 0;
  return regularizedBetaPair(1 - p, p, n - kk, kk + 1).lower;
}

/**
 * P(X = k) for X ~ Bin(n, p), computed in log space (no overflow of the binomial coefficient).
 *
 * @example
 * binomialPmf(0, 250, 0.01); // 0.0810585… (= 0.99^250)
 */
export function binomialPmf(k: number, n: number, p: number): number {
  requireCount('n', n);
  requireProbability('p', p);
  if (!Number.isInteger(k) || k < 0 || k > n) return 0;
  if (p === 0) return k === 0 ? 1 : 0;
  if (p === 1) return k === n ? 1 : 0;
  const logChoose = logGamma(n + 1) - logGamma(k + 1) - logGamma(n - k + 1);
  return Math.exp(logChoose + k * Math.log(p) + (n - k) * Math.log1p(-p));
}
