import { normalCdf, normalPdf, normalQuantile } from './normal.ts';
import { logBeta, regularizedBetaPair } from './special.ts';
import { requireFiniteValues, requirePositive, requireProbability } from './validate.ts';

/**
 * Student's t distribution with ν degrees of freedom (ν > 0, real), and the unit-variance ("standardized")
 * t used for σ-scaled VaR and ES. ν = +∞ is accepted and means the standard normal.
 *
 * Above ν = 1e7 the t is replaced by the normal (|F_t − Φ| < 1e-8 there) because the beta continued
 * fraction needs O(√ν) iterations.
 */

const NORMAL_LIMIT_NU = 1e7;
// Beyond this |t|, t² would overflow; the tail is then its leading power term to full precision.
const HUGE_T = 1e150;
// Search range of the ν fit: just above the variance pole at 2, up to "indistinguishable from normal".
const NU_MIN_FIT = 2.1;
const NU_MAX_FIT = 200;

/** ln of the t density's normalising constant, 1/(√ν·B(ν/2, ½)), without the large-ν cancellation of ln Γ differences. */
function logDensityNorm(nu: number): number {
  return -logBeta(nu / 2, 0.5) - 0.5 * Math.log(nu);
}

/** ln(1 + x²/ν), also for |x| so large that x² overflows. */
function log1pSquareOverNu(x: number, nu: number): number {
  const ax = Math.abs(x);
  return ax > HUGE_T ? 2 * Math.log(ax) - Math.log(nu) : Math.log1p((x * x) / nu);
}

function requireNu(nu: number): void {
  requirePositive('nu', nu, true);
}

/**
 * For t ≥ 0: central = P(0 < T ≤ t) and tail = P(T > t), which sum to ½. Whichever is smaller is computed
 * directly and keeps its relative precision: the tail far out (VaR levels), the central mass near the
 * median (so quantiles just off p = ½ stay accurate relative to their tiny size).
 */
function halves(t: number, nu: number): { central: number; tail: number } {
  if (nu > NORMAL_LIMIT_NU) {
    const tail = normalCdf(-t);
    return { central: 0.5 - tail, tail };
  }
  if (t > HUGE_T) {
    // I_y(ν/2, ½) = y^(ν/2) / ((ν/2)·B(ν/2, ½)) · (1 + O(y)) with y = ν/(ν+t²) < 1e-290.
    const tail =
      0.5 * Math.exp((nu / 2) * (Math.log(nu) - 2 * Math.log(t)) - Math.log(nu / 2) - logBeta(nu / 2, 0.5));
    return { central: 0.5 - tail, tail };
  }
  const t2 = t * t;
  // Split as Boost does: for t² < ν use I_{t²/(ν+t²)}(½, ν/2), otherwise I_{ν/(ν+t²)}(ν/2, ½); both
  // arguments and their complements are formed without subtraction.
  if (t2 < nu) {
    const { lower, upper } = regularizedBetaPair(t2 / (nu + t2), nu / (nu + t2), 0.5, nu / 2);
    return { central: 0.5 * lower, tail: 0.5 * upper };
  }
  const { lower, upper } = regularizedBetaPair(nu / (nu + t2), t2 / (nu + t2), nu / 2, 0.5);
  return { central: 0.5 * upper, tail: 0.5 * lower };
}

/**
 * Density of Student's t with ν degrees of freedom.
 *
 * @example
 * studentTPdf(0, 1); // 0.31830988618379… (= 1/π, Cauchy)
 */
export function studentTPdf(x: number, nu: number): number {
  requireNu(nu);
  if (Number.isNaN(x)) return Number.NaN;
  if (!Number.isFinite(x)) return 0;
  if (nu === Number.POSITIVE_INFINITY) return normalPdf(x);
  // log1p keeps precision for |x| ≪ √ν, where x²/ν is tiny.
  return Math.exp(logDensityNorm(nu) - ((nu + 1) / 2) * log1pSquareOverNu(x, nu));
}

/**
 * Distribution function P(T ≤ x) of Student's t with ν degrees of freedom; about 1e-15 absolute and
 * close to that relative in the lower tail.
 *
 * @example
 * studentTCdf(-2.0150483733330233, 5); // ≈ 0.05
 */
export function studentTCdf(x: number, nu: number): number {
  requireNu(nu);
  if (Number.isNaN(x)) return Number.NaN;
  if (x === 0) return 0.5;
  const { central, tail } = halves(Math.abs(x), nu);
  return x < 0 ? tail : 0.5 + central;
}

/**
 * Hill's (1970, ACM Algorithm 396) approximation to the upper-tail quantile: the q > 0 with
 * P(|T| > q) = twoSided. Good to a few digits for ν ≥ 1; only a starting point for the refinement.
 */
