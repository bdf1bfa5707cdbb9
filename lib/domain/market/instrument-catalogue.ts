/**
 * The instrument catalogue discovered from the venues' instrument lists: which qmt instruments exist, and
 * what each venue calls them. Pure: the venue lists come in (read by `lib/adapters/market/instrument-lists.ts`),
 * the filter comes from configuration, and `diffCatalogue` says what was listed, delisted or unchanged.
 *
 * A qmt instrument is the base asset (`BTC`); on each venue it is the one listing that passes the filter,
 * preferring the earlier quote and then the earlier kind in the filter's lists.
 */
import { z } from 'zod';
import { PolicyError } from '../errors.ts';

export const DISCOVERY_VENUES = ['deribit', 'binance', 'coinbase', 'kraken'] as const;
export type DiscoveryVenue = (typeof DISCOVERY_VENUES)[number];

export const INSTRUMENT_KINDS = ['perpetual', 'future', 'spot'] as const;
export type InstrumentKind = (typeof INSTRUMENT_KINDS)[number];

/** One row of a venue's instrument list, in qmt's words. */
export interface VenueInstrument {
  /** The venue's own name, e.g. `BTC-PERPETUAL`, `BTCUSDT`, `BTC-USD`, `XBTUSD`. */
  readonly name: string;
  /** Base and quote as ISO-like codes (Kraken's `XXBT` already read as `BTC`). */
  readonly base: string;
  readonly quote: string;
  readonly kind: InstrumentKind;
  /** False when the venue says it cannot trade (settling, delisted, offline). */
  readonly trading: boolean;
}

/** A venue's list as read this run: the rows, or why it could not be read. */
export type VenueInstrumentList =
  | { readonly venue: DiscoveryVenue; readonly instruments: readonly VenueInstrument[] }
  | { readonly venue: DiscoveryVenue; readonly failed: string };

const code = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9_.-]*$/, 'an upper-case code of letters, digits, `_`, `.` or `-` (e.g. USDT)');

/** Which venue listings become qmt instruments. */
export const catalogueFilterSchema = z.strictObject({
  /** Quote currencies accepted, most preferred first. */
  quotes: z.array(code).min(1),
  /** Kinds accepted, most preferred first. @default ['perpetual'] */
  kinds: z.array(z.enum(INSTRUMENT_KINDS)).min(1).default(['perpetual']),
  /** When given, only these instruments (base assets). */
  allow: z.array(code).optional(),
  /** Never these instruments, even when allowed. */
  deny: z.array(code).default([]),
  /** Venues whose lists are read. @default all four */
  venues: z
    .array(z.enum(DISCOVERY_VENUES))
    .min(1)
    .default([...DISCOVERY_VENUES]),
});

export type CatalogueFilter = z.output<typeof catalogueFilterSchema>;

/**
 * Validate a discovery filter from configuration; a bad field is a `PolicyError` naming its path.
 *
 * @example
 * parseCatalogueFilter({ quotes: ['USD', 'USDT'], kinds: ['perpetual', 'spot'], deny: ['LUNA'] });
 */
export function parseCatalogueFilter(input: unknown, prefix = 'discovery.filter'): CatalogueFilter {
  const result = catalogueFilterSchema.safeParse(input);
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  const path = [prefix, ...(first?.path ?? []).map(String)].join('.');
  const more = rest.length > 0 ? ` (and ${rest.length} more)` : '';
  throw new PolicyError(`${path}: ${first?.message ?? 'invalid'}${more}`, path, { cause: result.error });
}

/** One qmt instrument: its name per venue, and the UTC day qmt first listed it. */
export interface CatalogueEntry {
  readonly instrument: string;
  readonly venues: Readonly<Partial<Record<DiscoveryVenue, string>>>;
  /** YYYY-MM-DD. */
  readonly firstListed: string;
}

/** The catalogue in force, sorted by instrument. */
export interface DiscoveredCatalogue {
  readonly entries: readonly CatalogueEntry[];
}

export interface CatalogueDelisting {
  readonly instrument: string;
  readonly reason: string;
}

export interface CatalogueDiff {
  readonly catalogue: DiscoveredCatalogue;
  /** New instruments (not in the previous catalogue). */
  readonly listed: readonly CatalogueEntry[];
  /** Instruments in the previous catalogue that no venue lists any more (or that the filter now refuses). */
  readonly delisted: readonly CatalogueDelisting[];
  readonly unchanged: readonly string[];
  /** Venues whose list could not be read: their previous names were kept. */
  readonly keptVenues: readonly { readonly venue: DiscoveryVenue; readonly reason: string }[];
}

function admitted(filter: CatalogueFilter, instrument: string): string | undefined {
  if (filter.deny.includes(instrument)) return 'on the deny-list';
  if (filter.allow !== undefined && !filter.allow.includes(instrument)) return 'not on the allow-list';
  return undefined;
}

/** The venue's name for each base asset that passes the filter, preferring earlier quotes, then kinds. */
function venueNames(filter: CatalogueFilter, rows: readonly VenueInstrument[]): Map<string, string> {
  const best = new Map<string, { name: string; rank: number }>();
  for (const row of rows) {
    if (!row.trading) continue;
    const quoteRank = filter.quotes.indexOf(row.quote);
    const kindRank = filter.kinds.indexOf(row.kind);
    if (quoteRank < 0 || kindRank < 0 || admitted(filter, row.base) !== undefined) continue;
    const rank = quoteRank * INSTRUMENT_KINDS.length + kindRank;
    const seen = best.get(row.base);
    // Ties (two rows of the same quote and kind) go to the smaller name, so a list's order never matters.
    if (!seen || rank < seen.rank || (rank === seen.rank && row.name < seen.name)) {
      best.set(row.base, { name: row.name, rank });
    }
  }
  return new Map([...best].map(([base, { name }]) => [base, name]));
}

