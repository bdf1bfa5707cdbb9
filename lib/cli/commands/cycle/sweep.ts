/** Step 5 of the local cycle: plan the sweep through the coordinator, drain its segments through the worker. */
import { createSweepCoordinatorHandler } from '../../../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { createSweepWorkerHandler } from '../../../../lambdas/sweep-worker/worker-handler.ts';
import { sweepSegment } from '../../../app/sweep.ts';
import { describe, type FailedSegment } from './errors.ts';
import { lambdaContext, silent, sqsEvent } from './lambda-runtime.ts';
import type { LocalStack } from './local-stack.ts';

export interface SweepOutcome {
  /** Segment messages the worker was given. */
  readonly segments: number;
  readonly failedSegments: readonly FailedSegment[];
}

/**
 * Plan and sweep. A failed segment is recorded, with its cause, and the others still run; each failed
 * segment is then published to ops as `sweep.failed`.
 */
export async function sweep(stack: LocalStack): Promise<SweepOutcome> {
  const { common, queue } = stack;
  const coordinator = createSweepCoordinatorHandler({
    ...common,
    observability: silent('sweep-coordinator'),
    idempotencyStore: stack.idempotencyStore(),
  });
  await coordinator({}, lambdaContext('sweep-coordinator'));
  const causes = new Map<string, string>();
  const worker = createSweepWorkerHandler({
    ...common,
    observability: silent('sweep-worker'),
    // The handler logs a failure (silenced here) and reports the record failed: keep the cause to print.
    sweep: async (ports, request) => {
      try {
        return await sweepSegment(ports, request);
      } catch (error) {
        causes.set(`${request.runId}:${request.segment.segment}`, describe(error));
        throw error;
      }
    },
  });
  let segments = 0;
  const failedSegments: FailedSegment[] = [];
  for (let batch = queue.take(10); batch.length > 0; batch = queue.take(10)) {
    segments += batch.length;
    const event = sqsEvent(batch);
    const response = await worker(event, lambdaContext('sweep-worker'));
    for (const failure of response.batchItemFailures) {
      const index = event.Records.findIndex((r) => r.messageId === failure.itemIdentifier);
      const message = batch[index];
      if (!message) continue;
      const reason = causes.get(`${message.runId}:${message.segment}`) ?? 'the segment message was refused';
      failedSegments.push({ runId: message.runId, segment: message.segment, reason });
    }
  }
  // SQS would redeliver and then dead-letter these; here there is no redelivery, so ops hears at once.
  for (const failed of failedSegments) await common.adapters.ops.publish({ type: 'sweep.failed', ...failed });
  return { segments, failedSegments };
}