function hillStart(twoSided: number, nu: number): number {
  const a = 1 / (nu - 0.5);
  const b = 48 / (a * a);
  let c = (((20700 * a) / b - 98) * a - 16) * a + 96.36;
  const d = ((94.5 / (b + c) - 3) / b + 1) * Math.sqrt((a * Math.PI) / 2) * nu;
  let y = (d * twoSided) ** (2 / nu);
  if (y > 0.05 + a) {
    // Moderate tail: expansion about the normal quantile.
    const x = normalQuantile(0.5 * twoSided);
    y = x * x;
    if (nu < 5) c += 0.3 * (nu - 4.5) * (x + 0.6);
    c = (((0.05 * d * x - 5) * x - 7) * x - 2) * x + b + c;
    y = (((((0.4 * y + 6.3) * y + 36) * y + 94.5) / c - y - 3) / b + 1) * x;
    y = Math.expm1(a * y * y);
  } else {
    // Far tail: series in y = (d·P)^(2/ν).
    y =
      ((1 / (((nu + 6) / (nu * y) - 0.089 * d - 0.822) * (nu + 2) * 3) + 0.5 / (nu + 4)) * y - 1) *
        ((nu + 1) / (nu + 2)) +
      1 / y;
  }
  return Math.sqrt(nu * y);
}

/**
 * Quantile of Student's t: the x with P(T ≤ x) = p. Closed forms for ν = 1 and ν = 2; otherwise Hill's
 * approximation refined by Halley steps on the upper tail, safeguarded by a bracket (bisection whenever
 * a step leaves it), so it converges for every ν > 0. Relative accuracy about 1e-14.
 *
 * @example
 * studentTQuantile(0.99, 4); // 3.74694738797919…
 */
export function studentTQuantile(p: number, nu: number): number {
  requireProbability('p', p);
  requireNu(nu);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  if (nu > NORMAL_LIMIT_NU) return normalQuantile(p);
  // Work on the upper tail α = min(p, 1−p) ≤ ½ (1 − p is exact for p ≥ ½) and restore the sign at the end.
  const alpha = p < 0.5 ? p : 1 - p;
  const sign = p < 0.5 ? -1 : 1;
  if (nu === 1) {
    // Cauchy: cot(πα); near the median use tan(π(½ − α)) so the small answer keeps its relative precision.
    return sign * (alpha < 0.25 ? 1 / Math.tan(Math.PI * alpha) : Math.tan(Math.PI * (0.5 - alpha)));
  }
  if (nu === 2) {
    const twoSided = 2 * alpha;
    return sign * (1 - twoSided) * Math.sqrt(2 / (twoSided * (2 - twoSided)));
  }
  let q = nu >= 1 ? hillStart(2 * alpha, nu) : 1;
  if (!(Number.isFinite(q) && q > 0)) q = 1;
  // Root of r(q) = P(T > q) − α, evaluated as c − P(0 < T ≤ q) with c = ½ − α (exact, Sterbenz) when α is
  // near ½, so the residual keeps relative precision on both sides.
  const nearMedian = alpha > 0.25;
  const centralTarget = 0.5 - alpha;
  // Bracket [lo, hi] with r(lo) > 0 > r(hi); hi = ∞ until a point beyond the root is seen.
  let lo = 0;
  let hi = Number.POSITIVE_INFINITY;
  for (let iteration = 0; iteration < 500; iteration++) {
    const { central, tail } = halves(q, nu);
    const residual = nearMedian ? centralTarget - central : tail - alpha;
    if (residual === 0) return sign * q;
    if (residual > 0) lo = q;
    else hi = q;
    const density = studentTPdf(q, nu);
    // Newton step on r (derivative −density), then Halley's second-order correction:
    // d log f / dq = −(ν+1) q / (ν + q²).
    const newton = residual / density;
    const step = newton * (1 + (newton * q * (nu + 1)) / (2 * (q * q + nu)));
    let next = q + step;
    if (!(Number.isFinite(next) && next > lo && next < hi)) {
      // Bisect, geometrically while the bracket spans orders of magnitude (heavy tails, ν < 1).
      if (!Number.isFinite(hi)) next = 2 * Math.max(q, 1);
      else if (lo > 0 && hi > 4 * lo) next = Math.sqrt(lo * hi);
      else next = 0.5 * (lo + hi);
    }
    const bracketClosed = Number.isFinite(hi) && hi - lo <= 4e-16 * hi;
    if (Math.abs(next - q) <= 4e-15 * next || bracketClosed) return sign * next;
    q = next;
  }
  return sign * q;
}

function requireVarianceNu(nu: number): void {
  if (!(nu > 2)) throw new RangeError(`nu must exceed 2 for a unit-variance t, got ${nu}`);
}

