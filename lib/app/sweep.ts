/**
 * Sweep one Scan segment of the accounts table: value every account against the CURRENT threshold set,
 * move it through its margin state machine, and announce each state change once.
 */
import type {
  Account,
  MarginAlert,
  MarginState,
  MarginStatus,
  MarginTransition,
} from '../domain/account/account.ts';
import {
  BreachBandCalculator,
  type BreachIndexEntry,
  EVERY_SWEEP,
  EVERY_SWEEP_MARK,
  everySweepEntry,
} from '../domain/account/breach.ts';
import { evaluateAccount, type MarginLevels } from '../domain/account/state-machine.ts';
import { AccountRecordError, QmtError } from '../domain/errors.ts';
import type { MarkSnapshot } from '../domain/market/mark.ts';
import { type MarksReport, reportMarks } from '../domain/market/mark-report.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../domain/threshold/policy.ts';
import type { ThresholdSet } from '../domain/threshold/threshold.ts';
import type { ValuationPolicy } from '../domain/valuation/policy.ts';
import { type MarketSnapshot, marketSnapshotAt } from '../domain/valuation/snapshot.ts';
import type {
  AccountSource,
  AlertPublisher,
  BreachIndex,
  Clock,
  MarginStatusStore,
  MarkSource,
  OpsPublisher,
  RejectedAccountRecord,
  ScanSegment,
  ThresholdStore,
} from '../ports.ts';
import { ReferenceCloseMarkSource } from './reference-close-marks.ts';

export interface SweepPorts {
  readonly accounts: AccountSource;
  readonly thresholds: ThresholdStore;
  readonly statuses: MarginStatusStore;
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
  /** When present, each valued account's breach band is recorded (one call per page) for targeted sweeps. */
  readonly breachIndex?: BreachIndex;
  /** Where the marks come from when the request brings none. @default the CURRENT set's reference closes */
  readonly marks?: MarkSource;
}

export interface SweepRequest {
  readonly runId: string;
  readonly segment: ScanSegment;
  /** Resume from this checkpoint (a previous worker's `cursor`). */
  readonly cursor?: string;
  /** @default 500 */
  readonly pageSize?: number;
  /** Asked between pages: true when the worker nears its timeout and should hand over its cursor. */
  readonly shouldStop?: () => boolean;
  /** @default the default policy's levels */
  readonly levels?: MarginLevels;
  /**
   * The marks to value at, taken once for the whole sweep by whoever started it so every segment values
   * at the same prices. Without them the segment takes its own from `ports.marks`.
   */
  readonly marks?: MarkSnapshot;
  /** Grid, correlations, short option minimum… @default the documented defaults */
  readonly valuationPolicy?: ValuationPolicy;
}

export interface SweepCounts {
  accounts: number;
  rejected: number;
  transitions: number;
  stale: number;
  /** Alerts published, re-sent pending ones included. */
  alertsPublished: number;
  /** Alerts not published after the publisher's retries; each stays pending on its status and is re-sent. */
  alertsFailed: number;
  /** Pending alerts of earlier, unconfirmed publishes sent again (same alertId) and now confirmed. */
  alertsResent?: number;
  /** Accounts not valued this time because their pending alert still could not be published. */
  deferred?: number;
  /** Accounts whose breach band was recorded (only with a breach index). */
  indexed?: number;
}

/** Every count a page sweep keeps (`indexed` is the indexer's). */
export type PageCounts = Required<Omit<SweepCounts, 'indexed'>>;

export function emptyPageCounts(): PageCounts {
  return {
    accounts: 0,
    rejected: 0,
    transitions: 0,
    stale: 0,
    alertsPublished: 0,
    alertsFailed: 0,
    alertsResent: 0,
    deferred: 0,
  };
}

export interface SweepResult {
  readonly runId: string;
  readonly segment: ScanSegment;
  /** False when the worker stopped early; `cursor` then resumes the segment. */
  readonly done: boolean;
  readonly cursor?: string;
  readonly counts: SweepCounts;
  readonly rejected: readonly RejectedAccountRecord[];
  readonly alerts: readonly MarginAlert[];
  /** Where the marks valued at came from (`live` or `reference-close`), when they were taken, what was held. */
  readonly marks: MarksReport;
}

/** Thrown when there is no CURRENT threshold set to value accounts against. */
export class NoThresholdSetError extends QmtError {
  constructor() {
    super('no CURRENT threshold set: run a recalibration before sweeping accounts');
    this.name = 'NoThresholdSetError';
  }
}

