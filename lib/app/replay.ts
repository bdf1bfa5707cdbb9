/**
 * Replaying history: intraday (or daily) bars played through the same use cases the deployed functions run,
 * on a simulated clock. Pure orchestration over ports: the stores, the breach index and the publishers are
 * the caller's (DynamoDB Local for `qmt replay`, in-memory ports in tests).
 *
 * At each event time, in order:
 *  1. each bar closing then: its close is every venue's mark (`venues` identical venue marks), put through
 *     the live consensus (`markConsensus`), so the replay applies the same quorum, age and jump rules as the
 *     market watch; a held mark holds its instrument's accounts and is reported;
 *  2. shock recalibration (`recalibrateOnShock`, as the market watch runs it; `shockRecalibration: false`
 *     turns it off, `shock` replaces it): a set it publishes is recorded as `trigger: 'shock'`;
 *  3. the market watch, once, at the set now in force: a full sweep (`sweepSegment` at the bar's marks)
 *     after a shock set (it has no breach bands) or when `fullSweepEveryMs` has passed since the last one,
 *     else a targeted sweep through the breach index (`sweepMoved`);
 *  4. at each UTC midnight: the scheduled recalibration (`recalibrate`) from the bars aggregated to UTC days
 *     (only days closed by then: no look-ahead; history before `from` warms the model up), then a full
 *     sweep at the current marks, since breach bands belong to one set and a new set has none. A bar closing
 *     at that midnight is left to it: the shock step defers to the scheduled run due then (its rule, as in
 *     the deployed watch), and the bar is swept once, by the scheduled run's full sweep.
 */
import type { MarginAlert } from '../domain/account/account.ts';
import type { MarginLevels } from '../domain/account/state-machine.ts';
import { MarketDataError } from '../domain/errors.ts';
import { aggregateToUtcDays, isIntradayInterval } from '../domain/market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../domain/market/candle.ts';
import { createMarkSnapshot, type InstrumentMark, type MarkSnapshot } from '../domain/market/mark.ts';
import {
  DEFAULT_MARK_CONSENSUS_POLICY,
  type MarkConsensusPolicy,
  markConsensus,
} from '../domain/market/mark-consensus.ts';
import type { InstrumentPolicy } from '../domain/threshold/policy.ts';
import type { Threshold, ThresholdSet } from '../domain/threshold/threshold.ts';
import type { ValuationPolicy } from '../domain/valuation/policy.ts';
import type {
  AccountReader,
  AccountSource,
  AlertPublisher,
  BreachIndex,
  Clock,
  MarginStatusStore,
  MarketDataSource,
  OpsPublisher,
  RunLedger,
  ThresholdStore,
  TimeRange,
} from '../ports.ts';
import { recalibrate } from './recalibrate.ts';
import { recalibrateOnShock } from './shock-recalibration.ts';
import { sweepSegment } from './sweep.ts';
import { sweepMoved } from './targeted-sweep.ts';

/** The replay's clock: set by the engine to each event's time; give the same object to clock-aware adapters. */
export class SimulatedClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
}

export interface ReplayPorts {
  readonly thresholds: ThresholdStore;
  readonly ledger: RunLedger;
  readonly accounts: AccountSource & AccountReader;
  readonly statuses: MarginStatusStore;
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly breachIndex: BreachIndex;
  readonly clock: SimulatedClock;
}

/** What the shock step sees at a bar: the time, the marks taken, the set in force. */
export interface ShockContext {
  readonly at: number;
  readonly marks: MarkSnapshot;
  readonly set: ThresholdSet | undefined;
}

