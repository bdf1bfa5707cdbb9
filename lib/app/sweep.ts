/**
 * Sweep one Scan segment of the accounts table: value every account against the CURRENT threshold set,
 * move it through its margin state machine, and announce each state change once.
 */
import type { MarginAlert, MarginStatus, MarginTransition } from '../domain/account/account.ts';
import { evaluateAccount, type MarginLevels } from '../domain/account/state-machine.ts';
import { QmtError } from '../domain/errors.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../domain/threshold/policy.ts';
import { marketSnapshotFromSet } from '../domain/valuation/snapshot.ts';
import type {
  AccountSource,
  AlertPublisher,
  Clock,
  MarginStatusStore,
  OpsPublisher,
  RejectedAccountRecord,
  ScanSegment,
  ThresholdStore,
} from '../ports.ts';

export interface SweepPorts {
  readonly accounts: AccountSource;
  readonly thresholds: ThresholdStore;
  readonly statuses: MarginStatusStore;
  readonly alerts: AlertPublisher;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
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
 *  1. Load the CURRENT threshold set once; build the market snapshot from it.
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
  const snapshot = marketSnapshotFromSet(set);
  const levels = request.levels ?? DEFAULT_THRESHOLD_POLICY.levels;
  const counts: Required<SweepCounts> = {
    accounts: 0,
    rejected: 0,
    transitions: 0,
    stale: 0,
    alertsPublished: 0,
    alertsFailed: 0,
    alertsResent: 0,
    deferred: 0,
  };
  const rejected: RejectedAccountRecord[] = [];
  const published: MarginAlert[] = [];
  let cursor = request.cursor;
  do {
    const page = await ports.accounts.scanPage(request.segment, cursor, request.pageSize ?? 500);
    rejected.push(...page.rejected);
    counts.rejected += page.rejected.length;
    const statuses = await ports.statuses.get(page.accounts.map((a) => a.accountId));
    // Outbox first: alerts of transitions already written but not confirmed published go out before any
    // newer transition of the same account can replace them.
    const undelivered = await resendPending(ports, page.accounts, statuses, counts, published);
    const transitions: MarginTransition[] = [];
    const asOf = ports.clock.now();
    for (const account of page.accounts) {
      if (undelivered.has(account.accountId)) {
        // Its pending alert is still not out: a new transition would overwrite it, so wait for the next sweep.
        counts.deferred++;
        continue;
      }
      try {
        const evaluation = evaluateAccount(account, snapshot, statuses.get(account.accountId), levels, {
          thresholdSetId: set.setId,
          runId: request.runId,
          asOf,
        });
        counts.accounts++;
        if (evaluation.transition) transitions.push(evaluation.transition);
      } catch (error) {
        if (!(error instanceof QmtError)) throw error;
        rejected.push({ accountKey: account.accountId, reason: error.message });
        counts.rejected++;
      }
    }
    const applied = await applyTransitions(ports.statuses, transitions, counts);
    if (applied.length > 0) await publishAndConfirm(ports, applied, counts, published);
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
  };
}

/**
 * Re-publish the page's pending alerts (announced but unconfirmed: `pendingAlert.sequence` is the stored
 * sequence). Returns the accounts whose pending alert is still not published.
 */
async function resendPending(
  ports: SweepPorts,
  accounts: readonly { readonly accountId: string }[],
  statuses: ReadonlyMap<string, MarginStatus>,
  counts: Required<SweepCounts>,
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
async function publishAndConfirm(
  ports: SweepPorts,
  alerts: readonly MarginAlert[],
  counts: Required<SweepCounts>,
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
        .map((a) => ports.statuses.markAlertPublished(a.accountId, a.sequence)),
    );
  }
  return new Set(delivered.map((a) => a.alertId));
}

/** Conditional writes, a few at a time; a stale one (a duplicate or newer worker won) is counted, not announced. */
async function applyTransitions(
  statuses: MarginStatusStore,
  transitions: readonly MarginTransition[],
  counts: Required<SweepCounts>,
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
