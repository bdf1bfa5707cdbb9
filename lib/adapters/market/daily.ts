/**
 * What every venue adapter does to its rows once parsed: alignment to the bar length (a UTC day, or an
 * hour for an hourly MPOR), the `[from, to)` window, completed bars only, one candle per bar open, oldest
 * first. Plus the zod pieces for venue number formats.
 */
import { z } from 'zod';
import type { InstrumentCatalogue } from '../../config/instruments.ts';
import { MarketSourceError } from '../../domain/errors.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../../domain/market/candle.ts';
import type { TimeRange } from '../../ports.ts';
import type { VenueHttpOptions } from './http.ts';

/** A decimal string as Binance and Kraken send prices (`"0.01634790"`), parsed to a number. */
export const decimalString = z
  .string()
  .regex(/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/, 'expected a decimal string')
  .transform(Number);

/** A price: finite and above zero, whether sent as a number or a decimal string. */
export const priceNumber = z.number().positive();
export const priceString = decimalString.pipe(z.number().positive());
/** A volume or turnover: finite, zero allowed (a day without trades). */
export const amountNumber = z.number().nonnegative();
export const amountString = decimalString.pipe(z.number().nonnegative());

/** The bar lengths the venue adapters fetch: daily, and hourly for a sub-day margin period of risk. */
export const BAR_INTERVALS = ['1d', '1h'] as const;
export type BarInterval = (typeof BAR_INTERVALS)[number];

export const HOUR_MS = 3_600_000;

export const BAR_INTERVAL_MS: Readonly<Record<BarInterval, number>> = { '1d': DAY_MS, '1h': HOUR_MS };

/** The bar opens `[from, to)` covers at one bar length: `firstBar ≤ open < endBar`, multiples of it. */
export interface BarWindow {
  readonly firstBar: number;
  readonly endBar: number;
  readonly intervalMs: number;
}

/**
 * The bar opens inside `range` at `intervalMs` (a bar whose open lies before `from` is outside).
 *
 * @example
 * barWindow({ from: Date.UTC(2024, 0, 1, 0, 30), to: Date.UTC(2024, 0, 1, 3) }, HOUR_MS);
 * // { firstBar: Date.UTC(2024, 0, 1, 1), endBar: Date.UTC(2024, 0, 1, 3), intervalMs: HOUR_MS }
 */
export function barWindow(range: TimeRange, intervalMs: number): BarWindow {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to)) {
    throw new RangeError(`time range must be finite ms, got [${range.from}, ${range.to})`);
  }
  const firstBar = Math.ceil(range.from / intervalMs) * intervalMs;
  const endBar = Math.max(firstBar, Math.ceil(range.to / intervalMs) * intervalMs);
  return { firstBar, endBar, intervalMs };
}

/**
 * Split a window into consecutive chunks of at most `maxBars` bar opens each, for venues that cap rows.
 *
 * @example
 * chunkBars(barWindow({ from: 0, to: 5 * HOUR_MS }, HOUR_MS), 2).length; // 3
 */
export function chunkBars(window: BarWindow, maxBars: number): BarWindow[] {
  if (!Number.isInteger(maxBars) || maxBars < 1) throw new RangeError(`maxBars must be ≥ 1, got ${maxBars}`);
  const step = maxBars * window.intervalMs;
  const chunks: BarWindow[] = [];
  for (let start = window.firstBar; start < window.endBar; start += step) {
    chunks.push({
      firstBar: start,
      endBar: Math.min(window.endBar, start + step),
      intervalMs: window.intervalMs,
    });
  }
  return chunks;
}

/** The UTC day opens a `[from, to)` range covers: `firstDay ≤ day < endDay`, both multiples of a day. */
export interface DayWindow {
  readonly firstDay: number;
  readonly endDay: number;
}

/**
 * The day opens inside `range`. A day whose open lies before `from` is outside, as `[from, to)` says.
 *
 * @example
 * dayWindow({ from: Date.UTC(2024, 0, 1, 12), to: Date.UTC(2024, 0, 4) });
 * // { firstDay: Date.UTC(2024, 0, 2), endDay: Date.UTC(2024, 0, 4) }
 */
