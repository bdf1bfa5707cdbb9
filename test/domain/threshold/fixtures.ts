import { type Candle, type CandleSeries, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { DEFAULT_THRESHOLD_POLICY, type ThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../../lib/domain/threshold/threshold.ts';

/**
 * Test fixtures for the threshold model and the backtest: small synthetic series built from given log
 * returns, and helpers that cut or change a series. The real price files: test/data/shared.ts.
 */

/** Midnight UTC of a YYYY-MM-DD day (ms). */
export function dayStart(day: string): number {
  return Date.parse(`${day}T00:00:00Z`);
}

/** The candles strictly before `day`: what a run on that day sees. */
export function candlesBefore(series: CandleSeries, day: string): CandleSeries {
  const cut = dayStart(day);
  return { ...series, candles: series.candles.filter((c) => c.time < cut) };
}

/** A copy of the series with one candle replaced (by index). */
export function withCandle(series: CandleSeries, index: number, change: Partial<Candle>): CandleSeries {
  return {
    ...series,
    candles: series.candles.map((c, i) => (i === index ? { ...c, ...change } : c)),
  };
}

/**
 * Every log price move of the series (close to close and, within a bar, open to high/low/close) multiplied
 * by `k`: the same path with `k` times the volatility. Ordering within each bar is preserved, so valid
 * bars stay valid.
 */
export function scaleReturns(series: CandleSeries, k: number): CandleSeries {
  const first = series.candles[0];
  if (!first) return series;
  const candles: Candle[] = [];
  let previousClose = first.open;
  let scaledPreviousClose = first.open;
  for (const c of series.candles) {
    const open = scaledPreviousClose * (c.open / previousClose) ** k;
    const scale = (price: number) => open * (price / c.open) ** k;
    candles.push({
      time: c.time,
      open,
      high: scale(c.high),
      low: scale(c.low),
      close: scale(c.close),
      volume: c.volume,
    });
    previousClose = c.close;
    scaledPreviousClose = scale(c.close);
  }
  return { ...series, candles };
}

/**
 * Daily candles from closes: open = previous close, high/low = the larger/smaller of open and close, volume
 * 1e6. The first candle opens at its own close.
 */
export function seriesFromCloses(
  closes: readonly number[],
  firstDay: string,
  instrument = 'TEST',
): CandleSeries {
  const start = dayStart(firstDay);
  const candles = closes.map((close, i) => {
    const open = closes[i - 1] ?? close;
    return {
      time: start + i * DAY_MS,
      open,
      high: Math.max(open, close),
      low: Math.min(open, close),
      close,
      volume: 1e6,
    };
  });
  return { instrument, intervalMs: DAY_MS, candles, source: 'test' };
}

/**
 * A copy of a threshold moved to another initial margin rate, with maintenance, warning and liquidation rates
 * derived from it as the policy would: a consistent stand-in for a previous threshold at that rate.
 */
export function withRate(
  threshold: Threshold,
  rate: number,
  policy: ThresholdPolicy = DEFAULT_THRESHOLD_POLICY,
): Threshold {
  const maintenance = rate * policy.maintenanceFraction;
  return {
    ...threshold,
    initialMarginRate: rate,
    maintenanceMarginRate: maintenance,
    warningMarginRate: maintenance * policy.levels.warning,
    liquidationMarginRate: maintenance * policy.levels.liquidation,
  };
}