/**
 * Quantile of the UNIT-VARIANCE t: t_ν(p) · √((ν−2)/ν), which is what a σ-based VaR multiplies σ by.
 * Requires ν > 2; ν = ∞ gives the normal quantile.
 *
 * @example
 * standardizedTQuantile(0.99, 5); // 2.60646356938428… (vs 2.3263 for the normal)
 */
export function standardizedTQuantile(p: number, nu: number): number {
  requireVarianceNu(nu);
  if (nu === Number.POSITIVE_INFINITY) return normalQuantile(p);
  return studentTQuantile(p, nu) * Math.sqrt((nu - 2) / nu);
}

/**
 * Expected shortfall at confidence level p (e.g. 0.99) of the unit-variance t, on the loss (upper) side,
 * as a positive multiple of σ: E[Z | Z ≥ q_p] = f_ν(t_p)/(1−p) · (ν + t_p²)/(ν − 1) · √((ν−2)/ν), with
 * t_p the plain-t quantile and f_ν the plain-t density. Requires ν > 2 and p in [0, 1).
 *
 * @example
 * standardizedTExpectedShortfall(0.99, 5); // 3.4488367600480… (normal: 2.6652)
 */
export function standardizedTExpectedShortfall(p: number, nu: number): number {
  requireVarianceNu(nu);
  requireProbability('p', p);
  if (p === 1) throw new RangeError('p must be below 1: the expected shortfall at p = 1 is unbounded');
  if (p === 0) return 0; // the whole distribution: its mean
  if (nu === Number.POSITIVE_INFINITY) return normalPdf(normalQuantile(p)) / (1 - p);
  const t = studentTQuantile(p, nu);
  return (studentTPdf(t, nu) / (1 - p)) * ((nu + t * t) / (nu - 1)) * Math.sqrt((nu - 2) / nu);
}

/** Options for {@link fitStandardizedTDegreesOfFreedom}. */
export interface TFitOptions {
  /**
   * Also estimate a scale s (residuals modelled as s·Z, Z unit-variance t) and profile it out, so ν only
   * reflects the shape (tail weight).
   * @default false - s = 1: the residuals are taken as already unit-variance, and any variance mismatch is
   * absorbed into ν, in a direction that depends on the data (ideal t(5) residuals scaled by 1.2 fit
   * ν ≈ 7.1 with s = 1, but ν ≈ 5.2 with s ≈ 1.19 estimated).
   */
  readonly estimateScale?: boolean;
}

/** Result of {@link fitStandardizedTDegreesOfFreedom}. */
export interface TFit {
  readonly nu: number;
  /** Maximised log-likelihood, in natural-log units, summed over the residuals. */
  readonly logLik: number;
  /** The scale s at the optimum (exactly 1 unless `estimateScale`). */
  readonly scale: number;
}

/** Log-likelihood of the residuals under s·Z, Z a unit-variance t(ν); s = 1 unless given. */
function standardizedTLogLik(residuals: readonly number[], nu: number, scale: number): number {
  const n = residuals.length;
  const c2 = scale * scale * (nu - 2); // z/s·√(ν/(ν−2)) is plain t  ⇒  x²/ν-term = z²/(s²(ν−2))
  let sum = 0;
  for (const z of residuals) sum += Math.log1p((z * z) / c2);
  // Normalising constant of the unit-variance t with scale s: Γ((ν+1)/2) / (Γ(ν/2) √(π(ν−2)) s)
  // = 1 / (B(ν/2, ½) √(ν−2) s), using Γ(½) = √π.
  return n * (-logBeta(nu / 2, 0.5) - 0.5 * Math.log(nu - 2) - Math.log(scale)) - ((nu + 1) / 2) * sum;
}

/**
 * Maximum-likelihood scale s for fixed ν, by the EM fixed point of the t scale mixture:
 * c² ← mean(w_i z_i²), w_i = (ν+1)/(ν + z_i²/c²), with c the plain-t scale; s = c·√(ν/(ν−2)).
 * Each step increases the likelihood, so it converges monotonically.
 */
function scaleForNu(residuals: readonly number[], nu: number): number {
  const n = residuals.length;
  let meanSquare = 0;
  for (const z of residuals) meanSquare += z * z;
  meanSquare /= n;
  let c2 = (meanSquare * (nu - 2)) / nu;
  for (let i = 0; i < 1000; i++) {
    let acc = 0;
    for (const z of residuals) acc += ((nu + 1) * z * z) / (nu + (z * z) / c2);
    const next = acc / n;
    const done = Math.abs(next - c2) <= 1e-13 * c2;
    c2 = next;
    if (done) break;
  }
  return Math.sqrt((c2 * nu) / (nu - 2));
}

