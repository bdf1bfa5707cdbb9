/**
 * The venues' instrument lists (market-apis.md §6): Deribit `public/get_instruments`, Binance USDⓈ-M
 * `fapi/v1/exchangeInfo`, Coinbase Exchange `products`, Kraken `AssetPairs`, read into `VenueInstrument`
 * rows for the catalogue diff (`lib/domain/market/instrument-catalogue.ts`). One request per venue per run,
 * through the same client as the candles (timeouts, retries, pacing, validated bodies).
 */
import { z } from 'zod';
import type { InstrumentCatalogue, InstrumentListing } from '../../config/instruments.ts';
import { MarketSourceError } from '../../domain/errors.ts';
import type {
  DiscoveredCatalogue,
  DiscoveryVenue,
  InstrumentKind,
  VenueInstrument,
  VenueInstrumentList,
} from '../../domain/market/instrument-catalogue.ts';
import type { InstrumentListSource } from '../../ports.ts';
import { COINBASE_BASE_URL } from './coinbase.ts';
import { DERIBIT_BASE_URL, deribitBodyError } from './deribit.ts';
import { type VenueHttpOptions, venueClient } from './http.ts';
import { KRAKEN_BASE_URL, krakenBodyError } from './kraken.ts';

/** USDⓈ-M futures live on their own host, not on the spot data host the klines come from. */
export const BINANCE_FUTURES_BASE_URL = 'https://fapi.binance.com';

/** Named in errors where a candle request would name the instrument. */
const LIST = 'instrument list';

const code = z.string().trim().min(1);

// Unknown keys are ignored (the venues add fields); only what the catalogue reads is checked.
export const deribitInstrumentsResponseSchema = z.object({
  result: z.array(
    z.object({
      instrument_name: code,
      kind: code,
      is_active: z.boolean(),
      settlement_period: code,
      base_currency: code,
      quote_currency: code,
    }),
  ),
});

export const binanceExchangeInfoResponseSchema = z.object({
  symbols: z.array(
    z.object({
      symbol: code,
      // An open enum (PERPETUAL, CURRENT_QUARTER, …; empty on some settled rows).
      contractType: z.string(),
      status: code,
      baseAsset: code,
      quoteAsset: code,
    }),
  ),
});

export const coinbaseProductsResponseSchema = z.array(
  z.object({
    id: code,
    base_currency: code,
    quote_currency: code,
    status: code,
    trading_disabled: z.boolean().optional(),
    cancel_only: z.boolean().optional(),
  }),
);

export const krakenAssetPairsResponseSchema = z.object({
  result: z.record(z.string(), z.object({ altname: code, base: code, quote: code, status: code.optional() })),
});

/**
 * A Kraken asset id as an ISO-like code: legacy ids carry an X/Z prefix (`XXBT`, `ZUSD`), and Kraken calls
 * bitcoin XBT and dogecoin XDG.
 *
 * @example
 * krakenAsset('XXBT'); // 'BTC'
 * krakenAsset('SOL'); // 'SOL'
 */
export function krakenAsset(id: string): string {
  const bare = /^[XZ][A-Z]{3}$/.test(id) ? id.slice(1) : id;
  return bare === 'XBT' ? 'BTC' : bare === 'XDG' ? 'DOGE' : bare;
}

