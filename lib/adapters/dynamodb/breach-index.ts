/**
 * The breach index on DynamoDB (table `breachIndexTable` in `tables.ts`). Each band is two items, one per
 * side: `<setId>#<instrument>#below#<shard>` at price = below and `…#above#<shard>` at price = above. A mark
 * crosses a below edge when below ≥ mark and an above edge when above ≤ mark, so `crossed` is one Query
 * per shard and side on the `price` local index, all in parallel, keys only.
 *
 * Each account's last write is also stamped (`<setId>#stamp#<shard>`, no `price`, so not in the local index):
 * what it was computed from and its edges, read by the full sweep to skip the bands that did not change.
 *
 * Numbers are written as JavaScript's shortest round-trip decimal, which orders exactly as the doubles do, so
 * a mark equal to an edge is found (the domain computes edges and corners with the same expression).
 */
import { type DynamoDBClient, QueryCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import type { BreachIndexEntry, BreachIndexKey } from '../../domain/account/breach-index.ts';
import { QmtError } from '../../domain/errors.ts';
import type { BandStamp, BreachIndex } from '../../ports.ts';
import type { Item } from './attributes.ts';
import { type BatchOptions, batchGetAll, batchWriteAll } from './batch.ts';
import { shardOf } from './shards.ts';
import { BREACH_INDEX_BY_PRICE } from './tables.ts';

export { shardOf };

export const BREACH_INDEX_SHARDS = 16;

/**
 * IAM actions the adapter sends: `record` writes in batches on the table; `crossed` queries the `price`
 * local index, which IAM authorises on the index's ARN (`<table>/index/byPrice`).
 */
export const BREACH_INDEX_IAM_ACTIONS = {
  record: ['dynamodb:BatchWriteItem'],
  crossed: ['dynamodb:Query'],
  /** The full sweep reads the stamps of a page to rewrite only the bands that changed. */
  stamps: ['dynamodb:BatchGetItem'],
} as const;
/** Items outlive their set by this much after the last full sweep that wrote them (must exceed its interval). */
const DEFAULT_RETENTION_S = 8 * 24 * 3600;
const SIDES = ['below', 'above'] as const;

export interface DynamoDbBreachIndexOptions {
  readonly shards?: number;
  /** Seconds an item is kept after it was last written (TTL). @default 8 days */
  readonly retentionSeconds?: number;
  readonly batch?: BatchOptions;
  /** Epoch ms, for the TTL. @default Date.now */
  readonly now?: () => number;
}

export class DynamoDbBreachIndex implements BreachIndex {
  private readonly shards: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: DynamoDbBreachIndexOptions = {},
  ) {
    this.shards = options.shards ?? BREACH_INDEX_SHARDS;
    if (!Number.isInteger(this.shards) || this.shards < 1)
      throw new QmtError('shards must be a positive integer');
  }

  /** Requests sent by `crossed` so far (one per Query page), for cost accounting. */
  queryPages = 0;

  async record(
    setId: string,
    entries: readonly BreachIndexEntry[],
    removals: readonly BreachIndexKey[] = [],
    stamps: readonly BandStamp[] = [],
  ): Promise<void> {
    const expiresAt = String(
      Math.floor((this.options.now ?? Date.now)() / 1000) +
        (this.options.retentionSeconds ?? DEFAULT_RETENTION_S),
    );
    // BatchWriteItem refuses two requests for one item: the last one for a key wins.
    const requests = new Map<string, WriteRequest>();
    for (const { accountId, instrument } of removals) {
      for (const side of SIDES) {
        const pk = this.partition(setId, instrument, side, accountId);
        requests.set(`${pk}\u0000${accountId}`, {
          DeleteRequest: { Key: { pk: { S: pk }, accountId: { S: accountId } } },
        });
      }
    }
    for (const entry of entries) {
      for (const side of SIDES) {
        const price = side === 'below' ? entry.below : entry.above;
        if (!Number.isFinite(price))
          throw new QmtError(
            `breach index: ${side} of ${entry.accountId} on ${entry.instrument} is ${price}`,
          );
        const pk = this.partition(setId, entry.instrument, side, entry.accountId);
        requests.set(`${pk}\u0000${entry.accountId}`, {
          PutRequest: {
            Item: {
              pk: { S: pk },
              accountId: { S: entry.accountId },
              price: { N: decimalText(price) },
              setId: { S: setId },
              expiresAt: { N: expiresAt },
            },
          },
        });
      }
    }
    if (requests.size > 0) {
      await batchWriteAll(
        this.client,
        this.tableName,
        [...requests.values()],
        ['pk', 'accountId'],
        this.options.batch,
      );
    }
    if (stamps.length === 0) return;
    // Only once the entries are stored: a stamp must never vouch for entries that are not there.
    const stampWrites = new Map<string, WriteRequest>();
    for (const stamp of stamps) {
      stampWrites.set(stamp.accountId, {
        PutRequest: {
          Item: {
            pk: { S: this.stampPartition(setId, stamp.accountId) },
            accountId: { S: stamp.accountId },
            fingerprint: { S: stamp.fingerprint },
            entries: {
              S: JSON.stringify(stamp.entries.map((e) => [e.instrument, e.below, e.above])),
            },
            writtenAt: { N: String(stamp.writtenAt) },
            setId: { S: setId },
            expiresAt: { N: expiresAt },
          },
        },
      });
    }
    await batchWriteAll(
      this.client,
      this.tableName,
      [...stampWrites.values()],
      ['pk', 'accountId'],
      this.options.batch,
    );
  }

  /** Eventually consistent: a stamp not yet visible only costs a rewrite. */
  async stamps(setId: string, accountIds: readonly string[]): Promise<ReadonlyMap<string, BandStamp>> {
    const found = new Map<string, BandStamp>();
    if (accountIds.length === 0) return found;
    const items = await batchGetAll(
      this.client,
      this.tableName,
      {
        keys: accountIds.map((id) => ({
          pk: { S: this.stampPartition(setId, id) },
          accountId: { S: id },
        })),
      },
      ['pk', 'accountId'],
      this.options.batch,
    );
    for (const item of items) {
      const stamp = parseStamp(item);
      // An unreadable stamp is treated as none: the band is rewritten, never trusted.
      if (stamp) found.set(stamp.accountId, stamp);
    }
    return found;
  }

  async crossed(setId: string, instrument: string, mark: number): Promise<readonly string[]> {
    if (!Number.isFinite(mark)) throw new QmtError(`breach index: mark of ${instrument} is ${mark}`);
    const queries: Promise<string[]>[] = [];
    for (let shard = 0; shard < this.shards; shard++) {
      for (const side of SIDES)
        queries.push(this.queryPartition(`${setId}#${instrument}#${side}#${shard}`, side, mark));
    }
    return [...new Set((await Promise.all(queries)).flat())];
  }

  private async queryPartition(pk: string, side: (typeof SIDES)[number], mark: number): Promise<string[]> {
    const ids: string[] = [];
    let start: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: BREACH_INDEX_BY_PRICE,
          KeyConditionExpression: `#pk = :pk AND #price ${side === 'below' ? '>=' : '<='} :mark`,
          ExpressionAttributeNames: { '#pk': 'pk', '#price': 'price' },
          ExpressionAttributeValues: { ':pk': { S: pk }, ':mark': { N: decimalText(mark) } },
          ExclusiveStartKey: start,
        }),
      );
      this.queryPages++;
      for (const item of out.Items ?? []) {
        const id = item.accountId?.S;
        if (id !== undefined) ids.push(id);
      }
      start = out.LastEvaluatedKey as Item | undefined;
    } while (start !== undefined);
    return ids;
  }

  private stampPartition(setId: string, accountId: string): string {
    return `${setId}#stamp#${shardOf(accountId, this.shards)}`;
  }

  private partition(setId: string, instrument: string, side: string, accountId: string): string {
    return `${setId}#${instrument}#${side}#${shardOf(accountId, this.shards)}`;
  }
}