/**
 * Brent's minimisation (golden section + parabolic interpolation) of f on [a, b]; returns the argmin.
 * Brent (1973), "Algorithms for Minimization without Derivatives", ch. 5 (`localmin`).
 */
function brentMinimize(f: (x: number) => number, a0: number, b0: number, tol: number): number {
  const golden = 0.5 * (3 - Math.sqrt(5));
  let a = a0;
  let b = b0;
  let x = a + golden * (b - a);
  let w = x;
  let v = x;
  let fx = f(x);
  let fw = fx;
  let fv = fx;
  let d = 0;
  let e = 0;
  for (let iteration = 0; iteration < 200; iteration++) {
    const m = 0.5 * (a + b);
    const tol1 = tol * Math.abs(x) + 1e-12;
    const tol2 = 2 * tol1;
    if (Math.abs(x - m) <= tol2 - 0.5 * (b - a)) break;
    let useGolden = true;
    if (Math.abs(e) > tol1) {
      // Try a parabola through (v, fv), (w, fw), (x, fx).
      let r = (x - w) * (fx - fv);
      let q = (x - v) * (fx - fw);
      let p = (x - v) * q - (x - w) * r;
      q = 2 * (q - r);
      if (q > 0) p = -p;
      else q = -q;
      r = e;
      e = d;
      if (Math.abs(p) < Math.abs(0.5 * q * r) && p > q * (a - x) && p < q * (b - x)) {
        d = p / q;
        const u = x + d;
        if (u - a < tol2 || b - u < tol2) d = x < m ? tol1 : -tol1;
        useGolden = false;
      }
    }
    if (useGolden) {
      e = (x < m ? b : a) - x;
      d = golden * e;
    }
    const u = Math.abs(d) >= tol1 ? x + d : x + (d > 0 ? tol1 : -tol1);
    const fu = f(u);
    if (fu <= fx) {
      if (u < x) b = x;
      else a = x;
      v = w;
      fv = fw;
      w = x;
      fw = fx;
      x = u;
      fx = fu;
    } else {
      if (u < x) a = u;
      else b = u;
      if (fu <= fw || w === x) {
        v = w;
        fv = fw;
        w = u;
        fw = fu;
      } else if (fu <= fv || v === x || v === w) {
        v = u;
        fv = fu;
      }
    }
  }
  return x;
}

/**
 * Maximum-likelihood degrees of freedom ν for residuals modelled as a unit-variance t (e.g. returns
 * divided by their EWMA/GARCH σ), searched on [2.1, 200]. The profile log-likelihood in ln ν is first
 * scanned on a 64-point grid (it can be flat or, for small samples, not unimodal), then the best cell is
 * refined with Brent's method. A result at 200 means "no detectable fat tails": use the normal.
 *
 * @example
 * const ideal = Array.from({ length: 400 }, (_, i) => standardizedTQuantile((i + 0.5) / 400, 5));
 * fitStandardizedTDegreesOfFreedom(ideal); // { nu: 5.1022…, logLik: −548.0083…, scale: 1 }
 */
export function fitStandardizedTDegreesOfFreedom(
  residuals: readonly number[],
  options: TFitOptions = {},
): TFit {
  if (residuals.length === 0) throw new RangeError('residuals must not be empty');
  requireFiniteValues('residuals', residuals);
  const estimateScale = options.estimateScale ?? false;
  if (estimateScale && residuals.every((z) => z === 0)) {
    throw new RangeError('residuals are all zero: no scale to estimate');
  }
  const profile = (nu: number): { logLik: number; scale: number } => {
    const scale = estimateScale ? scaleForNu(residuals, nu) : 1;
    return { logLik: standardizedTLogLik(residuals, nu, scale), scale };
  };
  const lower = Math.log(NU_MIN_FIT);
  const upper = Math.log(NU_MAX_FIT);
  const gridSize = 64;
  const grid: number[] = [];
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < gridSize; i++) {
    const u = lower + ((upper - lower) * i) / (gridSize - 1);
    grid.push(u);
    const value = profile(Math.exp(u)).logLik;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  const left = grid[Math.max(0, best - 1)] ?? lower;
  const right = grid[Math.min(gridSize - 1, best + 1)] ?? upper;
  const u = brentMinimize((w) => -profile(Math.exp(w)).logLik, left, right, 1e-10);
  // Brent never evaluates the bracket ends; keep the grid point if it is better (optimum on the boundary).
  const candidates = [Math.exp(u), Math.exp(grid[best] ?? u)];
  let nu = Number.NaN;
  let fit = { logLik: Number.NEGATIVE_INFINITY, scale: 1 };
  for (const candidate of candidates) {
    const value = profile(candidate);
    if (value.logLik > fit.logLik) {
      fit = value;
      nu = candidate;
    }
  }
  return { nu, logLik: fit.logLik, scale: fit.scale };
}
