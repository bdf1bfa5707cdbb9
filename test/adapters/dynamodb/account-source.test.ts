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

describe('DynamoDbAccountSource read-ahead', () => {
  const segment = { segment: 1, totalSegments: 4 };
  const keyOf = (id: string) => ({ accountId: { S: id } });
  const startKeys = () =>
    ddb.commandCalls(ScanCommand).map((c) => c.args[0].input.ExclusiveStartKey?.accountId?.S ?? null);
  /** Three pages: acc-1 → acc-2 → acc-3 (last). */
  const threePages = () => {
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [goodItem('acc-1')], LastEvaluatedKey: keyOf('acc-1') })
      .resolvesOnce({ Items: [goodItem('acc-2')], LastEvaluatedKey: keyOf('acc-2') })
      .resolvesOnce({ Items: [goodItem('acc-3')] });
  };

  it('requests the next page while the caller works on the current one, and reads each page once', async () => {
    threePages();
    const s = source();
    const first = await s.scanPage(segment, undefined, 10);
    // The next Scan is already out before the caller asks for it.
    expect(startKeys()).toEqual([null, 'acc-1']);
    const second = await s.scanPage(segment, first.cursor, 10);
    const third = await s.scanPage(segment, second.cursor, 10);
    expect([first, second, third].map((p) => p.accounts.map((a) => a.accountId))).toEqual([
      ['acc-1'],
      ['acc-2'],
      ['acc-3'],
    ]);
    expect(third.cursor).toBeUndefined();
    // Nothing read twice, nothing read past the end.
    expect(startKeys()).toEqual([null, 'acc-1', 'acc-2']);
  });

  it('does not use a page read ahead for another cursor or page size; reads the one asked for', async () => {
    threePages();
    ddb.on(ScanCommand, { Limit: 5 }).resolves({ Items: [goodItem('acc-9')] });
    const s = source();
    const first = await s.scanPage(segment, undefined, 10);
    const other = await s.scanPage(segment, first.cursor, 5);
    expect(other.accounts.map((a) => a.accountId)).toEqual(['acc-9']);
    expect(ddb.commandCalls(ScanCommand).at(-1)?.args[0].input.Limit).toBe(5);
  });

  it('raises a failed read-ahead when its page is asked for, and never as an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      ddb
        .on(ScanCommand)
        .resolvesOnce({ Items: [goodItem('acc-1')], LastEvaluatedKey: keyOf('acc-1') })
        .rejectsOnce(new Error('ProvisionedThroughputExceededException: read-ahead throttled'));
      const s = source();
      const first = await s.scanPage(segment, undefined, 10);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
      await expect(s.scanPage(segment, first.cursor, 10)).rejects.toThrow(/read-ahead throttled/);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('sends nothing ahead when read-ahead is off', async () => {
    threePages();
    const s = new DynamoDbAccountSource(new DynamoDBClient({}), TABLE, { readAhead: false });
    const first = await s.scanPage(segment, undefined, 10);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(startKeys()).toEqual([null]);
    await s.scanPage(segment, first.cursor, 10);
    expect(startKeys()).toEqual([null, 'acc-1']);
  });
});
