/**
 * Writes account records in the documented item shape (ACCOUNTS.md). qmt never writes the exchange's table
 * in production; this is for local runs and tests, which need a table to sweep.
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  ScanCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import type { Account } from '../../domain/account/account.ts';
import type { RejectedAccountRecord } from '../../ports.ts';
import { batchWriteAll } from './batch.ts';
import { displayKey, itemLimitViolation } from './limits.ts';
import { accountsTable, keyAttributeNames } from './tables.ts';

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

export interface AccountWriteResult {
  /** Records written. */
  readonly written: number;
  /** Records refused before writing, by key (shortened for display) and reason, in file order. */
  readonly rejected: readonly RejectedAccountRecord[];
}

/**
 * Put every account, 25 to a BatchWriteItem, retrying unprocessed items. Records that cannot be stored as
 * they are refused up front, and the others are written:
 * - every copy of an id that appears more than once (which copy is the account? none is valued; in one
 *   batch DynamoDB would refuse them all, across batches the last would win silently);
 * - a record whose id or item is past a DynamoDB limit (`limits.ts`).
 * A refused id's stored item, if any (a kept database), is deleted, so no older copy is valued in its place.
 */
export async function writeAccounts(
  client: DynamoDBClient,
  tableName: string,
  accounts: readonly Account[],
): Promise<AccountWriteResult> {
  const recordsById = new Map<string, number[]>();
  accounts.forEach((account, i) => {
    const seen = recordsById.get(account.accountId);
    if (seen) seen.push(i);
    else recordsById.set(account.accountId, [i]);
  });
  const rejected: RejectedAccountRecord[] = [];
  const refusedIds = new Set<string>();
  const requests: WriteRequest[] = [];
  accounts.forEach((account) => {
    const id = account.accountId;
    const copies = recordsById.get(id) ?? [];
    const item = accountItem(account);
    const reason =
      copies.length > 1
        ? `duplicate accountId (records ${listed(copies)} share it)`
        : itemLimitViolation(accountsTable, item);
    if (reason === undefined) {
      requests.push({ PutRequest: { Item: item } });
      return;
    }
    rejected.push({ accountKey: displayKey(id), reason });
    if (itemLimitViolation(accountsTable, { accountId: { S: id } }) === undefined) refusedIds.add(id);
  });
  for (const id of refusedIds) requests.push({ DeleteRequest: { Key: { accountId: { S: id } } } });
  await batchWriteAll(client, tableName, requests, keyAttributeNames(accountsTable));
  return { written: accounts.length - rejected.length, rejected };
}

/** 0, 3 and 7 */
function listed(indexes: readonly number[]): string {
  return indexes.length <= 2
    ? indexes.join(' and ')
    : `${indexes.slice(0, -1).join(', ')} and ${indexes[indexes.length - 1]}`;
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
