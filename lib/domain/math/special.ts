import { requirePositive, requireProbability } from './validate.ts';

/**
 * Special functions behind the t, χ² and binomial distributions: log Γ (Lanczos), the regularized
 * incomplete gamma functions (series / Lentz continued fraction) and the regularized incomplete beta
 * function (Lentz continued fraction), after Numerical Recipes §6.1–6.4 with tighter tolerances.
 *
 * Accuracy (checked against R 4.2.2 and mpmath): log Γ about 1e-15 absolute below 10 (Lanczos) and
 * 1e-16 relative above (Stirling); the incomplete functions about 1e-14 relative for shapes up to a few
 * hundred, degrading to ~1e-12 for shapes in the thousands (the continued fractions need O(√a) steps).
 * The prefactors never subtract large ln Γ values: those cancel analytically via Stirling remainders.
 */

const LN_SQRT_2PI = 0.9189385332046727; // ½·ln(2π)
const EULER_GAMMA = 0.5772156649015329;
const LANCZOS_G = 7;
// Lanczos coefficients for g = 7, n = 9 (Godfrey); relative error of Γ about 1e-15 for Re(x) ≥ ½.
const LANCZOS = [
  0.9999999999998099, 676.5203681218851, -1259.1392167224028, 771.3234287776531, -176.6150291621406,
  12.507343278686905, -0.13857109526572012, 9.984369578019572e-6, 1.5056327351493116e-7,
];

const EPS = 1e-16; // convergence: relative size of the last series term / continued-fraction factor
const TINY = 1e-300; // Lentz's guard against a zero denominator
const MAX_ITERATIONS = 100_000;

// Stirling-series coefficients B_2k / (2k(2k−1)), k = 1…8: δ(x) = Σ c_k / x^(2k−1). At x ≥ 10 the
// first omitted term is below 1e-18, so δ is exact to rounding.
const STIRLING = [
  0.08333333333333333, -0.002777777777777778, 0.0007936507936507937, -0.0005952380952380953,
  0.0008417508417508417, -0.0019175269175269176, 0.00641025641025641, -0.029550653594771242,
];
const STIRLING_MIN = 10;

/** δ(x) = ln Γ(x) − [(x − ½) ln x − x + ½ ln 2π] for x ≥ 10 (the remainder of Stirling's formula). */
function stirlingCorrection(x: number): number {
  const inv2 = 1 / (x * x);
  let acc = 0;
  for (let k = STIRLING.length - 1; k >= 0; k--) acc = acc * inv2 + (STIRLING[k] ?? 0);
  return acc / x;
}

/**
 * Natural log of the gamma function for x > 0: Lanczos (g = 7) below 10 with reflection below ½,
 * Stirling's series with its remainder above. Exactly 0 at x = 1 and x = 2. Throws a RangeError for
 * x ≤ 0; returns NaN for NaN and +∞ for +∞.
 *
 * @example
 * logGamma(0.5); // 0.57236494292470… (= ln √π)
 * logGamma(10); // 12.8018274800814… (= ln 9!)
 */
export function logGamma(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  requirePositive('x', x, true);
  if (x === Number.POSITIVE_INFINITY) return x;
  if (x === 1 || x === 2) return 0;
  if (x >= STIRLING_MIN) return (x - 0.5) * Math.log(x) - x + LN_SQRT_2PI + stirlingCorrection(x);
  // Near 0, Γ(x) ≈ 1/x − γ: the series is exact to O(x²) and avoids sin(πx) losing the tiny argument.
  if (x < 1e-8) return -Math.log(x) - EULER_GAMMA * x;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let series = LANCZOS[0] ?? 1;
  for (let i = 1; i < LANCZOS.length; i++) series += (LANCZOS[i] ?? 0) / (z + i);
  const t = z + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (z + 0.5) * Math.log(t) - t + Math.log(series);
}