export interface ReplayRequest {
  /** Per instrument: bars of one length up to a day (intraday bars are aggregated to days for the model). */
  readonly series: readonly CandleSeries[];
  /** Daily history before the bars, per instrument, for the model only (e.g. a demo's generated warm-up). */
  readonly warmUp?: readonly CandleSeries[];
  readonly instruments: readonly InstrumentPolicy[];
  /** First UTC midnight replayed (ms): its scheduled recalibration opens the replay. */
  readonly from: number;
  /** Last time replayed (ms): bars closing after it are left out. */
  readonly to: number;
  /** A full sweep when this long has passed since the last (every recalibration also starts one). */
  readonly fullSweepEveryMs: number;
  /** Venues quoting each bar's close (identical marks). @default 3 */
  readonly venues?: number;
  /** @default the committee defaults, per instrument */
  readonly markPolicy?: (instrument: string) => MarkConsensusPolicy;
  readonly levels?: MarginLevels;
  readonly valuationPolicy?: ValuationPolicy;
  /** Days of daily history each recalibration reads. @default 3650 */
  readonly historyDays?: number;
  /**
   * Run shock recalibration at each bar, as the market watch does (the instruments' `shock` policy sets the
   * trigger and the daily cap). @default true
   */
  readonly shockRecalibration?: boolean;
  /** Replaces the built-in shock step (tests): returns the new set it published, if any. */
  readonly shock?: (context: ShockContext) => Promise<ThresholdSet | undefined>;
  /** Told of each alert as it is published, with the marks that valued it. */
  readonly onAlert?: (alert: MarginAlert, at: number, marks: MarkSnapshot) => void;
  readonly onThresholdSet?: (set: ReplayThresholdSet) => void;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface ReplayThresholdSet {
  readonly setId: string;
  readonly effectiveAt: string;
  readonly trigger: 'scheduled' | 'shock';
  readonly thresholds: readonly Threshold[];
}

export interface ReplayError {
  readonly kind:
    | 'mark-held'
    | 'threshold-held'
    | 'account-rejected'
    | 'recalibration-failed'
    | 'sweep-failed'
    | 'aggregation';
  readonly key: string;
  readonly reason: string;
  /** When it happened (ISO), on the replay's clock. */
  readonly at: string;
}

export interface ReplayStats {
  bars: number;
  fullSweeps: number;
  targetedSweeps: number;
  /** Account valuations by sweeps (not counting band valuations of the index). */
  accountsValued: number;
  /** Account records read from the accounts store (scanned or fetched by id). */
  accountsRead: number;
}

export interface ReplayResult {
  readonly thresholdSets: readonly ReplayThresholdSet[];
  /** In the order published. */
  readonly alerts: readonly MarginAlert[];
  readonly errors: readonly ReplayError[];
  readonly stats: ReplayStats;
}

interface Bar {
  readonly instrument: string;
  readonly candle: Candle;
  readonly close: number;
  readonly closeTime: number;
}

/**
 * Replay `request.series` from `from` to `to`. Deterministic: the same bars, accounts and policy give the
 * same sets, alerts (ids, times) and stats.
 *
 * @example
 * const clock = new SimulatedClock(from);
 * const result = await replay({ ...stores, clock }, { series: [ethHourly], instruments, from, to, fullSweepEveryMs: 6 * HOUR });
 */
export async function replay(ports: ReplayPorts, request: ReplayRequest): Promise<ReplayResult> {
  const { clock } = ports;
  const from = Math.ceil(request.from / DAY_MS) * DAY_MS;
  const venues = request.venues ?? 3;
  const markPolicy = request.markPolicy ?? (() => DEFAULT_MARK_CONSENSUS_POLICY);
  const stats: ReplayStats = {
    bars: 0,
    fullSweeps: 0,
    targetedSweeps: 0,
    accountsValued: 0,
    accountsRead: 0,
  };
  const errors: ReplayError[] = [];
  const reported = new Set<string>();
  const report = (error: ReplayError, once = false) => {
    const key = `${error.kind}\u0000${error.key}\u0000${error.reason}`;
    if (once && reported.has(key)) return;
    reported.add(key);
    errors.push(error);
  };
  const iso = (t: number) => new Date(t).toISOString();

  // Daily series for the model; bars for the watch.
  const daily: CandleSeries[] = [];
  const failedDaily = new Map<string, string>();
  const bars: Bar[] = [];
  for (const series of request.series) {
    if (isIntradayInterval(series.intervalMs)) {
      const aggregation = aggregateToUtcDays(series);
      if (aggregation.problems.length > 0) {
        const reason = `bars cannot be aggregated to days: ${aggregation.problems.join('; ')}`;
        failedDaily.set(series.instrument, reason);
        report({ kind: 'aggregation', key: series.instrument, reason, at: iso(from) });
      }
      daily.push(aggregation.series);
    } else {
      daily.push(series);
    }
    for (const candle of series.candles) {
      const closeTime = candle.time + series.intervalMs;
      if (candle.time < from || closeTime > request.to) continue;
      bars.push({ instrument: series.instrument, candle, close: candle.close, closeTime });
    }
  }
  for (const history of request.warmUp ?? []) {
    const i = daily.findIndex((d) => d.instrument === history.instrument);
    const own = daily[i];
    if (!own) continue;
    const start = own.candles[0]?.time ?? Number.POSITIVE_INFINITY;
    daily[i] = {
      ...own,
      candles: [...history.candles.filter((c) => c.time < start), ...own.candles],
      source: `${own.source}, after ${history.source}`,
    };
  }
  bars.sort((a, b) => a.closeTime - b.closeTime || compareText(a.instrument, b.instrument));
  const market = new ClosedDaysMarket(daily, failedDaily);

  // Published alerts, in order, told to the caller with the marks that valued them.
  const alerts: MarginAlert[] = [];
  let currentMarks: MarkSnapshot = createMarkSnapshot({ takenAt: from, marks: [] });
  const alertPort: AlertPublisher = {
    async publish(batch) {
      const result = await ports.alerts.publish(batch);
      const published = new Set(result.published);
      for (const alert of batch) {
        if (!published.has(alert.alertId)) continue;
        alerts.push(alert);
        request.onAlert?.(alert, clock.now(), currentMarks);
      }
      return result;
    },
  };
  const opsPort: OpsPublisher = {
    async publish(event) {
      if (event.type === 'accounts.rejected') {
        for (const r of event.rejected) {
          report(
            { kind: 'account-rejected', key: r.accountKey, reason: r.reason, at: iso(clock.now()) },
            true,
          );
        }
      }
      await ports.ops.publish(event);
    },
  };
  const accounts = countingReads(ports.accounts, stats);
  const sweepPorts = { ...ports, accounts, alerts: alertPort, ops: opsPort };
  const sweepOptions = {
    ...(request.levels ? { levels: request.levels } : {}),
    ...(request.valuationPolicy ? { valuationPolicy: request.valuationPolicy } : {}),
  };

  const thresholdSets: ReplayThresholdSet[] = [];
  const recordSet = (set: ThresholdSet, trigger: ReplayThresholdSet['trigger']) => {
    const entry: ReplayThresholdSet = {
      setId: set.setId,
      effectiveAt: iso(clock.now()),
      trigger,
      thresholds: set.thresholds,
    };
    thresholdSets.push(entry);
    request.onThresholdSet?.(entry);
    for (const t of set.thresholds) {
      if (t.status === 'held') {
        report(
          { kind: 'threshold-held', key: t.instrument, reason: t.heldReason ?? '', at: entry.effectiveAt },
          true,
        );
      }
    }
  };

  let lastFull = Number.NEGATIVE_INFINITY;
  let sweepNumber = 0;
  const fullSweep = async () => {
    if ((await ports.thresholds.currentSet()) === undefined) return;
    const runId = `replay-full-${iso(clock.now())}-${++sweepNumber}`;
    try {
      let cursor: string | undefined;
      do {
        const result = await sweepSegment(sweepPorts, {
          runId,
          segment: { segment: 0, totalSegments: 1 },
          marks: currentMarks,
          ...(cursor === undefined ? {} : { cursor }),
          ...sweepOptions,
        });
        stats.accountsValued += result.counts.accounts;
        cursor = result.cursor;
      } while (cursor !== undefined);
      stats.fullSweeps++;
      lastFull = clock.now();
    } catch (error) {
      report({ kind: 'sweep-failed', key: runId, reason: describe(error), at: iso(clock.now()) });
    }
  };
  const targetedSweep = async () => {
    if ((await ports.thresholds.currentSet()) === undefined) return;
    const runId = `replay-watch-${iso(clock.now())}-${++sweepNumber}`;
    try {
      const result = await sweepMoved(sweepPorts, { runId, marks: currentMarks, ...sweepOptions });
      stats.accountsValued += result.counts.accounts;
      stats.targetedSweeps++;
    } catch (error) {
      report({ kind: 'sweep-failed', key: runId, reason: describe(error), at: iso(clock.now()) });
    }
  };
  const scheduledRecalibration = async (midnight: number) => {
    const runId = iso(midnight);
    try {
      const result = await recalibrate(
        { market, thresholds: ports.thresholds, ledger: ports.ledger, ops: opsPort, clock },
        {
          runId,
          holder: 'replay',
          instruments: request.instruments,
          ...(request.historyDays === undefined ? {} : { historyDays: request.historyDays }),
        },
      );
      if (result.outcome === 'published') recordSet(result.set, 'scheduled');
      else report({ kind: 'recalibration-failed', key: runId, reason: result.reason, at: runId });
    } catch (error) {
      report({ kind: 'recalibration-failed', key: runId, reason: describe(error), at: runId });
    }
  };

  /** Shock recalibration on this bar's marks; the set it published, if it raised a margin. */
  const shockStep = async (context: ShockContext): Promise<ThresholdSet | undefined> => {
    try {
      const result = await recalibrateOnShock(
        { market, thresholds: ports.thresholds, ledger: ports.ledger, ops: opsPort, clock },
        {
          snapshot: context.marks,
          instruments: request.instruments,
          holder: 'replay',
          ...(request.historyDays === undefined ? {} : { historyDays: request.historyDays }),
          // The replay's scheduled run is at each midnight itself.
          scheduledRunDueAfterMs: 0,
        },
      );
      return result.outcome === 'published' ? result.set : undefined;
    } catch (error) {
      report({
        kind: 'recalibration-failed',
        key: `shock@${iso(context.at)}`,
        reason: describe(error),
        at: iso(context.at),
      });
      return undefined;
    }
  };

  // The marks accepted so far, per instrument; warm-up bars before `from` give the opening marks.
  const accepted = new Map<string, InstrumentMark>();
  const held = new Map<string, { instrument: string; reason: string }>();
  for (const series of [...request.series, ...(request.warmUp ?? [])]) {
    const last = series.candles.findLast((c) => c.time + series.intervalMs <= from);
    if (!accepted.has(series.instrument) && last && last.close > 0 && Number.isFinite(last.close)) {
      const at = last.time + series.intervalMs;
      accepted.set(series.instrument, {
        instrument: series.instrument,
        price: last.close,
        at,
        source: 'live',
        venues: venueNames(venues),
      });
    }
  }
  // A held instrument keeps its last accepted mark for the next jump check, but is not marked meanwhile.
  const snapshotAt = (t: number) =>
    createMarkSnapshot({
      takenAt: t,
      marks: [...accepted.values()].filter((m) => !held.has(m.instrument)),
      held: [...held.values()],
    });

  // Event times: every bar close and every UTC midnight from `from` to `to`.
  const midnights: number[] = [];
  for (let m = from; m <= request.to; m += DAY_MS) midnights.push(m);
  const times = [...new Set([...bars.map((b) => b.closeTime), ...midnights])].sort((a, b) => a - b);
  const barsAt = new Map<number, Bar[]>();
  for (const bar of bars) barsAt.set(bar.closeTime, [...(barsAt.get(bar.closeTime) ?? []), bar]);

  let step = 0;
  for (const t of times) {
    clock.time = t;
    const closing = barsAt.get(t) ?? [];
    const midnight = t % DAY_MS === 0 && t >= from;
    if (closing.length > 0) {
      stats.bars += closing.length;
      for (const bar of closing) takeMark(bar, t);
      currentMarks = snapshotAt(t);
    }
    if (closing.length > 0) {
      // A shock run first, as the deployed watch does: the bar is then swept once, at the set now in force.
      // Sweeping at the old set first would move an account at the old set and back at the raised one on
      // the same bar (a flap). A raised set has no breach bands yet, so it is swept in full. At a midnight
      // the shock step leaves the bar to the scheduled run (its rule, as deployed: the run is due then).
      const shock = request.shock ?? (request.shockRecalibration === false ? undefined : shockStep);
      const shocked = shock
        ? await shock({ at: t, marks: currentMarks, set: await ports.thresholds.currentSet() })
        : undefined;
      if (shocked) recordSet(shocked, 'shock');
      if (shocked || (!midnight && t - lastFull >= request.fullSweepEveryMs)) await fullSweep();
      // At a midnight the scheduled run's full sweep below values this bar, once, under the day's set.
      else if (!midnight) await targetedSweep();
    }
    if (midnight) {
      currentMarks = snapshotAt(t);
      await scheduledRecalibration(t);
      await fullSweep();
    }
    request.onProgress?.(++step, times.length);
  }

  return { thresholdSets, alerts, errors, stats };

  /** The bar's close quoted by every venue at the close time, through the live consensus. */
  function takeMark(bar: Bar, t: number): void {
    const previous = accepted.get(bar.instrument);
    const consensus = markConsensus({
      instrument: bar.instrument,
      answers: venueNames(venues).map((venue) => ({
        venue,
        instrument: bar.instrument,
        price: bar.close,
        at: t,
      })),
      ...(previous ? { previous } : {}),
      now: t,
      policy: markPolicy(bar.instrument),
    });
    if (consensus.status === 'marked') {
      accepted.set(bar.instrument, consensus.mark);
      held.delete(bar.instrument);
      return;
    }
    // Held: the instrument's accounts stay where they are (no worsening, no recovery) until a good mark.
    held.set(bar.instrument, { instrument: bar.instrument, reason: consensus.held.reason });
    report({ kind: 'mark-held', key: bar.instrument, reason: consensus.held.reason, at: iso(t) });
  }
}

function venueNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `replay-${i + 1}`);
}

