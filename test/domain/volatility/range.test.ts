import { describe, expect, it } from 'vitest';
import { MarketDataError } from '../../../lib/domain/errors.ts';
import type { Candle } from '../../../lib/domain/market/candle.ts';
import {
  closeToCloseVolatility,
  garmanKlassVolatility,
  parkinsonVolatility,
  rogersSatchellVolatility,
  yangZhangVolatility,
  yangZhangWeight,
} from '../../../lib/domain/volatility/index.ts';

/** The 5-bar OHLC sample of margin-methods §5.5, previous close 101.0. */
const previousClose = 101.0;
const sampleBars: Candle[] = [
  [101.0, 103.5, 100.5, 103.0],
  [103.0, 104.0, 101.0, 101.5],
  [101.5, 102.5, 99.5, 100.0],
  [100.0, 101.0, 98.0, 98.5],
  [98.5, 100.5, 98.0, 100.0],
].map(([open, high, low, close], day) => ({
  time: Date.UTC(2024, 0, day + 1),
  open: open as number,
  high: high as number,
  low: low as number,
  close: close as number,
  volume: 0,
}));
const sampleCloses = [previousClose, ...sampleBars.map((bar) => bar.close)];

describe('range estimators: margin-methods 5-bar sample', () => {
  it.each([
    ['close-to-close, zero-mean', () => closeToCloseVolatility(sampleCloses), 0.0159889],
    ['close-to-close, sample SD', () => closeToCloseVolatility(sampleCloses, { demean: true }), 0.0177371],
    ['Parkinson', () => parkinsonVolatility(sampleBars), 0.017298],
    ['Garman–Klass', () => garmanKlassVolatility(sampleBars), 0.0177779],
    ['Rogers–Satchell', () => rogersSatchellVolatility(sampleBars), 0.0171429],
    ['Yang–Zhang', () => yangZhangVolatility(sampleBars, previousClose), 0.0172151],
  ])('%s gives the published daily σ to 1e-7', (_name, estimate, expected) => {
    // Act
    const sigma = estimate();

    // Assess
    expect(Math.abs(sigma - expected)).toBeLessThan(1e-7);
  });

  it('uses the Yang–Zhang weight k = 0.34 / (1.34 + (N+1)/(N−1)) = 0.1197183 for 5 bars', () => {
    expect(yangZhangWeight(5)).toBeCloseTo(0.1197183, 7);
  });

  it('counts a gap between bars in Yang–Zhang but not in Rogers–Satchell', () => {
    // Prepare: the same bars, but every open gaps 2% away from the previous close.
    const gapped = sampleBars.map((bar, i) => {
      const factor = i % 2 === 0 ? 1.02 : 1 / 1.02;
      return {
        ...bar,
        open: bar.open * factor,
        high: Math.max(bar.high, bar.open * factor),
        low: Math.min(bar.low, bar.open * factor),
      };
    });

    // Act
    const withGaps = yangZhangVolatility(gapped, previousClose);

    // Assess
    expect(withGaps).toBeGreaterThan(1.5 * yangZhangVolatility(sampleBars, previousClose));
  });
});

describe('range estimators: bad input', () => {
  it('throws MarketDataError naming the bar and field of a non-positive price', () => {
    // Prepare
    const bars = sampleBars.map((bar, i) => (i === 2 ? { ...bar, low: 0 } : bar));

    // Act
    const act = () => parkinsonVolatility(bars);

    // Assess
    expect(act).toThrow(MarketDataError);
    expect(act).toThrow('bar 2');
    expect(act).toThrow('low 0');
  });

  it('throws MarketDataError on a bar whose high and low do not bracket open and close', () => {
    const bars = sampleBars.map((bar, i) => (i === 1 ? { ...bar, high: 102 } : bar));
    expect(() => garmanKlassVolatility(bars)).toThrow('inconsistent');
    expect(() => rogersSatchellVolatility(bars)).toThrow(MarketDataError);
  });

  it('throws on no bars, one bar for Yang–Zhang, a bad previous close, or too few closes', () => {
    expect(() => parkinsonVolatility([])).toThrow(MarketDataError);
    expect(() => yangZhangVolatility(sampleBars.slice(0, 1), previousClose)).toThrow('at least 2 bars');
    expect(() => yangZhangVolatility(sampleBars, Number.NaN)).toThrow(RangeError);
    expect(() => closeToCloseVolatility([100])).toThrow(RangeError);
    expect(() => closeToCloseVolatility([100, 101], { demean: true })).toThrow(RangeError);
    expect(() => closeToCloseVolatility([100, -1, 102])).toThrow('index 1');
  });
});
