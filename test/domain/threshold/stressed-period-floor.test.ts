import { describe, expect, it } from 'vitest';
import type { Candle, CandleSeries } from '../../../lib/domain/market/candle.ts';
import { stressedPeriodVolatility } from '../../../lib/domain/threshold/floors.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';

const DAY = 86_400_000;

describe('stressedPeriodVolatility: the most volatile window of the lookback (issue 14 item 2)', () => {
  const returns = [0.01, -0.03, 0.04, 0.01];

  it('takes the largest root mean square of consecutive windows', () => {
    // Windows of 2: (0.01² + 0.03²)/2 = 0.0005, (0.03² + 0.04²)/2 = 0.00125, (0.04² + 0.01²)/2 = 0.00085.
    expect(stressedPeriodVolatility(returns, 2, 4)).toBeCloseTo(Math.sqrt(0.00125), 15);
  });

  it('lets a window age out of the lookback', () => {
    // The last 2 returns only (0.04, 0.01): the 0.03 day has left.
    expect(stressedPeriodVolatility(returns, 2, 2)).toBeCloseTo(Math.sqrt(0.00085), 15);
  });

  it('reads only the first `end` returns (the history before a backtest day)', () => {
    expect(stressedPeriodVolatility(returns, 2, 4, 2)).toBeCloseTo(Math.sqrt(0.0005), 15);
  });

  it('takes every return when the lookback is shorter than the window', () => {
    // (0.0001 + 0.0009 + 0.0016 + 0.0001) / 4 = 0.000675
    expect(stressedPeriodVolatility(returns, 10, 4)).toBeCloseTo(Math.sqrt(0.000675), 15);
  });
});

/** Daily closes from log returns: a calm stretch, a stressed month, then calm again. */
function series(returns: readonly number[]): CandleSeries {
  const start = Date.UTC(2020, 0, 1);
  let close = 100;
  const candles: Candle[] = [{ time: start, open: close, high: close, low: close, close, volume: 1000 }];
  returns.forEach((r, i) => {
    const open = close;
    close = open * Math.exp(r);
    candles.push({
      time: start + (i + 1) * DAY,
      open,
      high: Math.max(open, close),
      low: Math.min(open, close),
      close,
      volume: 1000,
    });
  });
  return { instrument: 'GEN', intervalMs: DAY, candles, source: 'generated' };
}

describe('recalibrate: the stressed-period floor', () => {
  // 100 calm days at ±1%, 30 stressed days at ±6% (two up, two down: no single-bar reversal), then 470 calm
  // days. Today the stressed month is 470–500 returns old.
  const calm = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 0.01 : -0.01));
  const stressed = Array.from({ length: 30 }, (_, i) => (i % 4 < 2 ? 0.06 : -0.06));
  const prices = series([...calm(100), ...stressed, ...calm(470)]);
  const policy = (years: number) =>
    parseThresholdPolicy({
      // A 10-year floor at 1% keeps EMIR Art. 28 satisfied without binding.
      antiProcyclicality: {
        longLookbackFloor: { years: 10, share: 0.01 },
        stressedPeriodFloor: { share: 0.8, windowDays: 30, years },
      },
      stress: { scenarios: [] },
    });
  const asOf = (prices.candles.at(-1) as Candle).time + DAY;

  it('floors the margin at share × the risk measure on the stressed month’s σ while it is in the window', () => {
    // Act: a 2-year window (730 returns) still holds the stressed month
    const threshold = recalibrate(policy(2), prices, undefined, { asOf });

    // Assess: the stressed month's σ is 6% exactly; the floor is 0.8 × (e^{multiplier × 0.06} − 1)
    const c = threshold.components;
    const expected = 0.8 * Math.expm1((c.riskMultiplier as number) * 0.06);
    expect(c.apcStressedFloorRate).toBeCloseTo(expected, 12);
    expect(threshold.activeBound).toBe('apc-stressed-floor');
    expect(threshold.initialMarginRate).toBeCloseTo(expected, 12);
    expect(threshold.initialMarginRate).toBeGreaterThan(c.modelRate * 2);
  });

  it('lets the stressed month age out: after a year the floor is on the calm σ (1%)', () => {
    // Act: a 1-year window (365 returns) no longer holds the month that is 470 returns old
    const threshold = recalibrate(policy(1), prices, undefined, { asOf });

    // Assess
    const c = threshold.components;
    expect(c.apcStressedFloorRate).toBeCloseTo(0.8 * Math.expm1((c.riskMultiplier as number) * 0.01), 12);
    expect(threshold.activeBound).not.toBe('apc-stressed-floor');
  });

  it('is absent from the components when the policy has none', () => {
    const none = parseThresholdPolicy({
      antiProcyclicality: { stressedPeriodFloor: null },
      stress: { scenarios: [] },
    });
    const threshold = recalibrate(none, prices, undefined, {
      asOf,
    });
    expect(threshold.components.apcStressedFloorRate).toBeUndefined();
  });
});
