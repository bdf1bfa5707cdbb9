import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { KMSThrottlingException, NotFoundException } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { isTransientAwsError } from '../../lib/adapters/aws-errors.ts';
import { isRetryableDynamoDbError } from '../../lib/adapters/dynamodb/retryable.ts';
import { isTransientSnsError } from '../../lib/adapters/sns/sns-errors.ts';
import { isTransientSqsError } from '../../lib/adapters/sqs/sweep-queue.ts';

const meta = { $metadata: {} };
const named = (name: string, extra: object = {}) => Object.assign(new Error('x'), { name }, extra);

// Every adapter reads AWS failures the SDK's way, so no adapter retries what another gives up on.
const classifiers = {
  dynamodb: isRetryableDynamoDbError,
  sns: isTransientSnsError,
  sqs: isTransientSqsError,
};

describe.each(Object.entries(classifiers))('the %s classifier', (_, classify) => {
  it.each([
    ['a throttle', new ProvisionedThroughputExceededException({ message: 'x', ...meta })],
    ['a KMS throttle', new KMSThrottlingException({ message: 'x', ...meta })],
    ['an HTTP 429', named('Whatever', { $metadata: { httpStatusCode: 429 } })],
    ['an HTTP 503', named('Whatever', { $metadata: { httpStatusCode: 503 } })],
    ['a modeled retryable error', named('SomeRetryable', { $retryable: { throttling: true } })],
    ['a dropped connection', named('Error', { code: 'ECONNRESET' })],
    ['an unknown host', named('Error', { code: 'ENOTFOUND' })],
    ['a timeout', named('TimeoutError')],
    ['a lost connection as the cause', named('Error', { cause: named('Error', { code: 'EPIPE' }) })],
  ])('retries %s', (_label, error) => {
    expect(classify(error)).toBe(true);
    expect(isTransientAwsError(error)).toBe(true);
  });

  it.each([
    ['a failed condition', new ConditionalCheckFailedException({ message: 'x', ...meta })],
    ['a missing topic', new NotFoundException({ message: 'x', ...meta })],
    ['an abort', named('AbortError', { code: 'ECONNRESET' })],
    ['a plain error', new Error('plain')],
    ['a string', 'boom'],
    ['nothing', undefined],
  ])('does not retry %s', (_label, error) => {
    expect(classify(error)).toBe(false);
  });
});
