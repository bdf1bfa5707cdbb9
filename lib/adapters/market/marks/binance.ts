/**
 * Binance USDⓈ-M futures mark price, `GET /fapi/v1/premiumIndex?symbol=…`. Shape: market-apis.md §5c.
 *
 * `markPrice` is the price Binance liquidates and marks unrealised P&L at: built from its index (a weighted
 * average of other exchanges' spot prices), funding and its own book, smoothed so one trade cannot move it.
 * The perpetuals are USDT-margined, so the price is in USDT per unit, not USD; the consensus leaves Binance
 * out if USDT strays from the other venues' USD beyond its tolerance, as it does for the candles.
 */
import { z } from 'zod';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  venueListing,
} from '../../../config/instruments.ts';
import { MarketSourceError } from '../../../domain/errors.ts';
import type { VenueMark } from '../../../domain/market/mark.ts';
import type { VenueMarkSource } from '../../../ports.ts';
import { priceString } from '../daily.ts';
import { type MarketHttpClient, MinIntervalRateLimiter, venueClient } from '../http.ts';
import { checkedVenueMark, markHttpDefaults, msNumberOrString, type VenueMarkOptions } from './venue-mark.ts';

/**
 * The futures API: a host apart from the spot market data the candles come from, with no market-data mirror.
 * From a restricted location (the US among them, AWS us-* regions included) it answers HTTP 451 "Service
 * unavailable from a restricted location" (ccxt issue #15872): a final 4xx, so Binance then counts as down.
 */
export const BINANCE_FUTURES_BASE_URL = 'https://fapi.binance.com';

/**
 * Futures request weight is 2,400 a minute per IP (market-apis.md §5c) and this call weighs 1: one request
 * every 25 ms at most. The futures limit is counted apart from spot's, so it has its own limiter.
 */
export const BINANCE_FUTURES_MIN_INTERVAL_MS = 25;

const futuresLimiter = new MinIntervalRateLimiter(BINANCE_FUTURES_MIN_INTERVAL_MS);

/** The fields read; funding fields are left alone (delivery symbols send them as ""). */
export const binancePremiumIndexResponseSchema = z.object({
  symbol: z.string(),
  /** USDT per unit, as a decimal string. */
  markPrice: priceString,
  /** Update time of the record, ms (an integer in the docs, a string in ccxt's notes: either is read). */
  time: msNumberOrString,
});

export type BinancePremiumIndexResponse = z.output<typeof binancePremiumIndexResponseSchema>;

/**
 * Binance's futures mark for a qmt instrument (the catalogue's symbol, e.g. `BTCUSDT`).
 *
 * @example
 * const mark = await new BinanceMarkSource().mark('ETH'); // { venue: 'binance', instrument: 'ETH', price: 3512.1, at: … }
 */
export class BinanceMarkSource implements VenueMarkSource {
  readonly venue = 'binance';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;

  constructor(options: VenueMarkOptions = {}) {
    this.client = venueClient(
      'binance',
      BINANCE_FUTURES_BASE_URL,
      markHttpDefaults({ ...options, rateLimiter: options.rateLimiter ?? futuresLimiter }),
    );
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
  }

  async mark(instrument: string, signal?: AbortSignal): Promise<VenueMark> {
    const { symbol } = venueListing(this.catalogue, instrument, 'binance');
    const body = await this.client.getJson({
      path: '/fapi/v1/premiumIndex',
      query: { symbol },
      schema: binancePremiumIndexResponseSchema,
      instrument,
      signal,
    });
    if (body.symbol !== symbol) {
      throw new MarketSourceError(
        `${this.venue} ${instrument}: asked for ${symbol}, the mark price answered for ${body.symbol}`,
        this.venue,
        instrument,
      );
    }
    return checkedVenueMark(
      { venue: this.venue, instrument, price: body.markPrice, at: body.time },
      this.now(),
    );
  }
}
