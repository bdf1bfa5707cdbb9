/**
 * The sweep queue: one SQS message per Scan segment (and one per continuation of a segment that a worker
 * handed over near its timeout). Sent with SendMessageBatch, ten entries a call; entries SQS reports as
 * failed on its side, and throttled or timed-out calls, are retried with the shared backoff under one
 * deadline. What still fails is named in an `IncompleteBatchError`: nothing is dropped silently.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { SegmentMessage, SweepQueue, TargetedSegmentMessage, TargetedSweepQueue } from '../../ports.ts';
import { errorReason, isTransientAwsError } from '../aws-errors.ts';
import { IncompleteBatchError } from '../errors.ts';
import { DEFAULT_RETRY_POLICY, type RetryHooks, type RetryPolicy, withRetry } from '../retry.ts';
import { markSnapshotMessageSchema, toMarkSnapshotMessage } from './mark-snapshot-message.ts';

/** IAM actions on the sweep queue: SendMessageBatch is authorised as SendMessage. */
export const SWEEP_QUEUE_IAM_ACTIONS = ['sqs:SendMessage'] as const;

/** SQS's limit of entries per SendMessageBatch. */
export const SQS_BATCH_LIMIT = 10;

/** A segment message as it arrives in a worker's SQS record body (the `SegmentMessage` of the port). */
export const segmentMessageSchema: z.ZodType<SegmentMessage> = z
  .object({
    runId: z.string().min(1).max(256),
    segment: z.number().int().min(0),
    totalSegments: z.number().int().min(1).max(1_000_000),
    /** Opaque Scan checkpoint from the account source; absent to start the segment from its beginning. */
    cursor: z.string().min(1).max(100_000).optional(),
    /** The sweep's one mark snapshot (`mark-snapshot-message.ts`); a malformed one fails the record. */
    marks: markSnapshotMessageSchema.optional(),
  })
  .refine((message) => message.segment < message.totalSegments, {
    path: ['segment'],
    message: 'must be below totalSegments',
  });

/**
 * A crash minute's targeted segment as it arrives in a worker's record body (`TargetedSegmentMessage`).
 * `kind` tells it from a Scan segment: a worker reads the kind first, then this schema.
 */
export const targetedSegmentMessageSchema: z.ZodType<TargetedSegmentMessage> = z
  .strictObject({
    kind: z.literal('targeted'),
    runId: z.string().min(1).max(256),
    segment: z.number().int().min(0),
    totalSegments: z.number().int().min(1).max(1_000_000),
    setId: z.string().min(1).max(256),
    accountIds: z.array(z.string().min(1).max(128)).min(1).max(10_000),
    marks: markSnapshotMessageSchema,
  })
  .refine((message) => message.segment < message.totalSegments, {
    path: ['segment'],
    message: 'must be below totalSegments',
  });

/** True when a record body says it is a targeted segment (the full sweep's bodies have no `kind`). */
export function isTargetedBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'kind' in body;
}

export type { SegmentMessage, SweepQueue, TargetedSegmentMessage, TargetedSweepQueue } from '../../ports.ts';

export interface SqsSweepQueueOptions {
  /** The client, or a function returning it (so the queue can be built before any client). */
  readonly client: SQSClient | (() => SQSClient);
  readonly queueUrl: string;
  /** Attempts per batch; `deadlineMs` bounds each batch. @default DEFAULT_RETRY_POLICY */
  readonly retryPolicy?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
  /** Batches in flight at once. @default 4 */
  readonly concurrency?: number;
}

/** Throttling, 5xx, timeouts and dropped connections: the SDK's classification, see `isTransientAwsError`. */
export function isTransientSqsError(error: unknown): boolean {
  return isTransientAwsError(error);
}

/** Some entries of a batch failed on SQS's side: retried like a throttle. */
class EntriesToRetry extends Error {
  constructor(readonly count: number) {
    super(`${count} batch entries failed on the service side`);
    this.name = 'EntriesToRetry';
  }
}

/**
 * Messages to one queue over SQS SendMessageBatch, ten a call, failed entries retried; `key` names a message
 * in errors, `body` is what is sent.
 */
export class SqsBatchQueue<M> {
  private readonly policy: RetryPolicy;
  private readonly concurrency: number;

  constructor(
    private readonly options: SqsSweepQueueOptions,
    private readonly messageKey: (message: M) => string,
    private readonly messageBody: (message: M) => object,
  ) {
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
  }

