import { describe, expect, it } from 'vitest';
import {
  fitGarch11,
  GARCH_MIN_RETURNS,
  type GarchParameters,
  garchForecastVariance,
  garchNegLogLik,
  garchTermVariance,
  garchVariances,
} from '../../../lib/domain/volatility/index.ts';

/** Hull's model: ω = 0.000002, α = 0.13, β = 0.86. */
const hull: GarchParameters = { omega: 0.000002, alpha: 0.13, beta: 0.86 };

/** V_L = 0.0004 (2%/day), α + β = 0.98: the margin-methods "GARCH forecast" case (any split of α, β). */
const forecastModel: GarchParameters = { omega: 0.0004 * (1 - 0.98), alpha: 0.08, beta: 0.9 };

/** A simulated GARCH path from a fixed linear-congruential generator, so tests need no data files. */
function simulateGarch(p: GarchParameters, n: number, seed: number): number[] {
  let state = seed >>> 0;
  const uniform = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state + 0.5) / 4294967296;
  };
  const returns: number[] = [];
  let variance = p.omega / (1 - p.alpha - p.beta);
  for (let t = 0; t < n; t++) {
    const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const r = Math.sqrt(variance) * z;
    returns.push(r);
    variance = p.omega + p.alpha * r * r + p.beta * variance;
  }
  return returns;
}

describe('garchVariances', () => {
  it("reproduces QuantLib's Garch11::calculate sequence (test-suite/garch.cpp) to 1e-6", () => {
    // Prepare: α = 0.2, β = 0.3, V_L = 0.4 → ω = 0.2; ten returns of 0.1. QuantLib seeds σ² = r_0² and
    // reports the variance after each return, i.e. our elements 1…n when our seed (σ² of r_0) is r_0².
    const p: GarchParameters = { omega: (1 - 0.2 - 0.3) * 0.4, alpha: 0.2, beta: 0.3 };
    const returns = Array.from({ length: 10 }, () => 0.1);
    const published = [
      0.452769, 0.513323, 0.530141, 0.5350841, 0.536558, 0.536999, 0.537132, 0.537171, 0.537183, 0.537187,
    ];

    // Act
    const variances = garchVariances(returns, p, 0.1 ** 2);
    const sigmas = Array.from(variances.subarray(1), Math.sqrt);

    // Assess
    expect(variances).toHaveLength(11);
    sigmas.forEach((sigma, i) => {
      expect(Math.abs(sigma - (published[i] ?? Number.NaN))).toBeLessThan(1e-6);
    });
  });

  it("reproduces Hull's GARCH update: σ_{n−1} = 1.6%, u_{n−1} = 1% → σ²_n = 0.00023516, σ_n = 1.5335%", () => {
    // Act
    const variances = garchVariances([0.01], hull, 0.016 ** 2);

    // Assess
    expect(variances[1]).toBeCloseTo(0.00023516, 12);
    expect(Math.sqrt(variances[1] ?? Number.NaN)).toBeCloseTo(0.015335, 6);
  });

  it('seeds as fGarch does by default: σ²_1 = ω + (α + β)·mean(r²)', () => {
    // Prepare
    const returns = [0.02, -0.01, 0.03];

    // Act
    const variances = garchVariances(returns, hull);

    // Assess
    expect(variances[0]).toBeCloseTo(hull.omega + (hull.alpha + hull.beta) * (0.0014 / 3), 15);
    expect(variances[1]).toBeCloseTo(hull.omega + hull.alpha * 0.0004 + hull.beta * (variances[0] ?? 0), 15);
  });

  it('rejects negative parameters and non-finite returns', () => {
    expect(() => garchVariances([0.01], { ...hull, alpha: -0.1 })).toThrow(RangeError);
    expect(() => garchVariances([0.01], { ...hull, omega: Number.NaN })).toThrow('omega');
    expect(() => garchVariances([0.01, Number.POSITIVE_INFINITY], hull)).toThrow('index 1');
    expect(() => garchVariances([0.01], hull, -1)).toThrow('seed');
  });
});

describe('garch forecasts', () => {
  it("gives Hull's long-run variance V_L = ω/(1 − α − β) = 0.0002 (σ_L = 1.4142%/day)", () => {
    // Act: far enough ahead, the forecast is the long-run variance whatever today's.
    const longRun = garchForecastVariance(hull, 0.0009, 100_000);

    // Assess
    expect(longRun).toBeCloseTo(0.0002, 12);
    expect(Math.sqrt(longRun)).toBeCloseTo(0.014142, 6);
  });

  it('reproduces the GARCH forecast example: 10 days 0.0008085364, 100 days 0.00046631', () => {
    // Prepare: the example's σ²_now is the variance for the current day (Hull's σ²_n), which is our
    // σ²_{n+1}; its "t days ahead" is our k = t + 1, so (α+β)^(k−1) = 0.98^t.

    // Act
    const tenDays = garchForecastVariance(forecastModel, 0.0009, 11);
    const hundredDays = garchForecastVariance(forecastModel, 0.0009, 101);

    // Assess
    expect(tenDays).toBeCloseTo(0.0008085364, 10);
    expect(Math.sqrt(tenDays)).toBeCloseTo(0.028435, 6);
    expect(hundredDays).toBeCloseTo(0.00046631, 8);
    expect(Math.sqrt(hundredDays)).toBeCloseTo(0.021594, 6);
  });

  it('returns the next-day variance itself for k = 1', () => {
    expect(garchForecastVariance(forecastModel, 0.0009, 1)).toBe(0.0009);
  });

  it('adds ω per day under IGARCH (α + β = 1), where there is no long-run variance', () => {
    expect(garchForecastVariance({ omega: 1e-6, alpha: 0.1, beta: 0.9 }, 0.0004, 5)).toBeCloseTo(
      0.000404,
      15,
    );
  });

  it('sums the daily forecasts into the h-day term variance', () => {
    // Prepare
    let expected = 0;
    for (let k = 1; k <= 10; k++) expected += garchForecastVariance(forecastModel, 0.0009, k);

    // Act
    const term = garchTermVariance(forecastModel, 0.0009, 10);

    // Assess: closed form h·V_L + (σ²_{n+1} − V_L)(1 − φ^h)/(1 − φ), and below √h scaling of today's σ.
    expect(term).toBeCloseTo(expected, 15);
    expect(term).toBeCloseTo(10 * 0.0004 + (0.0009 - 0.0004) * ((1 - 0.98 ** 10) / 0.02), 15);
    expect(term).toBeLessThan(10 * 0.0009);
    expect(garchTermVariance(forecastModel, 0.0009, 1)).toBe(0.0009);
  });

  it('rejects a step or horizon that is not a whole number of days ≥ 1', () => {
    expect(() => garchForecastVariance(forecastModel, 0.0009, 0)).toThrow(RangeError);
    expect(() => garchForecastVariance(forecastModel, 0.0009, 1.5)).toThrow(RangeError);
    expect(() => garchTermVariance(forecastModel, 0.0009, 0)).toThrow(RangeError);
    expect(() => garchTermVariance(forecastModel, -1, 2)).toThrow(RangeError);
  });
});

