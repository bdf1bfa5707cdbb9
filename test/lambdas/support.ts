/** Shared fixtures for the handler tests: a Lambda environment and context, quiet observability, fakes. */
import 'aws-sdk-client-mock-vitest/extend';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DeleteItemCommandInput,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandInput,
  PutItemCommand,
  type PutItemCommandInput,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import type { SendMessageBatchCommandInput, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import type { Context, SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import type { Observability } from '../../lambdas/shared/observability.ts';
import type { Item } from '../../lib/adapters/dynamodb/attributes.ts';

export const ALERTS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:qmt-test-alerts';
export const OPS_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:qmt-test-ops';
export const SWEEP_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/qmt-test-sweep';

export const TABLES = {
  thresholds: 'qmt-test-thresholds',
  accounts: 'qmt-test-accounts',
  marginStatus: 'qmt-test-margin-status',
  runs: 'qmt-test-runs',
} as const;

/** The environment the stack gives every function. */
export function lambdaEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    QMT_TABLE_PREFIX: 'qmt-test',
    QMT_ALERTS_TOPIC_ARN: ALERTS_TOPIC_ARN,
    QMT_OPS_TOPIC_ARN: OPS_TOPIC_ARN,
    QMT_SWEEP_QUEUE_URL: SWEEP_QUEUE_URL,
    QMT_CONFIG: JSON.stringify({ instruments: { BTC: {}, ETH: {} } }),
    ...overrides,
  };
}

/** A Lambda context whose remaining time is `remainingMs` (or what the function returns). */
export function lambdaContext(remainingMs: number | (() => number) = 600_000, requestId = 'req-1'): Context {
  const remaining = typeof remainingMs === 'number' ? () => remainingMs : remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'qmt-test-function',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:qmt-test-function',
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/qmt-test-function',
    logStreamName: '2026/11/24/[$LATEST]abc',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** A silent logger and metrics (POWERTOOLS_DEV keeps them from printing) whose values are recorded: `metric('Transitions')` sums what was added. */
export function recordedObservability(): Observability & {
  metric(name: string): number;
  logged(level: 'info' | 'warn' | 'error'): { message: string; attributes: unknown[] }[];
} {
  const logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' });
  const metrics = new Metrics({ namespace: 'qmt-test', serviceName: 'test' });
  const added = vi.spyOn(metrics, 'addMetric');
  const spies = {
    info: vi.spyOn(logger, 'info'),
    warn: vi.spyOn(logger, 'warn'),
    error: vi.spyOn(logger, 'error'),
  };
  return {
    logger,
    metrics,
    metric: (name) =>
      added.mock.calls
        .filter(([metricName]) => metricName === name)
        .reduce((sum, [, , value]) => sum + value, 0),
    logged: (level) =>
      spies[level].mock.calls.map(([message, ...attributes]) => ({ message: String(message), attributes })),
  };
}

/** Answers every SendMessageBatch entry as successful. */
export function acceptAllMessages(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
  return {
    Successful: (input.Entries ?? []).map((entry) => ({
      Id: entry.Id ?? '',
      MessageId: `msg-${entry.Id}`,
      MD5OfMessageBody: 'md5',
    })),
    Failed: [],
    $metadata: {},
  };
}

/** The segment message bodies sent with SendMessageBatch, in order. */
export function sentBodies(calls: readonly { args: readonly [{ input: object }] }[]): unknown[] {
  return calls.flatMap((call) =>
    ((call.args[0].input as SendMessageBatchCommandInput).Entries ?? []).map((entry) =>
      JSON.parse(entry.MessageBody ?? 'null'),
    ),
  );
}

const IDEMPOTENCY_PREFIX = 'IDEMPOTENCY#';

/**
 * A stateful stand-in for the idempotency records in the runs table, on a mocked DynamoDB client: puts,
 * updates, reads and deletes of `IDEMPOTENCY#` items act on a map; the conditional put fails, returning the
 * stored item, while a live record exists (the same rule as the store's ConditionExpression). Every other
 * item's PutItem, UpdateItem, DeleteItem and GetItem goes to `others` (default: succeed, nothing found).
 */
export function fakeIdempotencyRecords(
  dynamo: AwsClientStub<DynamoDBClient>,
  others: {
    put?: (input: PutItemCommandInput) => object;
    get?: (input: GetItemCommandInput) => object;
  } = {},
): Map<string, Item> {
  const records = new Map<string, Item>();
  const keyOf = (key: Item | undefined) => key?.pk?.S ?? '';
  const isRecord = (key: Item | undefined) => keyOf(key).startsWith(IDEMPOTENCY_PREFIX);
  dynamo.on(PutItemCommand).callsFake((input: PutItemCommandInput) => {
    if (!isRecord(input.Item)) return others.put?.(input) ?? {};
    const key = keyOf(input.Item);
    const existing = records.get(key);
    const values = input.ExpressionAttributeValues ?? {};
    const live =
      existing !== undefined &&
      !(Number(existing.ttl?.N) < Number(values[':now']?.N)) &&
      !(
        existing.status?.S === 'INPROGRESS' &&
        Number(existing.inProgressExpiresAt?.N) < Number(values[':nowMs']?.N)
      );
    if (live) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
        Item: existing,
      });
    }
    records.set(key, { ...(input.Item ?? {}) });
    return {};
  });
  dynamo.on(UpdateItemCommand).callsFake((input: UpdateItemCommandInput) => {
    if (!isRecord(input.Key)) return {};
    const key = keyOf(input.Key);
    const item: Item = { ...(records.get(key) ?? input.Key ?? {}) };
    // `SET #a = :a, #b = :b`
    for (const assignment of (input.UpdateExpression ?? '').replace(/^SET /, '').split(',')) {
      const [name, value] = assignment.split('=').map((part) => part.trim());
      const attribute = input.ExpressionAttributeNames?.[name ?? ''];
      const attributeValue = input.ExpressionAttributeValues?.[value ?? ''];
      if (attribute && attributeValue) item[attribute] = attributeValue;
    }
    records.set(key, item);
    return {};
  });
  dynamo.on(DeleteItemCommand).callsFake((input: DeleteItemCommandInput) => {
    if (isRecord(input.Key)) records.delete(keyOf(input.Key));
    return {};
  });
  dynamo.on(GetItemCommand).callsFake((input: GetItemCommandInput) => {
    if (!isRecord(input.Key)) return others.get?.(input) ?? {};
    const item = records.get(keyOf(input.Key));
    return item ? { Item: item } : {};
  });
  return records;
}

/** One SQS record as the event source delivers it to the worker, its body JSON unless given as a string. */
export function sqsRecord(messageId: string, body: unknown): SQSRecord {
  return {
    messageId,
    receiptHandle: `handle-${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1764000000000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1764000000001',
    },
    messageAttributes: {},
    md5OfBody: 'md5',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:qmt-test-sweep',
    awsRegion: 'eu-west-1',
  };
}
