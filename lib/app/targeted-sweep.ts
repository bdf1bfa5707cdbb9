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
import { MarketDataError, QmtError } from '../domain/errors.ts';
import type { MarkSnapshot } from '../domain/market/mark.ts';
import { type MarksReport, reportMarks } from '../domain/market/mark-report.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../domain/threshold/policy.ts';
import type { ThresholdSet } from '../domain/threshold/threshold.ts';
import type { ValuationPolicy } from '../domain/valuation/policy.ts';
import { type MarketSnapshot, marketSnapshotAt } from '../domain/valuation/snapshot.ts';
import type {
  AccountReader,
  AlertPublisher,
  BreachIndex,
  Clock,
  MarginStatusStore,
  OpsPublisher,
  RejectedAccountRecord,
  TargetedSegmentMessage,
  TargetedSweepInvoker,
  TargetedSweepQueue,
  ThresholdStore,
} from '../ports.ts';
import { BreachIndexer } from './breach-indexing.ts';
import { NoThresholdSetError, type PageContext, type PageOutcome, sweepPage } from './sweep.ts';
import { emptyPageCounts, type PageCounts, SweepTally } from './sweep-tally.ts';
import {
  cutSegments,
  DEFAULT_TARGETED_FAN_OUT,
  type TargetedFanOutPolicy,
  targetedMessages,
  validFanOutPolicy,
} from './targeted-fan-out.ts';

export interface TargetedSweepPorts {
  readonly accounts: AccountReader;
  readonly breachIndex: BreachIndex;
  readonly thresholds: ThresholdStore;
  readonly statuses: MarginStatusStore;
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
  /**
   * Where a crash minute's segments go: the queue, or, with `targetedInvoker`, the segments the invoker
   * could not hand over. @default none: every crossed account is swept here (unless `targetedInvoker`)
   */
  readonly targetedQueue?: TargetedSweepQueue;
  /** Hands a crash minute's segments straight to the workers (tried before the queue). @default none */
  readonly targetedInvoker?: TargetedSweepInvoker;
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
  /** When to fan out and how to cut (with a `targetedQueue`). @default DEFAULT_TARGETED_FAN_OUT */
  readonly fanOut?: TargetedFanOutPolicy;
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
  /** Segments sent to the sweep workers (a crash minute fanned out); 0 when swept here. */
  fannedOut: number;
  /** Of those, segments the direct invoke did not hand over, queued instead. */
  queuedInstead: number;
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
 *  3. More than `fanOut.inlineAccounts` of them and a `targetedQueue`: cut them into segments and queue
 *     them for the sweep workers (`sweepNamed` on each), every message with these marks and this set.
 *  4. Otherwise read them by id, a batch at a time, and sweep each batch exactly like a full sweep's page
 *     (outbox re-send, valuation, conditional transitions, publish and confirm).
 *  5. Once every batch is announced, re-index the revisited accounts at the new marks.
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
  const prepared = prepare(await ports.thresholds.currentSet(), request);
  const { set, snapshot, marksReport, tally } = prepared;
  const { counts } = tally;

  const queries: [string, number][] = [[EVERY_SWEEP, EVERY_SWEEP_MARK]];
  for (const [symbol, market] of snapshot.instruments) queries.push([symbol, market.markPrice]);
  const answers = await Promise.all(
    queries.map(([symbol, mark]) => ports.breachIndex.crossed(set.setId, symbol, mark)),
  );
  counts.indexQueries = queries.length;
  const ids = [...new Set(answers.flat())].sort();
  counts.crossed = ids.length;

  if (request.maxRevisits !== undefined && ids.length > request.maxRevisits) {
    // A big move: the caller runs a full sweep, which also rebuilds every band.
    await ports.ops.publish({
      type: 'sweep.completed',
      runId: request.runId,
      counts: { ...counts, escalated: 1 },
      marks: marksReport,
    });
    return result(request.runId, set.setId, prepared, [], true);
  }
  const fanOut = validFanOutPolicy(request.fanOut ?? DEFAULT_TARGETED_FAN_OUT);
  if ((ports.targetedInvoker ?? ports.targetedQueue) !== undefined && ids.length > fanOut.inlineAccounts) {
    // A crash minute: more than this function announces in time. The workers sweep the segments; this look
    // reports what it sent. A repeat of the minute cuts the same ids the same way (or fewer, once re-indexed).
    const segments = cutSegments(ids, fanOut);
    counts.fannedOut = segments.length;
    try {
      counts.queuedInstead = await sendSegments(
        ports,
        request.runId,
        targetedMessages(request.runId, set.setId, request.marks, segments),
      );
    } catch (error) {
      // Thrown on, so the minute is retried (a segment sent twice announces nothing twice); until then
      // the accounts keep their crossed bands, so the next look or the full sweep still finds them.
      await ports.ops.publish({
        type: 'sweep.failed',
        runId: request.runId,
        reason:
          `targeted segments not all queued: ${error instanceof Error ? error.message : String(error)}`.slice(
            0,
            1_000,
          ),
      });
      throw error;
    }
    await ports.ops.publish({
      type: 'sweep.completed',
      runId: request.runId,
      counts: { ...counts },
      marks: marksReport,
    });
    return result(request.runId, set.setId, prepared, [], false);
  }
  const revisited = await sweepIds(ports, request, prepared, ids);
  await finish(ports, request.runId, undefined, prepared);
  return result(request.runId, set.setId, prepared, revisited, false);
}

/**
 * Hand the minute's segments to the workers: invoked directly when there is an invoker, and whatever it
 * could not hand over queued instead (reported to ops). Throws when a segment reached neither, so the
 * minute is retried; returns the number queued instead of invoked.
 */
