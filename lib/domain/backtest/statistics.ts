import { binomialCdf } from '../math/binomial.ts';
import { chiSquareSurvival } from '../math/chi-square.ts';
import { requireCount, requireOpenProbability } from '../math/validate.ts';

/**
 * VaR backtest statistics (Kupiec POF, Christoffersen independence and conditional coverage, the Basel
 * traffic light) and procyclicality metrics for a margin series (peak-to-trough, n-day max increase).
 * References: margin-methods.md §4.3, §6.1–6.3; MATLAB `varbacktest` (`pof`, `cci`, `cc`, `tl`).
 */

/** A likelihood-ratio test: the statistic and its asymptotic χ² p-value (reject when small). */
export interface CoverageTest {
  readonly statistic: number;
  readonly pValue: number;
}

/** n · ln(p) with the convention 0 · ln 0 = 0 (a count of zero contributes nothing, whatever p is). */
function xlogy(n: number, p: number): number {
  return n === 0 ? 0 : n * Math.log(p);
}

/** n · ln(1 − p) with 0 · ln 0 = 0; log1p keeps precision for small p. */
function xlog1my(n: number, p: number): number {
  return n === 0 ? 0 : n * Math.log1p(-p);
}

/** LR statistics can come out as −1e-13 from rounding when the fit is perfect; the true value is ≥ 0. */
function test(statistic: number, degreesOfFreedom: number): CoverageTest {
  const s = Math.max(0, statistic);
  return { statistic: s, pValue: chiSquareSurvival(s, degreesOfFreedom) };
}

function requireBacktestArguments(observations: number, breaches: number, coverage: number): void {
  requireCount('observations', observations);
  requireCount('breaches', breaches);
  if (breaches > observations) {
    throw new RangeError(`breaches (${breaches}) cannot exceed observations (${observations})`);
  }
  requireOpenProbability('coverage', coverage);
}

/**
 * Kupiec's proportion-of-failures (unconditional coverage) test:
 * LR_uc = −2 ln[ (1−p)^(n−x) p^x / ((1−x/n)^(n−x) (x/n)^x) ] ~ χ²(1), with 0·ln 0 := 0.
 * `coverage` is the expected breach probability p (0.01 for a 99% VaR). With no observations there is
 * no evidence either way: statistic 0, p-value 1.
 *
 * @example
 * kupiecPof(1043, 57, 0.05); // { statistic: 0.46147…, pValue: 0.49694… } (MATLAB varbacktest example)
 */
export function kupiecPof(observations: number, breaches: number, coverage: number): CoverageTest {
  requireBacktestArguments(observations, breaches, coverage);
  if (observations === 0) return { statistic: 0, pValue: 1 };
  const n = observations;
  const x = breaches;
  const rate = x / n;
  // Grouped as Σ count · ln(null / fitted) so the two large log-likelihoods never get subtracted.
  const logRatio =
    (n - x === 0 ? 0 : (n - x) * (Math.log1p(-coverage) - Math.log1p(-rate))) +
    (x === 0 ? 0 : x * (Math.log(coverage) - Math.log(rate)));
  return test(-2 * logRatio, 1);
}

/** Transition counts of the breach indicator and Christoffersen's tests (MATLAB `cci` / `cc`). */
export interface ChristoffersenResult {
  /** n_ij = #{t ≥ 1 : I_{t−1} = i, I_t = j}; they sum to breaches.length − 1. */
  readonly n00: number;
  readonly n01: number;
  readonly n10: number;
  readonly n11: number;
  /** LR_ind ~ χ²(1): are breaches independent of whether the previous day breached? */
  readonly independence: CoverageTest;
  /** LR_cc = LR_uc + LR_ind ~ χ²(2): right frequency and independence jointly. */
  readonly conditionalCoverage: CoverageTest;
  /** Kupiec's LR_uc over all observations (the first summand of LR_cc). */
  readonly unconditionalCoverage: CoverageTest;
}

/**
 * Christoffersen (1998) independence and conditional coverage tests on a daily breach sequence
 * (oldest first), as MATLAB `varbacktest.cci` / `cc` define them:
 * π01 = n01/(n00+n01), π11 = n11/(n10+n11), π = (n01+n11)/(n00+n01+n10+n11),
 * LR_ind = −2 ln[ (1−π)^(n00+n10) π^(n01+n11) / ((1−π01)^n00 π01^n01 (1−π11)^n10 π11^n11) ] ~ χ²(1),
 * LR_cc = LR_uc + LR_ind ~ χ²(2), with LR_uc (Kupiec) over all n observations.
 * Edge cases use 0·ln 0 := 0 (0⁰ = 1): n11 = 0, n01 = 0, no breach at all, or no breach before the last
 * day (π11 = 0/0 then only appears with zero exponents) all give finite statistics; fewer than two
 * observations give LR_ind = 0, p-value 1.
 *
 * @example
 * christoffersen(breachFlags, 0.01).independence.pValue; // small ⇒ breaches cluster
 */
