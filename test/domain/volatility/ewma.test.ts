import { describe, expect, it } from 'vitest';
import { ewmaVariances, ewmaVolatility, logReturns } from '../../../lib/domain/volatility/index.ts';

describe('ewmaVariances', () => {
  it('holds the seed first and the next-day forecast last (n + 1 values)', () => {
    // Prepare
    const returns = [0.01, -0.02, 0.03];

    // Act
    const variances = ewmaVariances(returns, { lambda: 0.94, seed: { variance: 0.0004 } });

    // Assess
    expect(variances).toHaveLength(4);
    expect(variances[0]).toBe(0.0004);
    expect(variances[1]).toBeCloseTo(0.94 * 0.0004 + 0.06 * 0.0001, 18);
    expect(variances[3]).toBeCloseTo(
      0.94 * (0.94 * (0.94 * 0.0004 + 0.06 * 0.0001) + 0.06 * 0.0004) + 0.06 * 0.0009,
      18,
    );
  });

  it("seeds 'first-squared' with r_0², QuantLib's convention", () => {
    // Act
    const variances = ewmaVariances([0.03, 0.01], { lambda: 0.9, seed: 'first-squared' });

    // Assess
    expect(variances[0]).toBeCloseTo(0.0009, 18);
  });

  it("seeds 'mean-squared' with the first 30 returns by default, or seedWindow of them", () => {
    // Prepare: 29 returns of 1%, a 4% return at index 29 (the last one the default window sees), 10 of 5%
    const returns = [
      ...Array.from({ length: 29 }, () => 0.01),
      0.04,
      ...Array.from({ length: 10 }, () => 0.05),
    ];

    // Act
    const byDefault = ewmaVariances(returns, { lambda: 0.94 });
    const overAll = ewmaVariances(returns, { lambda: 0.94, seed: 'mean-squared', seedWindow: 40 });

    // Assess
    expect(byDefault[0]).toBeCloseTo((29 * 0.0001 + 0.0016) / 30, 18);
    expect(overAll[0]).toBeCloseTo((29 * 0.0001 + 0.0016 + 10 * 0.0025) / 40, 18);
  });

  it.each([0, 1, -0.5, Number.NaN])('rejects lambda %s', (lambda) => {
    expect(() => ewmaVariances([0.01], { lambda })).toThrow(RangeError);
  });

  it('rejects a non-finite return, naming its index', () => {
    expect(() => ewmaVariances([0.01, Number.NaN], { lambda: 0.94 })).toThrow('index 1');
  });

  it('rejects a return-based seed with no returns, and a bad seed window', () => {
    expect(() => ewmaVariances([], { lambda: 0.94 })).toThrow(RangeError);
    expect(() => ewmaVariances([0.01], { lambda: 0.94, seedWindow: 0 })).toThrow(RangeError);
    expect(() => ewmaVariances([0.01], { lambda: 0.94, seed: { variance: -1 } })).toThrow(RangeError);
  });
});

describe('ewmaVolatility: reference values (margin-methods §5.5)', () => {
  it("reproduces Hull's EWMA update: λ = 0.90, σ = 1%, u = 2% → σ²_n = 0.00013, σ_n = 1.1402%", () => {
    // Act
    const variances = ewmaVariances([0.02], { lambda: 0.9, seed: { variance: 0.01 ** 2 } });
    const sigma = ewmaVolatility([0.02], { lambda: 0.9, seed: { variance: 0.01 ** 2 } });

    // Assess
    expect(variances[1]).toBeCloseTo(0.00013, 12);
    expect(sigma).toBeCloseTo(0.011402, 6);
  });

  it('reproduces the computed-here example: λ = 0.94, σ = 1.5%, price 30 → 30.50', () => {
    // Prepare
    const seed = { variance: 0.015 ** 2 };
    const simple = 30.5 / 30 - 1;

    // Act
    const simpleVariance = ewmaVariances([simple], { lambda: 0.94, seed })[1];
    const logSigma = ewmaVolatility(logReturns([30, 30.5]), { lambda: 0.94, seed });

    // Assess
    expect(simpleVariance).toBeCloseTo(0.000228167, 9);
    expect(Math.sqrt(simpleVariance ?? Number.NaN)).toBeCloseTo(0.01510519, 8);
    expect(logSigma).toBeCloseTo(0.01509613, 8);
  });

  it('reproduces the computed-here example: λ = 0.94, σ = 1.90%, price 10 → 11.275', () => {
    // Prepare
    const seed = { variance: 0.019 ** 2 };
    const logReturn = logReturns([10, 11.275]);

    // Act
    const logSigma = ewmaVolatility(logReturn, { lambda: 0.94, seed });
    const simpleSigma = ewmaVolatility([0.1275], { lambda: 0.94, seed });

    // Assess
    expect(logReturn[0]).toBeCloseTo(0.1200028, 7);
    expect(logSigma).toBeCloseTo(0.03468977, 8);
    expect(simpleSigma).toBeCloseTo(0.036259, 6);
  });

  it('reproduces the FHS toy example: σ_{T+1} = 0.0176219 and its scaled returns', () => {
    // Prepare
    const returns = [0.01, -0.02, 0.015, -0.03, 0.005, 0.02, -0.01, 0.0, -0.025, 0.012];
    const expectedScaled = [
      0.009701, -0.01982, 0.014748, -0.029765, 0.004706, 0.019372, -0.009626, 0, -0.02536, 0.0118,
    ];

    // Act
    const options = { lambda: 0.94, seed: 'mean-squared', seedWindow: 5 } as const;
    const variances = ewmaVariances(returns, options);
    const sigmaNext = ewmaVolatility(returns, options);
    // FHS: each return divided by the σ held before it (element t), times today's σ.
    const scaled = returns.map((r, t) => (r * sigmaNext) / Math.sqrt(variances[t] ?? Number.NaN));

    // Assess
    expect(sigmaNext).toBeCloseTo(0.0176219, 7);
    scaled.forEach((value, t) => {
      expect(value).toBeCloseTo(expectedScaled[t] ?? Number.NaN, 6);
    });
  });
});
