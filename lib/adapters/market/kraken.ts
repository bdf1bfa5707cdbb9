/**
 * Kraken spot OHLC, daily or hourly (`interval` 1440 or 60 minutes), `GET /0/public/OHLC`. Kraken serves
 * only its 720 most recent rows (about two years of daily bars, thirty days of hourly ones) whatever `since`
 * says, so this source is for recent data and consensus, never for backfilling: older history is
 * unavailable from Kraken, a range older than that comes back shorter than asked, and a range wholly older
 * is answered empty without a request. Shapes: market-apis.md §4.
 */
import { z } from 'zod';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  venueListing,
} from '../../config/instruments.ts';
import type { Candle, CandleSeries } from '../../domain/market/candle.ts';
import type { MarketDataSource, TimeRange } from '../../ports.ts';
import {
  amountString,
  BAR_INTERVAL_MS,
  type BarInterval,
  barWindow,
  finaliseCandles,
  priceString,
  type VenueSourceOptions,
} from './daily.ts';
import { type MarketHttpClient, type VenueBodyError, venueClient } from './http.ts';

export const KRAKEN_BASE_URL = 'https://api.kraken.com';

/** Rows Kraken returns at most, the newest ones. */
export const KRAKEN_MAX_ROWS = 720;

/** OHLC `interval` in minutes per bar interval. */
const KRAKEN_INTERVAL_MIN: Readonly<Record<BarInterval, number>> = { '1d': 1_440, '1h': 60 };

// Kraken restricts an IP "for a few seconds" after too many public calls; waiting less only extends it.
const KRAKEN_THROTTLE_WAIT_MS = 3_000;
const RETRYABLE_KRAKEN_ERRORS =
  /^(EAPI:Rate limit exceeded|EService:Unavailable|EService:Busy|EGeneral:Temporary lockout)/;

/**
 * Kraken's `error` array, which can be non-empty with HTTP 200.
 *
 * @example
 * krakenBodyError({ error: ['EAPI:Rate limit exceeded'] }); // { retryable: true, … }
 * krakenBodyError({ error: ['EQuery:Unknown asset pair'] }); // { retryable: false, … }
 */
export function krakenBodyError(body: unknown): VenueBodyError | undefined {
  const parsed = z.object({ error: z.array(z.string()).min(1) }).safeParse(body);
  if (!parsed.success) return undefined;
  const errors = parsed.data.error;
  const retryable = errors.every((message) => RETRYABLE_KRAKEN_ERRORS.test(message));
  const throttled = errors.some((message) => message.startsWith('EAPI:Rate limit exceeded'));
  return {
    message: errors.join('; '),
    retryable,
    ...(throttled ? { retryAfterMs: KRAKEN_THROTTLE_WAIT_MS } : {}),
  };
}

/** One row: `[time s, open, high, low, close, vwap, volume base, count]`, prices and volumes as strings. */
export const krakenOhlcRowSchema = z.tuple(
  [
    z.number().int(),
    priceString,
    priceString,
    priceString,
    priceString,
    amountString, // vwap: "0.0" on a bar without trades
    amountString,
    z.number().int(),
  ],
  z.unknown(),
);

/**
 * `{ error: [], result: { <canonical pair>: rows, last } }`. The pair key is Kraken's canonical name
 * (`XXBTZUSD`), not the one we sent, so every key but `last` is validated as rows and exactly one must exist.
 */
export const krakenOhlcResponseSchema = z.object({
  error: z.array(z.string()).max(0),
  result: z
    .object({ last: z.number().int() })
    .catchall(z.array(krakenOhlcRowSchema))
    .superRefine((result, ctx) => {
      const keys = Object.keys(result).filter((key) => key !== 'last');
      if (keys.length !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: [],
          message: `expected one pair key besides "last", found ${keys.length === 0 ? 'none' : keys.join(', ')}`,
        });
      }
    }),
});

export type KrakenOhlcResponse = z.output<typeof krakenOhlcResponseSchema>;

/**
 * The committed rows as candles: the last row, always the still-open bar, is dropped. Volume is base
 * volume × the bar's VWAP, which is exactly the quote turnover, so it is in USD like the other venues.
 *
 * @example
 * krakenOhlcCandles(krakenOhlcResponseSchema.parse(body)); // oldest first, open bar removed
 */
export function krakenOhlcCandles(response: KrakenOhlcResponse): Candle[] {
  const { last: _last, ...pairs } = response.result;
  const rows = Object.values(pairs)[0] ?? [];
  return rows.slice(0, -1).map(([timeS, open, high, low, close, vwap, volume]) => ({
    time: timeS * 1_000,
    open,
    high,
    low,
    close,
    volume: volume * vwap,
  }));
}

/**
 * Kraken OHLC for the recent past (≤ 720 bars back: 720 days daily, 30 days hourly).
 *
 * @example
 * const kraken = new KrakenSource();
 * const series = await kraken.candles('BTC', { from: Date.now() - 90 * DAY_MS, to: Date.now() });
 */
export class KrakenSource implements MarketDataSource {
  readonly name = 'kraken';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;
  private readonly interval: BarInterval;

  constructor(options: VenueSourceOptions = {}) {
    this.client = venueClient('kraken', KRAKEN_BASE_URL, options, krakenBodyError);
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
    this.interval = options.interval ?? '1d';
  }

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    const { pair } = venueListing(this.catalogue, instrument, 'kraken');
    const intervalMs = BAR_INTERVAL_MS[this.interval];
    const window = barWindow(range, intervalMs);
    const context = { venue: this.name, instrument, range, now: this.now };
    // The oldest bar open Kraken still serves (720 bars back from the one open now): older is unavailable.
    const oldestServed = (Math.floor(this.now() / intervalMs) - KRAKEN_MAX_ROWS + 1) * intervalMs;
    if (window.firstBar >= window.endBar || window.endBar <= oldestServed) {
      return finaliseCandles([], context, intervalMs);
    }
    // `since` returns bars after it; one second before the first bar open includes that bar. No paging:
    // Kraken cannot serve more than its newest 720 rows, so a second request would return the same ones.
    const response = await this.client.getJson({
      path: '/0/public/OHLC',
      query: { pair, interval: KRAKEN_INTERVAL_MIN[this.interval], since: window.firstBar / 1_000 - 1 },
      schema: krakenOhlcResponseSchema,
      instrument,
      signal,
    });
    return finaliseCandles(krakenOhlcCandles(response), context, intervalMs);
  }
}
