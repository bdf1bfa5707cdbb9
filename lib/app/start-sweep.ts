/**
 * Start a sweep: size it from the accounts table, then queue one message per Scan segment. The coordinator
 * runs it on its schedule; the recalibration runs it right after publishing a new threshold set.
 */
import type { MarkSnapshot } from '../domain/market/mark.ts';
import type {
  AccountSource,
  Clock,
  MarkSource,
  SegmentMessage,
  SweepQueue,
  ThresholdStore,
} from '../ports.ts';
import { planSweep } from './plan-sweep.ts';
import { takeMarks } from './sweep.ts';

export interface SweepStartPorts {
  readonly accounts: Pick<AccountSource, 'approximateCount'>;
  readonly queue: SweepQueue;
  /** The CURRENT set, whose instruments are marked. Without it no marks are taken: each worker takes its own. */
  readonly thresholds?: Pick<ThresholdStore, 'currentSet'>;
  /** @default the CURRENT set's reference closes (needs `thresholds` and `clock`) */
  readonly marks?: MarkSource;
  readonly clock?: Clock;
}

/** How a sweep is cut into segments (the configuration's `sweep` settings fit it). */
export interface SweepSizing {
  /** @default planSweep's default */
  readonly accountsPerSegment?: number;
  /** @default planSweep's default */
  readonly maxSegments?: number;
}

export interface SweepStartRequest {
  readonly runId: string;
  readonly sweep?: SweepSizing;
}

export interface SweepStarted {
  readonly runId: string;
  readonly approximateAccounts: number;
  readonly totalSegments: number;
  readonly accountsPerSegment: number;
}

/**
 * Start a sweep.
 *  1. Read the approximate account count (DescribeTable; refreshed by DynamoDB about every six hours).
 *  2. Plan the segment count.
 *  3. Take the sweep's one mark snapshot for every instrument of the CURRENT set: every segment message
 *     carries it, so all workers value at the same prices (none when there is no set yet: the workers skip).
 *  4. Queue one message per segment; throws `IncompleteBatchError` naming the segments not queued.
 *
 * @example
 * const started = await startSweep({ accounts, queue }, { runId: 'sweep-2026-11-24T00:00:00Z' });
 */
export async function startSweep(ports: SweepStartPorts, request: SweepStartRequest): Promise<SweepStarted> {
  const approximateAccounts = await ports.accounts.approximateCount();
  const { accountsPerSegment, maxSegments } = request.sweep ?? {};
  const plan = planSweep({
    approximateAccounts,
    ...(accountsPerSegment === undefined ? {} : { accountsPerSegment }),
    ...(maxSegments === undefined ? {} : { maxSegments }),
  });
  const marks = await sweepMarks(ports);
  const messages: SegmentMessage[] = Array.from({ length: plan.totalSegments }, (_, segment) => ({
    runId: request.runId,
    segment,
    totalSegments: plan.totalSegments,
    ...(marks === undefined ? {} : { marks }),
  }));
  await ports.queue.enqueue(messages);
  return {
    runId: request.runId,
    approximateAccounts,
    totalSegments: plan.totalSegments,
    accountsPerSegment: plan.accountsPerSegment,
  };
}

/** One snapshot for the whole sweep, taken before any message is queued. */
async function sweepMarks(ports: SweepStartPorts): Promise<MarkSnapshot | undefined> {
  if (ports.thresholds === undefined || ports.clock === undefined) return undefined;
  const set = await ports.thresholds.currentSet();
  if (set === undefined) return undefined;
  return takeMarks(
    { thresholds: ports.thresholds, clock: ports.clock, ...(ports.marks ? { marks: ports.marks } : {}) },
    set,
  );
}
