/**
 * One OHLCV bar. `time` is the bar's open time in milliseconds since the epoch (UTC); prices are in the
 * quote currency, volume in the quote currency where the source gives it (else base currency).
 */
export interface Candle {
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/** A candle series for one instrument at one bar interval, oldest first. */
export interface CandleSeries {
  readonly instrument: string;
  /** Bar length in milliseconds (86_400_000 for daily bars). */
  readonly intervalMs: number;
  readonly candles: readonly Candle[];
  /** Where the candles came from (venue name, `file:…`, `consensus(…)`, `generated`). */
  readonly source: string;
  /**
   * Venues whose closes agreed on every candle (a consensus keeps only days a quorum agrees on). Absent for
   * a single source (one venue, one file): an extreme move it alone prints stays unconfirmed.
   */
  readonly confirmingVenues?: number;
}

export const DAY_MS = 86_400_000;

/** The UTC calendar day (YYYY-MM-DD) of a millisecond timestamp. */
export function utcDay(timeMs: number): string {
  return new Date(timeMs).toISOString().slice(0, 10);
}
