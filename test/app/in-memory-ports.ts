/** In-memory ports for use-case tests: the same contracts as the DynamoDB and SNS adapters, no I/O. */
import type {
  Account,
  MarginAlert,
  MarginStatus,
  MarginTransition,
} from '../../lib/domain/account/account.ts';
import type { SetBacktestReport } from '../../lib/domain/backtest/daily-report.ts';
import { type DailyWalkState, parseDailyWalkState } from '../../lib/domain/backtest/daily-walk.ts';
import { ThresholdSetConflictError } from '../../lib/domain/errors.ts';
import type { CandleSeries } from '../../lib/domain/market/candle.ts';
import type { Threshold, ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type {
  AccountPage,
  AccountSource,
  AlertPublisher,
  AlertPublishResult,
  BacktestReportStore,
  Clock,
  KeptWalk,
  Lease,
  MarginStatusStore,
  MarketDataSource,
  OpsEvent,
  OpsPublisher,
  RejectedAccountRecord,
  RunLedger,
  RunOutcome,
  ScanSegment,
  ThresholdStore,
  TimeRange,
  TransitionOutcome,
} from '../../lib/ports.ts';

export class InMemoryThresholdStore implements ThresholdStore {
  readonly sets = new Map<string, ThresholdSet>();
  current: string | undefined;

  async currentSet(): Promise<ThresholdSet | undefined> {
    return this.current === undefined ? undefined : this.sets.get(this.current);
  }

  async publishSet(set: ThresholdSet, expectedPreviousSetId: string | undefined): Promise<void> {
    if (this.current !== expectedPreviousSetId) {
      throw new ThresholdSetConflictError(
        `CURRENT is ${this.current}, not ${expectedPreviousSetId}`,
        expectedPreviousSetId,
      );
    }
    this.sets.set(set.setId, structuredClone(set));
    this.current = set.setId;
  }

  async history(instrument: string): Promise<Threshold[]> {
    return [...this.sets.values()]
      .flatMap((s) => s.thresholds.filter((t) => t.instrument === instrument))
      .sort((a, b) => (a.asOf < b.asOf ? 1 : -1));
  }
}

export class InMemoryRunLedger implements RunLedger {
  leaseHolder: Lease | undefined;
  readonly runs = new Map<string, { outcome: RunOutcome; counts: Record<string, number>; detail?: string }>();

  constructor(private readonly clock: Clock) {}

  async acquire(runId: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    if (this.runs.has(runId) && this.runs.get(runId)?.outcome !== 'failed') return undefined;
    if (this.leaseHolder && this.leaseHolder.expiresAt > this.clock.now()) return undefined;
    this.leaseHolder = { runId, holder, expiresAt: this.clock.now() + ttlMs };
    return this.leaseHolder;
  }

  async complete(
    lease: Lease,
    outcome: RunOutcome,
    counts: Readonly<Record<string, number>>,
    detail?: string,
  ): Promise<void> {
    this.runs.set(lease.runId, { outcome, counts: { ...counts }, ...(detail ? { detail } : {}) });
    if (this.leaseHolder?.holder === lease.holder) this.leaseHolder = undefined;
  }
}

/** Reports by set and kept walks by instrument, the walks kept as JSON text as DynamoDB keeps them. */
export class InMemoryBacktestReportStore implements BacktestReportStore {
  readonly reports = new Map<string, SetBacktestReport>();
  readonly walkTexts = new Map<string, string>();
  async record(report: SetBacktestReport): Promise<void> {
    this.reports.set(report.setId, report);
  }
  async get(setId: string): Promise<SetBacktestReport | undefined> {
    return this.reports.get(setId);
  }
  async walks(instruments: readonly string[]): Promise<ReadonlyMap<string, KeptWalk>> {
    const found = new Map<string, KeptWalk>();
    for (const instrument of instruments) {
      const text = this.walkTexts.get(instrument);
      if (text === undefined) continue;
      try {
        found.set(instrument, { state: parseDailyWalkState(JSON.parse(text), instrument) });
      } catch (error) {
        found.set(instrument, { unreadable: (error as Error).message });
      }
    }
    return found;
  }
  async recordWalks(walks: readonly DailyWalkState[]): Promise<void> {
    for (const walk of walks) this.walkTexts.set(walk.instrument, JSON.stringify(walk));
  }
}

export class RecordingOps implements OpsPublisher {
  readonly events: OpsEvent[] = [];
  async publish(event: OpsEvent): Promise<void> {
    this.events.push(event);
  }
}

export class FixedClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
}

