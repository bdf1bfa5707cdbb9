/**
 * The targeted sweep: after a price move, revisit only the accounts whose breach band the move crossed
 * (`lib/domain/account/breach.ts`), treat each exactly as the full sweep does, and re-index them at the new
 * marks. An account whose band was not crossed cannot have changed state on price alone, so a sweep that
 * finds nothing costs a few index queries instead of a read of every account.
 *
 * The full sweep (`sweepSegment` with a `breachIndex`) stays the periodic safety net and builds the index;
 * it must also run after every recalibration, since bands are per threshold set and a new set has none.
 */
import type { Account, MarginAlert } from '../domain/account/account.ts';
import { EVERY_SWEEP, EVERY_SWEEP_MARK } from '../domain/account/breach.ts';
import type { MarginLevels } from '../domain/account/state-machine.ts';
import { MarketDataError } from '../domain/errors.ts';
import type { MarkSnapshot } from '../domain/market/mark.ts';
import { type MarksReport, reportMarks } from '../domain/market/mark-report.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../domain/threshold/policy.ts';
import type { ValuationPolicy } from '../domain/valuation/policy.ts';
import { marketSnapshotAt } from '../domain/valuation/snapshot.ts';
import type {
  AccountReader,
  AlertPublisher,
  BreachIndex,
  Clock,
  MarginStatusStore,
  OpsPublisher,
  RejectedAccountRecord,
  ThresholdStore,
} from '../ports.ts';
import { BreachIndexer } from './breach-indexing.ts';
import { NoThresholdSetError, type PageContext, type PageOutcome, sweepPage } from './sweep.ts';
import { emptyPageCounts, type PageCounts, SweepTally } from './sweep-tally.ts';

export interface TargetedSweepPorts {
  readonly accounts: AccountReader;
  readonly breachIndex: BreachIndex;
  readonly thresholds: ThresholdStore;
  readonly statuses: MarginStatusStore;
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
}

export interface TargetedSweepRequest {
  readonly runId: string;
  /**
   * The marks after the move. An instrument of the set held in them, or missing, is left out: its accounts
   * are not revisited for it, and an account revisited for another instrument is reported, not re-valued.
   */
  readonly marks: MarkSnapshot;
  /** @default the documented defaults */
  readonly valuationPolicy?: ValuationPolicy;
  /** Accounts read and swept per batch. @default 100 (one BatchGetItem) */
  readonly batchSize?: number;
  /** @default the default policy's levels */
  readonly levels?: MarginLevels;
  /**
   * When the index names more accounts than this, read none and report `escalated`: reading them one by one
   * (BatchGetItem bills each item as 4 KB) would cost more than a full sweep's Scan. Plan a full sweep.
   * @default no limit
   */
  readonly maxRevisits?: number;
}

export interface TargetedSweepCounts extends PageCounts {
  /** Accounts the index named (crossed bands), before reading them. */
  crossed: number;
  /** Of those, accounts read and swept (valued, deferred or rejected). */
  revisited: number;
  /** Named by the index but no longer in the accounts table (closed): their entries are stale. */
  missing: number;
  /** Revisited accounts re-indexed at the new marks. */
  reindexed: number;
  /** Index queries made (one per instrument of the set, plus the every-sweep entries). */
  indexQueries: number;
  /** Valuations spent re-indexing (computing the revisited accounts' new bands). */
  bandValuations: number;
}

export interface TargetedSweepResult {
  readonly runId: string;
  readonly setId: string;
  /** True when more accounts were crossed than `maxRevisits`: nothing was read; run a full sweep instead. */
  readonly escalated: boolean;
  readonly counts: TargetedSweepCounts;
  readonly revisited: readonly string[];
  readonly rejected: readonly RejectedAccountRecord[];
  readonly alerts: readonly MarginAlert[];
  /** Where the marks came from (`live` or `reference-close`), when they were taken, what was held. */
  readonly marks: MarksReport;
}

/**
 * Sweep the accounts a move to `marks` may have pushed over a level.
 *  1. Load the CURRENT set; build the snapshot from it, `marks` and the valuation policy (as the full sweep
 *     would).
 *  2. Ask the index, per instrument of the set, for the accounts whose band the mark crosses, and for the
 *     accounts to revisit on every sweep (unvaluable, deferred or stale last time).
 *  3. Read them by id, a batch at a time, and sweep each batch exactly like a full sweep's page (outbox
 *     re-send, valuation, conditional transitions, publish and confirm).
 *  4. Once every batch is announced, re-index the revisited accounts at the new marks.
 * With `maxRevisits`, a move that crosses more bands than that reads nothing and asks for a full sweep.
 *
 * @example
 * const result = await sweepMoved(ports, { runId, marks: await markSource.snapshot(['BTC', 'ETH']) });
 * result.counts.revisited; // e.g. 312 of 1,000,000
 */
