import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../../lib/adapters/dynamodb/account-source.ts';
import { batchWriteAll } from '../../../lib/adapters/dynamodb/batch.ts';
import { accountsTable, keyAttributeNames } from '../../../lib/adapters/dynamodb/tables.ts';
import type { AccountPage, ScanSegment } from '../../../lib/ports.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

const GOOD = 1_000;
const BAD = 7;

function accountItem(i: number): Record<string, AttributeValue> {
  return {
    accountId: { S: `acc-${String(i).padStart(4, '0')}` },
    collateral: { L: [{ M: { asset: { S: 'USDT' }, amount: { S: `${1_000 + i}.5` } } }] },
    positions: {
      L: [
        {
          M: {
            kind: { S: 'perpetual' },
            instrument: { S: 'BTC' },
            quantity: { N: '0.25' },
            entryPrice: { S: '60000' },
          },
        },
      ],
    },
    // Attributes the exchange keeps for itself: never read (projection).
    kycNotes: { S: 'x'.repeat(500) },
  };
}

function badItem(i: number): Record<string, AttributeValue> {
  const item = accountItem(i);
  return { ...item, accountId: { S: `bad-${i}` }, collateral: { S: 'not a list' } };
}

describe('DynamoDbAccountSource on DynamoDB Local', () => {
  let table: string;

  beforeAll(async () => {
    table = await db.freshTable(accountsTable);
    const items = [
      ...Array.from({ length: GOOD }, (_, i) => accountItem(i)),
      ...Array.from({ length: BAD }, (_, i) => badItem(i)),
    ];
    await batchWriteAll(
      db.local.client,
      table,
      items.map((Item) => ({ PutRequest: { Item } })),
      keyAttributeNames(accountsTable),
    );
  });

  it('yields every account exactly once across 4 segments, each resumed page by page from its cursor', async () => {
    const totalSegments = 4;
    const accountIds: string[] = [];
    const rejectedKeys: string[] = [];
    let pages = 0;
    for (let segment = 0; segment < totalSegments; segment++) {
      const scanSegment: ScanSegment = { segment, totalSegments };
      let cursor: string | undefined;
      do {
        // A new source per page: a worker that stopped and resumed from its checkpoint.
        const page: AccountPage = await new DynamoDbAccountSource(db.local.client, table).scanPage(
          scanSegment,
          cursor,
          37,
        );
        accountIds.push(...page.accounts.map((a) => a.accountId));
        rejectedKeys.push(...page.rejected.map((r) => r.accountKey));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
    }

    expect(accountIds).toHaveLength(GOOD);
    expect(new Set(accountIds).size).toBe(GOOD);
    expect(rejectedKeys.sort()).toEqual(Array.from({ length: BAD }, (_, i) => `bad-${i}`).sort());
    expect(pages).toBeGreaterThanOrEqual(Math.ceil((GOOD + BAD) / 37));
  });

  it('reads amounts stored as N as their exact text and reports bad records with a reason', async () => {
    const source = new DynamoDbAccountSource(db.local.client, table);
    const page = await source.scanPage({ segment: 0, totalSegments: 1 }, undefined, 2_000);
    expect(page.cursor).toBeUndefined();
    const account = page.accounts.find((a) => a.accountId === 'acc-0042');
    expect(account).toEqual({
      accountId: 'acc-0042',
      collateral: [{ asset: 'USDT', amount: '1042.5' }],
      positions: [
        { kind: 'perpetual', instrument: 'BTC', quantity: '0.25', entryPrice: '60000', settlement: 'linear' },
      ],
    });
    expect(page.rejected.find((r) => r.accountKey === 'bad-3')?.reason).toMatch(
      /^collateral: .*expected array/,
    );
  });

  it('counts the table for sizing a sweep', async () => {
    const count = await new DynamoDbAccountSource(db.local.client, table).approximateCount();
    // DynamoDB refreshes ItemCount every few hours; DynamoDB Local may report it at once or as 0.
    expect([0, GOOD + BAD]).toContain(count);
  });
});