/**
 * The new catalogue from the previous one and this run's venue lists. A venue whose list failed keeps its
 * previous names (a venue being down never delists anything); an instrument is delisted only when no venue
 * lists it any more, or when the filter now refuses it.
 *
 * @example
 * const diff = diffCatalogue(previous, [{ venue: 'binance', instruments }], filter, '2026-12-03');
 * diff.listed.map((e) => e.instrument); // ['DOGE']
 */
export function diffCatalogue(
  previous: DiscoveredCatalogue | undefined,
  lists: readonly VenueInstrumentList[],
  filter: CatalogueFilter,
  day: string,
): CatalogueDiff {
  const previousByInstrument = new Map((previous?.entries ?? []).map((e) => [e.instrument, e]));
  const names = new Map<string, Partial<Record<DiscoveryVenue, string>>>();
  const add = (instrument: string, venue: DiscoveryVenue, name: string) => {
    names.set(instrument, { ...names.get(instrument), [venue]: name });
  };
  const keptVenues: { venue: DiscoveryVenue; reason: string }[] = [];
  for (const venue of filter.venues) {
    const list = lists.find((l) => l.venue === venue);
    if (list && 'instruments' in list) {
      for (const [instrument, name] of venueNames(filter, list.instruments)) add(instrument, venue, name);
      continue;
    }
    keptVenues.push({ venue, reason: list ? list.failed : 'no list was read' });
    for (const entry of previousByInstrument.values()) {
      const name = entry.venues[venue];
      if (name !== undefined && admitted(filter, entry.instrument) === undefined) {
        add(entry.instrument, venue, name);
      }
    }
  }

  // An entry with no venue names came from a set older than discovery (`seedCatalogue`): with a venue's
  // list missing, nobody can say it is gone, so it stays until every venue has answered.
  if (keptVenues.length > 0) {
    for (const entry of previousByInstrument.values()) {
      const unknown = Object.keys(entry.venues).length === 0;
      if (unknown && !names.has(entry.instrument) && admitted(filter, entry.instrument) === undefined) {
        names.set(entry.instrument, {});
      }
    }
  }

  const entries: CatalogueEntry[] = [];
  const listed: CatalogueEntry[] = [];
  const unchanged: string[] = [];
  for (const instrument of [...names.keys()].sort()) {
    const venues = sortedVenues(names.get(instrument) ?? {});
    const before = previousByInstrument.get(instrument);
    const entry: CatalogueEntry = { instrument, venues, firstListed: before?.firstListed ?? day };
    entries.push(entry);
    if (before) unchanged.push(instrument);
    else listed.push(entry);
  }
  const delisted: CatalogueDelisting[] = [];
  for (const instrument of [...previousByInstrument.keys()].sort()) {
    if (names.has(instrument)) continue;
    const refused = admitted(filter, instrument);
    delisted.push({
      instrument,
      reason: refused
        ? `${instrument}: ${refused}`
        : `${instrument}: no venue lists it as trading in ${filter.quotes.join('/')} ${filter.kinds.join('/')}`,
    });
  }
  return { catalogue: { entries }, listed, delisted, unchanged, keptVenues };
}

function sortedVenues(
  venues: Partial<Record<DiscoveryVenue, string>>,
): Partial<Record<DiscoveryVenue, string>> {
  const out: Partial<Record<DiscoveryVenue, string>> = {};
  for (const venue of DISCOVERY_VENUES) {
    const name = venues[venue];
    if (name !== undefined) out[venue] = name;
  }
  return out;
}

/**
 * The previous catalogue for the first run with discovery on: the instruments of the set in force, with no
 * venue names yet, so they count as unchanged (not new) when a venue still lists them.
 *
 * @example
 * seedCatalogue([{ instrument: 'BTC', firstCandle: '2022-01-01' }]); // { entries: [{ instrument: 'BTC', venues: {}, … }] }
 */
export function seedCatalogue(
  instruments: readonly { readonly instrument: string; readonly firstCandle: string }[],
): DiscoveredCatalogue {
  return {
    entries: [...instruments]
      .sort((a, b) => a.instrument.localeCompare(b.instrument))
      .map(({ instrument, firstCandle }) => ({ instrument, venues: {}, firstListed: firstCandle })),
  };
}

/** The consensus's default quorum (`ConsensusSource`): two venues must agree on a day. */
export const DEFAULT_LISTING_QUORUM = 2;

/**
 * The catalogue's instruments that fewer than `quorum` of the venues whose candles are read (`pricedBy`)
 * list, each with the reason it is held. An entry with no venue names (seeded from a set older than
 * discovery) is not judged: nobody knows its venues.
 *
 * @example
 * belowQuorum({ entries: [{ instrument: 'DOGE', venues: { binance: 'DOGEUSDT' }, firstListed: '2026-12-03' }] }, 2);
 * // Map { 'DOGE' => 'DOGE: listed on 1 venue(s) (binance), fewer than the quorum of 2: …' }
 */
export function belowQuorum(
  catalogue: DiscoveredCatalogue,
  quorum: number,
  pricedBy: readonly DiscoveryVenue[] = DISCOVERY_VENUES,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const { instrument, venues } of catalogue.entries) {
    const listed = Object.keys(venues) as DiscoveryVenue[];
    if (listed.length === 0) continue;
    const priced = listed.filter((venue) => pricedBy.includes(venue));
    if (priced.length >= quorum) continue;
    out.set(
      instrument,
      `${instrument}: listed on ${priced.length} venue(s) whose candles are read (${priced.join(', ') || 'none'}), fewer than the quorum of ${quorum}: not valued at one venue's prices`,
    );
  }
  return out;
}
