/**
 * The optimiser behind `fitGarch11`: BFGS with an analytic gradient on the returns rescaled to unit mean
 * square, in unconstrained coordinates (ln ω, logit(α + β), logit(α / (α + β))), started from a small grid.
 * Internal to the volatility models: `garch.ts` is the public face.
 */

export const DEFAULT_MAX_ITERATIONS = 200;
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
export const GRID_STARTS_TRIED = 2;
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

export interface ScaledProblem {
  /** Squared returns divided by their mean (so they average 1). */
  readonly squares: Float64Array;
  readonly meanSquare: number;
}

export interface BfgsResult {
  /** (ln ω, logit(α + β), logit(α / (α + β))) at the end. */
  readonly coordinates: Float64Array;
  readonly value: number;
  readonly converged: boolean;
  readonly iterations: number;
}

export function isBetterRun(candidate: BfgsResult, incumbent: BfgsResult): boolean {
  if (candidate.converged !== incumbent.converged) return candidate.converged;
  return candidate.value < incumbent.value;
}

export function logistic(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** Unconstrained coordinates of a parameter point, nudged inside the constraints so the logits are finite. */
export function toCoordinates(omega: number, alpha: number, beta: number): Float64Array {
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

export function bestGridStarts(problem: ScaledProblem, count: number): Float64Array[] {
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
export function minimiseBfgs(problem: ScaledProblem, start: Float64Array, maxIterations: number): BfgsResult {
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
