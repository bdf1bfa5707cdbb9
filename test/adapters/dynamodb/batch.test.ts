import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  RequestLimitExceeded,
  ThrottlingException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchGetAll, batchWriteAll } from '../../../lib/adapters/dynamodb/batch.ts';
import { IncompleteBatchError } from '../../../lib/adapters/errors.ts';
import type { RetryPolicy } from '../../../lib/adapters/retry.ts';
import { fakeRetryTime } from './support.ts';

const ddb = mockClient(DynamoDBClient);
const client = new DynamoDBClient({});
const TABLE = 'accounts';
const KEYS = ['accountId'];
const policy: RetryPolicy = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 5_000 };

const put = (id: string): WriteRequest => ({ PutRequest: { Item: { accountId: { S: id }, x: { N: '1' } } } });
const puts = (n: number, prefix = 'acc') => Array.from({ length: n }, (_, i) => put(`${prefix}-${i}`));
const writtenIds = (call: number) =>
  (ddb.commandCalls(BatchWriteItemCommand)[call]?.args[0].input.RequestItems?.[TABLE] ?? []).map(
    (request) => request.PutRequest?.Item?.accountId?.S,
  );
const throttle = () => new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });

beforeEach(() => {
  ddb.reset();
});

describe('batchWriteAll', () => {
  it('writes in chunks of 25', async () => {
    ddb.on(BatchWriteItemCommand).resolves({});
    await batchWriteAll(client, TABLE, puts(60), KEYS, { concurrency: 1, retryHooks: fakeRetryTime().hooks });
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 3);
    expect([0, 1, 2].map((call) => writtenIds(call).length)).toEqual([25, 25, 10]);
    expect(writtenIds(2)).toEqual(puts(10, 'acc').map((_, i) => `acc-${50 + i}`));
  });

  it('resends UnprocessedItems, and only them, until all are written', async () => {
    const time = fakeRetryTime();
    const requests = puts(5);
    ddb
      .on(BatchWriteItemCommand)
      .resolvesOnce({ UnprocessedItems: { [TABLE]: requests.slice(1, 4) } })
      .resolvesOnce({ UnprocessedItems: { [TABLE]: requests.slice(3, 4) } })
      .resolves({ UnprocessedItems: {} });
    await batchWriteAll(client, TABLE, requests, KEYS, { retryPolicy: policy, retryHooks: time.hooks });
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 3);
    expect(writtenIds(1)).toEqual(['acc-1', 'acc-2', 'acc-3']);
    expect(writtenIds(2)).toEqual(['acc-3']);
    // Backed off between rounds (full jitter with random 0.5 under 100, 200 ms ceilings).
    expect(time.waits).toEqual([50, 100]);
  });

  it('retries throttling and server errors with backoff', async () => {
    const time = fakeRetryTime();
    ddb
      .on(BatchWriteItemCommand)
      .rejectsOnce(throttle())
      .rejectsOnce(new ThrottlingException({ message: 'throttled', $metadata: {} }))
      .rejectsOnce(new RequestLimitExceeded({ message: 'account limit', $metadata: {} }))
      .rejectsOnce(new InternalServerError({ message: 'oops', $metadata: { httpStatusCode: 500 } }))
      .resolves({});
    await batchWriteAll(client, TABLE, puts(3), KEYS, { retryPolicy: policy, retryHooks: time.hooks });
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 5);
    expect(time.waits).toHaveLength(4);
  });

  it('throws IncompleteBatchError naming the unwritten keys once the deadline passes', async () => {
    const time = fakeRetryTime();
    const requests = puts(30);
    // First chunk: two items never get through. Second chunk: throttled throughout.
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WriteRequest[]> }) => {
      const entries = input.RequestItems[TABLE] ?? [];
      if (entries.length === 5) throw throttle();
      return {
        UnprocessedItems: {
          [TABLE]: entries.filter((r) => /acc-(7|19)$/.test(r.PutRequest?.Item?.accountId?.S ?? '')),
        },
      };
    });
    const error = await batchWriteAll(client, TABLE, requests, KEYS, {
      concurrency: 1,
      retryPolicy: { ...policy, maxAttempts: 100, deadlineMs: 2_000 },
      retryHooks: time.hooks,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompleteBatchError);
    const failed = (error as IncompleteBatchError).failedKeys;
    expect(failed).toEqual(['acc-7', 'acc-19', 'acc-25', 'acc-26', 'acc-27', 'acc-28', 'acc-29']);
    expect((error as Error).message).toMatch(/7 of 30 items not written/);
    // Time spent waiting never passed the deadline.
    expect(time.waits.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2_000);
  });

  it('lists chunks it never got to when the deadline is already spent', async () => {
    const time = fakeRetryTime();
    ddb.on(BatchWriteItemCommand).callsFake(() => {
      time.advance(3_000);
      return { UnprocessedItems: { [TABLE]: [put('acc-0')] } };
    });
    const error = await batchWriteAll(client, TABLE, puts(26), KEYS, {
      concurrency: 1,
      retryPolicy: { ...policy, deadlineMs: 2_000 },
      retryHooks: time.hooks,
    }).catch((e: unknown) => e);
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 1);
    expect((error as IncompleteBatchError).failedKeys).toEqual(['acc-0', 'acc-25']);
  });

  it('fails at once on a ValidationException, unchanged', async () => {
    const validation = Object.assign(new Error('One or more parameter values were invalid'), {
      name: 'ValidationException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    ddb.on(BatchWriteItemCommand).rejects(validation);
    await expect(
      batchWriteAll(client, TABLE, puts(60), KEYS, { concurrency: 1, retryHooks: fakeRetryTime().hooks }),
    ).rejects.toBe(validation);
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 1);
  });

  it('names composite keys as pk=…,sk=… and deletes by their key', async () => {
    ddb.on(BatchWriteItemCommand).callsFake((input: { RequestItems: Record<string, WriteRequest[]> }) => ({
      UnprocessedItems: input.RequestItems,
    }));
    const error = await batchWriteAll(
      client,
      't',
      [{ DeleteRequest: { Key: { pk: { S: 'SET#a' }, sk: { S: 'INSTR#BTC' } } } }],
      ['pk', 'sk'],
      { retryPolicy: { ...policy, maxAttempts: 2 }, retryHooks: fakeRetryTime().hooks },
    ).catch((e: unknown) => e);
    expect((error as IncompleteBatchError).failedKeys).toEqual(['pk=SET#a,sk=INSTR#BTC']);
  });
});

