/**
 * Subscriptions to the alerts and ops topics, each with a dead-letter queue (one per topic kind, made on
 * first use) watched by an alarm. Created on the caller's scope, so every logical ID stays as it was.
 */
import { Arn, ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ABOVE_ZERO, deadLetterDepth, type QmtAlarmFactory } from './monitoring.ts';
import { encryptedQueue } from './storage.ts';

/** A subscription to the alerts or ops topic, as configuration describes it. */
export interface TopicSubscription {
  readonly protocol: 'email' | 'https' | 'sqs' | 'lambda';
  /** Email address, https URL, SQS queue ARN or Lambda function ARN. */
  readonly endpoint: string;
  /**
   * Allowed values per message attribute (`eventType`, `severity`, `accountId`, `newState`); a message is
   * delivered only if every listed attribute has one of its values.
   *
   * @default - every message is delivered
   */
  readonly filterPolicy?: Readonly<Record<string, readonly string[]>>;
  /**
   * Deliver the message body alone, without the SNS envelope (SQS and HTTPS only).
   *
   * @default false - the body arrives inside SNS's signed JSON envelope, attributes included
   */
  readonly rawMessageDelivery?: boolean;
}

/** Adds subscriptions on `scope`; subscriber ids are numbered in the order they are added. */
export class TopicSubscriptions {
  private readonly deadLetterQueues = new Map<'standard' | 'fifo', sqs.Queue>();
  private count = 0;

  constructor(
    private readonly scope: Construct,
    private readonly alarms: QmtAlarmFactory,
  ) {}

  subscribe(topic: sns.ITopic, subscription: TopicSubscription, fifo: boolean): sns.Subscription {
    const index = this.count++;
    const props = {
      deadLetterQueue: this.deadLetterQueue(fifo),
      ...(subscription.filterPolicy && {
        filterPolicy: Object.fromEntries(
          Object.entries(subscription.filterPolicy).map(([attribute, allowlist]) => [
            attribute,
            sns.SubscriptionFilter.stringFilter({ allowlist: [...allowlist] }),
          ]),
        ),
      }),
    };
    const raw = subscription.rawMessageDelivery ?? false;
    let target: sns.ITopicSubscription;
    switch (subscription.protocol) {
      case 'email':
        target = new subscriptions.EmailSubscription(subscription.endpoint, props);
        break;
      case 'https':
        target = new subscriptions.UrlSubscription(subscription.endpoint, {
          ...props,
          protocol: sns.SubscriptionProtocol.HTTPS,
          rawMessageDelivery: raw,
        });
        break;
      case 'sqs':
        target = new subscriptions.SqsSubscription(
          sqs.Queue.fromQueueArn(this.scope, `Subscriber${index}Queue`, subscription.endpoint),
          { ...props, rawMessageDelivery: raw },
        );
        break;
      case 'lambda': {
        const account = Arn.split(subscription.endpoint, ArnFormat.COLON_RESOURCE_NAME).account;
        const stackAccount = Stack.of(this.scope).account;
        target = new subscriptions.LambdaSubscription(
          lambda.Function.fromFunctionAttributes(this.scope, `Subscriber${index}Function`, {
            functionArn: subscription.endpoint,
            // The invoke permission for SNS can only be added in this account; elsewhere its owner adds it.
            sameEnvironment: Token.isUnresolved(stackAccount) || account === stackAccount,
          }),
          props,
        );
        break;
      }
    }
    return topic.addSubscription(target);
  }

  /** One dead-letter queue for failed deliveries (a FIFO one for a FIFO topic), made on first use. */
  private deadLetterQueue(fifo: boolean): sqs.IQueue {
    const kind = fifo ? 'fifo' : 'standard';
    const existing = this.deadLetterQueues.get(kind);
    if (existing) return existing;
    const queue = encryptedQueue(
      this.scope,
      fifo ? 'FifoSubscriptionDeadLetterQueue' : 'SubscriptionDeadLetterQueue',
      { retentionPeriod: Duration.days(14), ...(fifo && { fifo: true }) },
    );
    this.deadLetterQueues.set(kind, queue);
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the SNS subscriptions (their RedrivePolicy), which cdk-nag does not recognise; a dead-letter queue of its own would only move the problem.',
    });
    this.alarms.addAlarm(
      `${fifo ? 'Fifo' : ''}SubscriptionDlqAlarm`,
      `${fifo ? 'fifo-' : ''}subscription-dlq`,
      'SNS could not deliver a message to a subscriber after its retries; the message is in the subscription dead-letter queue.',
      deadLetterDepth(queue),
      ABOVE_ZERO,
    );
    return queue;
  }
}