export function dayWindow(range: TimeRange): DayWindow {
  if (!Number.isFinite(range.from) || !Number.isFinite(range.to)) {
    throw new RangeError(`time range must be finite ms, got [${range.from}, ${range.to})`);
  }
  const firstDay = Math.ceil(range.from / DAY_MS) * DAY_MS;
  const endDay = Math.max(firstDay, Math.ceil(range.to / DAY_MS) * DAY_MS);
  return { firstDay, endDay };
}

/**
 * Split a window into consecutive chunks of at most `maxDays` day opens each, for venues that cap rows.
 *
 * @example
 * chunkDays({ firstDay: 0, endDay: 5 * DAY_MS }, 2).length; // 3
 */
export function chunkDays(window: DayWindow, maxDays: number): DayWindow[] {
  if (!Number.isInteger(maxDays) || maxDays < 1) throw new RangeError(`maxDays must be ≥ 1, got ${maxDays}`);
  const chunks: DayWindow[] = [];
  for (let start = window.firstDay; start < window.endDay; start += maxDays * DAY_MS) {
    chunks.push({ firstDay: start, endDay: Math.min(window.endDay, start + maxDays * DAY_MS) });
  }
  return chunks;
}

export interface FinaliseContext {
  readonly venue: string;
  readonly instrument: string;
  readonly range: TimeRange;
  /** The bar whose close is after `now()` is still open and is dropped. */
  readonly now: () => number;
}

/**
 * Turn a venue's parsed rows into the series the port promises: oldest first, one candle per UTC day (the
 * later row wins a duplicate: pages overlap at their edges), inside `[from, to)`, completed bars only.
 *
 * Rows not at a UTC day open are rejected rather than floored: a seconds/ms mix-up or a venue bar that
 * opens at 08:00 would otherwise be silently relabelled as another day.
 *
 * Open bars are dropped on every venue, not only Kraken (which always sends one): a partial day is not a
 * daily return, and if only some venues sent today's bar, consensus would wrongly call the others stale.
 *
 * @example
 * finaliseDailyCandles(rows, { venue: 'binance', instrument: 'BTC', range, now: Date.now });
 */
export function finaliseDailyCandles(rows: readonly Candle[], context: FinaliseContext): CandleSeries {
  return finaliseCandles(rows, context, DAY_MS);
}

/**
 * {@link finaliseDailyCandles} at any bar length: each row must open on a multiple of `intervalMs` (an hour
 * open for hourly bars), and the bar still open at `now()` (its open + `intervalMs` after now) is dropped.
 *
 * @example
 * finaliseCandles(rows, { venue: 'binance', instrument: 'ETH', range, now: Date.now }, HOUR_MS);
 */
export function finaliseCandles(
  rows: readonly Candle[],
  context: FinaliseContext,
  intervalMs: number,
): CandleSeries {
  const nowMs = context.now();
  const byOpen = new Map<number, Candle>();
  const what = intervalMs === DAY_MS ? 'a UTC day open' : `a ${intervalMs / HOUR_MS}h bar open`;
  for (const row of rows) {
    if (!Number.isInteger(row.time) || row.time % intervalMs !== 0) {
      throw new MarketSourceError(
        `${context.venue} ${context.instrument}: candle time ${describeTime(row.time)} is not ${what}`,
        context.venue,
        context.instrument,
      );
    }
    if (row.time < context.range.from || row.time >= context.range.to) continue;
    if (row.time + intervalMs > nowMs) continue;
    byOpen.set(row.time, row);
  }
  const candles = [...byOpen.values()].sort((a, b) => a.time - b.time);
  return { instrument: context.instrument, intervalMs, candles, source: context.venue };
}

function describeTime(time: number): string {
  const date = new Date(time);
  return Number.isNaN(date.getTime()) ? String(time) : `${time} (${date.toISOString()})`;
}

/** Options every exchange source takes: connection settings plus the catalogue and the clock. */
export interface VenueSourceOptions extends VenueHttpOptions {
  /** @default DEFAULT_INSTRUMENT_CATALOGUE */
  readonly catalogue?: InstrumentCatalogue;
  /** Decides which bar is still open. @default Date.now */
  readonly now?: () => number;
  /** The bar length fetched: `1h` for an hourly margin period of risk. @default '1d' */
  readonly interval?: BarInterval;
}
