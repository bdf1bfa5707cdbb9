import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  DynamoDBServiceException,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { accountItem, writeAccounts } from '../../../lib/adapters/dynamodb/account-writer.ts';
import { DYNAMODB_LIMITS, itemBytes } from '../../../lib/adapters/dynamodb/limits.ts';
import type { Account } from '../../../lib/domain/account/account.ts';
import './support.ts';

const ddb = mockClient(DynamoDBClient);
const client = new DynamoDBClient({});
const TABLE = 'accounts';

const account = (accountId: string, collateral = '1000'): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: collateral }],
  positions: [],
});

/** Refuses what DynamoDB refuses, as it does: a batch naming one key twice, a key or an item past its limit. */
function validatingBatchWrite(input: BatchWriteItemCommandInput) {
  const requests = input.RequestItems?.[TABLE] ?? [];
  const keys = requests.map((r) => (r.PutRequest?.Item ?? r.DeleteRequest?.Key)?.accountId?.S ?? '');
  const validation = (message: string) =>
    new DynamoDBServiceException({ name: 'ValidationException', $fault: 'client', $metadata: {}, message });
  if (new Set(keys).size !== keys.length) throw validation('Provided list of item keys contains duplicates');
  for (const key of keys) {
    if (Buffer.byteLength(key) > 2048) throw validation('Hash primary key values must be under 2048 bytes');
  }
  for (const request of requests) {
    if (request.PutRequest?.Item && itemBytes(request.PutRequest.Item) > 400 * 1024) {
      throw validation('Item size has exceeded the maximum allowed size');
    }
  }
  return {};
}

/** Ids put, in order, over every BatchWriteItem call; and ids deleted. */
function written(kind: 'PutRequest' | 'DeleteRequest' = 'PutRequest'): string[] {
  return ddb.commandCalls(BatchWriteItemCommand).flatMap((call) =>
    (call.args[0].input.RequestItems?.[TABLE] ?? []).flatMap((r) => {
      const item = kind === 'PutRequest' ? r.PutRequest?.Item : r.DeleteRequest?.Key;
      return item?.accountId?.S === undefined ? [] : [item.accountId.S];
    }),
  );
}

beforeEach(() => {
  ddb.reset();
  ddb.on(BatchWriteItemCommand).callsFake(validatingBatchWrite);
});

describe('writeAccounts: duplicate account ids', () => {
  it('reports every copy of an id repeated within one write batch, writes none of them, and goes on', async () => {
    // Prepare
    const accounts = [account('a'), account('dup', '1'), account('b'), account('dup', '2'), account('c')];
    // Act
    const result = await writeAccounts(client, TABLE, accounts);
    // Assess
    expect(result.rejected).toEqual([
      { accountKey: 'dup', reason: 'duplicate accountId (records 1 and 3 share it)' },
      { accountKey: 'dup', reason: 'duplicate accountId (records 1 and 3 share it)' },
    ]);
    expect(result.written).toBe(3);
    expect(written()).toEqual(['a', 'b', 'c']);
  });

  it('reports every copy when they fall in different batches, instead of keeping the last silently', async () => {
    const accounts = Array.from({ length: 60 }, (_, i) => account(`acc-${i}`));
    accounts[0] = account('dup', '1');
    accounts[30] = account('dup', '2');
    accounts[59] = account('dup', '3');
    const result = await writeAccounts(client, TABLE, accounts);
    expect(result.rejected.map((r) => r.accountKey)).toEqual(['dup', 'dup', 'dup']);
    expect(result.rejected[0]?.reason).toBe('duplicate accountId (records 0, 30 and 59 share it)');
    expect(written()).not.toContain('dup');
    expect(written()).toHaveLength(57);
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteItemCommand, 3);
  });

  it('removes an older stored copy of a refused id, so none of its records can be valued', async () => {
    await writeAccounts(client, TABLE, [account('dup', '1'), account('ok'), account('dup', '2')]);
    expect(written('DeleteRequest')).toEqual(['dup']);
    expect(written()).toEqual(['ok']);
  });
});

describe('writeAccounts: DynamoDB limits', () => {
  it('refuses an id over 2,048 UTF-8 bytes, naming it shortened and the limit; the others are written', async () => {
    // Prepare: 'é' is 2 bytes in UTF-8, so 1,025 of them are 2,050 bytes (1,024 are exactly the limit).
    const long = 'é'.repeat(1025);
    const atLimit = 'é'.repeat(1024);
    // Act
    const result = await writeAccounts(client, TABLE, [account('a'), account(long), account(atLimit)]);
    // Assess
    expect(result.rejected).toEqual([
      {
        accountKey: `${'é'.repeat(40)}… (2050 bytes)`,
        reason: "partition key accountId is 2050 bytes, over DynamoDB's 2048-byte key limit",
      },
    ]);
    expect(written()).toEqual(['a', atLimit]);
    expect(written('DeleteRequest')).toEqual([]); // such a key cannot be stored, so there is nothing to remove
  });

  it('refuses an item over 400 KB, naming the key and the limit; the others are written', async () => {
    // 300 collateral entries of a ~1.5 KB asset name: about 450 KB.
    const heavy: Account = {
      ...account('heavy'),
      collateral: Array.from({ length: 300 }, () => ({ asset: 'X'.repeat(1_500), amount: '1' })),
    };
    const size = itemBytes(accountItem(heavy));
    expect(size).toBeGreaterThan(DYNAMODB_LIMITS.itemBytes);
    const result = await writeAccounts(client, TABLE, [account('a'), heavy, account('b')]);
    expect(result.rejected).toEqual([
      {
        accountKey: 'heavy',
        reason: `item is ${size} bytes, over DynamoDB's 400 KB item limit (409600 bytes)`,
      },
    ]);
    expect(written()).toEqual(['a', 'b']);
  });

  it('writes everything, and reports nothing, when every record is fine', async () => {
    const result = await writeAccounts(client, TABLE, [account('a'), account('b')]);
    expect(result).toEqual({ written: 2, rejected: [] });
    expect(written('DeleteRequest')).toEqual([]);
  });
});
