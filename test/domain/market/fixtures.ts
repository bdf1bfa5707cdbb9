import { type Candle, type CandleSeries, DAY_MS } from '../../../lib/domain/market/candle.ts';

// Synthetic series for the market-data tests. The real price files: test/data/shared.ts.

export const START = Date.UTC(2023, 0, 1);

/** A well-formed daily candle closing at `close`, opening at `open` (default: the close). */
export function candle(time: number, close: number, open = close, volume = 1_000_000): Candle {
  return { time, open, high: Math.max(open, close) * 1.01, low: Math.min(open, close) * 0.99, close, volume };
}

/** Clean daily candles from `START`, one per close, each opening at the previous close. */
export function dailySeries(closes: readonly number[], instrument = 'BTC'): CandleSeries {
  const candles = closes.map((close, i) =>
    candle(START + i * DAY_MS, close, i === 0 ? close : (closes[i - 1] ?? close)),
  );
  return { instrument, intervalMs: DAY_MS, candles, source: 'test' };
}

/** `count` closes wandering gently around 100 (±2% a day), deterministic. */
export function gentleCloses(count: number): number[] {
  return Array.from({ length: count }, (_, i) => 100 * (1 + 0.02 * Math.sin(i)));
}

export function withCandles(series: CandleSeries, candles: readonly Candle[]): CandleSeries {
  return { ...series, candles };
}

/** Replace candle `index` with a modified copy. */
export function patchCandle(series: CandleSeries, index: number, patch: Partial<Candle>): CandleSeries {
  return withCandles(
    series,
    series.candles.map((c, i) => (i === index ? { ...c, ...patch } : c)),
  );
}

/** `asOf` right after the last candle closed: the freshest a run can be. */
export function dayAfterLast(series: CandleSeries): number {
  const last = series.candles.at(-1);
  if (!last) throw new Error('empty series');
  return last.time + series.intervalMs;
}
