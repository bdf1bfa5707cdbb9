/**
 * Writes account records in the documented item shape (ACCOUNTS.md). qmt never writes the exchange's table
 * in production; this is for local runs and tests, which need a table to sweep.
 */
import { type AttributeValue, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Account } from '../../domain/account/account.ts';
import { batchWriteAll } from './batch.ts';

/** Plain JSON to a DynamoDB attribute: strings stay S (decimal amounts keep every digit), numbers N. */
export function toAttribute(value: unknown): AttributeValue {
  if (typeof value === 'string') return { S: value };
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`cannot store ${value} in DynamoDB`);
    return { N: String(value) };
  }
  if (typeof value === 'boolean') return { BOOL: value };
  if (value === null) return { NULL: true };
  if (Array.isArray(value)) return { L: value.map(toAttribute) };
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return { M: Object.fromEntries(entries.map(([k, v]) => [k, toAttribute(v)])) };
  }
  throw new TypeError(`cannot store a ${typeof value} in DynamoDB`);
}

export function accountItem(account: Account): Record<string, AttributeValue> {
  return (toAttribute(account) as { M: Record<string, AttributeValue> }).M;
}

/** Put every account, 25 to a BatchWriteItem, retrying unprocessed items. */
export async function writeAccounts(
  client: DynamoDBClient,
  tableName: string,
  accounts: readonly Account[],
): Promise<void> {
  await batchWriteAll(
    client,
    tableName,
    accounts.map((account) => ({ PutRequest: { Item: accountItem(account) } })),
    ['accountId'],
  );
}

/**
 * Delete every account whose id is not in `keep` (a local run whose database mirrors the user's accounts
 * file: an account dropped from the file must not go on being valued and announced). Returns how many.
 */
export async function deleteAccountsNotIn(
  client: DynamoDBClient,
  tableName: string,
  keep: ReadonlySet<string>,
): Promise<number> {
  const gone: string[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: tableName,
        ProjectionExpression: 'accountId',
        ConsistentRead: true,
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) {
      const id = item.accountId?.S;
      if (id !== undefined && !keep.has(id)) gone.push(id);
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  await batchWriteAll(
    client,
    tableName,
    gone.map((accountId) => ({ DeleteRequest: { Key: { accountId: { S: accountId } } } })),
    ['accountId'],
  );
  return gone.length;
}
