import { finiteReturns } from './returns.ts';

/**
 * GARCH(1,1) with zero mean and normal innovations, as R fGarch fits it
 * (`garchFit(~garch(1,1), include.mean = FALSE, cond.dist = 'norm')`):
 *
 *   r_t = σ_t ε_t,  ε_t ~ N(0, 1),  σ²_t = ω + α r²_{t−1} + β σ²_{t−1}.
 *
 * Indexing used throughout this module: the window holds returns r_1 … r_n (array indices 0 … n−1);
 * σ²_t is the variance of r_t, known at the close before it; σ²_{n+1} is the next-day forecast.
 */
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

// ---------------------------------------------------------------------------------------------------------
// Validation

function assertFilterParameters(p: GarchParameters): void {
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

function assertNextVariance(nextVariance: number): void {
  if (!(Number.isFinite(nextVariance) && nextVariance >= 0)) {
    throw new RangeError(`GARCH next-day variance is ${nextVariance}; it must be finite and non-negative`);
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

// ---------------------------------------------------------------------------------------------------------
// Maximum likelihood on the rescaled returns

const DEFAULT_MAX_ITERATIONS = 200;
/** Stop when every gradient component (in the unconstrained coordinates) is below this. */
const GRADIENT_TOLERANCE = 1e-7;
/** A start that stalls in its line search still counts as converged when its gradient is this small. */
const STALLED_GRADIENT_TOLERANCE = 1e-4;
/** Longest step in the unconstrained coordinates: the logits saturate beyond a few units. */
const MAX_STEP_LENGTH = 3;
const ARMIJO_SLOPE_FRACTION = 1e-4;
/** A step that lowers the objective by less than this fraction of it counts as a stall. */
const STALL_RELATIVE_DECREASE = 1e-14;
const MAX_STALLS = 3;
/** Bounds on ln ω (scaled) and logit(α + β); see keepInsideConstraints. */
const MIN_LOG_OMEGA = -50;
const MAX_PERSISTENCE_LOGIT = 30;
const MAX_LINE_SEARCH_TRIALS = 60;
const GRID_STARTS_TRIED = 2;
/** (α, β) starting points; ω is set so the long-run variance equals the sample mean square. */
const GRID_ALPHA_BETA: readonly (readonly [number, number])[] = [
  [0.1, 0.8], // fGarch's own start
  [0.05, 0.9],
  [0.05, 0.94],
  [0.1, 0.88],
  [0.15, 0.8],
  [0.2, 0.7],
  [0.25, 0.5],
  [0.1, 0.6],
  [0.03, 0.96],
];

interface ScaledProblem {
  /** Squared returns divided by their mean (so they average 1). */
  readonly squares: Float64Array;
  readonly meanSquare: number;
}

interface BfgsResult {
  /** (ln ω, logit(α + β), logit(α / (α + β))) at the end. */
  readonly coordinates: Float64Array;
  readonly value: number;
  readonly converged: boolean;
  readonly iterations: number;
}

function isBetterRun(candidate: BfgsResult, incumbent: BfgsResult): boolean {
  if (candidate.converged !== incumbent.converged) return candidate.converged;
  return candidate.value < incumbent.value;
}

function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** Unconstrained coordinates of a parameter point, nudged inside the constraints so the logits are finite. */
function toCoordinates(omega: number, alpha: number, beta: number): Float64Array {
  const a = Math.max(alpha, 1e-4);
  const b = Math.max(beta, 1e-4);
  const persistence = Math.min(a + b, 0.999);
  const coordinates = Float64Array.of(
    Math.log(Math.max(omega, 1e-8)),
    logit(persistence),
    logit(a / (a + b)),
  );
  keepInsideConstraints(coordinates);
  return coordinates;
}

/**
 * On near-integrated data (EWMA-like) the likelihood keeps rising as α + β → 1 and ω → 0, and the logistic
 * would round α + β to exactly 1 (ω to 0) in double precision. Capping the coordinates keeps the strict
 * constraints: α + β ≤ 1 − 9e−14 and ω ≥ 2e−22 × the mean square.
 */
function keepInsideConstraints(coordinates: Float64Array): void {
  coordinates[0] = Math.max(coordinates[0] as number, MIN_LOG_OMEGA);
  coordinates[1] = Math.min(coordinates[1] as number, MAX_PERSISTENCE_LOGIT);
}

/**
 * Half the negative log-likelihood without the ln(2π) constant, ½Σ[ln σ²_t + r²_t/σ²_t], and its gradient
 * with respect to the unconstrained coordinates, in one pass: ∂σ²_t/∂θ follows its own recursion
 * (∂σ²_t/∂ω = 1 + β ∂σ²_{t−1}/∂ω, ∂σ²_t/∂α = r²_{t−1} + β ∂σ²_{t−1}/∂α, ∂σ²_t/∂β = σ²_{t−1} + β ∂σ²_{t−1}/∂β),
 * seeded from σ²_1 = ω + (α + β)·mean(r²). Returns +∞ when the point is numerically unusable.
 */
function scaledObjective(problem: ScaledProblem, coordinates: Float64Array, gradient: Float64Array): number {
  const u0 = coordinates[0] as number;
  const u1 = coordinates[1] as number;
  const u2 = coordinates[2] as number;
  const omega = Math.exp(u0);
  const persistence = logistic(u1);
  const persistenceComplement = logistic(-u1);
  const share = logistic(u2);
  const shareComplement = logistic(-u2);
  const alpha = persistence * share;
  const beta = persistence * shareComplement;

  const squares = problem.squares;
  const meanSquare = problem.meanSquare;
  const n = squares.length;
  let variance = omega + (alpha + beta) * meanSquare;
  let dOmega = 1;
  let dAlpha = meanSquare;
  let dBeta = meanSquare;
  let sum = 0;
  let gOmega = 0;
  let gAlpha = 0;
  let gBeta = 0;
  for (let t = 0; t < n; t++) {
    const square = squares[t] as number;
    const inverse = 1 / variance;
    sum += Math.log(variance) + square * inverse;
    const weight = inverse - square * inverse * inverse;
    gOmega += weight * dOmega;
    gAlpha += weight * dAlpha;
    gBeta += weight * dBeta;
    dOmega = 1 + beta * dOmega;
    dAlpha = square + beta * dAlpha;
    dBeta = variance + beta * dBeta;
    variance = omega + alpha * square + beta * variance;
  }
  if (!Number.isFinite(sum)) return Number.POSITIVE_INFINITY;
  gradient[0] = 0.5 * gOmega * omega;
  gradient[1] = 0.5 * (gAlpha * share + gBeta * shareComplement) * persistence * persistenceComplement;
  gradient[2] = 0.5 * (gAlpha - gBeta) * persistence * share * shareComplement;
  return 0.5 * sum;
}

function bestGridStarts(problem: ScaledProblem, count: number): Float64Array[] {
  const scratch = new Float64Array(3);
  const scored: { start: Float64Array; value: number }[] = [];
  for (const [alpha, beta] of GRID_ALPHA_BETA) {
    const start = toCoordinates(problem.meanSquare * (1 - alpha - beta), alpha, beta);
    scored.push({ start, value: scaledObjective(problem, start, scratch) });
  }
  scored.sort((a, b) => a.value - b.value);
  return scored.slice(0, count).map((entry) => entry.start);
}

/** BFGS on the inverse Hessian with a backtracking (Armijo) line search; 3 × 3, so all in flat arrays. */
function minimiseBfgs(problem: ScaledProblem, start: Float64Array, maxIterations: number): BfgsResult {
  const x = Float64Array.from(start);
  const g = new Float64Array(3);
  const trial = new Float64Array(3);
  const trialGradient = new Float64Array(3);
  const direction = new Float64Array(3);
  const s = new Float64Array(3);
  const y = new Float64Array(3);
  const hy = new Float64Array(3);
  const inverseHessian = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  let value = scaledObjective(problem, x, g);
  let converged = false;
  let iterations = 0;
  let scaled = false;
  let stalls = 0;

  while (iterations < maxIterations) {
    if (maxAbs(g) <= GRADIENT_TOLERANCE) {
      converged = true;
      break;
    }
    iterations++;
    let slope = 0;
    for (let i = 0; i < 3; i++) {
      let d = 0;
      for (let j = 0; j < 3; j++) d -= (inverseHessian[3 * i + j] as number) * (g[j] as number);
      direction[i] = d;
      slope += d * (g[i] as number);
    }
    if (!(slope < 0)) {
      // Lost positive definiteness (rounding): restart from steepest descent.
      inverseHessian.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      slope = 0;
      for (let i = 0; i < 3; i++) {
        const gi = g[i] as number;
        direction[i] = -gi;
        slope -= gi * gi;
      }
    }
    const length = Math.hypot(direction[0] as number, direction[1] as number, direction[2] as number);
    let step = length > MAX_STEP_LENGTH ? MAX_STEP_LENGTH / length : 1;

    let accepted = false;
    let trialValue = Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < MAX_LINE_SEARCH_TRIALS; attempt++) {
      for (let i = 0; i < 3; i++) trial[i] = (x[i] as number) + step * (direction[i] as number);
      keepInsideConstraints(trial);
      trialValue = scaledObjective(problem, trial, trialGradient);
      if (trialValue <= value + ARMIJO_SLOPE_FRACTION * step * slope) {
        accepted = true;
        break;
      }
      // Minimum of the quadratic through f(0), f'(0) and f(step), kept within [0.1, 0.5]·step.
      let next = 0.1 * step;
      if (Number.isFinite(trialValue)) {
        const curvature = trialValue - value - slope * step;
        if (curvature > 0) next = (-slope * step * step) / (2 * curvature);
      }
      step = Math.min(Math.max(next, 0.1 * step), 0.5 * step);
    }
    if (!accepted) {
      // No decrease is left to find at double precision: accept if the gradient is already tiny.
      converged = maxAbs(g) <= STALLED_GRADIENT_TOLERANCE;
      break;
    }

    let sy = 0;
    let yy = 0;
    for (let i = 0; i < 3; i++) {
      const si = (trial[i] as number) - (x[i] as number);
      const yi = (trialGradient[i] as number) - (g[i] as number);
      s[i] = si;
      y[i] = yi;
      sy += si * yi;
      yy += yi * yi;
    }
    if (sy > 1e-12 * Math.sqrt(yy) * Math.hypot(s[0] as number, s[1] as number, s[2] as number)) {
      if (!scaled) {
        // Shanno–Phua: size the first inverse Hessian to the curvature just seen.
        const factor = sy / yy;
        for (let i = 0; i < 9; i++) inverseHessian[i] = (inverseHessian[i] as number) * factor;
        scaled = true;
      }
      updateInverseHessian(inverseHessian, s, y, hy, sy);
    }
    // Steps that no longer lower the likelihood beyond rounding mean a stale curvature model: restart it
    // once from the identity, then stop rather than spin through the remaining iterations.
    const stalled = value - trialValue <= STALL_RELATIVE_DECREASE * Math.max(1, Math.abs(value));
    x.set(trial);
    g.set(trialGradient);
    value = trialValue;
    if (stalled) {
      stalls++;
      if (stalls >= MAX_STALLS) {
        converged = maxAbs(g) <= STALLED_GRADIENT_TOLERANCE;
        break;
      }
      inverseHessian.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      scaled = false;
    } else {
      stalls = 0;
    }
  }
  if (!converged && maxAbs(g) <= GRADIENT_TOLERANCE) converged = true;
  return { coordinates: x, value, converged, iterations };
}

/** H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ with ρ = 1/(sᵀy), expanded to avoid temporaries. */
function updateInverseHessian(
  h: Float64Array,
  s: Float64Array,
  y: Float64Array,
  hy: Float64Array,
  sy: number,
): void {
  const rho = 1 / sy;
  let yhy = 0;
  for (let i = 0; i < 3; i++) {
    let sum = 0;
    for (let j = 0; j < 3; j++) sum += (h[3 * i + j] as number) * (y[j] as number);
    hy[i] = sum;
    yhy += sum * (y[i] as number);
  }
  const ssFactor = rho * rho * yhy + rho;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const si = s[i] as number;
      const sj = s[j] as number;
      h[3 * i + j] =
        (h[3 * i + j] as number) -
        rho * ((hy[i] as number) * sj + si * (hy[j] as number)) +
        ssFactor * si * sj;
    }
  }
}

function maxAbs(values: Float64Array): number {
  let largest = 0;
  for (let i = 0; i < values.length; i++) largest = Math.max(largest, Math.abs(values[i] as number));
  return largest;
}
