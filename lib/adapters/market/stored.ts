/**
 * Candles kept, not refetched: a decorator around one venue's candle source. The first run fetches the whole
 * range and stores it; later runs fetch only the bars after the last stored one plus a short re-check window
 * before it (a venue may still correct its last few bars), and answer from the store.
 *
 * Which bar wins:
 * - a well-formed venue bar that differs from the stored one replaces it, and the change is reported as a
 *   revision: the venue owns its bars, and a run from the store must compute what a full refetch would;
 * - a bar the venue omits (a gap) or sends malformed never replaces a good stored bar: the stored one is
 *   served. A malformed bar with nothing stored is passed on as fetched, for the validator to hold, exactly
 *   as without the store; it is never stored.
 *
 * The store is an optimisation, never a point of failure: if reading it fails the source fetches the whole
 * range, and if writing fails the run goes on with the fetched bars (both are reported as warnings).
 */
import type { Candle, CandleSeries } from '../../domain/market/candle.ts';
import { DAY_MS, utcDay } from '../../domain/market/candle.ts';
import { checkValues } from '../../domain/market/validate-bars.ts';
import type {
  CandleRevision,
  CandleStore,
  HistoryStart,
  ImpliedVolatilitySeries,
  MarketDataSource,
  TimeRange,
} from '../../ports.ts';

/** Days before the last stored bar fetched again each run, to catch a venue's late corrections. */
export const DEFAULT_RECHECK_DAYS = 3;

/**
 * How long "the venue has nothing before day D" is trusted before the venue is asked again. Weekly: a venue
 * backfilling older bars is rare (a migration, an index extended back), a run that misses it for a week
 * computes from the history it had before, and asking every day would cost one request per instrument and
 * run for nothing; a longer lookback than the one checked is asked at once.
 */
export const HISTORY_START_RECHECK_MS = 7 * DAY_MS;

export interface CandleKeeping {
  readonly store: CandleStore;
  /** Bars before the last stored one that each run fetches again. @default DEFAULT_RECHECK_DAYS */
  readonly recheckBars?: number;
  /**
   * The bar length the venue source answers with (hourly for an hourly MPOR): the store keys by venue,
   * instrument and bar length, so hourly and daily bars of one instrument never mix. @default DAY_MS
   */
  readonly intervalMs?: number;
  /** Called once per revised bar found in the re-check window. */
  readonly onRevision?: (revision: CandleRevision) => void;
  /** Called when the store could not be read or written (the run goes on from the venue). */
  readonly onWarning?: (warning: string) => void;
  /** When a history-start fact is re-checked. @default HISTORY_START_RECHECK_MS */
  readonly historyStartRecheckMs?: number;
  /** Milliseconds since the epoch, for when a history start was learnt. @default Date.now */
  readonly now?: () => number;
}

const FIELDS = ['open', 'high', 'low', 'close', 'volume'] as const;

/** A bar the validator would not reject: finite, positive prices inside high/low, a usable volume. */
export function isWellFormed(candle: Candle): boolean {
  let errors = 0;
  checkValues(candle, 0, (_code, severity) => {
    if (severity === 'error') errors += 1;
  });
  return errors === 0 && Number.isInteger(candle.time);
}

function changedFields(stored: Candle, fetched: Candle): string[] {
  return FIELDS.filter((field) => stored[field] !== fetched[field]);
}

export class StoredCandleSource implements MarketDataSource {
  readonly name: string;
  private readonly recheckBars: number;
  private readonly historyStartRecheckMs: number;
  private readonly now: () => number;
  private readonly intervalMs: number;

  constructor(
    private readonly venue: MarketDataSource,
    private readonly keeping: CandleKeeping,
  ) {
    this.name = venue.name;
    this.recheckBars = keeping.recheckBars ?? DEFAULT_RECHECK_DAYS;
    this.historyStartRecheckMs = keeping.historyStartRecheckMs ?? HISTORY_START_RECHECK_MS;
    this.now = keeping.now ?? Date.now;
    this.intervalMs = keeping.intervalMs ?? DAY_MS;
    if (!(Number.isInteger(this.intervalMs) && this.intervalMs > 0)) {
      throw new RangeError(`intervalMs must be a whole number of ms > 0, got ${keeping.intervalMs}`);
    }
    if (!Number.isInteger(this.recheckBars) || this.recheckBars < 0) {
      throw new RangeError(`recheckBars must be a whole number ≥ 0, got ${keeping.recheckBars}`);
    }
    if (venue.impliedVolatility) {
      const impliedVolatility = venue.impliedVolatility.bind(venue);
      this.impliedVolatility = (instrument, range, signal) => impliedVolatility(instrument, range, signal);
    }
  }