async function readVenue(
  venue: DiscoveryVenue,
  options: VenueHttpOptions,
  signal?: AbortSignal,
): Promise<VenueInstrument[]> {
  switch (venue) {
    case 'deribit': {
      // get_instruments has its own limit (1 per 10 s): one call for every currency's futures stays under it.
      const body = await venueClient('deribit', DERIBIT_BASE_URL, options, deribitBodyError).getJson({
        path: '/public/get_instruments',
        query: { currency: 'any', kind: 'future', expired: 'false' },
        schema: deribitInstrumentsResponseSchema,
        instrument: LIST,
        signal,
      });
      return body.result
        .filter((row) => row.kind === 'future')
        .map((row) => ({
          name: row.instrument_name,
          base: row.base_currency,
          quote: row.quote_currency,
          kind: row.settlement_period === 'perpetual' ? 'perpetual' : 'future',
          trading: row.is_active,
        }));
    }
    case 'binance': {
      const body = await venueClient('binance', BINANCE_FUTURES_BASE_URL, options).getJson({
        path: '/fapi/v1/exchangeInfo',
        schema: binanceExchangeInfoResponseSchema,
        instrument: LIST,
        signal,
      });
      return body.symbols.map((row) => ({
        name: row.symbol,
        base: row.baseAsset,
        quote: row.quoteAsset,
        kind: (row.contractType.startsWith('PERPETUAL') ? 'perpetual' : 'future') as InstrumentKind,
        // Only TRADING trades; a delisted perpetual lingers as SETTLING.
        trading: row.status === 'TRADING',
      }));
    }
    case 'coinbase': {
      const body = await venueClient('coinbase', COINBASE_BASE_URL, options).getJson({
        path: '/products',
        schema: coinbaseProductsResponseSchema,
        instrument: LIST,
        signal,
      });
      return body.map((row) => ({
        name: row.id,
        base: row.base_currency,
        quote: row.quote_currency,
        kind: 'spot',
        trading: row.status === 'online' && row.trading_disabled !== true && row.cancel_only !== true,
      }));
    }
    case 'kraken': {
      const body = await venueClient('kraken', KRAKEN_BASE_URL, options, krakenBodyError).getJson({
        path: '/0/public/AssetPairs',
        schema: krakenAssetPairsResponseSchema,
        instrument: LIST,
        signal,
      });
      return (
        Object.values(body.result)
          // Dark-pool pairs (`XBTUSD.d`) are not a market qmt can price.
          .filter((row) => !row.altname.endsWith('.d'))
          .map((row) => ({
            name: row.altname,
            base: krakenAsset(row.base),
            quote: krakenAsset(row.quote),
            kind: 'spot',
            // Any status but online is not fully tradeable (market-apis.md §6d); older rows carry none.
            trading: row.status === undefined || row.status === 'online',
          }))
      );
    }
  }
}

/**
 * Reads each venue's list once per run. Options apply to every venue (a test points them all at one loopback
 * server); per-venue options override them.
 *
 * @example
 * const lists = await new VenueInstrumentLists().read(['deribit', 'binance']);
 */
export class VenueInstrumentLists implements InstrumentListSource {
  constructor(
    private readonly options: VenueHttpOptions = {},
    private readonly perVenue: Partial<Record<DiscoveryVenue, VenueHttpOptions>> = {},
  ) {}

  /** One venue's rows; a failure is a `MarketHttpError` naming the venue. */
  venue(venue: DiscoveryVenue, signal?: AbortSignal): Promise<VenueInstrument[]> {
    return readVenue(venue, { ...this.options, ...this.perVenue[venue] }, signal);
  }

  /** Every venue's list; a venue that cannot answer is `failed` with the reason, never an empty list. */
  async read(venues: readonly DiscoveryVenue[], signal?: AbortSignal): Promise<VenueInstrumentList[]> {
    return Promise.all(
      venues.map(async (venue): Promise<VenueInstrumentList> => {
        try {
          return { venue, instruments: await this.venue(venue, signal) };
        } catch (error) {
          // Unreachable or malformed: the venue's previous names stand. Anything else is a bug and fails.
          if (error instanceof MarketSourceError) return { venue, failed: error.message };
          throw error;
        }
      }),
    );
  }
}

/**
 * The discovered catalogue in the shape the candle sources translate through. A venue name the configured
 * catalogue also has keeps its extras (Deribit's DVOL currency); an entry with no names yet (seeded from an
 * older set) keeps its configured listing.
 *
 * @example
 * const market = createConsensusSource(venues, { catalogue: catalogueFromDiscovered(discovered, config.catalogue) });
 */
export function catalogueFromDiscovered(
  discovered: DiscoveredCatalogue,
  configured: InstrumentCatalogue,
): InstrumentCatalogue {
  const out: Record<string, InstrumentListing> = {};
  for (const { instrument, venues } of discovered.entries) {
    const known = Object.hasOwn(configured, instrument) ? configured[instrument] : undefined;
    const { deribit, binance, coinbase, kraken } = venues;
    const listing: InstrumentListing = {
      ...(deribit !== undefined && {
        deribit: known?.deribit?.instrument === deribit ? known.deribit : { instrument: deribit },
      }),
      ...(binance !== undefined && { binance: { symbol: binance } }),
      ...(coinbase !== undefined && { coinbase: { productId: coinbase } }),
      ...(kraken !== undefined && { kraken: { pair: kraken } }),
    };
    if (Object.keys(listing).length > 0) out[instrument] = listing;
    else if (known) out[instrument] = known;
  }
  return Object.freeze(out);
}
