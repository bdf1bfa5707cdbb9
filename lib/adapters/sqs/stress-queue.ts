/**
 * The daily stress run's queue: one message per segment and step (`lib/app/stress-run.ts`), sent as the
 * sweep's are (SendMessageBatch, ten a call, failed entries retried, unsent ones named).
 */
import { z } from 'zod';
import type { StressQueue, StressSegmentMessage } from '../../ports.ts';
import { SqsBatchQueue, type SqsSweepQueueOptions, SWEEP_QUEUE_IAM_ACTIONS } from './sweep-queue.ts';

/** IAM actions this adapter sends to the stress queue (SendMessageBatch is authorised as SendMessage). */
export const STRESS_QUEUE_IAM_ACTIONS = SWEEP_QUEUE_IAM_ACTIONS;

/** The environment variable that names the stress run's queue (set by the stack on its function only). */
export const STRESS_QUEUE_URL_ENV = 'QMT_STRESS_QUEUE_URL';

export const stressSegmentMessageSchema: z.ZodType<StressSegmentMessage> = z.strictObject({
  runId: z.string().min(1).max(200),
  step: z.int().min(0).max(1_000),
  segment: z.int().min(0),
  totalSegments: z.int().min(1).max(1_000),
});

export class SqsStressQueue extends SqsBatchQueue<StressSegmentMessage> implements StressQueue {
  constructor(options: SqsSweepQueueOptions) {
    super(
      options,
      (m) => `${m.runId}#${m.step}#${m.segment}`,
      (m) => ({ runId: m.runId, step: m.step, segment: m.segment, totalSegments: m.totalSegments }),
    );
  }
}
