/**
 * Market-data adapters: one source per exchange, a CSV file source, and the consensus that combines them.
 * Callers that only need "the market" use {@link createConsensusSource}.
 */
import { DEFAULT_CONSENSUS_VENUES, type InstrumentCatalogue } from '../../config/instruments.ts';
import { BinanceSource } from './binance.ts';
import { CoinbaseSource } from './coinbase.ts';
import { type ConsensusOptions, ConsensusSource } from './consensus.ts';
import { BAR_INTERVAL_MS, type BarInterval } from './daily.ts';
import { DeribitSource } from './deribit.ts';
import type { VenueHttpOptions, VenueId } from './http.ts';
import { KrakenSource } from './kraken.ts';

export { DEFAULT_CONSENSUS_VENUES } from '../../config/instruments.ts';
export { BinanceSource } from './binance.ts';
export { CoinbaseSource } from './coinbase.ts';
export {
  type ConsensusIssue,
  type ConsensusOptions,
  type ConsensusSeries,
  ConsensusSource,
  type VenueReport,
  type VenueStatus,
} from './consensus.ts';
export { CsvFileSource } from './csv.ts';
export { BAR_INTERVAL_MS, BAR_INTERVALS, type BarInterval } from './daily.ts';
export { DeribitSource } from './deribit.ts';
export {
  MarketHttpError,
  MinIntervalRateLimiter,
  NO_RATE_LIMIT,
  type RateLimiter,
  VENUE_MIN_INTERVAL_MS,
  type VenueHttpOptions,
  type VenueId,
} from './http.ts';
export { KrakenSource } from './kraken.ts';

export interface ExchangeSourceOptions {
  /** @default DEFAULT_INSTRUMENT_CATALOGUE */
  readonly catalogue?: InstrumentCatalogue;
  /** Connection settings for every venue (timeout, retry policy, fetch). */
  readonly http?: Omit<VenueHttpOptions, 'baseUrl'>;
  /** Per-venue base URLs, e.g. a loopback replay server. @default the public endpoints */
  readonly baseUrls?: Partial<Readonly<Record<VenueId, string>>>;
  /** @default Date.now */
  readonly now?: () => number;
  /** The bar length the candle sources fetch (`1h` for an hourly MPOR). @default '1d' */
  readonly interval?: BarInterval;
}

/**
 * One venue's settings out of options shared by every venue: the connection settings, its own base URL, the
 * catalogue and the clock. The candle sources and the mark sources (`marks/index.ts`) take the same.
 */
export function venueSettings<V extends string>(
  venue: V,
  options: {
    readonly catalogue?: InstrumentCatalogue;
    readonly http?: Omit<VenueHttpOptions, 'baseUrl'>;
    readonly baseUrls?: Partial<Readonly<Record<V, string>>>;
    readonly now?: () => number;
  },
) {
  const baseUrl = options.baseUrls?.[venue];
  return {
    ...options.http,
    ...(baseUrl === undefined ? {} : { baseUrl }),
    ...(options.catalogue === undefined ? {} : { catalogue: options.catalogue }),
    ...(options.now === undefined ? {} : { now: options.now }),
  };
}

/**
 * One exchange's source with shared settings.
 *
 * @example
 * const kraken = createVenueSource('kraken', { http: { timeoutMs: 5_000 } });
 */
export function createVenueSource(venue: VenueId, options: ExchangeSourceOptions = {}) {
  const settings = {
    ...venueSettings(venue, options),
    ...(options.interval === undefined ? {} : { interval: options.interval }),
  };
  switch (venue) {
    case 'deribit':
      return new DeribitSource(settings);
    case 'binance':
      return new BinanceSource(settings);
    case 'coinbase':
      return new CoinbaseSource(settings);
    case 'kraken':
      return new KrakenSource(settings);
  }
}

/**
 * The consensus of `venues` (default Deribit, Binance, Coinbase) with shared settings.
 *
 * @example
 * const market = createConsensusSource();
 * const btc = await market.candles('BTC', { from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 6, 1) });
 */
export function createConsensusSource(
  venues: readonly VenueId[] = DEFAULT_CONSENSUS_VENUES,
  options: ExchangeSourceOptions & ConsensusOptions = {},
): ConsensusSource {
  const { tolerance, quorum, name, intervalMs: _intervalMs, ...sourceOptions } = options;
  return new ConsensusSource(
    venues.map((venue) => createVenueSource(venue, sourceOptions)),
    {
      ...(tolerance === undefined ? {} : { tolerance }),
      ...(quorum === undefined ? {} : { quorum }),
      ...(name === undefined ? {} : { name }),
      ...(sourceOptions.interval === undefined
        ? {}
        : { intervalMs: BAR_INTERVAL_MS[sourceOptions.interval] }),
    },
  );
}
