/**
 * Binance spot klines, daily or hourly (`interval` 1d or 1h), `GET /api/v3/klines`, paged forward with
 * `startTime`. Shapes: market-apis.md §2.
 */
import { z } from 'zod';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  venueListing,
} from '../../config/instruments.ts';
import { MarketSourceError } from '../../domain/errors.ts';
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
import { type MarketHttpClient, venueClient } from './http.ts';

/** Binance's recommended base for public market data only. */
export const BINANCE_BASE_URL = 'https://data-api.binance.vision';

export const BINANCE_MAX_KLINES_PER_REQUEST = 1_000;

/**
 * One kline: a 12-tuple whose prices and volumes are strings. Extra trailing fields are tolerated, since
 * Binance may append columns; the 12th ("unused") is not read.
 */
export const binanceKlineSchema = z.tuple(
  [
    z.number().int(), // 0 open time, ms
    priceString, // 1 open
    priceString, // 2 high
    priceString, // 3 low
    priceString, // 4 close
    amountString, // 5 volume, base asset
    z.number().int(), // 6 close time, ms
    amountString, // 7 quote asset volume
    z.number().int(), // 8 number of trades
    amountString, // 9 taker buy base volume
    amountString, // 10 taker buy quote volume
    z.unknown(), // 11 unused
  ],
  z.unknown(),
);

export const binanceKlinesResponseSchema = z.array(binanceKlineSchema);

export type BinanceKlinesResponse = z.output<typeof binanceKlinesResponseSchema>;

/**
 * Klines as candles. Volume is the quote-asset volume (index 7, USDT) so that every venue reports volume
 * in the quote currency; the base volume (index 5) would be in BTC, ETH or SOL.
 *
 * @example
 * binanceKlineCandles(binanceKlinesResponseSchema.parse(body)); // [{ time: 1499040000000, open: 0.0163479, … }]
 */
export function binanceKlineCandles(rows: BinanceKlinesResponse): Candle[] {
  return rows.map(([time, open, high, low, close, , , quoteVolume]) => ({
    time,
    open,
    high,
    low,
    close,
    volume: quoteVolume,
  }));
}

export interface BinanceSourceOptions extends VenueSourceOptions {
  /** Klines per request. @default 1 000 (the maximum; larger values are clamped) */
  readonly limit?: number;
}

/**
 * Binance spot klines (daily, or hourly with `interval: '1h'`). Pairs are USDT-quoted (`BTCUSDT`), so prices are in USDT, not USD: consensus
 * flags Binance if USDT strays beyond its tolerance.
 *
 * @example
 * const binance = new BinanceSource();
 * const series = await binance.candles('ETH', { from: Date.UTC(2020, 0, 1), to: Date.UTC(2024, 0, 1) });
 */
export class BinanceSource implements MarketDataSource {
  readonly name = 'binance';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;
  private readonly limit: number;
  private readonly interval: BarInterval;

  constructor(options: BinanceSourceOptions = {}) {
    this.client = venueClient('binance', BINANCE_BASE_URL, options);
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
    this.interval = options.interval ?? '1d';
    this.limit = Math.min(
      BINANCE_MAX_KLINES_PER_REQUEST,
      Math.max(1, Math.floor(options.limit ?? BINANCE_MAX_KLINES_PER_REQUEST)),
    );
  }

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    const { symbol } = venueListing(this.catalogue, instrument, 'binance');
    const intervalMs = BAR_INTERVAL_MS[this.interval];
    const window = barWindow(range, intervalMs);
    const rows: Candle[] = [];
    let startTime = window.firstBar;
    while (startTime < window.endBar) {
      const page = binanceKlineCandles(
        await this.client.getJson({
          path: '/api/v3/klines',
          query: {
            symbol,
            interval: this.interval,
            startTime,
            endTime: window.endBar - 1,
            limit: this.limit,
          },
          schema: binanceKlinesResponseSchema,
          instrument,
          signal,
        }),
      );
      rows.push(...page);
      // A short page is the last one: Binance fills up to `limit` whenever more rows exist.
      if (page.length < this.limit) break;
      const last = page[page.length - 1];
      if (last === undefined || last.time < startTime) {
        throw new MarketSourceError(
          `${this.name} ${instrument}: klines page from ${startTime} did not move forward`,
          this.name,
          instrument,
        );
      }
      startTime = last.time + intervalMs;
    }
    return finaliseCandles(rows, { venue: this.name, instrument, range, now: this.now }, intervalMs);
  }
}
