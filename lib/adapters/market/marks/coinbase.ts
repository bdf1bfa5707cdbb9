/**
 * Coinbase Exchange ticker, `GET /products/{id}/ticker`: the last trade. Shape: market-apis.md §5e.
 *
 * Coinbase publishes no index or mark, so the last trade is the price, timed by the trade itself (`time`,
 * ISO-8601 with µs digits), not by the request: a quiet book shows its age and the consensus can call it
 * stale.
 */
import { z } from 'zod';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  venueListing,
} from '../../../config/instruments.ts';
import type { VenueMark } from '../../../domain/market/mark.ts';
import type { VenueMarkSource } from '../../../ports.ts';
import { COINBASE_BASE_URL } from '../coinbase.ts';
import { priceString } from '../daily.ts';
import { type MarketHttpClient, venueClient } from '../http.ts';
import { checkedVenueMark, isoTimeMs, markHttpDefaults, type VenueMarkOptions } from './venue-mark.ts';

/** The fields read: the last trade's price (USD per unit, a decimal string) and its time. */
export const coinbaseTickerResponseSchema = z.object({
  price: priceString,
  time: isoTimeMs,
});

export type CoinbaseTickerResponse = z.output<typeof coinbaseTickerResponseSchema>;

/**
 * Coinbase's last trade for a qmt instrument (the catalogue's product, e.g. `BTC-USD`).
 *
 * @example
 * const mark = await new CoinbaseMarkSource().mark('SOL'); // { venue: 'coinbase', instrument: 'SOL', price: 171.23, at: … }
 */
export class CoinbaseMarkSource implements VenueMarkSource {
  readonly venue = 'coinbase';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;

  constructor(options: VenueMarkOptions = {}) {
    this.client = venueClient('coinbase', COINBASE_BASE_URL, markHttpDefaults(options));
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
  }

  async mark(instrument: string, signal?: AbortSignal): Promise<VenueMark> {
    const { productId } = venueListing(this.catalogue, instrument, 'coinbase');
    const body = await this.client.getJson({
      path: `/products/${encodeURIComponent(productId)}/ticker`,
      schema: coinbaseTickerResponseSchema,
      instrument,
      signal,
    });
    return checkedVenueMark({ venue: this.venue, instrument, price: body.price, at: body.time }, this.now());
  }
}