async function sendSegments(
  ports: TargetedSweepPorts,
  runId: string,
  messages: readonly TargetedSegmentMessage[],
): Promise<number> {
  if (!ports.targetedInvoker) {
    await ports.targetedQueue?.enqueueTargeted(messages);
    return 0;
  }
  const notInvoked = await ports.targetedInvoker.invokeTargeted(messages);
  const first = notInvoked[0];
  if (first === undefined) return 0;
  const failed = new Set(notInvoked.map((n) => n.segment));
  if (!ports.targetedQueue) {
    throw new QmtError(
      `${failed.size} of ${messages.length} targeted segments not invoked and no queue to fall back on: ${first.reason}`,
    );
  }
  await ports.targetedQueue.enqueueTargeted(messages.filter((m) => failed.has(m.segment)));
  await ports.ops.publish({
    type: 'sweep.targeted-fallback',
    runId,
    segments: failed.size,
    totalSegments: messages.length,
    reason: first.reason.slice(0, 1_000),
  });
  return failed.size;
}

export interface NamedSweepRequest
  extends Pick<TargetedSweepRequest, 'runId' | 'marks' | 'valuationPolicy' | 'batchSize' | 'levels'> {
  /** The accounts to revisit (a fanned-out segment's ids). */
  readonly accountIds: readonly string[];
  /** The set whose bands named them: another CURRENT set throws `SetSupersededError`. */
  readonly setId?: string;
  /** The segment's number in the ops events; absent for a look that is not a segment. */
  readonly segment?: number;
}

/** The set a targeted segment was cut for is no longer CURRENT: its full sweep values every account. */
export class SetSupersededError extends QmtError {
  constructor(
    readonly expected: string,
    readonly current: string,
  ) {
    super(`the segment was cut for threshold set ${expected}, but ${current} is CURRENT: not swept`);
    this.name = 'SetSupersededError';
  }
}

/**
 * Sweep the named accounts exactly as `sweepMoved` sweeps the crossed ones: a fanned-out segment on a
 * worker. Announce every batch first, re-index after; a repeat finds the states stored and announces nothing.
 *
 * @example
 * await sweepNamed(ports, { runId: message.runId, marks: message.marks, accountIds: message.accountIds, setId });
 */
export async function sweepNamed(
  ports: Omit<TargetedSweepPorts, 'targetedQueue'>,
  request: NamedSweepRequest,
): Promise<TargetedSweepResult> {
  const prepared = prepare(await ports.thresholds.currentSet(), request);
  if (request.setId !== undefined && prepared.set.setId !== request.setId) {
    throw new SetSupersededError(request.setId, prepared.set.setId);
  }
  const ids = [...new Set(request.accountIds)].sort();
  prepared.tally.counts.crossed = ids.length;
  const revisited = await sweepIds(ports, request, prepared, ids);
  await finish(ports, request.runId, request.segment, prepared);
  return result(request.runId, prepared.set.setId, prepared, revisited, false);
}

interface Prepared {
  readonly set: ThresholdSet;
  readonly snapshot: MarketSnapshot;
  readonly marksReport: MarksReport;
  readonly levels: MarginLevels;
  readonly tally: SweepTally<TargetedSweepCounts>;
}

/** The snapshot at `marks` for the CURRENT set, and empty counts. */
function prepare(
  set: ThresholdSet | undefined,
  request: Pick<TargetedSweepRequest, 'marks' | 'valuationPolicy' | 'levels'>,
): Prepared {
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
  const tally = new SweepTally<TargetedSweepCounts>({
    ...emptyPageCounts(),
    crossed: 0,
    revisited: 0,
    missing: 0,
    reindexed: 0,
    indexQueries: 0,
    bandValuations: 0,
    fannedOut: 0,
    queuedInstead: 0,
  });
  return {
    set,
    snapshot,
    marksReport: reportMarks(request.marks),
    levels: request.levels ?? DEFAULT_THRESHOLD_POLICY.levels,
    tally,
  };
}

/** Read, sweep and announce `ids` a batch at a time, then re-index them; the ids read. */
async function sweepIds(
  ports: Omit<TargetedSweepPorts, 'targetedQueue'>,
  request: Pick<TargetedSweepRequest, 'runId' | 'batchSize'>,
  prepared: Prepared,
  ids: readonly string[],
): Promise<string[]> {
  const { set, snapshot, levels, tally } = prepared;
  const { counts } = tally;
  const revisited: string[] = [];
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
  return revisited;
}

/** The rejected records and the counts to ops. */
async function finish(
  ports: Pick<TargetedSweepPorts, 'ops'>,
  runId: string,
  segment: number | undefined,
  { tally, marksReport }: Prepared,
): Promise<void> {
  if (tally.rejected.length > 0) {
    await ports.ops.publish({ type: 'accounts.rejected', runId, rejected: tally.rejected.slice(0, 100) });
  }
  await ports.ops.publish({
    type: 'sweep.completed',
    runId,
    // The watch's own look has no segment (the field is absent); a fanned-out segment reports under the
    // watch's run id with its segment number.
    ...(segment !== undefined && { segment }),
    counts: { ...tally.counts },
    marks: marksReport,
  });
}

function result(
  runId: string,
  setId: string,
  { tally, marksReport }: Prepared,
  revisited: readonly string[],
  escalated: boolean,
): TargetedSweepResult {
  return {
    runId,
    setId,
    escalated,
    counts: tally.counts,
    revisited,
    rejected: tally.rejected,
    alerts: tally.published,
    marks: marksReport,
  };
}
