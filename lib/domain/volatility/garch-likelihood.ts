/**
 * GARCH(1,1) filtering and likelihood: the conditional variances of a window of returns under given
 * parameters, seeded as fGarch seeds them, and their negative Gaussian log-likelihood. The model, its
 * indexing and the fit are described in `garch.ts`.
 */
import type { GarchParameters } from './garch.ts';
import { finiteReturns } from './returns.ts';

const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Conditional variances of a GARCH(1,1) over the returns: n + 1 values, [σ²_1, …, σ²_n, σ²_{n+1}], where
 * σ²_t is the variance of return r_t (array index t − 1) and the last element is the next-day forecast.
 *
 * The default seed σ²_1 = ω + (α + β)·mean(r²) is fGarch's (`init.rec = 'mci'`): as if the "day 0" return
 * and variance were both at the window's mean square. QuantLib's `Garch11::calculate` instead starts from
 * σ²_0 = r_1² and reports the variance after each return: pass `seedVariance = r_1²` and its outputs are
 * elements 1 … n here (its output i is the variance after return i, i.e. of return i + 1).
 *
 * @param seedVariance σ²_1, the variance of the first return; fGarch's when omitted.
 * @throws RangeError on non-finite returns, negative or non-finite parameters, or a negative seed.
 * @example
 * // Hull: ω = 0.000002, α = 0.13, β = 0.86; σ_{n−1} = 1.6%, u_{n−1} = 1%  →  σ²_n = 0.00023516
 * garchVariances([0.01], { omega: 0.000002, alpha: 0.13, beta: 0.86 }, 0.016 ** 2)[1]; // 0.00023516
 */
export function garchVariances(
  returns: readonly number[],
  p: GarchParameters,
  seedVariance?: number,
): Float64Array {
  assertFilterParameters(p);
  const checked = finiteReturns(returns, 'GARCH');
  const n = checked.length;
  const seed = seedVariance ?? fgarchSeedVariance(checked, p);
  if (!(Number.isFinite(seed) && seed >= 0)) {
    throw new RangeError(`GARCH seed variance is ${seed}; it must be finite and non-negative`);
  }
  const variances = new Float64Array(n + 1);
  let variance = seed;
  variances[0] = variance;
  for (let t = 0; t < n; t++) {
    const r = checked[t] as number;
    variance = p.omega + p.alpha * r * r + p.beta * variance;
    variances[t + 1] = variance;
  }
  return variances;
}

/**
 * Negative Gaussian log-likelihood of the returns under the parameters, seeded as fGarch seeds it:
 * Σ_t [½ ln(2π) + ½ ln σ²_t + ½ r²_t / σ²_t]. Comparable with fGarch's reported value on the same returns.
 *
 * @throws RangeError as {@link garchVariances}, and when a variance is zero where the likelihood needs it.
 * @example
 * garchNegLogLik(percentReturns, { omega: 1.44, alpha: 0.0969, beta: 0.812 }); // ≈ 3978.03 on BTC 2019–2022
 */
export function garchNegLogLik(returns: readonly number[], p: GarchParameters): number {
  const variances = garchVariances(returns, p);
  const n = variances.length - 1;
  let sum = 0;
  for (let t = 0; t < n; t++) {
    const variance = variances[t] as number;
    const r = returns[t] as number;
    sum += Math.log(variance) + (r * r) / variance;
  }
  if (!Number.isFinite(sum)) {
    throw new RangeError('GARCH likelihood is not finite: a conditional variance reached zero');
  }
  return n * HALF_LN_2PI + 0.5 * sum;
}

// ---------------------------------------------------------------------------------------------------------
// Validation

export function assertFilterParameters(p: GarchParameters): void {
  // ω = 0 with α + β = 1 is EWMA, which is worth being able to filter and forecast; the fit keeps ω > 0.
  if (!(Number.isFinite(p.omega) && p.omega >= 0)) {
    throw new RangeError(`GARCH omega is ${p.omega}; it must be finite and non-negative`);
  }
  if (!(Number.isFinite(p.alpha) && p.alpha >= 0)) {
    throw new RangeError(`GARCH alpha is ${p.alpha}; it must be finite and non-negative`);
  }
  if (!(Number.isFinite(p.beta) && p.beta >= 0)) {
    throw new RangeError(`GARCH beta is ${p.beta}; it must be finite and non-negative`);
  }
}

/** fGarch's `init.rec = 'mci'` start: σ²_1 = ω + (α + β)·mean(r²). */
function fgarchSeedVariance(returns: Float64Array, p: GarchParameters): number {
  const n = returns.length;
  if (n === 0) return p.omega;
  let sum = 0;
  for (let t = 0; t < n; t++) {
    const r = returns[t] as number;
    sum += r * r;
  }
  return p.omega + (p.alpha + p.beta) * (sum / n);
}
