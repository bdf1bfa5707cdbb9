/**
 * The AWS clients of one Lambda container, each created on first use and reused by every invocation after
 * it (warm connections, cached credentials). Nothing is created when a handler module is imported.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sharedDynamoDbClient } from '../../lib/adapters/dynamodb/client.ts';
import { snsClient } from '../../lib/adapters/sns/client.ts';

/** Time limits for one SQS call: SendMessageBatch answers in tens of milliseconds. */
export const SQS_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 } as const;

/** SQS and Lambda calls: short time limits, and a timed-out request fails instead of hanging on. */
function boundedRequests() {
  return {
    connectionTimeout: SQS_TIMEOUTS.connectionTimeoutMs,
    requestTimeout: SQS_TIMEOUTS.requestTimeoutMs,
    // Without this a request timeout only logs a warning and the call hangs on.
    throwOnRequestTimeout: true,
    httpsAgent: { keepAlive: true, maxSockets: 50 },
  };
}

let sqs: SQSClient | undefined;
let lambda: LambdaClient | undefined;

/** The container's DynamoDB client (`QMT_DYNAMODB_ENDPOINT` points it at DynamoDB Local). */
export function dynamoDbClient(): DynamoDBClient {
  return sharedDynamoDbClient();
}

/** The container's SNS client (`AWS_ENDPOINT_URL_SNS` points it elsewhere). */
export function snsTopicClient(): SNSClient {
  return snsClient();
}

/**
 * The container's SQS client. The SDK's own retries are off: the sweep queue adapter retries whole calls
 * and failed batch entries with the project's backoff and deadline, and two stacked loops would multiply
 * attempts. `AWS_ENDPOINT_URL_SQS` points it at a local queue.
 */
export function sqsClient(): SQSClient {
  sqs ??= new SQSClient({
    maxAttempts: 1,
    requestHandler: boundedRequests(),
  });
  return sqs;
}

/**
 * The container's Lambda client, for the watch's asynchronous invokes of the sweep worker. As for SQS, the
 * SDK's retries are off (the invoker retries with the project's backoff) and a hung call times out.
 */
export function lambdaClient(): LambdaClient {
  lambda ??= new LambdaClient({
    maxAttempts: 1,
    requestHandler: boundedRequests(),
  });
  return lambda;
}