  impliedVolatility?: (
    instrument: string,
    range: TimeRange,
    signal?: AbortSignal,
  ) => Promise<ImpliedVolatilitySeries>;

  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    const stored = await this.readStored(instrument, range);
    if (stored === undefined || stored.candles.length === 0) {
      // Nothing stored (or the store is unreadable): the whole range, as without the store.
      const fetched = await this.venue.candles(instrument, range, signal);
      const accepted = await this.keep(instrument, fetched, new Map());
      const firstTime = Math.min(...fetched.candles.map((candle) => candle.time));
      // Bars stored and none before the first: the venue's history starts there (for this lookback).
      if (stored !== undefined && accepted.length > 0 && firstTime > range.from) {
        await this.learnHistoryStart(instrument, fetched.intervalMs, range.from, firstTime);
      }
      return fetched;
    }
    const { intervalMs, candles } = stored;
    const first = candles[0] as Candle;
    const last = candles[candles.length - 1] as Candle;
    const fetchedParts: CandleSeries[] = [];
    // A longer lookback than the stored bars: the bars before the first one, unless the venue is known to
    // have none there (asked recently enough, for at least this lookback).
    if (first.time > range.from && !(await this.knownEmpty(instrument, intervalMs, range.from, first.time))) {
      const before = await this.venue.candles(instrument, { from: range.from, to: first.time }, signal);
      fetchedParts.push(before);
      const earliest = Math.min(first.time, ...before.candles.map((candle) => candle.time));
      if (earliest > range.from) {
        await this.learnHistoryStart(instrument, intervalMs, range.from, earliest);
      }
    }
    const recheckFrom = Math.max(range.from, last.time - this.recheckBars * intervalMs);
    fetchedParts.push(await this.venue.candles(instrument, { from: recheckFrom, to: range.to }, signal));

