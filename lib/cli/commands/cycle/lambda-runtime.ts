/**
 * What AWS gives the handlers, stood in for locally: an in-process queue instead of SQS, the SQS event and
 * Lambda context the handlers are invoked with, and observability silenced so the terminal shows the report.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent } from 'aws-lambda';
import type { Observability } from '../../../../lambdas/shared/observability.ts';
import { segmentMessageBody, targetedMessageBody } from '../../../adapters/sqs/sweep-queue.ts';
import type {
  SegmentMessage,
  SweepQueue,
  TargetedSegmentMessage,
  TargetedSweepQueue,
} from '../../../ports.ts';

/** What the sweep queue carries: Scan segments, and a crash minute's targeted segments. */
export type SweepQueueMessage = SegmentMessage | TargetedSegmentMessage;

/** Stands in for SQS: the coordinator, the watch and the workers enqueue here, and the cycle drains it. */
export class InProcessSweepQueue implements SweepQueue, TargetedSweepQueue {
  private messages: SweepQueueMessage[] = [];
  async enqueue(messages: readonly SegmentMessage[]): Promise<void> {
    this.messages.push(...messages);
  }
  async enqueueTargeted(messages: readonly TargetedSegmentMessage[]): Promise<void> {
    this.messages.push(...messages);
  }
  get size(): number {
    return this.messages.length;
  }
  take(n: number): SweepQueueMessage[] {
    return this.messages.splice(0, n);
  }
  clear(): void {
    this.messages = [];
  }
}

export function sqsEvent(messages: readonly SweepQueueMessage[]): SQSEvent {
  return {
    Records: messages.map((message, i) => ({
      messageId: `local-${message.runId}-${message.segment}-${i}`,
      receiptHandle: 'local',
      // The body SQS would carry: the mark snapshot in its wire form (decimal strings, ISO times).
      body: JSON.stringify('kind' in message ? targetedMessageBody(message) : segmentMessageBody(message)),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:qmt-local-sweep',
      awsRegion: 'us-east-1',
    })),
  };
}

export function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 15 * 60_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `local-${functionName}-${Date.now()}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Handlers log and emit metrics for CloudWatch; on a terminal that would bury the report. */
export function silent(serviceName: string): Observability {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return {
    logger: new Logger({ serviceName, logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'qmt', serviceName }),
  };
}
