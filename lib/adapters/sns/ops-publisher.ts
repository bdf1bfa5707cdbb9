/**
 * Publishes operational events (recalibration summaries, failures, sweep counts, rejected records) to the
 * ops topic, one Publish per event.
 */
import { PublishCommand, type PublishCommandInput, type SNSClient } from '@aws-sdk/client-sns';
import { QmtError } from '../../domain/errors.ts';
import type { OpsEvent, OpsPublisher } from '../../ports.ts';
import { DEFAULT_RETRY_POLICY, type RetryHooks, type RetryPolicy, withRetry } from '../retry.ts';
import { deduplicationIdFor, isFifoTopic } from './fifo.ts';
import { opsMessage } from './ops-message.ts';
import { isTransientSnsError, snsErrorReason } from './sns-errors.ts';

/** An ops event that could not be published after retries. Carries the event type, never the body. */
export class OpsPublishError extends QmtError {
  constructor(
    message: string,
    readonly eventType: OpsEvent['type'],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'OpsPublishError';
  }
}

export interface SnsOpsPublisherOptions {
  readonly client: SNSClient;
  readonly topicArn: string;
  readonly retryPolicy?: RetryPolicy;
  /** Injected clock, sleep and randomness (tests), abort signal and retry callback. */
  readonly retryHooks?: RetryHooks;
}

/** One group for all ops events on a FIFO topic: they are few, and a run's events then arrive in order. */
export const OPS_MESSAGE_GROUP = 'qmt-ops';

/** IAM actions on the ops topic (plus the topic key's, which the stack grants with the topic). */
export const OPS_PUBLISHER_IAM_ACTIONS = ['sns:Publish'] as const;

/**
 * `OpsPublisher` over SNS Publish. The body is `opsMessage` (schemaVersion, the event's own fields,
 * publishedAt); attributes `eventType` and `severity` let subscribers filter (for example page on
 * `critical` only); the subject is short ASCII for e-mail. Throttling, timeouts and 5xx are retried with
 * the shared backoff until attempts or the deadline run out; then it throws `OpsPublishError`, and the
 * caller decides whether a lost summary should fail its run (usually not).
 *
 * @example
 * await new SnsOpsPublisher({ client: snsClient(), topicArn }).publish({ type: 'recalibration.failed', runId, reason });
 */
export class SnsOpsPublisher implements OpsPublisher {
  constructor(private readonly options: SnsOpsPublisherOptions) {}

  async publish(event: OpsEvent): Promise<void> {
    const hooks = this.options.retryHooks ?? {};
    const now = hooks.now ?? Date.now;
    const message = opsMessage(event, new Date(now()).toISOString());
    const input: PublishCommandInput = {
      TopicArn: this.options.topicArn,
      Message: message.body,
      Subject: message.subject,
      MessageAttributes: {
        eventType: { DataType: 'String', StringValue: event.type },
        severity: { DataType: 'String', StringValue: message.severity },
      },
    };
    if (isFifoTopic(this.options.topicArn)) {
      input.MessageGroupId = OPS_MESSAGE_GROUP;
      // From the event alone (not publishedAt), so a re-run announcing the same thing is dropped by SNS.
      input.MessageDeduplicationId = deduplicationIdFor(JSON.stringify(event));
    }
    try {
      await withRetry(
        () => this.options.client.send(new PublishCommand(input)),
        (error) => ({ retry: isTransientSnsError(error) }),
        this.options.retryPolicy ?? DEFAULT_RETRY_POLICY,
        hooks,
      );
    } catch (error) {
      throw new OpsPublishError(
        `could not publish ${event.type} for run ${event.runId}: ${snsErrorReason(error)}`,
        event.type,
        { cause: error },
      );
    }
  }
}
