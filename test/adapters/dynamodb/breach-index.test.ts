import { BatchWriteItemCommand, DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoDbBreachIndex, decimalText, shardOf } from '../../../lib/adapters/dynamodb/breach-index.ts';
import {
  breachIndexTable,
  breachIndexTableDefinition,
  toCreateTableInput,
} from '../../../lib/adapters/dynamodb/tables.ts';

const client = new DynamoDBClient({
  region: 'eu-west-1',
  credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
});
const mock = mockClient(client);
afterEach(() => mock.reset());

describe('decimalText', () => {
  it('writes every finite double as a plain decimal that reads back to the same double', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => {
        const text = decimalText(x);
        expect(text).not.toMatch(/e/i);
        expect(Number(text)).toBe(x === 0 ? 0 : x);
      }),
    );
  });
});

describe('shardOf', () => {
  it('is stable and in range', () => {
    expect(shardOf('acct-1', 16)).toBe(shardOf('acct-1', 16));
    fc.assert(fc.property(fc.string(), (id) => shardOf(id, 16) >= 0 && shardOf(id, 16) < 16));
  });
});

describe('DynamoDbBreachIndex', () => {
  it('writes both edges of a band, keyed by set, instrument, side and shard', async () => {
    mock.on(BatchWriteItemCommand).resolves({});
    const index = new DynamoDbBreachIndex(client, 'qmt-breach-index', { now: () => 1_000_000 });
    await index.record('set-1', [{ accountId: 'a', instrument: 'BTC', below: 29_100, above: 30_900 }]);
    const requests =
      mock.commandCalls(BatchWriteItemCommand)[0]?.args[0].input.RequestItems?.['qmt-breach-index'];
    const shard = shardOf('a', 16);
    expect(requests?.map((r) => r.PutRequest?.Item)).toEqual([
      expect.objectContaining({
        pk: { S: `set-1#BTC#below#${shard}` },
        accountId: { S: 'a' },
        price: { N: '29100' },
      }),
      expect.objectContaining({
        pk: { S: `set-1#BTC#above#${shard}` },
        accountId: { S: 'a' },
        price: { N: '30900' },
      }),
    ]);
  });

  it('queries every shard of both sides on the price index and merges the answers', async () => {
    mock.on(QueryCommand).callsFake((input) => ({
      Items:
        input.ExpressionAttributeValues[':pk'].S === 'set-1#BTC#below#3' ? [{ accountId: { S: 'x' } }] : [],
    }));
    const index = new DynamoDbBreachIndex(client, 'qmt-breach-index');
    expect(await index.crossed('set-1', 'BTC', 29_000)).toEqual(['x']);
    const calls = mock.commandCalls(QueryCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(32);
    expect(calls.every((c) => c.IndexName === 'byPrice')).toBe(true);
    const below = calls.find((c) => c.ExpressionAttributeValues?.[':pk']?.S === 'set-1#BTC#below#0');
    expect(below?.KeyConditionExpression).toBe('#pk = :pk AND #price >= :mark');
    const above = calls.find((c) => c.ExpressionAttributeValues?.[':pk']?.S === 'set-1#BTC#above#0');
    expect(above?.KeyConditionExpression).toBe('#pk = :pk AND #price <= :mark');
  });

  it('has a table definition CreateTable accepts: keys, a price LSI, keys-only', () => {
    const input = toCreateTableInput(breachIndexTableDefinition(), 'qmt-breach-index');
    expect(input.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'accountId', KeyType: 'RANGE' },
    ]);
    expect(input.LocalSecondaryIndexes?.[0]).toMatchObject({
      IndexName: 'byPrice',
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
    expect(breachIndexTable.timeToLiveAttribute).toBe('expiresAt');
  });
});
