import {
  type AttributeValue,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ItemLimitError } from '../../../lib/adapters/dynamodb/limits.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { QmtError, ThresholdSetConflictError } from '../../../lib/domain/errors.ts';
import { fakeRetryTime, sampleSet, sampleThreshold } from './support.ts';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'qmt-thresholds';

function store() {
  return new DynamoDbThresholdStore(new DynamoDBClient({}), TABLE, {
    newToken: () => 'token-1',
    clock: { now: () => Date.parse('2024-03-02T00:06:00Z') },
    batch: { retryHooks: fakeRetryTime().hooks },
  });
}

const pointer = (setId: string, token = 'someone-else'): Record<string, AttributeValue> => ({
  pk: { S: 'POINTER' },
  sk: { S: 'CURRENT' },
  setId: { S: setId },
  publishToken: { S: token },
});

const conditionFailed = (item?: Record<string, AttributeValue>) =>
  new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    Item: item,
  });

beforeEach(() => {
  ddb.reset();
  ddb.on(BatchWriteItemCommand).resolves({});
});

describe('DynamoDbThresholdStore.publishSet', () => {
  it('refuses a set with an item past 400 KB before writing anything, naming the set, the instrument and the limit', async () => {
    // Prepare: a policy with 50 stress scenarios named in 9,000 characters each puts ~450 KB of audit
    // trail into ETH's threshold item.
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    const set = sampleSet('set-a', ['BTC', 'ETH']);
    const eth = set.thresholds[1];
    if (!eth) throw new Error('no ETH');
    const stressScenarios = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`${i}-${'s'.repeat(9_000)}`, { long: -0.4, short: 0.3 }]),
    );
    const heavy = {
      ...set,
      thresholds: [set.thresholds[0], { ...eth, components: { ...eth.components, stressScenarios } }],
    };
    // Act
    const publish = store().publishSet(heavy as typeof set, undefined);
    // Assess
    await expect(publish).rejects.toThrow(ItemLimitError);
    await expect(publish).rejects.toThrow(
      /^threshold set set-a, instrument ETH: item is \d+ bytes, over DynamoDB's 400 KB item limit \(409600 bytes\)$/,
    );
    expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
    expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('refuses a set id whose keys would pass DynamoDB’s key limits, shortened in the message', async () => {
    ddb.on(GetItemCommand).resolves({});
    const setId = 'x'.repeat(1_500);
    const publish = store().publishSet(sampleSet(setId, ['BTC']), undefined);
    await expect(publish).rejects.toThrow(ItemLimitError);
    await expect(publish).rejects.toThrow(
      `threshold set ${'x'.repeat(40)}… (1500 bytes), instrument BTC: index byInstrument sort key historyKey is`,
    );
    expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
  });

  it('writes every item in batches of 25, then flips CURRENT once, conditional on there being none', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    const instruments = Array.from({ length: 30 }, (_, i) => `I${i}`);
    await store().publishSet(sampleSet('set-a', instruments), undefined);

    // 30 thresholds → 25 + 5, then META alone (it names the correlation chunks, so it goes in last).
    const batches = ddb.commandCalls(BatchWriteItemCommand).map((c) => c.args[0].input.RequestItems?.[TABLE]);
    expect(batches.map((batch) => batch?.length)).toEqual([25, 5, 1]);
    expect(batches[2]?.[0]?.PutRequest?.Item?.sk).toEqual({ S: 'META' });
    expect(ddb).toHaveReceivedCommandOnce(PutItemCommand);
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLE,
      ConditionExpression: 'attribute_not_exists(#pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    const flip = ddb.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(flip?.Item?.setId).toEqual({ S: 'set-a' });
    expect(flip?.Item?.instrumentCount).toEqual({ N: '30' });
    // The flip comes after every item write.
    const order = ddb.calls().map((c) => c.args[0].constructor.name);
    expect(order.lastIndexOf('BatchWriteItemCommand')).toBeLessThan(order.indexOf('PutItemCommand'));
  });

  it('conditions the flip on the previous set id', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb.on(PutItemCommand).resolves({});
    await store().publishSet(sampleSet('set-b', ['BTC']), 'set-a');
    expect(ddb).toHaveReceivedCommandWith(PutItemCommand, {
      ConditionExpression: '#setId = :expected',
      ExpressionAttributeValues: { ':expected': { S: 'set-a' } },
    });
  });

  it('loses the flip race: throws ThresholdSetConflictError and removes the items it wrote', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb.on(PutItemCommand).rejects(conditionFailed(pointer('set-c')));
    const error = await store()
      .publishSet(sampleSet('set-b', ['BTC', 'ETH']), 'set-a')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThresholdSetConflictError);
    expect((error as ThresholdSetConflictError).expectedPreviousSetId).toBe('set-a');
    expect((error as Error).message).toMatch(/CURRENT moved to set-c/);
    const deletes = ddb
      .commandCalls(BatchWriteItemCommand)
      .flatMap((c) => c.args[0].input.RequestItems?.[TABLE] ?? [])
      .filter((r) => r.DeleteRequest)
      .map((r) => r.DeleteRequest?.Key?.sk?.S);
    expect(deletes).toEqual(['META', 'INSTR#BTC', 'INSTR#ETH']);
  });

  it('keeps the items when the winner published the same set id (a duplicate of this run)', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb.on(PutItemCommand).rejects(conditionFailed(pointer('set-b')));
    await expect(store().publishSet(sampleSet('set-b', ['BTC']), 'set-a')).rejects.toBeInstanceOf(
      ThresholdSetConflictError,
    );
    const requests = ddb
      .commandCalls(BatchWriteItemCommand)
      .flatMap((c) => c.args[0].input.RequestItems?.[TABLE] ?? []);
    expect(requests.every((r) => r.PutRequest)).toBe(true);
  });

  it('writes nothing when CURRENT has already moved on', async () => {
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-z') });
    await expect(store().publishSet(sampleSet('set-b', ['BTC']), 'set-a')).rejects.toBeInstanceOf(
      ThresholdSetConflictError,
    );
    expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
    expect(ddb).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('treats a resent flip that finds its own token as done', async () => {
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).rejects(conditionFailed(pointer('set-a', 'token-1')));
    await expect(store().publishSet(sampleSet('set-a', ['BTC']), undefined)).resolves.toBeUndefined();
  });

  it('refuses numbers JSON cannot keep, and duplicate instruments, before writing anything', async () => {
    ddb.on(GetItemCommand).resolves({});
    const bad = sampleSet('set-a', ['BTC']);
    const nan = {
      ...bad,
      thresholds: [{ ...sampleThreshold('BTC', '2024-03-01'), initialMarginRate: Number.NaN }],
    };
    await expect(store().publishSet(nan, undefined)).rejects.toThrow(/initialMarginRate is NaN/);
    await expect(store().publishSet(sampleSet('set-a', ['BTC', 'BTC']), undefined)).rejects.toThrow(
      /two thresholds for BTC/,
    );
    expect(ddb).not.toHaveReceivedCommand(BatchWriteItemCommand);
  });
});

