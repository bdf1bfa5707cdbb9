/**
 * Instrument discovery, as the recalibration's first step (off unless the request carries `discovery`):
 * read the venues' instrument lists, diff them against the catalogue of the set in force, and say which
 * instruments the run recalibrates, which are new and which are gone (with the accounts still holding them).
 */
import {
  belowQuorum,
  type CatalogueDiff,
  type CatalogueFilter,
  DEFAULT_LISTING_QUORUM,
  type DiscoveredCatalogue,
  type DiscoveryVenue,
  diffCatalogue,
  seedCatalogue,
} from '../domain/market/instrument-catalogue.ts';
import type { InstrumentPolicy, ThresholdPolicy } from '../domain/threshold/policy.ts';
import type { ThresholdSet } from '../domain/threshold/threshold.ts';
import type { AccountSource, InstrumentListSource, MarketDataSource, OpsEvent } from '../ports.ts';

export interface DiscoveryPorts {
  readonly lists: InstrumentListSource;
  /** Read only when something was delisted, to name the accounts still holding it. */
  readonly accounts: AccountSource;
  /**
   * The market source that knows the discovered names (the composition root builds it from the catalogue);
   * without it the recalibration's own market source is used.
   */
  readonly marketFor?: (catalogue: DiscoveredCatalogue) => MarketDataSource;
}

export interface DiscoverySettings {
  readonly filter: CatalogueFilter;
  /** The policy of a discovered instrument that the configuration does not name. */
  readonly defaultPolicy: ThresholdPolicy;
  /**
   * Venues that must list an instrument before its candles are trusted: the consensus quorum. Below it the
   * consensus would fall back to one venue's prices, which one bad feed can move. @default 2
   */
  readonly quorum?: number;
  /** The venues whose candles the recalibration reads (the consensus's). @default all four */
  readonly pricedBy?: readonly DiscoveryVenue[];
}

export interface Discovery {
  readonly diff: CatalogueDiff;
  /** What this run recalibrates: the catalogue's instruments, each under its configured or default policy. */
  readonly instruments: readonly InstrumentPolicy[];
  /** The ops events to publish once the set is in force. */
  readonly events: readonly OpsEvent[];
  /**
   * Instruments listed on fewer venues than the quorum, with the reason: held (a new one at the policy
   * cap), never computed from a single venue's prices.
   */
  readonly belowQuorum: ReadonlyMap<string, string>;
}

/** Accounts holding each instrument, and why the list may be short (records that could not be read). */
export interface Holders {
  readonly byInstrument: ReadonlyMap<string, readonly string[]>;
  readonly incomplete?: string;
}

/**
 * The catalogue for this run. The set in force's catalogue is the previous one; on the first run with
 * discovery on, its instruments seed it (so they are not announced as new).
 *
 * @example
 * const { instruments, events } = await discover(ports, current, configured, settings, runId, '2026-12-03');
 */
export async function discover(
  ports: DiscoveryPorts,
  current: ThresholdSet | undefined,
  configured: readonly InstrumentPolicy[],
  settings: DiscoverySettings,
  runId: string,
  day: string,
): Promise<Discovery> {
  const previous =
    current?.catalogue ??
    (current
      ? seedCatalogue(
          current.thresholds.map((t) => ({ instrument: t.instrument, firstCandle: t.inputs.firstCandle })),
        )
      : undefined);
  const lists = await ports.lists.read(settings.filter.venues);
  const diff = diffCatalogue(previous, lists, settings.filter, day);
  const policies = new Map(configured.map((i) => [i.instrument, i.policy]));
  const instruments = diff.catalogue.entries.map(({ instrument }) => ({
    instrument,
    policy: policies.get(instrument) ?? settings.defaultPolicy,
  }));

  const events: OpsEvent[] = [];
  if (diff.listed.length > 0) events.push({ type: 'instruments.listed', runId, listed: diff.listed });
  if (diff.delisted.length > 0) {
    const holders = await holdersOf(
      ports.accounts,
      diff.delisted.map((d) => d.instrument),
    );
    events.push({
      type: 'instruments.delisted',
      runId,
      delisted: diff.delisted.map((d) => ({ ...d, holders: holders.byInstrument.get(d.instrument) ?? [] })),
      ...(holders.incomplete === undefined ? {} : { holdersIncomplete: holders.incomplete }),
    });
  }
  if (diff.keptVenues.length > 0) {
    events.push({ type: 'instruments.venues-kept', runId, venues: diff.keptVenues });
  }
  return {
    diff,
    instruments,
    events,
    belowQuorum: belowQuorum(diff.catalogue, settings.quorum ?? DEFAULT_LISTING_QUORUM, settings.pricedBy),
  };
}

/**
 * Every account with a position in one of `instruments`, by instrument, sorted. One scan of the accounts:
 * delistings are rare, and a holder missed would be an account silently left without a price.
 */
export async function holdersOf(accounts: AccountSource, instruments: readonly string[]): Promise<Holders> {
  const wanted = new Set(instruments);
  const found = new Map<string, Set<string>>();
  const rejected: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await accounts.scanPage({ segment: 0, totalSegments: 1 }, cursor);
    for (const account of page.accounts) {
      for (const position of account.positions) {
        if (!wanted.has(position.instrument)) continue;
        const holders = found.get(position.instrument) ?? new Set<string>();
        holders.add(account.accountId);
        found.set(position.instrument, holders);
      }
    }
    rejected.push(...page.rejected.map((r) => r.accountKey));
    cursor = page.cursor;
  } while (cursor !== undefined);
  return {
    byInstrument: new Map([...found].map(([instrument, ids]) => [instrument, [...ids].sort()])),
    ...(rejected.length > 0
      ? {
          incomplete: `${rejected.length} account records could not be read (${rejected.slice(0, 5).join(', ')}${rejected.length > 5 ? ', …' : ''})`,
        }
      : {}),
  };
}
