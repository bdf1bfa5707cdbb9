/**
 * A `MarketDataSource` that asks several venues for the same instrument and keeps, per day, only what a
 * quorum of them agree on: one bad feed (a stuck price, a depegged quote asset, a fat-finger print, an
 * outage) cannot move a margin.
 */
import { InstrumentNotListedError, UnknownInstrumentError } from '../../config/instruments.ts';
import { MarketSourceError } from '../../domain/errors.ts';
import { formatInterval } from '../../domain/market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../../domain/market/candle.ts';
import type { ImpliedVolatilitySeries, MarketDataSource, TimeRange } from '../../ports.ts';
import { barWindow } from './daily.ts';

/**
 * How one venue fared for one request. `status` is the single most serious finding, in this order:
 * `failed` (request or validation error), `not-listed` (the catalogue has no name for the instrument
 * there), `no-data` (answered, but no candle in range), `disagreed` (excluded on at least one day),
 * `stale` (its last candle is older than the freshest venue's), `ok`.
 */
export type VenueStatus = 'ok' | 'stale' | 'disagreed' | 'no-data' | 'not-listed' | 'failed';

/** A day on which a venue's close was too far from the others' median and was left out. */
export interface VenueDisagreement {
  readonly time: number;
  readonly close: number;
  /** The median close it was compared with (of the venues not yet excluded that day). */
  readonly referenceClose: number;
  /** (close − reference) / reference. */
  readonly deviation: number;
}

export interface VenueReport {
  readonly venue: string;
  readonly status: VenueStatus;
  /** Why it failed or is not listed. */
  readonly error?: string;
  /** Candles the venue returned in range. */
  readonly candles: number;
  readonly lastCandleTime?: number;
  readonly stale: boolean;
  readonly disagreements: readonly VenueDisagreement[];
  /** Days on which this venue's candle went into the consensus. */
  readonly daysUsed: number;
}

export type ConsensusIssueKind =
  | 'venue-failed'
  | 'venue-not-listed'
  | 'venue-no-data'
  | 'venue-stale'
  | 'venue-disagreed'
  | 'below-quorum';

/** A one-line finding for the ops topic and the threshold's audit trail. */
export interface ConsensusIssue {
  readonly kind: ConsensusIssueKind;
  readonly venue?: string;
  readonly message: string;
}

/**
 * A consensus candle series with the evidence for it: per-venue status and the days left out.
 * `confirmingVenues` is the fewest venues that agreed on any of its days (at least the quorum).
 */
export interface ConsensusSeries extends CandleSeries {
  readonly venueReport: readonly VenueReport[];
  readonly issues: readonly ConsensusIssue[];
  /** Day opens some venue had but fewer than `quorum` venues agreed on; they are not in `candles`. */
  readonly unconfirmedDays: readonly number[];
  readonly quorum: number;
  readonly tolerance: number;
}

export interface ConsensusOptions {
  /** Largest relative distance of a venue's close from the day's median that still counts as agreement. @default 0.02 */
  readonly tolerance?: number;
  /**
   * Venues that must answer with data, and agree on a day for it to be kept.
   * @default 2, or 1 when only one venue lists the instrument
   */
  readonly quorum?: number;
  /** @default `consensus(<venue names>)` */
  readonly name?: string;
  /**
   * The bar length agreed on: one hour for an hourly MPOR. A venue that answers with bars of another
   * length (it cannot give these) is left out of the consensus as failed, with the reason. @default DAY_MS
   */
  readonly intervalMs?: number;
}

export const DEFAULT_CONSENSUS_TOLERANCE = 0.02;

// Two deviations this close are the same: ties are excluded together, never by list order.
const TIE_EPSILON = 1e-12;

type VenueOutcome =
  | { readonly kind: 'fetched'; readonly venue: string; readonly series: CandleSeries }
  | { readonly kind: 'not-listed'; readonly venue: string; readonly error: Error }
  | { readonly kind: 'failed'; readonly venue: string; readonly error: unknown };

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