describe('batchGetAll', () => {
  const key = (id: string) => ({ accountId: { S: id } });

  it('reads 100 keys per call, each key once', async () => {
    ddb.on(BatchGetItemCommand).callsFake((input: { RequestItems: Record<string, { Keys: unknown[] }> }) => ({
      Responses: { [TABLE]: input.RequestItems[TABLE]?.Keys ?? [] },
    }));
    const ids = Array.from({ length: 250 }, (_, i) => `acc-${i}`);
    const items = await batchGetAll(client, TABLE, { keys: [...ids, 'acc-3', 'acc-3'].map(key) }, KEYS, {
      concurrency: 1,
    });
    expect(items).toHaveLength(250);
    const sizes = ddb
      .commandCalls(BatchGetItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]?.Keys?.length);
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('retries UnprocessedKeys and keeps what each round returned', async () => {
    const time = fakeRetryTime();
    ddb
      .on(BatchGetItemCommand)
      .resolvesOnce({
        Responses: { [TABLE]: [key('a')] },
        UnprocessedKeys: { [TABLE]: { Keys: [key('b'), key('c')] } },
      })
      .rejectsOnce(throttle())
      .resolves({ Responses: { [TABLE]: [key('b'), key('c')] } });
    const items = await batchGetAll(
      client,
      TABLE,
      {
        keys: ['a', 'b', 'c'].map(key),
        consistentRead: true,
        projectionExpression: '#a',
        expressionAttributeNames: { '#a': 'accountId' },
      },
      KEYS,
      { retryPolicy: policy, retryHooks: time.hooks },
    );
    expect(items.map((item) => item.accountId?.S)).toEqual(['a', 'b', 'c']);
    expect(ddb).toHaveReceivedNthCommandWith(BatchGetItemCommand, 3, {
      RequestItems: {
        [TABLE]: {
          Keys: [key('b'), key('c')],
          ConsistentRead: true,
          ProjectionExpression: '#a',
          ExpressionAttributeNames: { '#a': 'accountId' },
        },
      },
    });
  });

  it('throws IncompleteBatchError with the keys still unread', async () => {
    ddb.on(BatchGetItemCommand).resolves({ UnprocessedKeys: { [TABLE]: { Keys: [key('b')] } } });
    const error = await batchGetAll(client, TABLE, { keys: [key('a'), key('b')] }, KEYS, {
      retryPolicy: { ...policy, maxAttempts: 3 },
      retryHooks: fakeRetryTime().hooks,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompleteBatchError);
    expect((error as IncompleteBatchError).failedKeys).toEqual(['b']);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 3);
  });
});