describe('DynamoDbThresholdStore.currentSet', () => {
  function itemsOf(set: ReturnType<typeof sampleSet>, order: number[]) {
    const meta = {
      pk: { S: `SET#${set.setId}` },
      sk: { S: 'META' },
      runId: { S: set.runId },
      createdAt: { S: set.createdAt },
      instrumentCount: { N: String(set.thresholds.length) },
    };
    const thresholds = order.map((i) => ({
      sk: { S: `INSTR#${set.thresholds[i]?.instrument}` },
      ordinal: { N: String(i) },
      threshold: { S: JSON.stringify(set.thresholds[i]) },
    }));
    return { meta, thresholds };
  }

  it('is undefined before the first set', async () => {
    ddb.on(GetItemCommand).resolves({});
    await expect(store().currentSet()).resolves.toBeUndefined();
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('reads the pointer, then the whole set in one consistent Query of its partition, in publication order', async () => {
    const set = sampleSet('set-a', ['SOL', 'BTC', 'ETH']);
    const { meta, thresholds } = itemsOf(set, [1, 2, 0]);
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb
      .on(QueryCommand)
      .resolvesOnce({
        Items: [thresholds[0] ?? {}, thresholds[1] ?? {}],
        LastEvaluatedKey: { pk: { S: 'x' }, sk: { S: 'y' } },
      })
      .resolves({ Items: [thresholds[2] ?? {}, meta] });
    await expect(store().currentSet()).resolves.toEqual(set);
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, { ConsistentRead: true });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 1, {
      KeyConditionExpression: '#pk = :pk',
      ExpressionAttributeValues: { ':pk': { S: 'SET#set-a' } },
      ConsistentRead: true,
    });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, {
      ExclusiveStartKey: { pk: { S: 'x' }, sk: { S: 'y' } },
    });
  });

  it('keeps the discovered instrument catalogue on the META item and reads it back with the set', async () => {
    const catalogue = {
      entries: [{ instrument: 'BTC', venues: { binance: 'BTCUSDT' }, firstListed: '2026-12-03' }],
    };
    const set = { ...sampleSet('set-c', ['BTC']), catalogue };
    ddb.on(GetItemCommand).resolves({});
    ddb.on(PutItemCommand).resolves({});
    await store().publishSet(set, undefined);
    const written = ddb
      .commandCalls(BatchWriteItemCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[TABLE] ?? [])
      .map((request) => request.PutRequest?.Item ?? {});
    const meta = written.find((item) => item.sk?.S === 'META');
    expect(JSON.parse(meta?.catalogue?.S ?? 'null')).toEqual(catalogue);
    const instrumentItems = written.filter((item) => item.sk?.S !== 'META');
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-c') });
    ddb.on(QueryCommand).resolves({ Items: [...instrumentItems, meta ?? {}] });
    await expect(store().currentSet()).resolves.toEqual(set);
  });

  it('reads the pointer every time but the set’s partition only when CURRENT names another set', async () => {
    // Prepare: one store, as one Lambda container holds it; CURRENT names set-a, then set-b.
    const a = sampleSet('set-a', ['BTC', 'ETH']);
    const b = sampleSet('set-b', ['BTC', 'ETH'], { rate: 0.2 });
    const reader = store();
    const itemsA = itemsOf(a, [0, 1]);
    const itemsB = itemsOf(b, [0, 1]);
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': { S: 'SET#set-a' } } })
      .resolves({ Items: [...itemsA.thresholds, itemsA.meta] });
    ddb
      .on(QueryCommand, { ExpressionAttributeValues: { ':pk': { S: 'SET#set-b' } } })
      .resolves({ Items: [...itemsB.thresholds, itemsB.meta] });
    // Act and assess: three reads of set-a, one Query.
    for (let i = 0; i < 3; i++) await expect(reader.currentSet()).resolves.toEqual(a);
    expect(ddb).toHaveReceivedCommandTimes(GetItemCommand, 3);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
    // CURRENT moves: the next read fetches set-b, once.
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-b') });
    await expect(reader.currentSet()).resolves.toEqual(b);
    await expect(reader.currentSet()).resolves.toEqual(b);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
    // No set: nothing served from memory.
    ddb.on(GetItemCommand).resolves({});
    await expect(reader.currentSet()).resolves.toBeUndefined();
    // Another store (another container) reads for itself; `cacheSet: false` reads every time.
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    const uncached = new DynamoDbThresholdStore(new DynamoDBClient({}), TABLE, { cacheSet: false });
    await uncached.currentSet();
    await uncached.currentSet();
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 4);
  });

  it('does not keep a read that failed: the next call reads the set again', async () => {
    const set = sampleSet('set-a', ['BTC']);
    const { meta, thresholds } = itemsOf(set, [0]);
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb
      .on(QueryCommand)
      .rejectsOnce(new Error('throttled'))
      .resolves({ Items: [...thresholds, meta] });
    const reader = store();
    await expect(reader.currentSet()).rejects.toThrow('throttled');
    await expect(reader.currentSet()).resolves.toEqual(set);
    await expect(reader.currentSet()).resolves.toEqual(set);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 2);
  });

  it('refuses to serve a set with items missing', async () => {
    const set = sampleSet('set-a', ['BTC', 'ETH']);
    const { meta, thresholds } = itemsOf(set, [0]);
    ddb.on(GetItemCommand).resolves({ Item: pointer('set-a') });
    ddb.on(QueryCommand).resolves({ Items: [...thresholds, meta] });
    await expect(store().currentSet()).rejects.toThrow(QmtError);
    await expect(store().currentSet()).rejects.toThrow(/incomplete: 1 of 2/);
  });
});

describe('DynamoDbThresholdStore.history', () => {
  it('queries the instrument index newest first, bounded by before and limit', async () => {
    const t = sampleThreshold('BTC', '2024-02-01');
    ddb.on(QueryCommand).resolves({ Items: [{ threshold: { S: JSON.stringify(t) } }] });
    await expect(store().history('BTC', { limit: 5, before: '2024-03-01' })).resolves.toEqual([t]);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: 'byInstrument',
      KeyConditionExpression: '#instrument = :instrument AND #historyKey < :before',
      ExpressionAttributeValues: { ':instrument': { S: 'BTC' }, ':before': { S: '2024-03-01' } },
      ScanIndexForward: false,
      Limit: 5,
      ProjectionExpression: '#threshold',
    });
  });
});
