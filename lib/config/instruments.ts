/**
 * The instrument catalogue: how each qmt symbol (`BTC`) is named on each venue. Sources translate through
 * it, so adding an instrument or a venue listing is configuration, not code.
 */
import { z } from 'zod';
import { withoutReservedKeys } from '../domain/document-keys.ts';
import { InstrumentNotListedError, PolicyError, UnknownInstrumentError } from '../domain/errors.ts';

// The market sources' errors for an unknown or unlisted instrument live in the domain; re-exported here,
// where the catalogue raises them.
export { InstrumentNotListedError, UnknownInstrumentError };

/** Venues the catalogue knows names for. */
export const CATALOGUE_VENUES = ['deribit', 'binance', 'coinbase', 'kraken'] as const;
export type CatalogueVenue = (typeof CATALOGUE_VENUES)[number];

/** The venues a default consensus reads. Kraken is left out: it serves only the last 720 days. */
export const DEFAULT_CONSENSUS_VENUES: readonly CatalogueVenue[] = ['deribit', 'binance', 'coinbase'];

const venueName = z.string().trim().min(1);

const deribitListing = z.strictObject({
  /** Candles: e.g. `BTC-PERPETUAL`. */
  instrument: venueName,
  /** DVOL currency for `get_volatility_index_data`; absent where Deribit publishes no DVOL. */
  dvolCurrency: venueName.optional(),
});
const binanceListing = z.strictObject({ symbol: venueName });
const coinbaseListing = z.strictObject({ productId: venueName });
const krakenListing = z.strictObject({ pair: venueName });

/** One instrument's names per venue. A venue left out does not list the instrument. */
export const instrumentListingSchema = z
  .strictObject({
    deribit: deribitListing.optional(),
    binance: binanceListing.optional(),
    coinbase: coinbaseListing.optional(),
    kraken: krakenListing.optional(),
  })
  .refine((listing) => CATALOGUE_VENUES.some((venue) => listing[venue] !== undefined), {
    message: 'an instrument must be listed on at least one venue',
  });

export type InstrumentListing = z.infer<typeof instrumentListingSchema>;

const symbolSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9_.-]*$/, 'a qmt symbol is upper case letters, digits, `_`, `.` or `-` (e.g. BTC)');

export const instrumentCatalogueSchema = z.record(symbolSchema, instrumentListingSchema);

export type InstrumentCatalogue = Readonly<Record<string, InstrumentListing>>;

/** A record drops a `__proto__` key without a word: refuse reserved keys by path instead. */
const catalogueReader = withoutReservedKeys(instrumentCatalogueSchema);

/** BTC, ETH and SOL on the four venues qmt reads. Binance quotes in USDT, the others in USD(C). */
export const DEFAULT_INSTRUMENT_CATALOGUE: InstrumentCatalogue = Object.freeze({
  BTC: {
    deribit: { instrument: 'BTC-PERPETUAL', dvolCurrency: 'BTC' },
    binance: { symbol: 'BTCUSDT' },
    coinbase: { productId: 'BTC-USD' },
    kraken: { pair: 'XBTUSD' },
  },
  ETH: {
    deribit: { instrument: 'ETH-PERPETUAL', dvolCurrency: 'ETH' },
    binance: { symbol: 'ETHUSDT' },
    coinbase: { productId: 'ETH-USD' },
    kraken: { pair: 'ETHUSD' },
  },
  SOL: {
    // Deribit's SOL perpetual is USDC-margined and linear; there is no SOL DVOL.
    deribit: { instrument: 'SOL_USDC-PERPETUAL' },
    binance: { symbol: 'SOLUSDT' },
    coinbase: { productId: 'SOL-USD' },
    kraken: { pair: 'SOLUSD' },
  },
});

