/**
 * Start a sweep: size it from the accounts table, then queue one message per Scan segment. The coordinator
 * runs it on its schedule; the recalibration runs it right after publishing a new threshold set.
 */
import type { AccountSource, SegmentMessage, SweepQueue } from '../ports.ts';
import { planSweep } from './plan-sweep.ts';

export interface SweepStartPorts {
  readonly accounts: Pick<AccountSource, 'approximateCount'>;
  readonly queue: SweepQueue;
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
 *  3. Queue one message per segment; throws `IncompleteBatchError` naming the segments not queued.
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
  const messages: SegmentMessage[] = Array.from({ length: plan.totalSegments }, (_, segment) => ({
    runId: request.runId,
    segment,
    totalSegments: plan.totalSegments,
  }));
  await ports.queue.enqueue(messages);
  return {
    runId: request.runId,
    approximateAccounts,
    totalSegments: plan.totalSegments,
    accountsPerSegment: plan.accountsPerSegment,
  };
}