interface DayEntry {
  readonly venue: string;
  readonly candle: Candle;
}

interface DayResult {
  readonly candle: Candle | undefined;
  readonly used: readonly string[];
  readonly excluded: readonly (VenueDisagreement & { readonly venue: string })[];
}

/**
 * One day's consensus. Venues are trimmed until the rest agree: while the farthest close is more than
 * `tolerance` from the median of those left, drop it (and any tied with it) and recompute the median. So
 * a wild venue cannot drag the reference the others are judged against, and when two venues disagree with
 * each other and nobody else has the day, both are dropped rather than one picked by chance.
 *
 * The candle is the median of each field over the agreeing venues. Field-wise medians can come from
 * different venues, so high is raised to max(open, close) and low lowered to min(open, close) if needed:
 * the result is a valid bar whose open and close are the consensus ones. Volume is the median too, not the
 * sum: one venue's inflated volume cannot move it, and it reads as "typical one-venue liquidity", the
 * conservative side for a liquidity add-on.
 */
export function consensusDay(
  time: number,
  entries: readonly DayEntry[],
  tolerance: number,
  quorum: number,
): DayResult {
  let remaining = [...entries];
  const excluded: (VenueDisagreement & { venue: string })[] = [];
  while (remaining.length > 0) {
    const reference = median(remaining.map((e) => e.candle.close));
    const deviations = remaining.map((e) => Math.abs(e.candle.close - reference) / reference);
    const worst = Math.max(...deviations);
    if (!(worst > tolerance)) break;
    const keep: DayEntry[] = [];
    remaining.forEach((entry, i) => {
      if ((deviations[i] ?? 0) >= worst - TIE_EPSILON) {
        excluded.push({
          venue: entry.venue,
          time,
          close: entry.candle.close,
          referenceClose: reference,
          deviation: (entry.candle.close - reference) / reference,
        });
      } else {
        keep.push(entry);
      }
    });
    remaining = keep;
  }
  if (remaining.length < quorum || remaining.length === 0) return { candle: undefined, used: [], excluded };
  const field = (pick: (c: Candle) => number) => median(remaining.map((e) => pick(e.candle)));
  const open = field((c) => c.open);
  const close = field((c) => c.close);
  return {
    candle: {
      time,
      open,
      high: Math.max(
        field((c) => c.high),
        open,
        close,
      ),
      low: Math.min(
        field((c) => c.low),
        open,
        close,
      ),
      close,
      volume: field((c) => c.volume),
    },
    used: remaining.map((e) => e.venue),
    excluded,
  };
}

/**
 * Daily candles agreed by several venues. Fetches every venue in parallel; a venue that fails, has no
 * data, is stale or disagrees is reported in `venueReport`/`issues`, and a disagreeing close is left out
 * of that day's median. Throws `MarketSourceError` (naming every venue and why) when fewer than `quorum`
 * venues return data, or when no day reaches the quorum.
 *
 * Staleness is only reported: a venue's older days are still good. The days after its last candle simply
 * have one venue fewer, and if that drops them below quorum they are left out (`unconfirmedDays`), so the
 * series ends at the last day a quorum confirms and downstream staleness checks see it.
 *
 * @example
 * const market = new ConsensusSource([new DeribitSource(), new BinanceSource(), new CoinbaseSource()]);
 * const btc = await market.candles('BTC', { from: Date.UTC(2024, 0, 1), to: Date.UTC(2024, 6, 1) });
 * btc.source; // 'consensus(deribit,binance,coinbase)'
 * btc.venueReport.filter((v) => v.status !== 'ok'); // what to tell the ops topic
 */
