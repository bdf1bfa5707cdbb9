import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbMarginStatusStore, watchKey } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { IncompleteBatchError } from '../../../lib/adapters/errors.ts';
import { fakeRetryTime, sampleTransition } from './support.ts';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'qmt-margin-status';
const store = () =>
  new DynamoDbMarginStatusStore(new DynamoDBClient({}), TABLE, {
    newToken: () => 'token-1',
    batch: { concurrency: 1, retryHooks: fakeRetryTime().hooks },
  });

function statusItem(accountId: string, sequence = 3): Record<string, AttributeValue> {
  return {
    accountId: { S: accountId },
    state: { S: 'WARNING' },
    sequence: { N: String(sequence) },
    updatedAt: { S: '2024-03-02T00:10:00.000Z' },
    thresholdSetId: { S: 'set-1' },
    runId: { S: 'run-1' },
    marginRatio: { S: '1.25' },
  };
}

const conditionFailed = (item?: Record<string, AttributeValue>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item,
  });

beforeEach(() => {
  ddb.reset();
});

describe('DynamoDbMarginStatusStore.get', () => {
  it('reads 100 keys per BatchGetItem, consistently, and retries unprocessed keys', async () => {
    let calls = 0;
    ddb
      .on(BatchGetItemCommand)
      .callsFake((input: { RequestItems: Record<string, { Keys: Record<string, AttributeValue>[] }> }) => {
        const keys = input.RequestItems[TABLE]?.Keys ?? [];
        calls++;
        // The first call hands its last key back unprocessed.
        const [done, left] = calls === 1 ? [keys.slice(0, -1), keys.slice(-1)] : [keys, []];
        return {
          Responses: { [TABLE]: done.map((key) => statusItem(key.accountId?.S ?? '?')) },
          ...(left.length > 0 && { UnprocessedKeys: { [TABLE]: { Keys: left } } }),
        };
      });
    const ids = Array.from({ length: 201 }, (_, i) => `acc-${i}`);
    const statuses = await store().get(ids);
    expect(statuses.size).toBe(201);
    expect(statuses.get('acc-7')).toEqual({
      accountId: 'acc-7',
      state: 'WARNING',
      sequence: 3,
      updatedAt: '2024-03-02T00:10:00.000Z',
      thresholdSetId: 'set-1',
      runId: 'run-1',
      marginRatio: '1.25',
    });
    const sizes = ddb
      .commandCalls(BatchGetItemCommand)
      .map((c) => c.args[0].input.RequestItems?.[TABLE]?.Keys?.length);
    expect(sizes).toEqual([100, 1, 100, 1]);
    expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: { [TABLE]: expect.objectContaining({ ConsistentRead: true }) },
    });
  });

  it('reports the accounts it could not read', async () => {
    ddb
      .on(BatchGetItemCommand)
      .resolves({ UnprocessedKeys: { [TABLE]: { Keys: [{ accountId: { S: 'acc-1' } }] } } });
    const error = await store()
      .get(['acc-1'])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IncompleteBatchError);
    expect((error as IncompleteBatchError).failedKeys).toEqual(['acc-1']);
  });

  it('reads the pending alert (the outbox entry) back exactly as written', async () => {
    const { alert } = sampleTransition('acc-1', 2);
    ddb.on(BatchGetItemCommand).resolves({
      Responses: { [TABLE]: [{ ...statusItem('acc-1'), pendingAlert: { S: JSON.stringify(alert) } }] },
    });
    const status = (await store().get(['acc-1'])).get('acc-1');
    expect(status?.pendingAlert).toEqual(alert);
    expect(ddb).toHaveReceivedCommandWith(BatchGetItemCommand, {
      RequestItems: {
        [TABLE]: expect.objectContaining({
          ExpressionAttributeNames: expect.objectContaining({ '#pendingAlert': 'pendingAlert' }),
        }),
      },
    });
  });

  it('refuses a pending alert that is not an alert of the account', async () => {
    const { alert } = sampleTransition('acc-2', 2);
    ddb.on(BatchGetItemCommand).resolves({
      Responses: { [TABLE]: [{ ...statusItem('acc-1'), pendingAlert: { S: JSON.stringify(alert) } }] },
    });
    await expect(store().get(['acc-1'])).rejects.toThrow(/pendingAlert is not an alert of this account/);
  });

  it('makes no call for no accounts', async () => {
    await expect(store().get([])).resolves.toEqual(new Map());
    expect(ddb).not.toHaveReceivedAnyCommand();
  });
});

