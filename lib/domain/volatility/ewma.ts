import { finiteReturns } from './returns.ts';

/**
 * Where the EWMA recursion starts (σ²_0, the variance assumed for the first return):
 * - `'first-squared'`: r_0², QuantLib's convention;
 * - `'mean-squared'`: the mean of the first `seedWindow` squared returns (Tsay's `EWMAvol` uses all of them);
 * - `{ variance }`: a given variance, for example yesterday's σ² when updating one day at a time.
 */
export type EwmaSeed = 'first-squared' | 'mean-squared' | { readonly variance: number };

/** RiskMetrics EWMA settings. */
export interface EwmaOptions {
  /** Decay λ in (0, 1): 0.94 for daily data (RiskMetrics), 0.97 for a slower, steadier σ. */
  readonly lambda: number;
  /** @default 'mean-squared' - the mean of the first `seedWindow` squared returns */
  readonly seed?: EwmaSeed;
  /**
   * How many leading returns the `'mean-squared'` seed averages.
   * @default 30 - about a month of daily returns, or all of them when there are fewer. Long enough for a
   * steady level; short enough that the seed does not borrow from returns far after the first dates (its
   * weight has fallen to 1% after 75 days at λ = 0.94 anyway).
   */
  readonly seedWindow?: number;
}

/** Default number of leading returns averaged by the `'mean-squared'` seed. */
export const DEFAULT_EWMA_SEED_WINDOW = 30;

/**
 * RiskMetrics EWMA variances (zero-mean returns): σ²_{t+1} = λ σ²_t + (1 − λ) r_t².
 * Returns n + 1 values: [σ²_0 (the seed), σ²_1, …, σ²_n]. σ²_t is the variance the model held for return
 * r_t before seeing it (what filtered historical simulation divides r_t by); the last element, σ²_n, is the
 * forecast for the next day.
 *
 * @throws RangeError on λ outside (0, 1), a non-finite return, an unusable seed, or no returns to seed from.
 * @example
 * ewmaVariances([0.02], { lambda: 0.9, seed: { variance: 0.0001 } }); // Float64Array [0.0001, 0.00013]
 */
export function ewmaVariances(returns: readonly number[], options: EwmaOptions): Float64Array {
  const lambda = options.lambda;
  if (!(lambda > 0 && lambda < 1)) {
    throw new RangeError(`EWMA lambda is ${lambda}; it must lie strictly between 0 and 1`);
  }
  const checked = finiteReturns(returns, 'EWMA');
  const n = checked.length;
  const variances = new Float64Array(n + 1);
  let variance = ewmaSeedVariance(checked, options);
  variances[0] = variance;
  const weight = 1 - lambda;
  for (let t = 0; t < n; t++) {
    const r = checked[t] as number;
    variance = lambda * variance + weight * r * r;
    variances[t + 1] = variance;
  }
  return variances;
}

/**
 * The next-day EWMA volatility σ_{n+1} (same units as the returns): √ of the last element of
 * {@link ewmaVariances}.
 *
 * @example
 * ewmaVolatility([0.02], { lambda: 0.9, seed: { variance: 0.0001 } }); // 0.0114018 (1.1402%/day)
 */
export function ewmaVolatility(returns: readonly number[], options: EwmaOptions): number {
  const variances = ewmaVariances(returns, options);
  return Math.sqrt(variances[variances.length - 1] as number);
}

function ewmaSeedVariance(returns: Float64Array, options: EwmaOptions): number {
  const seed = options.seed ?? 'mean-squared';
  if (typeof seed === 'object') {
    if (!(Number.isFinite(seed.variance) && seed.variance >= 0)) {
      throw new RangeError(`EWMA seed variance is ${seed.variance}; it must be finite and non-negative`);
    }
    return seed.variance;
  }
  if (returns.length === 0) {
    throw new RangeError(`EWMA seed '${seed}' needs at least one return; pass { variance } to start without`);
  }
  if (seed === 'first-squared') {
    const first = returns[0] as number;
    return first * first;
  }
  const window = options.seedWindow ?? DEFAULT_EWMA_SEED_WINDOW;
  if (!(Number.isInteger(window) && window >= 1)) {
    throw new RangeError(`EWMA seedWindow is ${window}; it must be a whole number of returns, at least 1`);
  }
  const count = Math.min(window, returns.length);
  let sum = 0;
  for (let t = 0; t < count; t++) {
    const r = returns[t] as number;
    sum += r * r;
  }
  return sum / count;
}