/**
 * Sweep a segment.
 *  1. Load the CURRENT threshold set once; take the marks (the request's, else from the mark source); build
 *     the market snapshot from the set, the marks and the valuation policy.
 *  2. Scan the segment a page at a time, from the checkpoint.
 *  3. Value each account; a bad record is reported (key and reason) and skipped, the rest go on.
 *  4. Before valuing a page, re-publish every pending alert on its statuses (the outbox: written with its
 *     transition but not confirmed published); an account whose pending alert still fails is not valued
 *     this time (counted `deferred`), so no newer transition can overwrite the undelivered alert.
 *  5. Apply each state change as one conditional write on the account's sequence that also stores the alert
 *     as `pendingAlert`; only an applied change is announced.
 *  6. Publish the page's alerts in batches and clear each published one's `pendingAlert` (conditional on its
 *     sequence); a failed one stays pending for the next sweep. Checkpoint; stop early if asked.
 *
 * Delivery is at least once with a stable alertId (`${accountId}:${sequence}`): a crash between publishing
 * and clearing re-sends the same message, which FIFO topics and subscribers dedupe on alertId.
 *
 * @example
 * const result = await sweepSegment(ports, { runId, segment: { segment: 0, totalSegments: 4 } });
 */
export async function sweepSegment(ports: SweepPorts, request: SweepRequest): Promise<SweepResult> {
  const set = await ports.thresholds.currentSet();
  if (!set) throw new NoThresholdSetError();
  const marks = request.marks ?? (await takeMarks(ports, set));
  const snapshot = marketSnapshotAt(
    set,
    marks,
    request.valuationPolicy ? { policy: request.valuationPolicy } : {},
  );
  const marksReport = reportMarks(marks);
  const levels = request.levels ?? DEFAULT_THRESHOLD_POLICY.levels;
  const counts: PageCounts & { indexed?: number } = emptyPageCounts();
  const rejected: RejectedAccountRecord[] = [];
  const published: MarginAlert[] = [];
  // Only statuses on the watchlist (not OK, or an alert pending) are read page by page; see `sweepPage`.
  const watched = await ports.statuses.watchlist?.();
  const context: PageContext = {
    runId: request.runId,
    set,
    snapshot,
    levels,
    ...(watched ? { watched } : {}),
  };
  const indexer = ports.breachIndex
    ? await BreachIndexer.start(ports.breachIndex, set.setId, snapshot, levels, ports.clock.now())
    : undefined;
  if (indexer) counts.indexed = 0;
  let cursor = request.cursor;
  do {
    const page = await ports.accounts.scanPage(request.segment, cursor, request.pageSize ?? 500);
    rejected.push(...page.rejected);
    counts.rejected += page.rejected.length;
    const outcome = await sweepPage(ports, context, page.accounts, counts, rejected, published);
    if (indexer) counts.indexed = (counts.indexed ?? 0) + (await indexer.record(page.accounts, outcome));
    cursor = page.cursor;
  } while (cursor !== undefined && !request.shouldStop?.());

  const done = cursor === undefined;
  // Each invocation reports its own rejects: a segment continued by another worker would otherwise lose them.
  if (rejected.length > 0) {
    await ports.ops.publish({
      type: 'accounts.rejected',
      runId: request.runId,
      rejected: rejected.slice(0, 100),
    });
  }
  if (done) {
    // Counts are this invocation's; a segment resumed from a checkpoint reports its last part here.
    await ports.ops.publish({
      type: 'sweep.completed',
      runId: request.runId,
      segment: request.segment.segment,
      counts: { ...counts },
      marks: marksReport,
    });
  }
  return {
    runId: request.runId,
    segment: request.segment,
    done,
    ...(cursor === undefined ? {} : { cursor }),
    counts,
    rejected,
    alerts: published,
    marks: marksReport,
  };
}

/** The marks for every instrument of `set` from the sweep's mark source (default: reference closes). */
export function takeMarks(
  ports: Pick<SweepPorts, 'marks' | 'thresholds' | 'clock'>,
  set: ThresholdSet,
): Promise<MarkSnapshot> {
  const source = ports.marks ?? new ReferenceCloseMarkSource(ports.thresholds, ports.clock);
  return source.snapshot(set.thresholds.map((t) => t.instrument));
}

/** What a page sweep needs besides the ports: the run, the set and the snapshot built from it, the levels. */
export interface PageContext {
  readonly runId: string;
  readonly set: ThresholdSet;
  readonly snapshot: MarketSnapshot;
  readonly levels: MarginLevels;
  /**
   * The status store's watchlist: when given, only these accounts' statuses are read up front; any other
   * account is taken as OK with nothing pending, and its status is read before it may change state.
   */
  readonly watched?: ReadonlySet<string>;
}

