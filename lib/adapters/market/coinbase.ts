/**
 * Coinbase Exchange daily or hourly candles (`granularity` 86400 or 3600), `GET /products/{id}/candles`, in
 * chunks of ≤ 300 bars because a longer range is rejected, not truncated. Shapes: market-apis.md §3.
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
  amountNumber,
  BAR_INTERVAL_MS,
  type BarInterval,
  barWindow,
  chunkBars,
  finaliseCandles,
  priceNumber,
  type VenueSourceOptions,
} from './daily.ts';
import { type MarketHttpClient, venueClient } from './http.ts';

export const COINBASE_BASE_URL = 'https://api.exchange.coinbase.com';

export const COINBASE_MAX_CANDLES_PER_REQUEST = 300;

/** `granularity` in seconds per bar interval. */
const GRANULARITY_S: Readonly<Record<BarInterval, number>> = { '1d': 86_400, '1h': 3_600 };

/** One row: `[time s, low, high, open, close, volume base]`; note low and high come before open. */
export const coinbaseCandleSchema = z.tuple(
  [z.number().int(), priceNumber, priceNumber, priceNumber, priceNumber, amountNumber],
  z.unknown(),
);

export const coinbaseCandlesResponseSchema = z.array(coinbaseCandleSchema);

export type CoinbaseCandlesResponse = z.output<typeof coinbaseCandlesResponseSchema>;

/**
 * Rows as candles, oldest first (Coinbase sends newest first). Coinbase gives only base volume, so volume
 * becomes base volume × close: an approximation of the USD turnover (the day's VWAP is not published),
 * good enough for an average-daily-volume liquidity check and in the same currency as the other venues.
 *
 * @example
 * coinbaseCandles([[1667260800, 20000, 21000, 20500, 20800, 10]]); // [{ time: 1667260800000, open: 20500, low: 20000, … volume: 208000 }]
 */
export function coinbaseCandles(rows: CoinbaseCandlesResponse): Candle[] {
  return rows
    .map(([timeS, low, high, open, close, volume]) => ({
      time: timeS * 1_000,
      open,
      high,
      low,
      close,
      volume: volume * close,
    }))
    .sort((a, b) => a.time - b.time);
}

// Coinbase documents ISO-8601 or Unix seconds; ISO reads better in logs and needs no unit guess.
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export interface CoinbaseSourceOptions extends VenueSourceOptions {
  /** Bars per request. @default 300 (the maximum; larger values are clamped) */
  readonly maxCandlesPerRequest?: number;
}

/**
 * Coinbase Exchange candles (USD products; daily, or hourly with `interval: '1h'`).
 *
 * @example
 * const coinbase = new CoinbaseSource();
 * const series = await coinbase.candles('SOL', { from: Date.UTC(2023, 0, 1), to: Date.UTC(2024, 0, 1) });
 */
export class CoinbaseSource implements MarketDataSource {
  readonly name = 'coinbase';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;
  private readonly maxCandlesPerRequest: number;
  private readonly interval: BarInterval;

  constructor(options: CoinbaseSourceOptions = {}) {
    this.client = venueClient('coinbase', COINBASE_BASE_URL, options);
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
    this.interval = options.interval ?? '1d';
    this.maxCandlesPerRequest = Math.min(
      COINBASE_MAX_CANDLES_PER_REQUEST,
      Math.max(1, Math.floor(options.maxCandlesPerRequest ?? COINBASE_MAX_CANDLES_PER_REQUEST)),
    );
  }

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    const { productId } = venueListing(this.catalogue, instrument, 'coinbase');
    const intervalMs = BAR_INTERVAL_MS[this.interval];
    const rows: Candle[] = [];
    for (const chunk of chunkBars(barWindow(range, intervalMs), this.maxCandlesPerRequest)) {
      const response = await this.client.getJson({
        path: `/products/${encodeURIComponent(productId)}/candles`,
        query: {
          granularity: GRANULARITY_S[this.interval],
          start: isoSeconds(chunk.firstBar),
          // One second before the next chunk: whether Coinbase reads `end` as inclusive or exclusive, the
          // chunk's last bar is covered, the next chunk's first is not, and (end − start) < 300 bars.
          end: isoSeconds(chunk.endBar - 1_000),
        },
        schema: coinbaseCandlesResponseSchema,
        instrument,
        signal,
      });
      rows.push(...coinbaseCandles(response));
    }
    return finaliseCandles(rows, { venue: this.name, instrument, range, now: this.now }, intervalMs);
  }
}
