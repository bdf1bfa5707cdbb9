/**
 * Deribit's index price for an instrument, from `public/ticker` on the catalogue's perpetual.
 * Shapes: market-apis.md §5a (ticker) and §1a/§5b (index).
 *
 * Why the ticker's `index_price` and not `public/get_index_price`: it is the same index (§5b), but the
 * ticker carries its own `timestamp` in ms, where `get_index_price` has none and only the envelope's `usOut`
 * (when the reply left, not when the price was taken); it is asked for by the instrument name the catalogue
 * already holds (`BTC-PERPETUAL`), with no second name (`btc_usd`) to keep in step; and its `state` says
 * whether the instrument is live. Why the index and not the perpetual's `mark_price`: the index is spot, the
 * mark adds the perpetual's basis (funding premium), which in a crash can be a percent or more and would
 * read as disagreement with the spot tickers of Coinbase and Kraken.
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
import { priceNumber } from '../daily.ts';
import { DERIBIT_BASE_URL, deribitBodyError } from '../deribit.ts';
import { type MarketHttpClient, venueClient } from '../http.ts';
import { checkedVenueMark, markHttpDefaults, msNumber, type VenueMarkOptions } from './venue-mark.ts';

/** The ticker fields read; every other field (book, funding, greeks) is left alone. */
export const deribitTickerResponseSchema = z.object({
  result: z.object({
    instrument_name: z.string(),
    state: z.string(),
    /** ms since the epoch. */
    timestamp: msNumber,
    /** USD per unit for the inverse BTC and ETH perpetuals, USDC per unit for the linear SOL_USDC one. */
    index_price: priceNumber,
  }),
});

export type DeribitTickerResponse = z.output<typeof deribitTickerResponseSchema>;

/**
 * Deribit's index for a qmt instrument, timed by the ticker.
 *
 * @example
 * const mark = await new DeribitMarkSource().mark('BTC'); // { venue: 'deribit', instrument: 'BTC', price: 66990.18, at: 1718000000123 }
 */
export class DeribitMarkSource implements VenueMarkSource {
  readonly venue = 'deribit';
  private readonly client: MarketHttpClient;
  private readonly catalogue: InstrumentCatalogue;
  private readonly now: () => number;

  constructor(options: VenueMarkOptions = {}) {
    this.client = venueClient('deribit', DERIBIT_BASE_URL, markHttpDefaults(options), deribitBodyError);
    this.catalogue = options.catalogue ?? DEFAULT_INSTRUMENT_CATALOGUE;
    this.now = options.now ?? Date.now;
  }

  async mark(instrument: string, signal?: AbortSignal): Promise<VenueMark> {
    const { instrument: instrumentName } = venueListing(this.catalogue, instrument, 'deribit');
    const { result } = await this.client.getJson({
      path: '/public/ticker',
      query: { instrument_name: instrumentName },
      schema: deribitTickerResponseSchema,
      instrument,
      signal,
    });
    const fail = (reason: string) =>
      new MarketSourceError(`${this.venue} ${instrument}: ${reason}`, this.venue, instrument);
    if (result.instrument_name !== instrumentName) {
      throw fail(`asked for ${instrumentName}, the ticker answered for ${result.instrument_name}`);
    }
    // Only `open` is live (market-apis.md §5a): a halted or settling instrument's ticker is not a quote.
    if (result.state !== 'open') throw fail(`${instrumentName} is ${result.state}, not open`);
    return checkedVenueMark(
      { venue: this.venue, instrument, price: result.index_price, at: result.timestamp },
      this.now(),
    );
  }
}