/**
 * ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), a, b > 0. When an argument is ≥ 10 the large
 * ln Γ terms are cancelled analytically (Stirling remainders and log1p), as in R's `lbeta`, so the
 * result keeps full precision even for a = 5e4, b = ½ where the naive sum loses ~6 digits.
 *
 * @example
 * logBeta(2, 3); // −2.48490664978800… (= ln 1/12)
 */
export function logBeta(a: number, b: number): number {
  requirePositive('a', a);
  requirePositive('b', b);
  const p = Math.min(a, b);
  const q = Math.max(a, b);
  const ratio = p / (p + q);
  if (p >= STIRLING_MIN) {
    const corr = stirlingCorrection(p) + stirlingCorrection(q) - stirlingCorrection(p + q);
    return -0.5 * Math.log(q) + LN_SQRT_2PI + corr + (p - 0.5) * Math.log(ratio) + q * Math.log1p(-ratio);
  }
  if (q >= STIRLING_MIN) {
    const corr = stirlingCorrection(q) - stirlingCorrection(p + q);
    return logGamma(p) + corr + p - p * Math.log(p + q) + (q - 0.5) * Math.log1p(-ratio);
  }
  return logGamma(p) + logGamma(q) - logGamma(p + q);
}

/** log(1 + t) − t without cancellation for small |t| (series), t > −1. */
function log1pMinusX(t: number): number {
  if (Math.abs(t) >= 0.25) return Math.log1p(t) - t;
  // −t²/2 + t³/3 − …; |t| < ¼ converges to 1e-17 relative within 30 terms.
  let term = t;
  let sum = 0;
  for (let k = 2; k < 60; k++) {
    term *= -t;
    const next = term / k;
    sum += next;
    if (Math.abs(next) <= Math.abs(sum) * 1e-17) break;
  }
  return sum;
}

/**
 * The common prefactor x^a e^(−x) / Γ(a) of the incomplete gamma series and fraction.
 * Small a, moderate x: multiply the factors directly (a few ulp; forming a·ln x − x first would cost
 * |x|·2⁻⁵³ absolute in the exponent, e.g. 1e-13 relative at x = 600). Otherwise work in logs; for a ≥ 10
 * the O(a ln a) terms cancel analytically: with t = (x − a)/a the log equals
 * a·(log1p(t) − t) + ½ ln a − ½ ln 2π − δ(a), which has no large intermediate values near x ≈ a.
 */
function gammaPrefactor(a: number, x: number): number {
  if (a < STIRLING_MIN) {
    if (x < 700) return (x ** a * Math.exp(-x)) / Math.exp(logGamma(a));
    return Math.exp(a * Math.log(x) - x - logGamma(a));
  }
  const t = (x - a) / a;
  // Far below a, 1 + t = x/a would round away x's digits: take its log directly.
  const core = x < 0.5 * a ? Math.log(x / a) - t : log1pMinusX(t);
  return Math.exp(a * core + 0.5 * Math.log(a) - LN_SQRT_2PI - stirlingCorrection(a));
}

/**
 * Both regularized incomplete gamma functions, P(a, x) and Q(a, x) = 1 − P(a, x). The one that is
 * small is computed directly (series for P when x < a + 1, continued fraction for Q otherwise) and the
 * other by subtraction, so the small one keeps its relative precision deep in the tail.
 */
export function regularizedGammaPair(a: number, x: number): { p: number; q: number } {
  requirePositive('a', a);
  if (Number.isNaN(x)) return { p: Number.NaN, q: Number.NaN };
  if (x < 0) throw new RangeError(`x must be non-negative, got ${x}`);
  if (x === 0) return { p: 0, q: 1 };
  if (x === Number.POSITIVE_INFINITY) return { p: 1, q: 0 };
  if (x < a + 1) {
    // Series P = e^(−x) x^a / Γ(a+1) · Σ x^k / ((a+1)…(a+k)); all terms positive, no cancellation.
    let ap = a;
    let term = 1 / a;
    let sum = term;
    for (let n = 0; n < MAX_ITERATIONS; n++) {
      ap += 1;
      term *= x / ap;
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * EPS) {
        const p = Math.min(1, sum * gammaPrefactor(a, x));
        return { p, q: 1 - p };
      }
    }
    throw new RangeError(`regularizedGamma: series did not converge for a = ${a}, x = ${x}`);
  }
  // Continued fraction for Q (modified Lentz), Numerical Recipes `gcf`.
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i <= MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) {
      const q = Math.min(1, gammaPrefactor(a, x) * h);
      return { p: 1 - q, q };
    }
  }
  throw new RangeError(`regularizedGamma: continued fraction did not converge for a = ${a}, x = ${x}`);
}