/** Serves prepared series, or throws the prepared error, per instrument; records the ranges asked for. */
export class PreparedMarket implements MarketDataSource {
  readonly name = 'prepared';
  readonly requests: { instrument: string; range: TimeRange }[] = [];
  constructor(private readonly answers: Record<string, CandleSeries | Error>) {}

  async candles(instrument: string, range: TimeRange): Promise<CandleSeries> {
    this.requests.push({ instrument, range });
    const answer = this.answers[instrument];
    if (answer === undefined) throw new Error(`no prepared answer for ${instrument}`);
    if (answer instanceof Error) throw answer;
    return { ...answer, candles: answer.candles.filter((c) => c.time >= range.from && c.time < range.to) };
  }
}

export class InMemoryAccountSource implements AccountSource {
  constructor(
    private readonly records: readonly (Account | RejectedAccountRecord)[],
    private readonly segments = 1,
  ) {}

  async scanPage(segment: ScanSegment, cursor?: string, pageSize = 100): Promise<AccountPage> {
    const mine = this.records.filter((_, i) => i % segment.totalSegments === segment.segment);
    const start = cursor === undefined ? 0 : Number(cursor);
    const slice = mine.slice(start, start + pageSize);
    const next = start + pageSize < mine.length ? String(start + pageSize) : undefined;
    return {
      accounts: slice.filter((r): r is Account => 'accountId' in r),
      rejected: slice.filter((r): r is RejectedAccountRecord => 'accountKey' in r),
      ...(next === undefined ? {} : { cursor: next }),
    };
  }

  async approximateCount(): Promise<number> {
    return this.records.length * this.segments;
  }
}

export class InMemoryMarginStatusStore implements MarginStatusStore {
  readonly items = new Map<string, MarginStatus>();
  /** The watchlist index as DynamoDB keeps it: set by a transition, dropped when an alert back to OK is confirmed. */
  readonly watch = new Set<string>();
  /** Ids asked of `get`, call by call. */
  readonly reads: string[][] = [];
  /** Present only with `{ watchlist: true }`, as a store without the index would be. */
  readonly watchlist?: () => Promise<ReadonlySet<string> | undefined>;

  constructor(options: { readonly watchlist?: boolean } = {}) {
    if (options.watchlist) this.watchlist = async () => new Set(this.watch);
  }

  async get(accountIds: readonly string[]): Promise<Map<string, MarginStatus>> {
    this.reads.push([...accountIds]);
    return new Map(
      accountIds.flatMap((id) => (this.items.has(id) ? [[id, this.items.get(id) as MarginStatus]] : [])),
    );
  }

  async applyTransition(transition: MarginTransition): Promise<TransitionOutcome> {
    const stored = this.items.get(transition.accountId)?.sequence ?? 0;
    if (stored !== transition.expectedSequence) return 'stale';
    const alert = transition.alert;
    this.items.set(transition.accountId, {
      accountId: transition.accountId,
      state: transition.newState,
      sequence: alert.sequence,
      updatedAt: alert.occurredAt,
      thresholdSetId: alert.thresholdSetId,
      runId: alert.runId,
      marginRatio: alert.marginRatio ?? 'Infinity',
      pendingAlert: structuredClone(alert),
    });
    this.watch.add(transition.accountId);
    return 'applied';
  }

  async markAlertPublished(accountId: string, sequence: number, stillWatched = true): Promise<void> {
    const stored = this.items.get(accountId);
    if (stored?.sequence !== sequence) return;
    const { pendingAlert: _published, ...rest } = stored;
    this.items.set(accountId, rest);
    if (!stillWatched) this.watch.delete(accountId);
  }
}

export class RecordingAlerts implements AlertPublisher {
  readonly published: MarginAlert[] = [];
  /** Every call's alerts, in call order (the batches the sweep formed). */
  readonly calls: MarginAlert[][] = [];
  /** When set, alerts it answers true for are reported failed (and not recorded as published). */
  failWhen: ((alert: MarginAlert) => boolean) | undefined;

  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    this.calls.push([...alerts]);
    const fails = (a: MarginAlert) => this.failWhen?.(a) ?? false;
    this.published.push(...alerts.filter((a) => !fails(a)));
    return {
      published: alerts.filter((a) => !fails(a)).map((a) => a.alertId),
      failed: alerts.filter(fails).map((a) => ({ alertId: a.alertId, reason: 'SNS unavailable' })),
    };
  }
}
