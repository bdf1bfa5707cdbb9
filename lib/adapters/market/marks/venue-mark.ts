/**
 * What every venue's current-price adapter shares: its options and defaults, the zod pieces for venue times,
 * and the last check of a mark before it leaves the adapter (a time in ms that is neither seconds read as
 * ms nor in the future).
 */
import { z } from 'zod';
import type { InstrumentCatalogue } from '../../../config/instruments.ts';
import { MarketSourceError } from '../../../domain/errors.ts';
import type { VenueMark } from '../../../domain/market/mark.ts';
import type { RetryPolicy } from '../../retry.ts';
import type { VenueHttpOptions } from '../http.ts';

/** Options every venue mark source takes: connection settings plus the catalogue and the clock. */
export interface VenueMarkOptions extends VenueHttpOptions {
  /** @default DEFAULT_INSTRUMENT_CATALOGUE */
  readonly catalogue?: InstrumentCatalogue;
  /** Stamps a price the venue sends no time for (Kraken) and bounds venue times from above. @default Date.now */
  readonly now?: () => number;
}

/**
 * Per-attempt timeout for a current price. Shorter than the candle default (10 s): the market watch runs
 * every minute, and a venue that takes longer than this to quote one price is better left out of the
 * consensus than waited for.
 */
export const MARK_TIMEOUT_MS = 5_000;

/**
 * Retries for a current price: three attempts within 20 s, so a snapshot is done well inside its minute
 * (3 × 5 s timeouts plus backoff). A Retry-After longer than the deadline ends the retries at once.
 */
export const MARK_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  deadlineMs: 20_000,
};

/** The mark defaults under the caller's own settings. */
export function markHttpDefaults(options: VenueHttpOptions): VenueHttpOptions {
  return {
    ...options,
    timeoutMs: options.timeoutMs ?? MARK_TIMEOUT_MS,
    retryPolicy: options.retryPolicy ?? MARK_RETRY_POLICY,
  };
}

/** A venue time in ms since the epoch, sent as an integer. */
export const msNumber = z.number().int();

/** A venue time in ms sent as an integer or a string of digits (Binance's docs show one, ccxt the other). */
export const msNumberOrString = z.union([
  msNumber,
  z.string().regex(/^\d+$/, 'expected ms digits').transform(Number),
]);

/** An ISO-8601 time with its offset (`2024-06-10T06:13:20.123456Z`), read to ms (µs digits cut). */
export const isoTimeMs = z.iso.datetime({ offset: true }).transform((iso) => Date.parse(iso));

/**
 * No venue qmt reads quoted these instruments before 2010: an earlier "ms" time is seconds read as ms (a
 * 2024 time in seconds is 1970-01-20 in ms) or junk.
 */
export const EARLIEST_MARK_MS = Date.UTC(2010, 0, 1);

/**
 * How far a venue's time may run ahead of our clock (NTP-synced hosts differ by far less). A time further
 * ahead is µs read as ms or a broken venue clock, and would make a mark look fresher than it is.
 */
export const MAX_VENUE_CLOCK_AHEAD_MS = 60_000;

/**
 * The mark, once its price is a finite positive number and its time a plausible ms time no later than
 * `nowMs` plus the allowed clock lead; otherwise a `MarketSourceError` naming venue, instrument and value.
 *
 * @example
 * checkedVenueMark({ venue: 'coinbase', instrument: 'BTC', price: 67018.41, at: 1718000000123 }, Date.now());
 */
export function checkedVenueMark(mark: VenueMark, nowMs: number): VenueMark {
  const fail = (reason: string) =>
    new MarketSourceError(`${mark.venue} ${mark.instrument}: ${reason}`, mark.venue, mark.instrument);
  if (!Number.isFinite(mark.price) || !(mark.price > 0)) {
    throw fail(`price ${mark.price} is not a positive number`);
  }
  if (!Number.isInteger(mark.at)) throw fail(`price time ${mark.at} is not a time in ms`);
  if (mark.at < EARLIEST_MARK_MS) {
    throw fail(`price time ${describeTime(mark.at)} is before 2010: seconds read as ms, or not a time`);
  }
  if (mark.at > nowMs + MAX_VENUE_CLOCK_AHEAD_MS) {
    throw fail(
      `price time ${describeTime(mark.at)} is ${Math.round((mark.at - nowMs) / 1_000)} s ahead of the clock (${describeTime(nowMs)})`,
    );
  }
  return mark;
}

function describeTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : `${ms} (${date.toISOString()})`;
}