  async enqueue(messages: readonly M[]): Promise<void> {
    const { messageKey } = this;
    const batches: M[][] = [];
    for (let i = 0; i < messages.length; i += SQS_BATCH_LIMIT)
      batches.push(messages.slice(i, i + SQS_BATCH_LIMIT));
    const failures: { key: string; reason: string }[] = [];
    let stopReason: string | undefined;
    let next = 0;
    const worker = async () => {
      for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) {
        if (stopReason !== undefined) {
          failures.push(...batch.map((m) => ({ key: messageKey(m), reason: `not sent: ${stopReason}` })));
          continue;
        }
        const outcome = await this.sendBatch(batch);
        failures.push(...outcome.failures);
        stopReason ??= outcome.stopReason;
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));
    if (failures.length > 0) {
      const shown = failures.slice(0, 5).map((f) => `${f.key}: ${f.reason}`);
      throw new IncompleteBatchError(
        `${failures.length} of ${messages.length} segment messages not sent: ${shown.join('; ')}` +
          (failures.length > shown.length ? '; …' : ''),
        failures.map((f) => f.key),
      );
    }
  }

  /** Sends one batch until every entry is in or finally failed; `stopReason` when the queue itself is at fault. */
  private async sendBatch(
    batch: readonly M[],
  ): Promise<{ failures: { key: string; reason: string }[]; stopReason?: string }> {
    const { messageKey } = this;
    const pending = new Map<string, { message: M; entry: SendMessageBatchRequestEntry }>();
    batch.forEach((message, i) => {
      const Id = `m${i}`;
      pending.set(Id, { message, entry: { Id, MessageBody: JSON.stringify(this.messageBody(message)) } });
    });
    const failures: { key: string; reason: string }[] = [];
    const lastReason = new Map<string, string>();
    const client = typeof this.options.client === 'function' ? this.options.client() : this.options.client;
    try {
      await withRetry(
        async () => {
          const out = await client.send(
            new SendMessageBatchCommand({
              QueueUrl: this.options.queueUrl,
              Entries: [...pending.values()].map((p) => p.entry),
            }),
          );
          for (const ok of out.Successful ?? []) pending.delete(ok.Id ?? '');
          for (const failed of out.Failed ?? []) {
            const item = pending.get(failed.Id ?? '');
            if (!item) continue;
            const reason = `${failed.Code ?? 'UnknownError'}: ${failed.Message ?? 'no message'}`;
            if (failed.SenderFault === true) {
              // The entry itself is wrong: sending it again cannot help.
              failures.push({ key: messageKey(item.message), reason });
              pending.delete(failed.Id ?? '');
            } else {
              lastReason.set(failed.Id ?? '', reason);
            }
          }
          if (pending.size > 0) throw new EntriesToRetry(pending.size);
        },
        (error) => ({ retry: error instanceof EntriesToRetry || isTransientSqsError(error) }),
        this.policy,
        this.options.retryHooks,
      );
      return { failures };
    } catch (error) {
      const reason = error instanceof EntriesToRetry ? undefined : errorReason(error);
      for (const [id, item] of pending) {
        failures.push({
          key: messageKey(item.message),
          reason: reason ?? lastReason.get(id) ?? 'no result returned',
        });
      }
      // A final whole-call error that is not transient (access denied, no such queue) hits every batch alike.
      const stop = reason !== undefined && !isTransientSqsError(error) ? reason : undefined;
      return stop === undefined ? { failures } : { failures, stopReason: stop };
    }
  }
}

/**
 * `SweepQueue` over SQS SendMessageBatch.
 *
 * @example
 * const queue = new SqsSweepQueue({ client: sqsClient, queueUrl });
 * await queue.enqueue([{ runId, segment: 0, totalSegments: 4 }]);
 */
export class SqsSweepQueue extends SqsBatchQueue<SegmentMessage> implements SweepQueue {
  constructor(options: SqsSweepQueueOptions) {
    super(options, (message) => `${message.runId}#${message.segment}`, segmentMessageBody);
  }
}

/**
 * `TargetedSweepQueue` over SQS SendMessageBatch, on the sweep queue: the workers that sweep Scan segments
 * sweep these too. Sent with more batches in flight than a full sweep's hundred segments need: a crash
 * minute queues thousands, and every second of sending is a second before their alerts.
 *
 * @example
 * await new SqsTargetedSweepQueue({ client: sqsClient, queueUrl, concurrency: 16 }).enqueueTargeted(messages);
 */
export class SqsTargetedSweepQueue implements TargetedSweepQueue {
  private readonly queue: SqsBatchQueue<TargetedSegmentMessage>;
  constructor(options: SqsSweepQueueOptions) {
    this.queue = new SqsBatchQueue(
      { ...options, concurrency: options.concurrency ?? 16 },
      (message) => `${message.runId}#t${message.segment}`,
      targetedMessageBody,
    );
  }
  enqueueTargeted(messages: readonly TargetedSegmentMessage[]): Promise<void> {
    return this.queue.enqueue(messages);
  }
}

/** A targeted segment's body as sent: the snapshot in its wire form. */
export function targetedMessageBody(message: TargetedSegmentMessage): object {
  return {
    kind: message.kind,
    runId: message.runId,
    segment: message.segment,
    totalSegments: message.totalSegments,
    setId: message.setId,
    accountIds: message.accountIds,
    marks: toMarkSnapshotMessage(message.marks),
  };
}

/** The body as sent: no `cursor` key at all when starting a segment from its beginning. */
export function segmentMessageBody(message: SegmentMessage): object {
  return {
    runId: message.runId,
    segment: message.segment,
    totalSegments: message.totalSegments,
    ...(message.cursor === undefined ? {} : { cursor: message.cursor }),
    ...(message.marks === undefined ? {} : { marks: toMarkSnapshotMessage(message.marks) }),
  };
}
