/**
 * One retry layer per DynamoDB call (see `lib/adapters/dynamodb/client.ts`). A real client, its attempts
 * counted by a middleware inside the SDK's retry loop that throttles every one before it leaves the
 * machine: `aws-sdk-client-mock` replaces `send` and so would not see the SDK's own resends.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { batchGetAll, batchWriteAll } from '../../../lib/adapters/dynamodb/batch.ts';
import { createDynamoDbClient, DEFAULT_CLIENT_OPTIONS } from '../../../lib/adapters/dynamodb/client.ts';
import { DynamoDbRunLedger } from '../../../lib/adapters/dynamodb/run-ledger.ts';
import { IncompleteBatchError } from '../../../lib/adapters/errors.ts';
import type { RetryPolicy } from '../../../lib/adapters/retry.ts';
import { fakeRetryTime } from './support.ts';

const ADAPTER_POLICY: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 1, deadlineMs: 60_000 };

/** A client on an unreachable loopback endpoint whose every attempt is throttled, counted per command. */
function throttledClient(): { client: DynamoDBClient; attempts: Map<string, number> } {
  const client = createDynamoDbClient({ endpoint: 'http://127.0.0.1:9' });
  const attempts = new Map<string, number>();
  client.middlewareStack.add(
    (_next, context) => async () => {
      const command = context.commandName ?? '';
      attempts.set(command, (attempts.get(command) ?? 0) + 1);
      throw new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    },
    { step: 'deserialize', name: 'qmtThrottleEveryAttempt' },
  );
  return { client, attempts };
}

const options = () => ({ retryPolicy: ADAPTER_POLICY, retryHooks: fakeRetryTime().hooks });

describe('one retry layer per DynamoDB call', () => {
  it('a throttled BatchWriteItem is attempted by the adapter loop alone: its maxAttempts, no SDK resends', async () => {
    const { client, attempts } = throttledClient();
    const write = [{ PutRequest: { Item: { accountId: { S: 'acc-1' } } } }];
    await expect(batchWriteAll(client, 'accounts', write, ['accountId'], options())).rejects.toBeInstanceOf(
      IncompleteBatchError,
    );
    expect(attempts.get(BatchWriteItemCommand.name)).toBe(ADAPTER_POLICY.maxAttempts);
  });

  it('a throttled BatchGetItem is attempted by the adapter loop alone', async () => {
    const { client, attempts } = throttledClient();
    const read = { keys: [{ accountId: { S: 'acc-1' } }] };
    await expect(batchGetAll(client, 'accounts', read, ['accountId'], options())).rejects.toBeInstanceOf(
      IncompleteBatchError,
    );
    expect(attempts.get(BatchGetItemCommand.name)).toBe(ADAPTER_POLICY.maxAttempts);
  });

  it('a throttled lease transaction is retried by the SDK alone: its maxAttempts, not under the lease loop', async () => {
    const { client, attempts } = throttledClient();
    const ledger = new DynamoDbRunLedger(client, 'runs', options());
    await expect(ledger.acquire('run-1', 'worker-1', 60_000)).rejects.toBeInstanceOf(ThrottlingException);
    expect(attempts.get('TransactWriteItemsCommand')).toBe(DEFAULT_CLIENT_OPTIONS.maxAttempts);
  }, 60_000);

  it('a throttled single-item call keeps the SDK retries', async () => {
    const { client, attempts } = throttledClient();
    await expect(
      client.send(new PutItemCommand({ TableName: 'statuses', Item: { accountId: { S: 'acc-1' } } })),
    ).rejects.toBeInstanceOf(ThrottlingException);
    expect(attempts.get(PutItemCommand.name)).toBe(DEFAULT_CLIENT_OPTIONS.maxAttempts);
  }, 60_000);
});
