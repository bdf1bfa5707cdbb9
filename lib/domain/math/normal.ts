import { requireProbability } from './validate.ts';

/**
 * Standard normal distribution N(0, 1): density, distribution function (W. J. Cody's rational Chebyshev
 * approximations, ACM TOMS Algorithm 715) and quantile (M. J. Wichura, Algorithm AS 241 "PPND16").
 * Both are accurate to about one unit in the 16th significant digit over the whole double range.
 */

const INV_SQRT_2PI = 0.3989422804014327; // 1/√(2π)
const SQRT_32 = 5.656854249492381; // √32, where Cody switches to the asymptotic form

// Cody (1993) coefficients, highest-degree numerator term last. Rounded to the nearest double.
const CODY_A = [
  2.2352520354606837, 161.02823106855587, 1067.6894854603709, 18154.98125334356, 0.06568233791820745,
] as const;
const CODY_B = [47.202581904688245, 976.0985517377767, 10260.932208618979, 45507.78933502673] as const;
const CODY_C = [
  0.39894151208813466, 8.883149794388377, 93.50665613217785, 597.2702763948002, 2494.5375852903726,
  6848.190450536283, 11602.65143764735, 9842.714838383978, 1.0765576773720192e-8,
] as const;
const CODY_D = [
  22.266688044328117, 235.387901782625, 1519.3775994075547, 6485.558298266761, 18615.571640885097,
  34900.95272114598, 38912.00328609327, 19685.429676859992,
] as const;
const CODY_P = [
  0.215898534057957, 0.12740116116024736, 0.022235277870649807, 0.0014216191932278934, 2.9112874951168793e-5,
  0.023073441764940174,
] as const;
const CODY_Q = [
  1.284260096144911, 0.4682382124808651, 0.06598813786892856, 0.0037823963320275824, 7.297515550839662e-5,
] as const;

// Wichura (1988) AS 241 coefficients, lowest degree first: central region, then two tail regions.
const AS241_A = [
  3.3871328727963665, 133.14166789178438, 1971.5909503065513, 13731.69376550946, 45921.95393154987,
  67265.7709270087, 33430.57558358813, 2509.0809287301227,
];
const AS241_B = [
  1, 42.31333070160091, 687.1870074920579, 5394.196021424751, 21213.794301586597, 39307.89580009271,
  28729.085735721943, 5226.495278852854,
];
const AS241_C = [
  1.4234371107496835, 4.630337846156546, 5.769497221460691, 3.6478483247632045, 1.2704582524523684,
  0.2417807251774506, 0.022723844989269184, 0.0007745450142783414,
];
const AS241_D = [
  1, 2.053191626637759, 1.6763848301838038, 0.6897673349851, 0.14810397642748008, 0.015198666563616457,
  0.0005475938084995345, 1.0507500716444169e-9,
];
const AS241_E = [
  6.657904643501103, 5.463784911164114, 1.7848265399172913, 0.29656057182850487, 0.026532189526576124,
  0.0012426609473880784, 2.7115555687434876e-5, 2.0103343992922881e-7,
];
const AS241_F = [
  1, 0.599832206555888, 0.1369298809227358, 0.014875361290850615, 0.0007868691311456133,
  1.8463183175100548e-5, 1.421511758316446e-7, 2.0442631033899397e-15,
];

/** Horner evaluation of Σ c[i]·x^i (coefficients lowest degree first). */
function poly(c: readonly number[], x: number): number {
  let acc = 0;
  for (let i = c.length - 1; i >= 0; i--) acc = acc * x + (c[i] ?? 0);
  return acc;
}

/**
 * exp(−xs²/2) at every xs = k/16 below 50 (k = 0 … 799), so `expHalfSquare` needs one `Math.exp`, not two:
 * option scenario revaluation evaluates Φ twice per scenario. The table holds exactly what the second call
 * returned, so results are unchanged to the bit.
 */
const EXP_HALF_SQUARE_STEPS = new Float64Array(800);
for (let k = 0; k < EXP_HALF_SQUARE_STEPS.length; k++) {
  const xs = k / 16;
  EXP_HALF_SQUARE_STEPS[k] = Math.exp(-xs * xs * 0.5);
}

/**
 * exp(−x²/2) for 0 ≤ x < 50 without the rounding error of forming x² directly: x is split into a part with
 * few bits (exactly squarable) and a remainder, as Cody does. Matters for |x| > 5 where x² has ~1e-14 abs
 * error.
 */
function expHalfSquare(x: number): number {
  const steps = Math.trunc(x * 16);
  const xs = steps / 16;
  const del = (x - xs) * (x + xs);
  return (EXP_HALF_SQUARE_STEPS[steps] as number) * Math.exp(-del * 0.5);
}