function parseStamp(item: Item): BandStamp | undefined {
  const accountId = item.accountId?.S;
  const fingerprint = item.fingerprint?.S;
  const writtenAt = Number(item.writtenAt?.N);
  if (accountId === undefined || fingerprint === undefined || !Number.isFinite(writtenAt)) return undefined;
  let rows: unknown;
  try {
    rows = JSON.parse(item.entries?.S ?? '');
  } catch {
    return undefined;
  }
  if (!Array.isArray(rows)) return undefined;
  const entries: BandStamp['entries'][number][] = [];
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 3) return undefined;
    const [instrument, below, above] = row as unknown[];
    if (typeof instrument !== 'string' || typeof below !== 'number' || typeof above !== 'number')
      return undefined;
    entries.push({ accountId, instrument, below, above });
  }
  return { accountId, fingerprint, entries, writtenAt };
}

/** Shortest round-trip decimal, without an exponent (DynamoDB numbers are plain decimals). */
export function decimalText(value: number): string {
  const text = String(value);
  if (!/e/i.test(text)) return text;
  // Expand the exponent by shifting the digits: exact, no float arithmetic.
  const [mantissa = '', exponentText = '0'] = text.toLowerCase().split('e');
  const negative = mantissa.startsWith('-');
  const [whole = '', fraction = ''] = mantissa.replace('-', '').split('.');
  const digits = whole + fraction;
  const point = whole.length + Number(exponentText);
  const plain =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + plain;
}
