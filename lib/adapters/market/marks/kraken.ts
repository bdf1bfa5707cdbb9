/**
 * Kraken ticker, `GET /0/public/Ticker?pair=…`: the last trade, `c[0]`. Shape: market-apis.md §5f.
 *
 * Kraken sends no time with a ticker, so the price is timed when its answer arrives: the mark's age then
 * says how old our look is, not how old the last trade is. Errors come with HTTP 200 in `error[]` and are
 * read the way the candle source reads them (a rate limit waits and retries, an unknown pair is final).
 */
import { z } from 'zod';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  type InstrumentCatalogue,
  venueListing,
} from '../../../config/instruments.ts';
import type { VenueMark } from '../../../domain/market/mark.ts';
import type { VenueMarkSource } from '../../../ports.ts';
import { priceString } from '../daily.ts';
import { type MarketHttpClient, venueClient } from '../http.ts';
import { KRAKEN_BASE_URL, krakenBodyError } from '../kraken.ts';
import { checkedVenueMark, markHttpDefaults, type VenueMarkOptions } from './venue-mark.ts';

/** One pair's ticker: only `c` = [last trade price, lot volume] is read; prices are decimal strings. */
export const krakenTickerSchema = z.object({
  c: z.tuple([priceString], z.unknown()),
});

/**
 * `{ error: [], result: { <canonical pair>: ticker } }`. The key is Kraken's canonical name (`XXBTZUSD` for
 * `XBTUSD`), not the one sent, so exactly one key is required and its name is not matched.
 */
export const krakenTickerResponseSchema = z.object({
  error: z.array(z.string()).max(0),
  result: z.record(z.string(), krakenTickerSchema).superRefine((result, ctx) => {
    const keys = Object.keys(result);
    if (keys.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [],
        message: `expected one pair key, found ${keys.length === 0 ? 'none' : keys.join(', ')}`,
      });
    }
  }),
});

export type KrakenTickerResponse = z.output<typeof krakenTickerResponseSchema>;

/**
 * Kraken's last trade for a qmt instrument (the catalogue's pair, e.g. `XBTUSD`), in USD per unit.
 *
 * @example
 * const mark = await new KrakenMarkSource().mark('BTC'); // { venue: 'kraken', instrument: 'BTC', price: 67019.9, at: <receipt time> }
 */
export class KrakenMarkSource implements VenueMarkSource {
  readonly venue = 'kraken';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;

  constructor(options: VenueMarkOptions = {}) {
    this.client = venueClient('kraken', KRAKEN_BASE_URL, markHttpDefaults(options), krakenBodyError);
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
  }

  async mark(instrument: string, signal?: AbortSignal): Promise<VenueMark> {
    const { pair } = venueListing(this.catalogue, instrument, 'kraken');
    const body = await this.client.getJson({
      path: '/0/public/Ticker',
      query: { pair },
      schema: krakenTickerResponseSchema,
      instrument,
      signal,
    });
    // The schema allows exactly one key, so this is that pair's ticker.
    const [ticker] = Object.values(body.result);
    const receivedAt = this.now();
    return checkedVenueMark(
      { venue: this.venue, instrument, price: ticker?.c[0] ?? Number.NaN, at: receivedAt },
      receivedAt,
    );
  }
}
