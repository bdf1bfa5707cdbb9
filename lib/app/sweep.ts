/**
 * Sweep one Scan segment of the accounts table: value every account against the CURRENT threshold set,
 * move it through its margin state machine, and announce each state change once.
 */
import type { Account, MarginAlert, MarginState, MarginTransition } from '../domain/account/account.ts';
import {
  type AccountEvaluation,
  evaluateAccount,
  evaluateValuation,
  type MarginLevels,
} from '../domain/account/state-machine.ts';
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
import { BreachIndexer } from './breach-indexing.ts';
import { publishAndConfirm, resendPending } from './outbox.ts';
import { ReferenceCloseMarkSource } from './reference-close-marks.ts';
import { emptyPageCounts, type PageCounts, type SweepCounts, SweepTally } from './sweep-tally.ts';

export type { SweepCounts } from './sweep-tally.ts';

export interface SweepPorts {
  readonly accounts: AccountSource;
  readonly thresholds: ThresholdStore;
  readonly statuses: MarginStatusStore;
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
  /**
   * When present, the breach-indexing observer (`breach-indexing.ts`) records each valued account's breach
   * band (one call per page) for targeted sweeps.
   */
  readonly breachIndex?: BreachIndex;
  /** Where the marks come from when the request brings none. @default the CURRENT set's reference closes */
  readonly marks?: MarkSource;
  /** Told of every page once swept (after the breach indexer, if any). */
  readonly observer?: SweepObserver;
}

/**
 * Watches a sweep: told of each page once it is swept, with its accounts and their outcome. The page is
 * done (transitions written, alerts out or pending) before an observer hears of it.
 */
export interface SweepObserver {
  onValued(accounts: readonly Account[], outcome: PageOutcome): Promise<void>;
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
  const tally = new SweepTally<PageCounts & { indexed?: number; indexUnchanged?: number }>(emptyPageCounts());
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
    ? await BreachIndexer.start(ports.breachIndex, set.setId, snapshot, levels, ports.clock.now(), {
        // A band stays valid until its account, state or set changes or a move crosses it (the watch then
        // rewrites it): rewriting every band every sweep would cost 300 times the sweep itself.
        onlyChanged: true,
      })
    : undefined;
  const observers = [indexer, ports.observer].filter((o) => o !== undefined);
  let cursor = request.cursor;
  do {
    const page = await ports.accounts.scanPage(request.segment, cursor, request.pageSize ?? 500);
    tally.reject(page.rejected);
    const outcome = await sweepPage(ports, context, page.accounts, tally);
    for (const observer of observers) await observer.onValued(page.accounts, outcome);
    cursor = page.cursor;
  } while (cursor !== undefined && !request.shouldStop?.());
  const { counts, rejected, published } = tally;
  if (indexer) {
    counts.indexed = indexer.indexed;
    counts.indexUnchanged = indexer.unchanged;
  }

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
  ports: {
    readonly marks?: MarkSource;
    readonly thresholds: Pick<ThresholdStore, 'currentSet'>;
    readonly clock: Clock;
  },
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
  /** Accounts whose transition this page wrote (their state changed): their band must be written anew. */
  readonly transitioned?: ReadonlySet<string>;
}

/**
 * Sweep one page of accounts (steps 3–6 of `sweepSegment`): statuses, the outbox re-send, valuation and
 * the state machine, conditional transitions, publish and confirm. Shared by the full and the targeted
 * sweep so both treat an account exactly alike; what it counts, rejects and publishes goes to `tally`.
 * Each account is valued once.
 */
export async function sweepPage(
  ports: Pick<SweepPorts, 'statuses' | 'alerts' | 'clock'>,
  context: PageContext,
  accounts: readonly Account[],
  tally: SweepTally,
): Promise<PageOutcome> {
  const counts = tally.counts;
  const states = new Map<string, MarginState>();
  const unsettled = new Map<string, string>();
  const rejectAccount = (accountId: string, error: AccountRecordError) => {
    tally.reject([{ accountKey: accountId, reason: error.message }]);
    unsettled.set(accountId, error.message);
  };
  const watched = context.watched;
  const ids = accounts.map((a) => a.accountId);
  const statuses = await ports.statuses.get(watched ? ids.filter((id) => watched.has(id)) : ids);
  // Outbox first: alerts of transitions already written but not confirmed published go out before any
  // newer transition of the same account can replace them.
  const undelivered = await resendPending(ports, tally, accounts, statuses);
  const transitions: MarginTransition[] = [];
  const evaluation = {
    thresholdSetId: context.set.setId,
    runId: context.runId,
    asOf: ports.clock.now(),
  };
  // Accounts off the watchlist that would change state: their status (its sequence) is read before writing.
  const unread: { readonly accountId: string; readonly valued: AccountEvaluation }[] = [];
  for (const account of accounts) {
    if (undelivered.has(account.accountId)) {
      // Its pending alert is still not out: a new transition would overwrite it, so wait for the next sweep.
      counts.deferred++;
      unsettled.set(account.accountId, 'pending alert not yet published');
      continue;
    }
    try {
      const status = statuses.get(account.accountId);
      const valued = evaluateAccount(account, context.snapshot, status, context.levels, evaluation);
      counts.accounts++;
      states.set(account.accountId, valued.state);
      if (!valued.transition) continue;
      if (watched && !watched.has(account.accountId)) unread.push({ accountId: account.accountId, valued });
      else transitions.push(valued.transition);
    } catch (error) {
      if (!(error instanceof AccountRecordError)) throw error;
      rejectAccount(account.accountId, error);
    }
  }
  if (unread.length > 0) {
    const stored = await ports.statuses.get(unread.map((a) => a.accountId));
    for (const { accountId, valued } of unread) {
      const status = stored.get(accountId);
      if (status?.pendingAlert !== undefined && status.pendingAlert.sequence === status.sequence) {
        // The watchlist had not caught up with this status yet: its alert goes out first, next sweep.
        counts.deferred++;
        states.delete(accountId);
        unsettled.set(accountId, 'pending alert not yet published');
        continue;
      }
      // The same valuation moved from the stored state and sequence (a missing status is OK at sequence 0).
      try {
        const moved = evaluateValuation(accountId, valued.valuation, status, context.levels, {
          ...evaluation,
          marks: valued.marks,
        });
        states.set(accountId, moved.state);
        if (moved.transition) transitions.push(moved.transition);
      } catch (error) {
        if (!(error instanceof AccountRecordError)) throw error;
        counts.accounts--;
        states.delete(accountId);
        rejectAccount(accountId, error);
      }
    }
  }
  const applied = await applyTransitions(ports.statuses, transitions, counts);
  if (applied.length > 0) {
    const delivered = await publishAndConfirm(ports, tally, applied);
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
  return { states, unsettled, transitioned: appliedIds };
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