export function christoffersen(breaches: readonly boolean[], coverage: number): ChristoffersenResult {
  requireOpenProbability('coverage', coverage);
  let n00 = 0;
  let n01 = 0;
  let n10 = 0;
  let n11 = 0;
  let total = 0;
  let previous: boolean | undefined;
  for (const current of breaches) {
    if (current) total++;
    if (previous !== undefined) {
      if (previous) {
        if (current) n11++;
        else n10++;
      } else if (current) n01++;
      else n00++;
    }
    previous = current;
  }
  const transitions = n00 + n01 + n10 + n11;
  let lrInd = 0;
  if (transitions > 0) {
    const pi = (n01 + n11) / transitions;
    // Denominators are only used when the matching counts are non-zero (xlogy ignores p otherwise).
    const pi01 = n00 + n01 > 0 ? n01 / (n00 + n01) : 0;
    const pi11 = n10 + n11 > 0 ? n11 / (n10 + n11) : 0;
    const restricted = xlog1my(n00 + n10, pi) + xlogy(n01 + n11, pi);
    const unrestricted = xlog1my(n00, pi01) + xlogy(n01, pi01) + xlog1my(n10, pi11) + xlogy(n11, pi11);
    lrInd = -2 * (restricted - unrestricted);
  }
  const independence = test(lrInd, 1);
  const unconditionalCoverage = kupiecPof(breaches.length, total, coverage);
  const conditionalCoverage = test(unconditionalCoverage.statistic + independence.statistic, 2);
  return { n00, n01, n10, n11, independence, conditionalCoverage, unconditionalCoverage };
}

export type TrafficLightZone = 'green' | 'yellow' | 'red';

/** Basel zone boundaries on the cumulative binomial probability P(X ≤ breaches). */
export const TRAFFIC_LIGHT_YELLOW = 0.95;
export const TRAFFIC_LIGHT_RED = 0.9999;

/**
 * Basel traffic-light zone generalised to any window length via the binomial CDF under the null
 * (breach probability = coverage): green while P(X ≤ x) < 95%, yellow while < 99.99%, red beyond.
 * For n = 250, p = 0.01: green 0–4, yellow 5–9, red ≥ 10.
 *
 * One deliberate exception: zero breaches is always green. The raw rule would call a window with
 * (1−p)^n ≥ 95% (n ≤ 5 at p = 1%) yellow, and an empty window red, though no breach is never evidence
 * that the VaR is too low. `cumulativeProbability` is still the raw P(X ≤ x).
 *
 * @example
 * trafficLight(250, 5, 0.01); // { zone: 'yellow', cumulativeProbability: 0.9588… }
 */
export function trafficLight(
  observations: number,
  breaches: number,
  coverage: number,
): { zone: TrafficLightZone; cumulativeProbability: number } {
  requireBacktestArguments(observations, breaches, coverage);
  const cumulativeProbability = binomialCdf(breaches, observations, coverage);
  let zone: TrafficLightZone;
  if (breaches === 0 || cumulativeProbability < TRAFFIC_LIGHT_YELLOW) zone = 'green';
  else if (cumulativeProbability < TRAFFIC_LIGHT_RED) zone = 'yellow';
  else zone = 'red';
  return { zone, cumulativeProbability };
}

function requirePositiveSeries(series: readonly number[]): void {
  if (series.length === 0) throw new RangeError('series must not be empty');
  for (let i = 0; i < series.length; i++) {
    const v = series[i] ?? Number.NaN;
    if (!(v > 0 && Number.isFinite(v))) {
      throw new RangeError(`series[${i}] must be a positive finite number, got ${v}`);
    }
  }
}

/**
 * Across-the-cycle procyclicality: max(series) / min(series) over the whole window (Murphy, Vasios &
 * Vause 2014). Values must be positive (margin levels or rates).
 *
 * @example
 * peakToTrough([100, 98, 97, 99, 120, 150, 160, 155]); // 1.6494845… (160/97)
 */
export function peakToTrough(series: readonly number[]): number {
  requirePositiveSeries(series);
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  for (const v of series) {
    if (v > max) max = v;
    if (v < min) min = v;
  }
  return max / min;
}

/**
 * Short-horizon procyclicality: the largest `days`-step ratio max_t series[t+days] / series[t]. Below 1
 * when the series only falls. Needs `days` ≥ 1 (integer) and more than `days` positive values.
 *
 * @example
 * maxIncrease([100, 98, 97, 99, 120, 150], 1); // 1.25 (150/120)
 */
export function maxIncrease(series: readonly number[], days: number): number {
  if (!(Number.isSafeInteger(days) && days >= 1))
    throw new RangeError(`days must be an integer ≥ 1, got ${days}`);
  requirePositiveSeries(series);
  if (series.length <= days) {
    throw new RangeError(
      `series needs more than ${days} values for a ${days}-day increase, got ${series.length}`,
    );
  }
  let best = Number.NEGATIVE_INFINITY;
  for (let t = 0; t + days < series.length; t++) {
    const ratio = (series[t + days] ?? Number.NaN) / (series[t] ?? Number.NaN);
    if (ratio > best) best = ratio;
  }
  return best;
}