/** Per account of a page: its state after the sweep, or why it has none this time. */
export interface PageOutcome {
  /** Valued accounts and the state they are in now (a stale transition leaves the stored state unknown). */
  readonly states: ReadonlyMap<string, MarginState>;
  /**
   * To revisit on every targeted sweep, with why: not valued (a pending alert still undelivered, or the
   * account could not be valued), its transition lost to another writer, or its new alert not published.
   */
  readonly unsettled: ReadonlyMap<string, string>;
}

/**
 * Sweep one page of accounts (steps 3–6 of `sweepSegment`): statuses, the outbox re-send, valuation and
 * the state machine, conditional transitions, publish and confirm. Shared by the full and the targeted
 * sweep so both treat an account exactly alike.
 */
export async function sweepPage(
  ports: Pick<SweepPorts, 'statuses' | 'alerts' | 'clock'>,
  context: PageContext,
  accounts: readonly Account[],
  counts: PageCounts,
  rejected: RejectedAccountRecord[],
  published: MarginAlert[],
): Promise<PageOutcome> {
  const states = new Map<string, MarginState>();
  const unsettled = new Map<string, string>();
  const watched = context.watched;
  const ids = accounts.map((a) => a.accountId);
  const statuses = await ports.statuses.get(watched ? ids.filter((id) => watched.has(id)) : ids);
  // Outbox first: alerts of transitions already written but not confirmed published go out before any
  // newer transition of the same account can replace them.
  const undelivered = await resendPending(ports, accounts, statuses, counts, published);
  const transitions: MarginTransition[] = [];
  const asOf = ports.clock.now();
  const evaluate = (account: Account, status: MarginStatus | undefined) =>
    evaluateAccount(account, context.snapshot, status, context.levels, {
      thresholdSetId: context.set.setId,
      runId: context.runId,
      asOf,
    });
  // Accounts off the watchlist that would change state: their status (its sequence) is read before writing.
  const unread: Account[] = [];
  for (const account of accounts) {
    if (undelivered.has(account.accountId)) {
      // Its pending alert is still not out: a new transition would overwrite it, so wait for the next sweep.
      counts.deferred++;
      unsettled.set(account.accountId, 'pending alert not yet published');
      continue;
    }
    try {
      const evaluation = evaluate(account, statuses.get(account.accountId));
      counts.accounts++;
      states.set(account.accountId, evaluation.state);
      if (!evaluation.transition) continue;
      if (watched && !watched.has(account.accountId)) unread.push(account);
      else transitions.push(evaluation.transition);
    } catch (error) {
      if (!(error instanceof AccountRecordError)) throw error;
      rejected.push({ accountKey: account.accountId, reason: error.message });
      counts.rejected++;
      unsettled.set(account.accountId, error.message);
    }
  }
  if (unread.length > 0) {
    const stored = await ports.statuses.get(unread.map((a) => a.accountId));
    for (const account of unread) {
      const status = stored.get(account.accountId);
      if (status?.pendingAlert !== undefined && status.pendingAlert.sequence === status.sequence) {
        // The watchlist had not caught up with this status yet: its alert goes out first, next sweep.
        counts.deferred++;
        states.delete(account.accountId);
        unsettled.set(account.accountId, 'pending alert not yet published');
        continue;
      }
      // Same valuation, now from the stored state and sequence (a missing status is OK at sequence 0).
      try {
        const evaluation = evaluate(account, status);
        states.set(account.accountId, evaluation.state);
        if (evaluation.transition) transitions.push(evaluation.transition);
      } catch (error) {
        if (!(error instanceof AccountRecordError)) throw error;
        counts.accounts--;
        states.delete(account.accountId);
        rejected.push({ accountKey: account.accountId, reason: error.message });
        counts.rejected++;
        unsettled.set(account.accountId, error.message);
      }
    }
  }
  const applied = await applyTransitions(ports.statuses, transitions, counts);
  if (applied.length > 0) {
    const delivered = await publishAndConfirm(ports, applied, counts, published);
    // Its alert stays pending on the status: the account must be visited again soon to re-send it.
    for (const alert of applied) {
      if (!delivered.has(alert.alertId)) unsettled.set(alert.accountId, 'alert not yet published');
    }
  }
  // A stale transition: another writer moved the status first, so the state stored is not known here.
  const appliedIds = new Set(applied.map((a) => a.accountId));
  for (const t of transitions) {
    if (!appliedIds.has(t.accountId)) {
      states.delete(t.accountId);
      unsettled.set(t.accountId, 'transition lost to another writer');
    }
  }
  return { states, unsettled };
}

/**
 * Records the breach bands of swept accounts. Accounts that got no state this time (deferred, unvaluable,
 * stale) are indexed to be revisited by every targeted sweep; one that was so before and now has a real
 * band has its every-sweep entry removed.
 */