/** The daily series, served only as far as the days closed before the asked `to` (no look-ahead). */
class ClosedDaysMarket implements MarketDataSource {
  readonly name = 'replay';
  constructor(
    private readonly series: readonly CandleSeries[],
    private readonly failed: ReadonlyMap<string, string>,
  ) {}

  async candles(instrument: string, range: TimeRange): Promise<CandleSeries> {
    const failure = this.failed.get(instrument);
    if (failure !== undefined) throw new MarketDataError(`${instrument}: ${failure}`, instrument);
    const series = this.series.find((s) => s.instrument === instrument);
    if (!series) throw new MarketDataError(`${instrument}: no prices given for the replay`, instrument);
    return {
      ...series,
      candles: series.candles.filter((c) => c.time >= range.from && c.time + DAY_MS <= range.to),
    };
  }
}

/** The accounts port, counting every record read (a page's accounts and rejects, a lookup's finds). */
function countingReads(
  inner: AccountSource & AccountReader,
  stats: ReplayStats,
): AccountSource & AccountReader {
  return {
    async scanPage(segment, cursor, pageSize) {
      const page = await inner.scanPage(segment, cursor, pageSize);
      stats.accountsRead += page.accounts.length + page.rejected.length;
      return page;
    },
    approximateCount: () => inner.approximateCount(),
    async getAccounts(ids) {
      const lookup = await inner.getAccounts(ids);
      stats.accountsRead += lookup.accounts.length + lookup.rejected.length;
      return lookup;
    },
  };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
