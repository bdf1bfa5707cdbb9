/**
 * Publishes margin alerts to the alerts topic with PublishBatch: validated, packed under SNS's limits,
 * retried with the shared backoff, and reported one by one. It never throws for a failed alert: the
 * caller gets each alertId as published or failed with a reason, and decides (dead-letter, alarm, retry
 * the segment).
 */
import {
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import type { z } from 'zod';
import type { MarginAlert } from '../../domain/account/account.ts';
import { alertAttributes, parsePublishableAlert } from '../../domain/alert/alert.ts';
import type { AlertPublisher, AlertPublishResult } from '../../ports.ts';
import { DEFAULT_RETRY_POLICY, type RetryHooks, type RetryPolicy, withRetry } from '../retry.ts';
import { type BatchLimits, messageBytes, planBatches, SNS_BATCH_LIMITS } from './batching.ts';
import { deduplicationIdFor, isFifoTopic, messageGroupIdFor } from './fifo.ts';
import { isBatchShapeError, isTransientSnsError, snsErrorReason } from './sns-errors.ts';

export interface SnsAlertPublisherOptions {
  readonly client: SNSClient;
  readonly topicArn: string;
  /** Attempts and backoff per batch; `deadlineMs` bounds the whole `publish` call. */
  readonly retryPolicy?: RetryPolicy;
  /** Injected clock, sleep and randomness (tests), abort signal and retry callback. */
  readonly retryHooks?: RetryHooks;
  /** Batches in flight at once on a standard topic. FIFO topics always send one at a time, in order. */
  readonly concurrency?: number;
  /** Tighter batch limits (tests); never looser than SNS's own. */
  readonly limits?: Partial<BatchLimits>;
}

/** One validated alert ready to send: the entry's `Id` is local to this `publish` call. */
interface PreparedAlert {
  readonly alertId: string;
  readonly entry: PublishBatchRequestEntry;
  readonly bytes: number;
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Thrown inside the retry loop when some entries of a batch failed on SNS's side and may be re-sent. */
class EntriesToRetry extends Error {
  constructor(readonly count: number) {
    super(`${count} batch entries failed on the service side`);
    this.name = 'EntriesToRetry';
  }
}

function describeIssues(error: z.ZodError): string {
  const issues = error.issues.slice(0, 5).map((issue) => {
    const path = issue.path.map(String).join('.') || '(alert)';
    return `${path}: ${issue.message}`;
  });
  const more = error.issues.length > 5 ? `; and ${error.issues.length - 5} more` : '';
  return `invalid alert: ${issues.join('; ')}${more}`;
}

/**
 * IAM actions on the alerts topic: PublishBatch is authorised as Publish. An encrypted topic also needs the
 * key's kms:Decrypt and kms:GenerateDataKey, which the stack grants with the topic.
 */
export const ALERT_PUBLISHER_IAM_ACTIONS = ['sns:Publish'] as const;

/**
 * `AlertPublisher` over SNS PublishBatch.
 *
 * - Every alert is checked against `marginAlertSchema` (the mirror of `margin-alert.v1.json`); an invalid
 *   one is reported failed and never sent. Duplicate alertIds in one call are sent once.
 * - Batches hold at most 10 entries and 256 KiB of bodies and attributes; an alert heavier than 256 KiB on
 *   its own is reported failed and never sent.
 * - FIFO topics (ARN ending `.fifo`): MessageGroupId = accountId (order per account), MessageDeduplicationId
 *   = SHA-256 of the alertId, the same on every retry and every re-run, so SNS drops a re-send.
 * - Entries in `Failed` with `SenderFault: false` are re-sent (only those) with backoff; with
 *   `SenderFault: true` they are reported at once with SNS's code and message.
 * - A whole call that is throttled, times out or gets a 5xx is retried until attempts or the deadline run
 *   out; then every alert not yet published is reported failed. Any other error fails that batch, and if
 *   it concerns the topic (authorisation, not found, KMS) the batches after it are not tried.
 *
 * @example
 * const publisher = new SnsAlertPublisher({ client: snsClient(), topicArn });
 * const { published, failed } = await publisher.publish(alerts);
 */
export class SnsAlertPublisher implements AlertPublisher {
  private readonly policy: RetryPolicy;
  private readonly hooks: RetryHooks;
  private readonly now: () => number;
  private readonly fifo: boolean;
  private readonly concurrency: number;
  private readonly limits: BatchLimits;

  constructor(private readonly options: SnsAlertPublisherOptions) {
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.hooks = options.retryHooks ?? {};
    this.now = this.hooks.now ?? Date.now;
    this.fifo = isFifoTopic(options.topicArn);
    this.concurrency = this.fifo ? 1 : Math.max(1, Math.floor(options.concurrency ?? 4));
    this.limits = {
      maxEntries: Math.min(
        SNS_BATCH_LIMITS.maxEntries,
        options.limits?.maxEntries ?? Number.POSITIVE_INFINITY,
      ),
      maxBytes: Math.min(SNS_BATCH_LIMITS.maxBytes, options.limits?.maxBytes ?? Number.POSITIVE_INFINITY),
    };
  }

  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    const started = this.now();
    const order: string[] = [];
    const outcomes = new Map<string, Outcome>();
    const prepared: PreparedAlert[] = [];
    const seen = new Set<string>();

    alerts.forEach((alert, index) => {
      const rawId: unknown = (alert as { alertId?: unknown } | null)?.alertId;
      const alertId =
        typeof rawId === 'string' && rawId.length > 0 ? rawId : `<alert #${index} without alertId>`;
      if (seen.has(alertId)) return;
      seen.add(alertId);
      order.push(alertId);
      const parsed = parsePublishableAlert(alert);
      if (!parsed.success) {
        outcomes.set(alertId, { ok: false, reason: describeIssues(parsed.error) });
        return;
      }
      const entry = this.entryFor(parsed.data, `a${prepared.length}`);
      prepared.push({ alertId, entry, bytes: messageBytes(entry.Message ?? '', entry.MessageAttributes) });
    });

    const plan = planBatches(prepared, this.limits);
    for (const alert of plan.oversized) {
      outcomes.set(alert.alertId, {
        ok: false,
        reason: `message is ${alert.bytes} bytes with its attributes, over the ${this.limits.maxBytes}-byte SNS limit; not sent`,
      });
    }

    let stopReason: string | undefined;
    const sendBatch = async (batch: readonly PreparedAlert[]): Promise<void> => {
      if (stopReason !== undefined) {
        for (const alert of batch)
          outcomes.set(alert.alertId, { ok: false, reason: `not sent: ${stopReason}` });
        return;
      }
      const remainingMs = this.policy.deadlineMs - (this.now() - started);
      if (remainingMs <= 0) {
        for (const alert of batch) {
          outcomes.set(alert.alertId, { ok: false, reason: 'not sent: the publish deadline passed first' });
        }
        return;
      }
      const stop = await this.sendWithRetry(batch, outcomes, remainingMs);
      if (stop !== undefined) stopReason ??= stop;
    };

    // A small worker pool: each worker takes the next batch in order.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < plan.batches.length) {
        const batch = plan.batches[next++];
        if (batch) await sendBatch(batch);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, plan.batches.length) }, worker));

    const published: string[] = [];
    const failed: { alertId: string; reason: string }[] = [];
    for (const alertId of order) {
      const outcome = outcomes.get(alertId) ?? { ok: false, reason: 'not sent: no outcome recorded' };
      if (outcome.ok) published.push(alertId);
      else failed.push({ alertId, reason: outcome.reason });
    }
    return { published, failed };
  }

  private entryFor(alert: MarginAlert, id: string): PublishBatchRequestEntry {
    const attributes: Record<string, MessageAttributeValue> = { ...alertAttributes(alert) };
    const entry: PublishBatchRequestEntry = {
      Id: id,
      Message: JSON.stringify(alert),
      MessageAttributes: attributes,
    };
    if (this.fifo) {
      entry.MessageGroupId = messageGroupIdFor(alert.accountId);
      entry.MessageDeduplicationId = deduplicationIdFor(alert.alertId);
    }
    return entry;
  }

  /**
   * Send one batch until every entry is published or finally failed; records outcomes. Returns a reason
   * when the failure concerns the topic, so later batches are not tried.
   */
  private async sendWithRetry(
    batch: readonly PreparedAlert[],
    outcomes: Map<string, Outcome>,
    remainingMs: number,
  ): Promise<string | undefined> {
    const pending = new Map<string, PreparedAlert>();
    for (const alert of batch) pending.set(alert.entry.Id ?? '', alert);
    const lastEntryReason = new Map<string, string>();
    let attempts = 0;

    try {
      await withRetry(
        async () => {
          attempts++;
          const response = await this.options.client.send(
            new PublishBatchCommand({
              TopicArn: this.options.topicArn,
              PublishBatchRequestEntries: [...pending.values()].map((alert) => alert.entry),
            }),
          );
          for (const success of response.Successful ?? []) {
            const alert = success.Id === undefined ? undefined : pending.get(success.Id);
            if (!alert) continue;
            outcomes.set(alert.alertId, { ok: true });
            pending.delete(success.Id ?? '');
          }
          for (const failure of response.Failed ?? []) {
            const alert = failure.Id === undefined ? undefined : pending.get(failure.Id);
            if (!alert) continue;
            const reason = `${failure.Code ?? 'UnknownError'}: ${failure.Message ?? 'no message'}`;
            if (failure.SenderFault === true) {
              // The request itself is wrong for this entry: sending it again cannot help.
              outcomes.set(alert.alertId, { ok: false, reason });
              pending.delete(failure.Id ?? '');
            } else {
              lastEntryReason.set(alert.alertId, reason);
            }
          }
          // Anything left is either a service-side entry failure or an entry SNS did not mention.
          if (pending.size > 0) throw new EntriesToRetry(pending.size);
        },
        (error) => ({ retry: error instanceof EntriesToRetry || isTransientSnsError(error) }),
        { ...this.policy, deadlineMs: remainingMs },
        this.hooks,
      );
      return undefined;
    } catch (error) {
      const tries = `after ${attempts} attempt${attempts === 1 ? '' : 's'}`;
      if (error instanceof EntriesToRetry) {
        for (const alert of pending.values()) {
          const reason = lastEntryReason.get(alert.alertId) ?? 'no result returned for this entry';
          outcomes.set(alert.alertId, { ok: false, reason: `${reason} (${tries})` });
        }
        return undefined;
      }
      const reason = snsErrorReason(error);
      for (const alert of pending.values()) {
        outcomes.set(alert.alertId, { ok: false, reason: `${reason} (${tries})` });
      }
      const concernsTopic = !isTransientSnsError(error) && !isBatchShapeError(error);
      return concernsTopic ? reason : undefined;
    }
  }
}
