/**
 * The daily stress run's queue: one message per segment and step (`lib/app/stress-run.ts`), sent as the
 * sweep's are (SendMessageBatch, ten a call, failed entries retried, unsent ones named).
 */
import { z } from 'zod';
import type { StressQueue, StressSegmentMessage } from '../../ports.ts';
import { SqsBatchQueue, type SqsSweepQueueOptions } from './sweep-queue.ts';

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
