/**
 * The venues' current-price adapters (`VenueMarkSource`): Deribit's index, Binance's futures mark, and the
 * Coinbase and Kraken last trades. The consensus of their marks is built in the domain, not here.
 */
import {
  CATALOGUE_VENUES,
  type CatalogueVenue,
  type InstrumentCatalogue,
} from '../../../config/instruments.ts';
import type { VenueMarkSource } from '../../../ports.ts';
import type { VenueHttpOptions } from '../http.ts';
import { venueSettings } from '../index.ts';
import { BinanceMarkSource } from './binance.ts';
import { CoinbaseMarkSource } from './coinbase.ts';
import { DeribitMarkSource } from './deribit.ts';
import { KrakenMarkSource } from './kraken.ts';

export { BINANCE_FUTURES_BASE_URL, BinanceMarkSource, binancePremiumIndexResponseSchema } from './binance.ts';
export { CoinbaseMarkSource, coinbaseTickerResponseSchema } from './coinbase.ts';
export { DeribitMarkSource, deribitTickerResponseSchema } from './deribit.ts';
export { KrakenMarkSource, krakenTickerResponseSchema } from './kraken.ts';
export {
  checkedVenueMark,
  EARLIEST_MARK_MS,
  MARK_RETRY_POLICY,
  MARK_TIMEOUT_MS,
  MAX_VENUE_CLOCK_AHEAD_MS,
  type VenueMarkOptions,
} from './venue-mark.ts';

/** Every venue with a current-price adapter: all four, Kraken included (its 720-day candle limit does not apply). */
export const MARK_VENUES: readonly CatalogueVenue[] = CATALOGUE_VENUES;

export interface VenueMarkSourcesOptions {
  /** @default DEFAULT_INSTRUMENT_CATALOGUE */
  readonly catalogue?: InstrumentCatalogue;
  /** Connection settings for every venue. @default MARK_TIMEOUT_MS, MARK_RETRY_POLICY, each venue's limiter */
  readonly http?: Omit<VenueHttpOptions, 'baseUrl'>;
  /** Per-venue base URLs, e.g. a loopback server. Binance's is the futures host. @default the public endpoints */
  readonly baseUrls?: Partial<Readonly<Record<CatalogueVenue, string>>>;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * One venue's mark source with shared settings.
 *
 * @example
 * const kraken = createVenueMarkSource('kraken', { http: { timeoutMs: 3_000 } });
 */
export function createVenueMarkSource(
  venue: CatalogueVenue,
  options: VenueMarkSourcesOptions = {},
): VenueMarkSource {
  const settings = venueSettings(venue, options);
  switch (venue) {
    case 'deribit':
      return new DeribitMarkSource(settings);
    case 'binance':
      return new BinanceMarkSource(settings);
    case 'coinbase':
      return new CoinbaseMarkSource(settings);
    case 'kraken':
      return new KrakenMarkSource(settings);
  }
}

/**
 * A mark source per venue, in the order given.
 *
 * @example
 * const venues = createVenueMarkSources(); // deribit, binance, coinbase, kraken
 */
export function createVenueMarkSources(
  venues: readonly CatalogueVenue[] = MARK_VENUES,
  options: VenueMarkSourcesOptions = {},
): VenueMarkSource[] {
  return venues.map((venue) => createVenueMarkSource(venue, options));
}