describe('DynamoDbMarginStatusStore.applyTransition', () => {
  it('creates the first status only if none exists', async () => {
    ddb.on(PutItemCommand).resolves({});
    await expect(store().applyTransition(sampleTransition('acc-1', 0))).resolves.toBe('applied');
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: 'attribute_not_exists(#accountId)',
      Item: expect.objectContaining({ sequence: { N: '1' }, state: { S: 'WARNING' }, runId: { S: 'run-1' } }),
    });
  });

  it('stores the alert as pendingAlert in the same conditional write (the outbox)', async () => {
    ddb.on(PutItemCommand).resolves({});
    const transition = sampleTransition('acc-1', 4);
    await store().applyTransition(transition);
    const item = ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(JSON.parse(item?.pendingAlert?.S ?? 'null')).toEqual(transition.alert);
  });

  it('moves sequence n to n+1 only if the stored sequence is still n', async () => {
    ddb.on(PutItemCommand).resolves({});
    await store().applyTransition(sampleTransition('acc-1', 4));
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: '#sequence = :expected',
      ExpressionAttributeValues: { ':expected': { N: '4' } },
      Item: expect.objectContaining({
        sequence: { N: '5' },
        marginRatio: { S: '1.250625' },
        thresholdSetId: { S: 'set-1' },
        updatedAt: { S: '2024-03-02T00:10:00.000Z' },
      }),
    });
  });

  it("answers 'stale' when another writer moved the sequence first", async () => {
    ddb
      .on(PutItemCommand)
      .rejects(conditionFailed({ ...statusItem('acc-1', 5), writeToken: { S: 'other' } }));
    await expect(store().applyTransition(sampleTransition('acc-1', 4))).resolves.toBe('stale');
  });

  it("answers 'applied' when the failed condition is its own earlier attempt (an SDK resend)", async () => {
    ddb
      .on(PutItemCommand)
      .rejects(conditionFailed({ ...statusItem('acc-1', 5), writeToken: { S: 'token-1' } }));
    await expect(store().applyTransition(sampleTransition('acc-1', 4))).resolves.toBe('applied');
  });

  it('passes other errors through', async () => {
    ddb.on(PutItemCommand).rejects(new Error('network down'));
    await expect(store().applyTransition(sampleTransition('acc-1', 4))).rejects.toThrow('network down');
  });

  it('stores a null ratio (no maintenance requirement) as NULL', async () => {
    ddb.on(PutItemCommand).resolves({});
    const transition = sampleTransition('acc-1', 0);
    await store().applyTransition({ ...transition, alert: { ...transition.alert, marginRatio: null } });
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      Item: expect.objectContaining({ marginRatio: { NULL: true } }),
    });
  });
});

describe('DynamoDbMarginStatusStore.markAlertPublished', () => {
  it('removes pendingAlert only while the stored sequence is the published one', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store().markAlertPublished('acc-1', 5);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: TABLE,
      Key: { accountId: { S: 'acc-1' } },
      UpdateExpression: 'REMOVE #pendingAlert',
      ConditionExpression: '#sequence = :sequence',
      ExpressionAttributeNames: { '#pendingAlert': 'pendingAlert', '#sequence': 'sequence' },
      ExpressionAttributeValues: { ':sequence': { N: '5' } },
    });
  });

  it('does nothing when a newer transition moved the sequence on', async () => {
    ddb.on(UpdateItemCommand).rejects(conditionFailed());
    await expect(store().markAlertPublished('acc-1', 5)).resolves.toBeUndefined();
  });

  it('passes other errors through', async () => {
    ddb.on(UpdateItemCommand).rejects(new Error('network down'));
    await expect(store().markAlertPublished('acc-1', 5)).rejects.toThrow('network down');
  });
});

describe('DynamoDbMarginStatusStore: the watchlist', () => {
  it('puts every transition on the watchlist, in its account’s shard', async () => {
    ddb.on(PutItemCommand).resolves({});
    await store().applyTransition(sampleTransition('acc-1', 0));
    const item = ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(item?.watch).toEqual({ S: watchKey('acc-1') });
    expect(watchKey('acc-1')).toMatch(/^w([0-9]|1[0-5])$/);
  });

  it('takes an account off it when its alert back to OK is confirmed, in the same conditional write', async () => {
    ddb.on(UpdateItemCommand).resolves({});
    await store().markAlertPublished('acc-1', 5, false);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      UpdateExpression: 'REMOVE #pendingAlert, #watch',
      ConditionExpression: '#sequence = :sequence',
      ExpressionAttributeNames: {
        '#pendingAlert': 'pendingAlert',
        '#sequence': 'sequence',
        '#watch': 'watch',
      },
    });
  });

  it('reads every shard of the index, every page', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':watch': { S: 'w3' } } })
      .resolvesOnce({ Items: [{ accountId: { S: 'a' } }], LastEvaluatedKey: { accountId: { S: 'a' } } })
      .resolvesOnce({ Items: [{ accountId: { S: 'b' } }] });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':watch': { S: 'w15' } } })
      .resolves({ Items: [{ accountId: { S: 'c' } }] });
    const watched = await store().watchlist();
    expect([...(watched ?? [])].sort()).toEqual(['a', 'b', 'c']);
    const calls = ddb.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(17);
    expect(new Set(calls.map((c) => c.ExpressionAttributeValues?.[':watch']?.S)).size).toBe(16);
    expect(calls.every((c) => c.IndexName === 'watchlist' && c.TableName === TABLE)).toBe(true);
    expect(calls.find((c) => c.ExclusiveStartKey)?.ExclusiveStartKey).toEqual({ accountId: { S: 'a' } });
  });

  it('answers "read every status" while the index is missing or being built, and passes other errors on', async () => {
    const missing = Object.assign(new Error('The table does not have the specified index: watchlist'), {
      name: 'ValidationException',
    });
    ddb.on(QueryCommand).rejects(missing);
    await expect(store().watchlist()).resolves.toBeUndefined();
    ddb.on(QueryCommand).rejects(new Error('network down'));
    await expect(store().watchlist()).rejects.toThrow('network down');
  });

  it('gives up past its limit, so the sweep reads every status instead', async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ accountId: { S: 'x' } }, { accountId: { S: 'y' } }] });
    ddb.on(QueryCommand, { ExpressionAttributeValues: { ':watch': { S: 'w0' } } }).resolves({
      Items: [{ accountId: { S: 'a' } }, { accountId: { S: 'b' } }, { accountId: { S: 'c' } }],
    });
    const small = new DynamoDbMarginStatusStore(new DynamoDBClient({}), TABLE, { watchlistLimit: 4 });
    await expect(small.watchlist()).resolves.toBeUndefined();
  });
});