    const byTime = new Map(candles.map((candle) => [candle.time, candle]));
    const fetched: CandleSeries = {
      ...(fetchedParts[fetchedParts.length - 1] as CandleSeries),
      candles: fetchedParts.flatMap((part) => part.candles),
    };
    const accepted = await this.keep(instrument, fetched, byTime);
    for (const candle of accepted) byTime.set(candle.time, candle);
    // Malformed bars on days with nothing stored go on to the validator (as without the store).
    for (const candle of fetched.candles) if (!byTime.has(candle.time)) byTime.set(candle.time, candle);
    const merged = [...byTime.values()]
      .filter((candle) => candle.time >= range.from && candle.time < range.to)
      .sort((a, b) => a.time - b.time);
    return { ...fetched, instrument, intervalMs, candles: merged };
  }

  /** True when the venue is known to have had no bar in [from, before), learnt within the re-check period. */
  private async knownEmpty(
    instrument: string,
    intervalMs: number,
    from: number,
    before: number,
  ): Promise<boolean> {
    let start: HistoryStart | undefined;
    try {
      start = await this.keeping.store.readHistoryStart(this.name, instrument, intervalMs);
    } catch (error) {
      this.keeping.onWarning?.(
        `${this.name} ${instrument}: history start unreadable, asked the venue again (${describe(error)})`,
      );
      return false;
    }
    if (start === undefined) return false;
    const age = this.now() - start.learntAt;
    return start.from <= from && start.before >= before && age >= 0 && age < this.historyStartRecheckMs;
  }

  /** Remember that the venue had nothing in [from, before); a failed write only costs a request next run. */
  private async learnHistoryStart(
    instrument: string,
    intervalMs: number,
    from: number,
    before: number,
  ): Promise<void> {
    try {
      await this.keeping.store.writeHistoryStart(this.name, instrument, intervalMs, {
        from,
        before,
        learntAt: this.now(),
      });
    } catch (error) {
      this.keeping.onWarning?.(
        `${this.name} ${instrument}: history start not stored, next run asks the venue again (${describe(error)})`,
      );
    }
  }

  /** The stored bars in `range` at the venue's bar length, or undefined when the store cannot be read. */
  private async readStored(
    instrument: string,
    range: TimeRange,
  ): Promise<{ intervalMs: number; candles: Candle[] } | undefined> {
    // The store keys by bar length, so an hourly source's bars sit beside the daily ones, never among them.
    const intervalMs = this.intervalMs;
    try {
      return { intervalMs, candles: await this.keeping.store.read(this.name, instrument, intervalMs, range) };
    } catch (error) {
      this.keeping.onWarning?.(
        `${this.name} ${instrument}: stored candles unreadable, fetched the whole range (${describe(error)})`,
      );
      return undefined;
    }
  }

  /**
   * The fetched bars worth storing (well-formed, new or revised), written to the store; revisions reported.
   * Returns them so the caller serves them rather than the stored ones.
   */
  private async keep(
    instrument: string,
    fetched: CandleSeries,
    stored: ReadonlyMap<number, Candle>,
  ): Promise<Candle[]> {
    const accepted: Candle[] = [];
    if (fetched.intervalMs !== this.intervalMs) {
      // Bars of another length than this source keeps would corrupt its partition: served, never stored.
      this.keeping.onWarning?.(
        `${this.name} ${instrument}: bars of ${fetched.intervalMs} ms where ${this.intervalMs} ms are kept, not stored`,
      );
      return accepted;
    }
    for (const candle of fetched.candles) {
      if (!isWellFormed(candle)) continue;
      const previous = stored.get(candle.time);
      if (previous === undefined) {
        accepted.push(candle);
        continue;
      }
      const fields = changedFields(previous, candle);
      if (fields.length === 0) continue;
      accepted.push(candle);
      this.keeping.onRevision?.({
        venue: this.name,
        instrument,
        day: utcDay(candle.time),
        time: candle.time,
        storedClose: previous.close,
        venueClose: candle.close,
        fields,
      });
    }
    if (accepted.length > 0) {
      try {
        await this.keeping.store.write(this.name, instrument, fetched.intervalMs, accepted);
      } catch (error) {
        this.keeping.onWarning?.(
          `${this.name} ${instrument}: ${accepted.length} candles not stored, next run fetches them again (${describe(error)})`,
        );
      }
    }
    return accepted;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** In-memory store: tests, and local runs that should not refetch within one process. */
export class InMemoryCandleStore implements CandleStore {
  private readonly bars = new Map<string, Map<number, Candle>>();

  async read(venue: string, instrument: string, intervalMs: number, range: TimeRange): Promise<Candle[]> {
    const series = this.bars.get(key(venue, instrument, intervalMs));
    if (!series) return [];
    return [...series.values()]
      .filter((candle) => candle.time >= range.from && candle.time < range.to)
      .sort((a, b) => a.time - b.time);
  }

  async write(
    venue: string,
    instrument: string,
    intervalMs: number,
    candles: readonly Candle[],
  ): Promise<void> {
    const id = key(venue, instrument, intervalMs);
    const series = this.bars.get(id) ?? new Map<number, Candle>();
    for (const candle of candles) series.set(candle.time, { ...candle });
    this.bars.set(id, series);
  }

  private readonly starts = new Map<string, HistoryStart>();

  async readHistoryStart(
    venue: string,
    instrument: string,
    intervalMs: number,
  ): Promise<HistoryStart | undefined> {
    return this.starts.get(key(venue, instrument, intervalMs));
  }

  async writeHistoryStart(
    venue: string,
    instrument: string,
    intervalMs: number,
    start: HistoryStart,
  ): Promise<void> {
    this.starts.set(key(venue, instrument, intervalMs), { ...start });
  }
}

/** One partition per venue, instrument and bar length. */
export function candlePartition(venue: string, instrument: string, intervalMs: number): string {
  return `${venue}#${instrument}#${intervalMs}`;
}

const key = candlePartition;
