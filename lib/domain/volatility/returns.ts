import { MarketDataError } from '../errors.ts';
import type { Candle } from '../market/candle.ts';

/** Instrument name used in errors when the caller did not say which instrument the candles belong to. */
const UNNAMED_INSTRUMENT = '(unnamed)';

/** One log return, dated by the candle whose close ends it. */
export interface DatedReturn {
  /** Open time (ms since epoch, UTC) of the SECOND candle: the return is known once that candle closes. */
  readonly time: number;
  /** ln(close_i / close_{i−1}), a fraction (0.01 ≈ 1%). */
  readonly value: number;
}

/**
 * Daily log returns r_i = ln(c_i / c_{i−1}) of a close series (oldest first); one fewer than the closes.
 * Log returns add over days, which is what the √h and GARCH term scalings assume.
 *
 * @throws RangeError when a close is not a finite positive number (names the index and value).
 * @example
 * logReturns([100, 110, 99]); // [0.0953102, -0.1053605]
 */
export function logReturns(closes: readonly number[]): number[] {
  const returns: number[] = new Array(Math.max(0, closes.length - 1));
  let previous = Number.NaN;
  for (let i = 0; i < closes.length; i++) {
    const close = closes[i] as number;
    if (!(Number.isFinite(close) && close > 0)) {
      throw new RangeError(`close at index ${i} is ${close}: closes must be finite and positive`);
    }
    if (i > 0) returns[i - 1] = Math.log(close / previous);
    previous = close;
  }
  return returns;
}

/**
 * Log returns of a candle series, each dated by the open time of the candle whose close ends it, so a
 * window "returns dated in [from, to]" keeps exactly the days whose close it contains.
 *
 * @param instrument Named in the error when a candle is unusable.
 * @throws MarketDataError when a close is not finite and positive, or times do not strictly increase.
 * @example
 * datedLogReturns([
 *   { time: Date.UTC(2024, 0, 1), open: 1, high: 1, low: 1, close: 100, volume: 0 },
 *   { time: Date.UTC(2024, 0, 2), open: 1, high: 1, low: 1, close: 110, volume: 0 },
 * ]); // [{ time: Date.UTC(2024, 0, 2), value: 0.0953102 }]
 */
export function datedLogReturns(
  candles: readonly Candle[],
  instrument: string = UNNAMED_INSTRUMENT,
): DatedReturn[] {
  const returns: DatedReturn[] = [];
  let previous: Candle | undefined;
  for (let i = 0; i < candles.length; i++) {
    const candle = candles[i] as Candle;
    if (!(Number.isFinite(candle.close) && candle.close > 0)) {
      throw new MarketDataError(
        `${instrument}: close at index ${i} is ${candle.close}; closes must be finite and positive`,
        instrument,
        candle.time,
      );
    }
    if (previous !== undefined) {
      if (!(candle.time > previous.time)) {
        throw new MarketDataError(
          `${instrument}: candle at index ${i} (time ${candle.time}) does not come after the one before it (time ${previous.time})`,
          instrument,
          candle.time,
        );
      }
      returns.push({ time: candle.time, value: Math.log(candle.close / previous.close) });
    }
    previous = candle;
  }
  return returns;
}

/**
 * Copies returns into a Float64Array after checking each is finite, so the model loops below can run
 * without checks. Internal to the volatility models.
 */
export function finiteReturns(returns: readonly number[], model: string): Float64Array {
  const checked = new Float64Array(returns.length);
  for (let i = 0; i < returns.length; i++) {
    const value = returns[i] as number;
    if (!Number.isFinite(value)) {
      throw new RangeError(`${model}: return at index ${i} is ${value}; returns must be finite numbers`);
    }
    checked[i] = value;
  }
  return checked;
}
