/**
 * GARCH(1,1) with zero mean and normal innovations, as R fGarch fits it
 * (`garchFit(~garch(1,1), include.mean = FALSE, cond.dist = 'norm')`):
 *
 *   r_t = σ_t ε_t,  ε_t ~ N(0, 1),  σ²_t = ω + α r²_{t−1} + β σ²_{t−1}.
 *
 * Indexing used throughout the GARCH modules: the window holds returns r_1 … r_n (array indices 0 … n−1);
 * σ²_t is the variance of r_t, known at the close before it; σ²_{n+1} is the next-day forecast.
 *
 * This file holds the types and the fit; the filter and likelihood are in `garch-likelihood.ts`, the
 * optimiser in `garch-optimiser.ts`, the forecasts in `garch-forecast.ts` (all re-exported from here).
 */
import { assertFilterParameters, garchNegLogLik, garchVariances } from './garch-likelihood.ts';
import {
  type BfgsResult,
  bestGridStarts,
  DEFAULT_MAX_ITERATIONS,
  GRID_STARTS_TRIED,
  isBetterRun,
  logistic,
  minimiseBfgs,
  type ScaledProblem,
  toCoordinates,
} from './garch-optimiser.ts';
import { finiteReturns } from './returns.ts';

// The filter, the likelihood and the forecasts are part of this module's public face.
export { garchForecastVariance, garchTermVariance } from './garch-forecast.ts';
export { garchNegLogLik, garchVariances } from './garch-likelihood.ts';

/** The parameters of σ²_t = ω + α r²_{t−1} + β σ²_{t−1}. */
export interface GarchParameters {
  /** Constant ω (> 0), in squared return units: it scales with the square of the returns' unit. */
  readonly omega: number;
  /** Weight α (≥ 0) on yesterday's squared return (the reaction to news). */
  readonly alpha: number;
  /** Weight β (≥ 0) on yesterday's variance (the memory). */
  readonly beta: number;
}

/** A maximum-likelihood GARCH(1,1) fit, in the units of the returns it was given. */
export interface GarchFit extends GarchParameters {
  /** Number of returns fitted. */
  readonly n: number;
  /** Minimised negative log-likelihood, with the 0.5·ln(2π) constant per return (fGarch's definition). */
  readonly negLogLik: number;
  /** α + β: how slowly a shock to variance dies away (< 1). */
  readonly persistence: number;
  /** V_L = ω / (1 − α − β), the variance forecasts revert to. */
  readonly longRunVariance: number;
  /** σ_{n+1}, the one-day-ahead conditional volatility after the last return. */
  readonly sigmaNext: number;
  /** Whether the optimiser met its gradient tolerance (not merely ran out of iterations). */
  readonly converged: boolean;
  /** Quasi-Newton iterations taken by the start that won. */
  readonly iterations: number;
}

/** Fewer returns than this leave the three GARCH parameters too loosely pinned down to use. */
export const GARCH_MIN_RETURNS = 30;

/**
 * Fits GARCH(1,1) by maximum likelihood (zero mean, normal, fGarch's seed), subject to ω > 0, α ≥ 0, β ≥ 0,
 * α + β < 1. Works in any return unit (fractions or percent): it fits on returns divided by their root mean
 * square, which keeps the optimisation equally well conditioned, and maps back (ω × scale², the likelihood
 * + n·ln(scale)).
 *
 * The optimiser is BFGS with an analytic gradient computed in the same pass as the variance recursion, on
 * unconstrained coordinates (ln ω, logit(α + β), logit(α / (α + β))) so every trial point satisfies the
 * constraints. It starts from the two best points of a small grid of (α, β) with V_L at the sample variance
 * (or from `initial` alone when given, with the grid as fallback if that run fails to converge).
 *
 * @param options.initial warm start, for example yesterday's fit; any unit-consistent parameters.
 * @param options.maxIterations BFGS iterations per start (default 200).
 * @throws RangeError with fewer than {@link GARCH_MIN_RETURNS} returns, non-finite returns, or all zero.
 * @example
 * const fit = fitGarch11(percentReturns); // BTC 2019–2022: ω ≈ 1.44, α ≈ 0.097, β ≈ 0.812
 * fit.sigmaNext; // ≈ 2.84 (% per day)
 */
export function fitGarch11(
  returns: readonly number[],
  options?: { readonly initial?: GarchParameters; readonly maxIterations?: number },
): GarchFit {
  const checked = finiteReturns(returns, 'GARCH fit');
  const n = checked.length;
  if (n < GARCH_MIN_RETURNS) {
    throw new RangeError(`GARCH fit needs at least ${GARCH_MIN_RETURNS} returns; got ${n}`);
  }
  const maxIterations = options?.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  if (!(Number.isInteger(maxIterations) && maxIterations >= 1)) {
    throw new RangeError(`GARCH fit maxIterations is ${maxIterations}; it must be a whole number ≥ 1`);
  }

  // Rescale to unit mean square: ω then sits near 0.01–0.5 whatever the unit, and one tolerance fits all.
  let sumSquares = 0;
  for (let t = 0; t < n; t++) {
    const r = checked[t] as number;
    sumSquares += r * r;
  }
  if (!(sumSquares > 0)) {
    throw new RangeError('GARCH fit needs at least one non-zero return; every return is zero');
  }
  const scaleSquared = sumSquares / n;
  const scaledSquares = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    const r = checked[t] as number;
    scaledSquares[t] = (r * r) / scaleSquared;
  }
  let meanScaledSquare = 0;
  for (let t = 0; t < n; t++) meanScaledSquare += scaledSquares[t] as number;
  meanScaledSquare /= n;

  const problem: ScaledProblem = { squares: scaledSquares, meanSquare: meanScaledSquare };
  let best: BfgsResult | undefined;
  if (options?.initial !== undefined) {
    assertFilterParameters(options.initial);
    const start = toCoordinates(
      options.initial.omega / scaleSquared,
      options.initial.alpha,
      options.initial.beta,
    );
    best = minimiseBfgs(problem, start, maxIterations);
  }
  if (best === undefined || !best.converged) {
    for (const start of bestGridStarts(problem, GRID_STARTS_TRIED)) {
      const run = minimiseBfgs(problem, start, maxIterations);
      if (best === undefined || isBetterRun(run, best)) best = run;
    }
  }
  // The loop above always runs at least once when best is undefined.
  const winner = best as BfgsResult;

  const omega = Math.exp(winner.coordinates[0] as number) * scaleSquared;
  const persistence = logistic(winner.coordinates[1] as number);
  const share = logistic(winner.coordinates[2] as number);
  const fitted: GarchParameters = { omega, alpha: persistence * share, beta: persistence * (1 - share) };
  // Recompute in the caller's units so negLogLik and sigmaNext agree exactly with garchNegLogLik/Variances.
  const variances = garchVariances(returns, fitted);
  return {
    ...fitted,
    n,
    negLogLik: garchNegLogLik(returns, fitted),
    persistence: fitted.alpha + fitted.beta,
    longRunVariance: omega / (1 - fitted.alpha - fitted.beta),
    sigmaNext: Math.sqrt(variances[n] as number),
    converged: winner.converged,
    iterations: winner.iterations,
  };
}