export async function sweepMoved(
  ports: TargetedSweepPorts,
  request: TargetedSweepRequest,
): Promise<TargetedSweepResult> {
  const set = await ports.thresholds.currentSet();
  if (!set) throw new NoThresholdSetError();
  for (const [instrument, { price }] of request.marks.marks) {
    // A bad mark would leave its instrument out of the snapshot, so no band of it would ever be queried.
    if (!(price > 0) || !Number.isFinite(price)) {
      throw new MarketDataError(`${instrument}: mark must be a positive number, got ${price}`, instrument);
    }
  }
  const snapshot = marketSnapshotAt(
    set,
    request.marks,
    request.valuationPolicy ? { policy: request.valuationPolicy } : {},
  );
  const marksReport = reportMarks(request.marks);
  const levels = request.levels ?? DEFAULT_THRESHOLD_POLICY.levels;
  const tally = new SweepTally<TargetedSweepCounts>({
    ...emptyPageCounts(),
    crossed: 0,
    revisited: 0,
    missing: 0,
    reindexed: 0,
    indexQueries: 0,
    bandValuations: 0,
  });
  const { counts, rejected, published } = tally;

  const queries: [string, number][] = [[EVERY_SWEEP, EVERY_SWEEP_MARK]];
  for (const [symbol, market] of snapshot.instruments) queries.push([symbol, market.markPrice]);
  const answers = await Promise.all(
    queries.map(([symbol, mark]) => ports.breachIndex.crossed(set.setId, symbol, mark)),
  );
  counts.indexQueries = queries.length;
  const ids = [...new Set(answers.flat())].sort();
  counts.crossed = ids.length;

  const revisited: string[] = [];
  if (request.maxRevisits !== undefined && ids.length > request.maxRevisits) {
    // A big move: the caller runs a full sweep, which also rebuilds every band.
    await ports.ops.publish({
      type: 'sweep.completed',
      runId: request.runId,
      segment: -1,
      counts: { ...counts, escalated: 1 },
      marks: marksReport,
    });
    return {
      runId: request.runId,
      setId: set.setId,
      escalated: true,
      counts,
      revisited,
      rejected,
      alerts: published,
      marks: marksReport,
    };
  }
  // As the full sweep: only watched statuses (not OK, or an alert pending) are read up front; a revisited OK
  // account that stays OK costs no status read (it was a third of a quiet minute's read units).
  const watched = ids.length > 0 ? await ports.statuses.watchlist?.() : undefined;
  const context: PageContext = {
    runId: request.runId,
    set,
    snapshot,
    levels,
    ...(watched ? { watched } : {}),
  };
  const indexer = await BreachIndexer.start(
    ports.breachIndex,
    set.setId,
    snapshot,
    levels,
    ports.clock.now(),
    { keepEverySweep: true },
  );
  const batchSize = request.batchSize ?? 100;
  const swept: [readonly Account[], PageOutcome][] = [];
  for (let i = 0; i < ids.length; i += batchSize) {
    const lookup = await ports.accounts.getAccounts(ids.slice(i, i + batchSize));
    counts.missing += lookup.missing.length;
    tally.reject(lookup.rejected);
    for (const account of lookup.accounts) revisited.push(account.accountId);
    counts.revisited += lookup.accounts.length + lookup.rejected.length;
    swept.push([lookup.accounts, await sweepPage(ports, context, lookup.accounts, tally)]);
  }
  // Announce first, re-index after: in a crash minute the index writes are most of the work and would hold
  // back later batches' alerts. A crash here loses nothing: the old bands stay crossed, so the next minute
  // revisits these accounts, finds their state already stored (no second alert) and re-indexes them.
  for (const [accounts, outcome] of swept) await indexer.onValued(accounts, outcome);

  counts.reindexed = indexer.indexed;
  counts.bandValuations = indexer.valuations;
  if (rejected.length > 0) {
    await ports.ops.publish({
      type: 'accounts.rejected',
      runId: request.runId,
      rejected: rejected.slice(0, 100),
    });
  }
  await ports.ops.publish({
    type: 'sweep.completed',
    runId: request.runId,
    // The targeted sweep is not a Scan segment; -1 tells it apart in the ops stream.
    segment: -1,
    counts: { ...counts },
    marks: marksReport,
  });
  return {
    runId: request.runId,
    setId: set.setId,
    escalated: false,
    counts,
    revisited,
    rejected,
    alerts: published,
    marks: marksReport,
  };
}