// Cody's coefficients as scalars, so the hot rational functions below are straight-line code; the
// evaluation order is exactly that of the loops in Cody's algorithm, so results are unchanged to the bit.
const [A0, A1, A2, A3, A4] = CODY_A;
const [B0, B1, B2, B3] = CODY_B;
const [C0, C1, C2, C3, C4, C5, C6, C7, C8] = CODY_C;
const [D0, D1, D2, D3, D4, D5, D6, D7] = CODY_D;
const [P0, P1, P2, P3, P4, P5] = CODY_P;
const [Q0, Q1, Q2, Q3, Q4] = CODY_Q;

/** Φ(x) − ½ for |x| ≤ 0.66291: an odd rational function of x, no exponential needed. */
function centralOffset(x: number): number {
  const xsq = x * x;
  const num = ((A4 * xsq + A0) * xsq + A1) * xsq + A2;
  const den = ((xsq + B0) * xsq + B1) * xsq + B2;
  return (x * (num * xsq + A3)) / (den * xsq + B3);
}

/**
 * Φ(−y) for y > 0.66291, computed directly so the small tail keeps its relative precision. Returns a plain
 * number (no tail pair object), so callers in hot loops allocate nothing.
 */
function lowerTail(y: number): number {
  if (!(y < 50)) return 0; // Φ(−50) ≈ 1e−545 underflows anyway
  // One exponential for both branches (so the function stays small enough for V8 to inline it twice).
  const near = y <= SQRT_32;
  let factor: number;
  if (near) {
    const num = ((((((C8 * y + C0) * y + C1) * y + C2) * y + C3) * y + C4) * y + C5) * y + C6;
    const den = ((((((y + D0) * y + D1) * y + D2) * y + D3) * y + D4) * y + D5) * y + D6;
    factor = (num * y + C7) / (den * y + D7);
  } else {
    const xsq = 1 / (y * y);
    const num = ((((P5 * xsq + P0) * xsq + P1) * xsq + P2) * xsq + P3) * xsq;
    const den = ((((xsq + Q0) * xsq + Q1) * xsq + Q2) * xsq + Q3) * xsq;
    factor = INV_SQRT_2PI - (xsq * (num + P4)) / (den + Q4);
  }
  const e = expHalfSquare(y);
  return near ? e * factor : (e * factor) / y;
}

/**
 * Density of the standard normal distribution.
 *
 * @example
 * normalPdf(0); // 0.3989422804014327
 */
export function normalPdf(x: number): number {
  const y = Math.abs(x);
  if (y >= 40) return 0; // exp(−800) underflows; also keeps ±∞ away from the split in expHalfSquare
  return INV_SQRT_2PI * expHalfSquare(y);
}

/**
 * Distribution function Φ(x) = P(Z ≤ x) of the standard normal (Cody 1993); absolute error below
 * 1e-16 and, for x < 0, relative error near machine precision even deep in the tail.
 *
 * @example
 * normalCdf(-2.3263478740408408); // ≈ 0.01
 */
export function normalCdf(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  if (y <= 0.66291) return 0.5 + centralOffset(x);
  const tail = lowerTail(y);
  return x > 0 ? 1 - tail : tail;
}

/**
 * Upper tail 1 − Φ(x) = P(Z > x), computed directly so it keeps full relative precision for large x
 * (where `1 - normalCdf(x)` would lose every digit).
 *
 * @example
 * normalSurvival(8); // 6.220960574271785e-16
 */
export function normalSurvival(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  const y = Math.abs(x);
  if (y <= 0.66291) return 0.5 - centralOffset(x);
  const tail = lowerTail(y);
  return x > 0 ? tail : 1 - tail;
}

/**
 * Quantile Φ⁻¹(p) of the standard normal (Wichura's AS 241 PPND16, about 1e-16 relative).
 * p = 0 and p = 1 give −∞ and +∞; p outside [0, 1] (or NaN) throws a RangeError.
 *
 * @example
 * normalQuantile(0.99); // 2.32634787404084…
 */
export function normalQuantile(p: number): number {
  requireProbability('p', p);
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * poly(AS241_A, r)) / poly(AS241_B, r);
  }
  // Tails: r = √(−ln min(p, 1−p)). 1 − p is exact here (p > 0.5, Sterbenz), so no digits are lost.
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let value: number;
  if (r <= 5) {
    r -= 1.6;
    value = poly(AS241_C, r) / poly(AS241_D, r);
  } else {
    r -= 5;
    value = poly(AS241_E, r) / poly(AS241_F, r);
  }
  return q < 0 ? -value : value;
}

/**
 * Expected shortfall of N(0, 1) at confidence level p, on the loss (upper) side, as a positive multiple
 * of σ: E[Z | Z ≥ Φ⁻¹(p)] = φ(Φ⁻¹(p)) / (1 − p). p must lie in [0, 1); p = 0 gives the mean, 0.
 *
 * @example
 * normalExpectedShortfall(0.99); // 2.665214… (margin-methods.md §5.5)
 */
export function normalExpectedShortfall(p: number): number {
  requireProbability('p', p);
  if (p === 1) throw new RangeError('p must be below 1: the expected shortfall at p = 1 is unbounded');
  if (p === 0) return 0;
  return normalPdf(normalQuantile(p)) / (1 - p);
}