function toPolicyError(error: z.ZodError, prefix: string): PolicyError {
  const [first, ...rest] = error.issues;
  const path = [prefix, ...(first?.path ?? []).map(String)].join('.');
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  return new PolicyError(`${path}: ${first?.message ?? 'invalid'}${more}`, path, { cause: error });
}

/**
 * Validate a whole catalogue (e.g. read from a config file).
 *
 * @example
 * const catalogue = parseInstrumentCatalogue({ BTC: { binance: { symbol: 'BTCUSDT' } } });
 */
export function parseInstrumentCatalogue(input: unknown): InstrumentCatalogue {
  const result = catalogueReader.safeParse(input);
  if (!result.success) throw toPolicyError(result.error, 'instruments');
  return result.data;
}

// An override may set a venue to null to remove a listing (e.g. a venue the user does not trust).
const listingOverrideSchema = z.strictObject({
  deribit: deribitListing.nullable().optional(),
  binance: binanceListing.nullable().optional(),
  coinbase: coinbaseListing.nullable().optional(),
  kraken: krakenListing.nullable().optional(),
});

const catalogueOverrideSchema = withoutReservedKeys(z.record(symbolSchema, listingOverrideSchema.nullable()));

/**
 * Merge a user's catalogue over `base`: per instrument and venue the user's entry wins; `null` removes a
 * venue listing (or, at the instrument level, the instrument); new instruments are added. The user's input
 * is validated, and a bad field is a `PolicyError` whose `path` names it.
 *
 * @example
 * const catalogue = mergeInstrumentCatalogue(DEFAULT_INSTRUMENT_CATALOGUE, {
 *   DOGE: { binance: { symbol: 'DOGEUSDT' }, coinbase: { productId: 'DOGE-USD' } },
 *   BTC: { kraken: null },
 * });
 */
export function mergeInstrumentCatalogue(base: InstrumentCatalogue, override: unknown): InstrumentCatalogue {
  const parsed = catalogueOverrideSchema.safeParse(override);
  if (!parsed.success) throw toPolicyError(parsed.error, 'instruments');
  const merged: Record<string, unknown> = { ...base };
  for (const [symbol, listing] of Object.entries(parsed.data)) {
    if (listing === null) {
      delete merged[symbol];
      continue;
    }
    const next: Record<string, unknown> = { ...(base[symbol] ?? {}) };
    for (const [venue, entry] of Object.entries(listing)) {
      if (entry === null) delete next[venue];
      else if (entry !== undefined) next[venue] = entry;
    }
    merged[symbol] = next;
  }
  return parseInstrumentCatalogue(merged);
}

/** The qmt symbols in `catalogue`, sorted. */
export function knownInstruments(catalogue: InstrumentCatalogue): string[] {
  return Object.keys(catalogue).sort();
}

/**
 * The listing of `instrument`, or an `UnknownInstrumentError` naming it and the known ones.
 *
 * @example
 * instrumentListing(DEFAULT_INSTRUMENT_CATALOGUE, 'BTC').binance?.symbol; // 'BTCUSDT'
 */
export function instrumentListing(catalogue: InstrumentCatalogue, instrument: string): InstrumentListing {
  const listing = Object.hasOwn(catalogue, instrument) ? catalogue[instrument] : undefined;
  if (!listing) throw new UnknownInstrumentError(instrument, knownInstruments(catalogue));
  return listing;
}

/**
 * The listing of `instrument` on `venue`; `UnknownInstrumentError` or `InstrumentNotListedError` otherwise.
 *
 * @example
 * venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'ETH', 'kraken').pair; // 'ETHUSD'
 */
export function venueListing<V extends CatalogueVenue>(
  catalogue: InstrumentCatalogue,
  instrument: string,
  venue: V,
): NonNullable<InstrumentListing[V]> {
  const entry = instrumentListing(catalogue, instrument)[venue];
  if (entry === undefined) throw new InstrumentNotListedError(instrument, venue);
  return entry as NonNullable<InstrumentListing[V]>;
}
