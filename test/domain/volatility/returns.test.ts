import { describe, expect, it } from 'vitest';
import { MarketDataError } from '../../../lib/domain/errors.ts';
import type { Candle } from '../../../lib/domain/market/candle.ts';
import { datedLogReturns, logReturns } from '../../../lib/domain/volatility/index.ts';

function candle(day: number, close: number): Candle {
  return { time: Date.UTC(2024, 0, day), open: close, high: close, low: close, close, volume: 0 };
}

describe('logReturns', () => {
  it('gives ln(c_i / c_{i-1}), one fewer than the closes', () => {
    // Prepare
    const closes = [100, 110, 99];

    // Act
    const returns = logReturns(closes);

    // Assess
    expect(returns).toHaveLength(2);
    expect(returns[0]).toBeCloseTo(Math.log(1.1), 15);
    expect(returns[1]).toBeCloseTo(Math.log(0.9), 15);
  });

  it('gives no returns for zero or one close', () => {
    expect(logReturns([])).toEqual([]);
    expect(logReturns([42])).toEqual([]);
  });

  it.each([
    [0, 2],
    [-5, 1],
    [Number.NaN, 2],
    [Number.POSITIVE_INFINITY, 0],
  ])('rejects a close of %s, naming its index %i', (bad, index) => {
    // Prepare
    const closes = [100, 101, 102];
    closes[index] = bad;

    // Act
    const act = () => logReturns(closes);

    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow(`close at index ${index} is ${bad}`);
  });
});

describe('datedLogReturns', () => {
  it('dates each return by the candle whose close ends it', () => {
    // Prepare
    const candles = [candle(1, 100), candle(2, 110), candle(3, 99)];

    // Act
    const returns = datedLogReturns(candles);

    // Assess
    expect(returns.map((r) => r.time)).toEqual([Date.UTC(2024, 0, 2), Date.UTC(2024, 0, 3)]);
    expect(returns[0]?.value).toBeCloseTo(Math.log(1.1), 15);
    expect(returns[1]?.value).toBeCloseTo(Math.log(0.9), 15);
  });

  it('throws MarketDataError naming the instrument, index and candle time of a bad close', () => {
    // Prepare
    const candles = [candle(1, 100), candle(2, 0), candle(3, 99)];

    // Act
    let caught: unknown;
    try {
      datedLogReturns(candles, 'BTC-USD');
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(MarketDataError);
    const error = caught as MarketDataError;
    expect(error.instrument).toBe('BTC-USD');
    expect(error.candleTime).toBe(Date.UTC(2024, 0, 2));
    expect(error.message).toContain('index 1');
  });

  it('throws MarketDataError when candle times do not increase', () => {
    // Prepare
    const candles = [candle(2, 100), candle(1, 101)];

    // Act
    const act = () => datedLogReturns(candles);

    // Assess
    expect(act).toThrow(MarketDataError);
    expect(act).toThrow('does not come after');
  });
});
