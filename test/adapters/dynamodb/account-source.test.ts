import {
  type AttributeValue,
  DescribeTableCommand,
  DynamoDBClient,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  DynamoDbAccountSource,
  decodeScanCursor,
  encodeScanCursor,
  readAccount,
} from '../../../lib/adapters/dynamodb/account-source.ts';
import { QmtError } from '../../../lib/domain/errors.ts';
import './support.ts';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'exchange-accounts';
const source = () => new DynamoDbAccountSource(new DynamoDBClient({}), TABLE);

type Item = Record<string, AttributeValue>;

function goodItem(accountId: string): Item {
  return {
    accountId: { S: accountId },
    collateral: {
      L: [
        { M: { asset: { S: 'USDT' }, amount: { S: '10000.25' } } },
        // An exchange that stores amounts as N: kept as the exact text, not a float.
        {
          M: {
            asset: { S: 'BTC' },
            amount: { N: '0.1000000000000000055511151231257827' },
            haircut: { N: '0.1' },
          },
        },
      ],
    },
    positions: {
      L: [
        {
          M: {
            kind: { S: 'perpetual' },
            instrument: { S: 'BTC' },
            quantity: { S: '-0.5' },
            entryPrice: { N: '64000.5' },
          },
        },
        {
          M: {
            kind: { S: 'option' },
            instrument: { S: 'ETH' },
            optionType: { S: 'call' },
            strike: { S: '4000' },
            expiry: { S: '2024-06-28T08:00:00Z' },
            quantity: { S: '2' },
            entryPrice: { S: '150' },
            markVolatility: { N: '0.65' },
          },
        },
      ],
    },
  };
}

beforeEach(() => {
  ddb.reset();
});

describe('scan cursor', () => {
  const segment = { segment: 2, totalSegments: 4 };

  it('round-trips LastEvaluatedKey as opaque base64url', () => {
    const key = { accountId: { S: 'acc/é+==' } };
    const cursor = encodeScanCursor(segment, key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeScanCursor(cursor, segment)).toEqual(key);
  });

  it('refuses a cursor from another segment, or garbage', () => {
    const cursor = encodeScanCursor(segment, { accountId: { S: 'a' } });
    expect(() => decodeScanCursor(cursor, { segment: 1, totalSegments: 4 })).toThrow(
      /belongs to segment 2\/4/,
    );
    expect(() => decodeScanCursor(cursor, { segment: 2, totalSegments: 8 })).toThrow(QmtError);
    expect(() => decodeScanCursor('not a cursor!', segment)).toThrow(/not valid/);
    const wrongShape = Buffer.from(
      JSON.stringify({ v: 1, segment: 2, totalSegments: 4, key: { a: { M: {} } } }),
    ).toString('base64url');
    expect(() => decodeScanCursor(wrongShape, segment)).toThrow(/unexpected shape/);
  });
});

describe('readAccount', () => {
  it('maps DynamoDB types to the schema: amounts as exact decimal text, haircut and vol as numbers', () => {
    const result = readAccount(goodItem('acc-1'));
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.account.collateral[1]).toEqual({
      asset: 'BTC',
      amount: '0.1000000000000000055511151231257827',
      haircut: 0.1,
    });
    expect(result.account.positions[0]).toMatchObject({ entryPrice: '64000.5', settlement: 'linear' });
    expect(result.account.positions[1]).toMatchObject({ markVolatility: 0.65 });
  });
});

describe('DynamoDbAccountSource.scanPage', () => {
  it('scans one segment with a projection and a page limit, rejecting bad records by key and reason', async () => {
    const badAmount = goodItem('acc-bad');
    const collateral = badAmount.collateral?.L?.[0]?.M;
    if (collateral) collateral.amount = { S: '12,5' };
    const badKind = goodItem('acc-kind');
    const position = badKind.positions?.L?.[0]?.M;
    if (position) position.kind = { S: 'swap' };
    ddb.on(ScanCommand).resolves({
      Items: [goodItem('acc-1'), badAmount, goodItem('acc-2'), badKind, { accountId: { S: 'acc-empty' } }],
      LastEvaluatedKey: { accountId: { S: 'acc-empty' } },
    });

    const page = await source().scanPage({ segment: 1, totalSegments: 4 }, undefined, 5);

    expect(page.accounts.map((a) => a.accountId)).toEqual(['acc-1', 'acc-2']);
    expect(page.rejected).toEqual([
      { accountKey: 'acc-bad', reason: 'collateral[0].amount: must be a decimal string such as "1250.5"' },
      { accountKey: 'acc-kind', reason: expect.stringMatching(/^positions\[0\]\.kind: /) },
      { accountKey: 'acc-empty', reason: expect.stringMatching(/^collateral: .*; positions: /) },
    ]);
    expect(page.cursor).toBeDefined();
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, {
      TableName: TABLE,
      Segment: 1,
      TotalSegments: 4,
      Limit: 5,
      ProjectionExpression: '#accountId, #collateral, #positions, #updatedAt',
      ExclusiveStartKey: undefined,
    });
  });

  it('resumes from its cursor and ends without one', async () => {
    const segment = { segment: 0, totalSegments: 2 };
    ddb.on(ScanCommand).resolves({ Items: [goodItem('acc-9')] });
    const page = await source().scanPage(segment, encodeScanCursor(segment, { accountId: { S: 'acc-8' } }));
    expect(page.cursor).toBeUndefined();
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, {
      ExclusiveStartKey: { accountId: { S: 'acc-8' } },
      Limit: 200,
    });
  });

  it('rejects a segment outside its total', async () => {
    await expect(source().scanPage({ segment: 4, totalSegments: 4 })).rejects.toThrow(/segment must be/);
    expect(ddb).not.toHaveReceivedCommand(ScanCommand);
  });
});

describe('DynamoDbAccountSource.approximateCount', () => {
  it("reads DescribeTable's ItemCount", async () => {
    ddb.on(DescribeTableCommand).resolves({ Table: { ItemCount: 12_345 } });
    await expect(source().approximateCount()).resolves.toBe(12_345);
  });
});