export class BreachIndexer {
  private constructor(
    private readonly breachIndex: BreachIndex,
    private readonly setId: string,
    private readonly bands: BreachBandCalculator,
    private readonly everySweep: Set<string>,
  ) {}

  /** Valuations spent on bands so far (the cost of keeping the index). */
  valuations = 0;

  static async start(
    index: BreachIndex,
    setId: string,
    snapshot: MarketSnapshot,
    levels: MarginLevels,
    asOf: number,
  ): Promise<BreachIndexer> {
    const everySweep = new Set(await index.crossed(setId, EVERY_SWEEP, EVERY_SWEEP_MARK));
    return new BreachIndexer(index, setId, new BreachBandCalculator(snapshot, levels, { asOf }), everySweep);
  }

  /** Record the page's bands in one call; returns how many accounts were indexed. */
  async record(accounts: readonly Account[], outcome: PageOutcome): Promise<number> {
    const entries: BreachIndexEntry[] = [];
    const removals: { accountId: string; instrument: string }[] = [];
    let indexed = 0;
    for (const account of accounts) {
      const id = account.accountId;
      const state = outcome.states.get(id);
      if (state === undefined || outcome.unsettled.has(id)) {
        if (!outcome.unsettled.has(id)) continue;
        entries.push(everySweepEntry(id));
        this.everySweep.add(id);
        indexed++;
        continue;
      }
      const band = this.bands.band(account, state);
      this.valuations += band.valuations;
      entries.push(...band.entries);
      if (band.method !== 'every-sweep' && this.everySweep.delete(id)) {
        removals.push({ accountId: id, instrument: EVERY_SWEEP });
      } else if (band.method === 'every-sweep') {
        this.everySweep.add(id);
      }
      indexed++;
    }
    if (entries.length > 0 || removals.length > 0)
      await this.breachIndex.record(this.setId, entries, removals);
    return indexed;
  }
}

/**
 * Re-publish the page's pending alerts (announced but unconfirmed: `pendingAlert.sequence` is the stored
 * sequence). Returns the accounts whose pending alert is still not published.
 */
export async function resendPending(
  ports: Pick<SweepPorts, 'alerts' | 'statuses'>,
  accounts: readonly { readonly accountId: string }[],
  statuses: ReadonlyMap<string, MarginStatus>,
  counts: PageCounts,
  published: MarginAlert[],
): Promise<Set<string>> {
  const pending: MarginAlert[] = [];
  for (const { accountId } of accounts) {
    const status = statuses.get(accountId);
    if (status?.pendingAlert !== undefined && status.pendingAlert.sequence === status.sequence) {
      pending.push(status.pendingAlert);
    }
  }
  if (pending.length === 0) return new Set();
  const delivered = await publishAndConfirm(ports, pending, counts, published);
  counts.alertsResent += delivered.size;
  return new Set(pending.filter((a) => !delivered.has(a.alertId)).map((a) => a.accountId));
}

/** Publish `alerts`, then clear each published one's pending copy. Returns the published alertIds. */
export async function publishAndConfirm(
  ports: Pick<SweepPorts, 'alerts' | 'statuses'>,
  alerts: readonly MarginAlert[],
  counts: PageCounts,
  published: MarginAlert[],
): Promise<Set<string>> {
  const result = await ports.alerts.publish(alerts);
  const failed = new Set(result.failed.map((f) => f.alertId));
  const delivered = alerts.filter((a) => !failed.has(a.alertId));
  counts.alertsPublished += delivered.length;
  counts.alertsFailed += failed.size;
  published.push(...delivered);
  const concurrency = 16;
  for (let i = 0; i < delivered.length; i += concurrency) {
    await Promise.all(
      delivered
        .slice(i, i + concurrency)
        .map((a) => ports.statuses.markAlertPublished(a.accountId, a.sequence, a.newState !== 'OK')),
    );
  }
  return new Set(delivered.map((a) => a.alertId));
}

/** Conditional writes, a few at a time; a stale one (a duplicate or newer worker won) is counted, not announced. */
export async function applyTransitions(
  statuses: MarginStatusStore,
  transitions: readonly MarginTransition[],
  counts: PageCounts,
): Promise<MarginAlert[]> {
  const applied: MarginAlert[] = [];
  const concurrency = 16;
  for (let i = 0; i < transitions.length; i += concurrency) {
    const chunk = transitions.slice(i, i + concurrency);
    const outcomes = await Promise.all(chunk.map((t) => statuses.applyTransition(t)));
    outcomes.forEach((outcome, j) => {
      const transition = chunk[j] as MarginTransition;
      if (outcome === 'applied') {
        counts.transitions++;
        applied.push(transition.alert);
      } else {
        counts.stale++;
      }
    });
  }
  return applied;
}