/**
 * Regularized lower incomplete gamma function P(a, x) = γ(a, x) / Γ(a), a > 0, x ≥ 0.
 *
 * @example
 * regularizedGammaP(1, 2); // 0.8646647167633873 (= 1 − e^−2)
 */
export function regularizedGammaP(a: number, x: number): number {
  return regularizedGammaPair(a, x).p;
}

/**
 * Regularized upper incomplete gamma function Q(a, x) = Γ(a, x) / Γ(a) = 1 − P(a, x), computed
 * directly in the upper tail (use this, not `1 - regularizedGammaP`, for small tail probabilities).
 *
 * @example
 * regularizedGammaQ(1, 40); // 4.248354255291589e-18 (= e^−40)
 */
export function regularizedGammaQ(a: number, x: number): number {
  return regularizedGammaPair(a, x).q;
}

/** Continued fraction of I_x(a, b) (Numerical Recipes `betacf`, modified Lentz); converges for x < (a+1)/(a+b+2). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_ITERATIONS; m++) {
    const m2 = 2 * m;
    // Even step of the fraction.
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step.
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return h;
  }
  throw new RangeError(
    `regularizedBeta: continued fraction did not converge for a = ${a}, b = ${b}, x = ${x}`,
  );
}

/**
 * I_x(a, b) and 1 − I_x(a, b) for x in [0, 1], given both x and y = 1 − x. Callers that can form 1 − x
 * without cancellation (e.g. ν/(ν+t²) and t²/(ν+t²)) pass both, so neither tail loses digits. The tail
 * on the near side of the mean is computed directly from the continued fraction; the other by subtraction.
 */
export function regularizedBetaPair(
  x: number,
  y: number,
  a: number,
  b: number,
): { lower: number; upper: number } {
  requirePositive('a', a);
  requirePositive('b', b);
  if (Number.isNaN(x) || Number.isNaN(y)) return { lower: Number.NaN, upper: Number.NaN };
  if (x <= 0) return { lower: 0, upper: 1 };
  if (y <= 0) return { lower: 1, upper: 0 };
  // ln x and ln y from whichever of x, y is small (log1p of the other), so a·ln x stays accurate when
  // x ≈ 1 and a is large (t-distribution with large ν).
  const logX = x > 0.5 ? Math.log1p(-y) : Math.log(x);
  const logY = y > 0.5 ? Math.log1p(-x) : Math.log(y);
  const logFront = a * logX + b * logY - logBeta(a, b);
  if (x < (a + 1) / (a + b + 2)) {
    const lower = Math.min(1, (Math.exp(logFront) * betaContinuedFraction(a, b, x)) / a);
    return { lower, upper: 1 - lower };
  }
  // Symmetry I_x(a, b) = 1 − I_y(b, a): the fraction converges fast on this side.
  const upper = Math.min(1, (Math.exp(logFront) * betaContinuedFraction(b, a, y)) / b);
  return { lower: 1 - upper, upper };
}

/**
 * Regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b) for x in [0, 1], a, b > 0.
 *
 * @example
 * regularizedBeta(0.5, 2, 3); // ≈ 0.6875 (= 11/16)
 */
export function regularizedBeta(x: number, a: number, b: number): number {
  requireProbability('x', x);
  return regularizedBetaPair(x, 1 - x, a, b).lower;
}