describe('fitGarch11', () => {
  const truth: GarchParameters = { omega: 0.00002, alpha: 0.1, beta: 0.85 };
  const simulated = simulateGarch(truth, 3000, 20240601);

  it('recovers the parameters of a simulated GARCH path and reports a consistent fit', () => {
    // Act
    const fit = fitGarch11(simulated);

    // Assess
    expect(fit.converged).toBe(true);
    expect(fit.n).toBe(3000);
    expect(fit.alpha).toBeGreaterThan(0.06);
    expect(fit.alpha).toBeLessThan(0.14);
    expect(fit.beta).toBeGreaterThan(0.78);
    expect(fit.beta).toBeLessThan(0.92);
    expect(fit.persistence).toBeCloseTo(fit.alpha + fit.beta, 15);
    expect(fit.persistence).toBeLessThan(1);
    expect(fit.longRunVariance).toBeCloseTo(fit.omega / (1 - fit.persistence), 15);
    expect(fit.negLogLik).toBeCloseTo(garchNegLogLik(simulated, fit), 9);
    const variances = garchVariances(simulated, fit);
    expect(fit.sigmaNext).toBeCloseTo(Math.sqrt(variances[3000] ?? Number.NaN), 15);
  });

  it('finds a likelihood no worse than the truth and than nearby points (a local minimum)', () => {
    // Prepare
    const fit = fitGarch11(simulated);
    const nudges = [
      { ...fit, omega: fit.omega * 1.01 },
      { ...fit, omega: fit.omega * 0.99 },
      { ...fit, alpha: fit.alpha + 0.002 },
      { ...fit, alpha: fit.alpha - 0.002 },
      { ...fit, beta: fit.beta + 0.002 },
      { ...fit, beta: fit.beta - 0.002 },
    ];

    // Act
    const atTruth = garchNegLogLik(simulated, truth);
    const nearby = nudges.map((p) => garchNegLogLik(simulated, p));

    // Assess
    expect(fit.negLogLik).toBeLessThanOrEqual(atTruth);
    for (const value of nearby) expect(fit.negLogLik).toBeLessThan(value);
  });

  it('is scale-aware: percent returns give ω × 100², the same α, β, and negLogLik + n·ln(100)', () => {
    // Prepare
    const percent = simulated.map((r) => 100 * r);

    // Act
    const fractionFit = fitGarch11(simulated);
    const percentFit = fitGarch11(percent);

    // Assess
    expect(percentFit.omega / (fractionFit.omega * 1e4)).toBeCloseTo(1, 6);
    expect(percentFit.alpha).toBeCloseTo(fractionFit.alpha, 7);
    expect(percentFit.beta).toBeCloseTo(fractionFit.beta, 7);
    expect(percentFit.negLogLik).toBeCloseTo(fractionFit.negLogLik + 3000 * Math.log(100), 6);
    expect(percentFit.sigmaNext).toBeCloseTo(100 * fractionFit.sigmaNext, 6);
  });

  it('reaches the same optimum from a warm start', () => {
    // Prepare
    const cold = fitGarch11(simulated);

    // Act
    const warm = fitGarch11(simulated, { initial: { omega: 0.00005, alpha: 0.2, beta: 0.6 } });

    // Assess
    expect(warm.converged).toBe(true);
    expect(warm.negLogLik).toBeCloseTo(cold.negLogLik, 6);
    expect(warm.beta).toBeCloseTo(cold.beta, 4);
  });

  it(`rejects fewer than ${GARCH_MIN_RETURNS} returns, all-zero returns and non-finite returns`, () => {
    expect(() => fitGarch11(simulated.slice(0, GARCH_MIN_RETURNS - 1))).toThrow(
      `at least ${GARCH_MIN_RETURNS} returns; got ${GARCH_MIN_RETURNS - 1}`,
    );
    expect(() => fitGarch11(Array.from({ length: 100 }, () => 0))).toThrow('every return is zero');
    const withGap = [...simulated.slice(0, 50)];
    withGap[7] = Number.NaN;
    expect(() => fitGarch11(withGap)).toThrow('index 7');
  });
});
