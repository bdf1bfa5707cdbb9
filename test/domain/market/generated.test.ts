import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CandleSeries, DAY_MS, utcDay } from '../../../lib/domain/market/candle.ts';
import { GENERATED_SOURCE, generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_CANDLE_VALIDATION_RULES, validateCandles } from '../../../lib/domain/market/validate.ts';

const END = Date.UTC(2024, 0, 1);

const base = { instrument: 'BTC', days: 400, endTime: END, startPrice: 30_000, seed: 7 };

function logReturns(series: CandleSeries): number[] {
  return series.candles.slice(1).map((c, i) => Math.log(c.close / (series.candles[i]?.close ?? Number.NaN)));
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

function annualisedVolatility(returns: readonly number[]): number {
  const m = mean(returns);
  return Math.sqrt((returns.reduce((sum, r) => sum + (r - m) ** 2, 0) / (returns.length - 1)) * 365);
}

function excessKurtosis(returns: readonly number[]): number {
  const m = mean(returns);
  const variance = mean(returns.map((r) => (r - m) ** 2));
  return mean(returns.map((r) => (r - m) ** 4)) / variance ** 2 - 3;
}

/** Lag-1 autocorrelation of squared returns: positive when volatility clusters. */
function squaredReturnAutocorrelation(returns: readonly number[]): number {
  const squares = returns.map((r) => r * r);
  const m = mean(squares);
  let covariance = 0;
  let variance = 0;
  squares.forEach((square, i) => {
    variance += (square - m) ** 2;
    if (i > 0) covariance += (square - m) * ((squares[i - 1] ?? m) - m);
  });
  return covariance / variance;
}

describe('generateCandles', () => {
  it('is deterministic for a seed and different for another seed', () => {
    // Prepare / Act
    const first = generateCandles(base);
    const again = generateCandles(base);
    const other = generateCandles({ ...base, seed: 8 });

    // Assess
    expect(again).toEqual(first);
    expect(other.candles.map((c) => c.close)).not.toEqual(first.candles.map((c) => c.close));
  });

  it('labels the series as synthetic daily data ending on the last whole day before endTime', () => {
    // Prepare: endTime in the middle of 2024-01-01, so 2023-12-31 is the last closed day.
    const endTime = END + 13 * 3_600_000;

    // Act
    const series = generateCandles({ ...base, endTime });

    // Assess
    expect(series.source).toBe('generated (synthetic, not market data)');
    expect(series.source).toBe(GENERATED_SOURCE);
    expect(series.instrument).toBe('BTC');
    expect(series.intervalMs).toBe(DAY_MS);
    expect(series.candles).toHaveLength(400);
    expect(utcDay(series.candles.at(-1)?.time ?? Number.NaN)).toBe('2023-12-31');
    expect(series.candles.every((c, i) => c.time === END - (400 - i) * DAY_MS)).toBe(true);
    expect(series.candles[0]?.open).toBe(30_000);
    expect(series.candles.slice(1).every((c, i) => c.open === series.candles[i]?.close)).toBe(true);
  });

  it('validates clean with the default rules as of endTime, for any seed', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 30, max: 1500 }), (seed, days) => {
        // Prepare / Act
        const series = generateCandles({ ...base, seed, days, annualVolatility: 0.9 });
        const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES, END);

        // Assess
        expect(report.issues).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });

  it.each([0.3, 0.6, 1.2])('has roughly the requested annual volatility (%f)', (annualVolatility) => {
    // Prepare
    const seeds = Array.from({ length: 12 }, (_, i) => i + 1);

    // Act
    const realised = seeds.map((seed) =>
      annualisedVolatility(logReturns(generateCandles({ ...base, days: 3000, seed, annualVolatility }))),
    );

    // Assess: each path within ±25% (GARCH paths wander), and the average within ±7%.
    for (const volatility of realised) {
      expect(volatility / annualVolatility).toBeGreaterThan(0.75);
      expect(volatility / annualVolatility).toBeLessThan(1.25);
    }
    expect(mean(realised) / annualVolatility).toBeCloseTo(1, 1);
    expect(Math.abs(mean(realised) / annualVolatility - 1)).toBeLessThan(0.07);
  });

  it('has fat tails and volatility clustering, like crypto returns', () => {
    // Prepare
    const paths = [1, 2, 3, 4, 5, 6].map((seed) =>
      logReturns(generateCandles({ ...base, days: 3000, seed })),
    );

    // Act
    const kurtosis = paths.map(excessKurtosis);
    const clustering = mean(paths.map(squaredReturnAutocorrelation));

    // Assess
    expect(Math.min(...kurtosis)).toBeGreaterThan(1);
    expect(clustering).toBeGreaterThan(0.03);
  });

  it('gives every bar a positive volume, and almost every bar a wick beyond its body', () => {
    // Prepare / Act
    const { candles } = generateCandles(base);
    const withWick = candles.filter(
      (c) => c.high > Math.max(c.open, c.close) || c.low < Math.min(c.open, c.close),
    );

    // Assess: a bar that trades only between its open and close is legitimate, but rare.
    expect(candles.every((c) => c.volume > 0)).toBe(true);
    expect(withWick.length / candles.length).toBeGreaterThan(0.95);
  });

  it.each([
    ['days', { days: 0 }],
    ['days', { days: 2.5 }],
    ['startPrice', { startPrice: 0 }],
    ['annualVolatility', { annualVolatility: -0.1 }],
    ['endTime', { endTime: Number.NaN }],
    ['seed', { seed: Number.POSITIVE_INFINITY }],
  ])('refuses an invalid %s', (name, override) => {
    // Prepare / Act / Assess
    expect(() => generateCandles({ ...base, ...override })).toThrow(new RegExp(`^${name} must be`));
  });
});
