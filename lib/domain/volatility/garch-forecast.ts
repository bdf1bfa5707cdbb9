/**
 * GARCH(1,1) variance forecasts: the expected variance k days ahead and the variance of an h-day return
 * (the GARCH alternative to √h scaling over a margin period of risk). The model is described in `garch.ts`.
 */
import type { GarchParameters } from './garch.ts';
import { assertFilterParameters } from './garch-likelihood.ts';

/**
 * Expected variance k days ahead, E[σ²_{n+k}], given the next-day variance σ²_{n+1} = `nextVariance`
 * (the last element of {@link garchVariances}); k = 1 returns `nextVariance` itself:
 *
 *   E[σ²_{n+k}] = V_L + (α + β)^(k−1) (σ²_{n+1} − V_L),  V_L = ω / (1 − α − β).
 *
 * Hull writes E[σ²_{n+t}] = V_L + (α+β)^t (σ²_n − V_L) with σ²_n the variance for the current day, so his
 * "t days ahead" is k = t + 1 here: his 10-day example (V_L = 0.0004, α+β = 0.98, σ²_n = 0.0009 → 0.000809)
 * is `garchForecastVariance(p, 0.0009, 11)`. Computed as ω·Σ_{j<k−1}(α+β)^j + (α+β)^(k−1)·σ²_{n+1}, which is
 * the same thing but also holds when α + β ≥ 1 (no V_L).
 *
 * @throws RangeError when k is not a whole number ≥ 1 or the inputs are negative or non-finite.
 * @example
 * garchForecastVariance({ omega: 0.000008, alpha: 0.08, beta: 0.9 }, 0.0009, 11); // 0.0008085364
 */
export function garchForecastVariance(p: GarchParameters, nextVariance: number, k: number): number {
  assertFilterParameters(p);
  assertNextVariance(nextVariance);
  if (!(Number.isInteger(k) && k >= 1)) {
    throw new RangeError(`GARCH forecast step k is ${k}; it must be a whole number ≥ 1 (k = 1 is next day)`);
  }
  const persistence = p.alpha + p.beta;
  const decay = persistence ** (k - 1);
  const omegaWeight = persistence === 1 ? k - 1 : (1 - decay) / (1 - persistence);
  return p.omega * omegaWeight + decay * nextVariance;
}

/**
 * Variance of the h-day log return from the next day on: Σ_{k=1..h} E[σ²_{n+k}] (daily returns are
 * uncorrelated, so their variances add). With α + β < 1 this is below h·σ²_{n+1} when σ²_{n+1} > V_L: the
 * GARCH alternative to √h scaling over a margin period of risk.
 *
 * @throws RangeError when horizonDays is not a whole number ≥ 1 or the inputs are negative or non-finite.
 * @example
 * garchTermVariance({ omega: 0.000008, alpha: 0.08, beta: 0.9 }, 0.0009, 2); // 0.0009 + 0.000890 = 0.00179
 */
export function garchTermVariance(p: GarchParameters, nextVariance: number, horizonDays: number): number {
  assertFilterParameters(p);
  assertNextVariance(nextVariance);
  if (!(Number.isInteger(horizonDays) && horizonDays >= 1)) {
    throw new RangeError(`GARCH horizon is ${horizonDays} days; it must be a whole number ≥ 1`);
  }
  const persistence = p.alpha + p.beta;
  let dayVariance = nextVariance;
  let total = 0;
  for (let k = 1; k <= horizonDays; k++) {
    total += dayVariance;
    dayVariance = p.omega + persistence * dayVariance;
  }
  return total;
}

function assertNextVariance(nextVariance: number): void {
  if (!(Number.isFinite(nextVariance) && nextVariance >= 0)) {
    throw new RangeError(`GARCH next-day variance is ${nextVariance}; it must be finite and non-negative`);
  }
}