export class ConsensusSource implements MarketDataSource {
  readonly name: string;
  readonly impliedVolatility?: (
    instrument: string,
    range: TimeRange,
    signal?: AbortSignal,
  ) => Promise<ImpliedVolatilitySeries>;
  private readonly tolerance: number;
  private readonly quorum: number | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly venues: readonly MarketDataSource[],
    options: ConsensusOptions = {},
  ) {
    if (venues.length === 0) throw new RangeError('a consensus needs at least one venue');
    const names = venues.map((v) => v.name);
    if (new Set(names).size !== names.length) {
      throw new RangeError(`consensus venues must have distinct names, got ${names.join(', ')}`);
    }
    this.tolerance = options.tolerance ?? DEFAULT_CONSENSUS_TOLERANCE;
    if (!(this.tolerance >= 0)) throw new RangeError(`tolerance must be ≥ 0, got ${this.tolerance}`);
    if (options.quorum !== undefined && !(Number.isInteger(options.quorum) && options.quorum >= 1)) {
      throw new RangeError(`quorum must be an integer ≥ 1, got ${options.quorum}`);
    }
    this.quorum = options.quorum;
    this.intervalMs = options.intervalMs ?? DAY_MS;
    if (!(Number.isInteger(this.intervalMs) && this.intervalMs > 0)) {
      throw new RangeError(`intervalMs must be a whole number of ms > 0, got ${options.intervalMs}`);
    }
    this.name = options.name ?? `consensus(${names.join(',')})`;
    // Only venues that publish one (Deribit's DVOL); the port's method stays absent if none does.
    const withImplied = venues.filter((v) => v.impliedVolatility !== undefined);
    if (withImplied.length > 0) {
      this.impliedVolatility = (instrument, range, signal) =>
        this.firstImpliedVolatility(withImplied, instrument, range, signal);
    }
  }

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<ConsensusSeries> {
    const window = barWindow(range, this.intervalMs);
    const settled = await Promise.allSettled(this.venues.map((v) => v.candles(instrument, range, signal)));
    signal?.throwIfAborted();
    const outcomes: VenueOutcome[] = settled.map((result, i) => {
      const venue = this.venues[i]?.name ?? `venue ${i}`;
      if (result.status === 'fulfilled') {
        const series = result.value;
        if (series.intervalMs !== this.intervalMs) {
          // Bars of another length would vote on the wrong opens (a daily close against an hourly one).
          const error = new MarketSourceError(
            `${venue} ${instrument}: answered with bars of ${formatInterval(series.intervalMs)}, this consensus needs ${formatInterval(this.intervalMs)} bars`,
            venue,
            instrument,
          );
          return { kind: 'failed', venue, error };
        }
        return { kind: 'fetched', venue, series };
      }
      const error: unknown = result.reason;
      if (error instanceof InstrumentNotListedError || error instanceof UnknownInstrumentError) {
        return { kind: 'not-listed', venue, error };
      }
      return { kind: 'failed', venue, error };
    });

    const listed = outcomes.filter((o) => o.kind !== 'not-listed');
    if (listed.length === 0) {
      // Nobody lists it: a configuration mistake, reported as the catalogue's own error.
      const first = outcomes[0];
      throw first?.kind === 'not-listed' ? first.error : new UnknownInstrumentError(instrument, []);
    }
    const quorum = this.quorum ?? Math.min(2, listed.length);
    const fetched = outcomes.filter(
      (o): o is Extract<VenueOutcome, { kind: 'fetched' }> => o.kind === 'fetched',
    );
    const withData = fetched.filter((o) => o.series.candles.length > 0);

    if (window.firstBar >= window.endBar) {
      return this.result(instrument, [], outcomes, new Map(), [], quorum);
    }
    if (withData.length < quorum) {
      throw this.quorumError(
        instrument,
        outcomes,
        `${withData.length} of ${outcomes.length} venues returned data, quorum is ${quorum}`,
      );
    }

    const byDay = new Map<number, DayEntry[]>();
    for (const { venue, series } of withData) {
      for (const candle of series.candles) {
        const entries = byDay.get(candle.time) ?? [];
        // A venue repeating a day would vote twice; the adapters de-duplicate, but a foreign source may not.
        if (!entries.some((e) => e.venue === venue)) entries.push({ venue, candle });
        byDay.set(candle.time, entries);
      }
    }
    const candles: Candle[] = [];
    const unconfirmed: number[] = [];
    // The fewest venues behind any kept day: what the validator may count as a second venue's confirmation.
    let confirmingVenues = Number.POSITIVE_INFINITY;
    const perVenue = new Map<string, { used: number; disagreements: VenueDisagreement[] }>(
      withData.map((o) => [o.venue, { used: 0, disagreements: [] }]),
    );
    for (const time of [...byDay.keys()].sort((a, b) => a - b)) {
      const day = consensusDay(time, byDay.get(time) ?? [], this.tolerance, quorum);
      for (const { venue, ...disagreement } of day.excluded)
        perVenue.get(venue)?.disagreements.push(disagreement);
      if (day.candle === undefined) {
        unconfirmed.push(time);
        continue;
      }
      candles.push(day.candle);
      confirmingVenues = Math.min(confirmingVenues, day.used.length);
      for (const venue of day.used) {
        const stats = perVenue.get(venue);
        if (stats) stats.used++;
      }
    }
    if (candles.length === 0) {
      throw this.quorumError(
        instrument,
        outcomes,
        `no ${this.unit} between ${this.at(window.firstBar)} and ${this.at(window.endBar - this.intervalMs)} was agreed by ${quorum} venues within ${formatPct(this.tolerance)}`,
        perVenue,
      );
    }
    return {
      ...this.result(instrument, candles, outcomes, perVenue, unconfirmed, quorum),
      confirmingVenues,
    };
  }

  private result(
    instrument: string,
    candles: readonly Candle[],
    outcomes: readonly VenueOutcome[],
    perVenue: ReadonlyMap<string, { used: number; disagreements: readonly VenueDisagreement[] }>,
    unconfirmedDays: readonly number[],
    quorum: number,
  ): ConsensusSeries {
    const lastTimes = outcomes.flatMap((o) =>
      o.kind === 'fetched' && o.series.candles.length > 0 ? [lastTime(o.series)] : [],
    );
    const freshest = lastTimes.length > 0 ? Math.max(...lastTimes) : undefined;
    const venueReport: VenueReport[] = [];
    const issues: ConsensusIssue[] = [];
    for (const outcome of outcomes) {
      const { venue } = outcome;
      if (outcome.kind === 'failed' || outcome.kind === 'not-listed') {
        const error = describeError(outcome.error);
        const status = outcome.kind;
        venueReport.push({ venue, status, error, candles: 0, stale: false, disagreements: [], daysUsed: 0 });
        issues.push({
          kind: status === 'failed' ? 'venue-failed' : 'venue-not-listed',
          venue,
          message: `${venue}: ${error}`,
        });
        continue;
      }
      const { series } = outcome;
      if (series.candles.length === 0) {
        venueReport.push({
          venue,
          status: 'no-data',
          candles: 0,
          stale: false,
          disagreements: [],
          daysUsed: 0,
        });
        issues.push({ kind: 'venue-no-data', venue, message: `${venue}: no candles in the requested range` });
        continue;
      }
      const last = lastTime(series);
      const stale = freshest !== undefined && last < freshest;
      const stats = perVenue.get(venue);
      const disagreements = stats?.disagreements ?? [];
      const status: VenueStatus = disagreements.length > 0 ? 'disagreed' : stale ? 'stale' : 'ok';
      venueReport.push({
        venue,
        status,
        candles: series.candles.length,
        lastCandleTime: last,
        stale,
        disagreements,
        daysUsed: stats?.used ?? 0,
      });
      if (stale && freshest !== undefined) {
        issues.push({
          kind: 'venue-stale',
          venue,
          message: `${venue}: last candle ${this.at(last)}, others have ${this.at(freshest)}`,
        });
      }
      if (disagreements.length > 0) {
        const worst = disagreements.reduce((a, b) => (Math.abs(b.deviation) > Math.abs(a.deviation) ? b : a));
        issues.push({
          kind: 'venue-disagreed',
          venue,
          message: `${venue}: close beyond ${formatPct(this.tolerance)} of the median on ${disagreements.length} ${this.unit}(s), excluded; worst ${formatPct(worst.deviation)} on ${this.at(worst.time)}`,
        });
      }
    }
    if (unconfirmedDays.length > 0) {
      issues.push({
        kind: 'below-quorum',
        message: `${unconfirmedDays.length} ${this.unit}(s) left out, fewer than ${quorum} venues agreeing: ${summariseDays(unconfirmedDays, (t) => this.at(t))}`,
      });
    }
    return {
      instrument,
      intervalMs: this.intervalMs,
      candles,
      source: this.name,
      venueReport,
      issues,
      unconfirmedDays,
      quorum,
      tolerance: this.tolerance,
    };
  }

  /** What a bar is called in findings: a day, or a bar (an hour) for intraday consensus. */
  private get unit(): string {
    return this.intervalMs === DAY_MS ? 'day' : 'bar';
  }

  /** A bar open as findings show it: the UTC day, or the day and time for intraday bars. */
  private at(time: number): string {
    return this.intervalMs % DAY_MS === 0
      ? utcDay(time)
      : new Date(time).toISOString().slice(0, 16).concat('Z');
  }

  private quorumError(
    instrument: string,
    outcomes: readonly VenueOutcome[],
    reason: string,
    perVenue?: ReadonlyMap<string, { used: number; disagreements: readonly VenueDisagreement[] }>,
  ): MarketSourceError {
    const venues = outcomes.map((o) => {
      if (o.kind !== 'fetched') return `${o.venue} ${o.kind} (${describeError(o.error)})`;
      if (o.series.candles.length === 0) return `${o.venue} returned no candles`;
      const disagreed = perVenue?.get(o.venue)?.disagreements.length ?? 0;
      return disagreed > 0
        ? `${o.venue} returned ${o.series.candles.length} candles, disagreed on ${disagreed} day(s)`
        : `${o.venue} returned ${o.series.candles.length} candles`;
    });
    const causes = outcomes.flatMap((o) => (o.kind === 'failed' ? [o.error] : []));
    return new MarketSourceError(
      `${this.name} ${instrument}: ${reason}: ${venues.join('; ')}`,
      this.name,
      instrument,
      causes.length > 0 ? { cause: new AggregateError(causes, 'venue failures') } : undefined,
    );
  }

  // Implied volatility is not averaged: only Deribit publishes an index, so the first venue that answers wins.
  private async firstImpliedVolatility(
    sources: readonly MarketDataSource[],
    instrument: string,
    range: TimeRange,
    signal?: AbortSignal,
  ): Promise<ImpliedVolatilitySeries> {
    const failures: { venue: string; error: unknown }[] = [];
    for (const source of sources) {
      try {
        const series = await source.impliedVolatility?.(instrument, range, signal);
        if (series) return series;
      } catch (error) {
        signal?.throwIfAborted();
        failures.push({ venue: source.name, error });
      }
    }
    const real = failures.filter(
      (f) => !(f.error instanceof InstrumentNotListedError || f.error instanceof UnknownInstrumentError),
    );
    if (real.length === 0 && failures[0]) throw failures[0].error;
    throw new MarketSourceError(
      `${this.name} ${instrument}: no venue returned implied volatility: ${failures.map((f) => `${f.venue} (${describeError(f.error)})`).join('; ')}`,
      this.name,
      instrument,
      {
        cause: new AggregateError(
          real.map((f) => f.error),
          'venue failures',
        ),
      },
    );
  }
}

function lastTime(series: CandleSeries): number {
  return series.candles[series.candles.length - 1]?.time ?? Number.NEGATIVE_INFINITY;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function formatPct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function summariseDays(times: readonly number[], at: (time: number) => string): string {
  const shown = times.slice(0, 5).map(at).join(', ');
  return times.length > 5 ? `${shown}, … (${times.length - 5} more)` : shown;
}
