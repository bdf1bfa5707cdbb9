/**
 * Reads the exchange's accounts table one parallel-Scan segment at a time, a page per call, so a sweep
 * worker can checkpoint after every page and resume from the cursor. Every record is validated; a bad one
 * is reported with its key and reason and the page goes on. Item schema: `ACCOUNTS.md`.
 */
import { DescribeTableCommand, type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { z } from 'zod';
import { type Account, accountSchema } from '../../domain/account/account.ts';
import { withoutReservedKeys } from '../../domain/document-keys.ts';
import { QmtError } from '../../domain/errors.ts';
import type {
  AccountLookup,
  AccountPage,
  AccountReader,
  AccountSource,
  RejectedAccountRecord,
  ScanSegment,
} from '../../ports.ts';
import { type AttributePath, attributeNames, formatPath, type Item, toPlainValue } from './attributes.ts';
import { batchGetAll } from './batch.ts';

/** The attributes the account schema reads; nothing else crosses the wire. */
export const ACCOUNT_ATTRIBUTES = ['accountId', 'collateral', 'positions', 'updatedAt'] as const;

/** Fields the schema wants as JavaScript numbers; every other N is read as its exact decimal text. */
const FLOAT_FIELDS = new Set(['haircut', 'markVolatility']);

export const DEFAULT_ACCOUNT_PAGE_SIZE = 200;
const MAX_REASON_ISSUES = 5;

/** A `__proto__`, `constructor` or `prototype` field anywhere in a record rejects it, named by its path. */
const accountRecordSchema = withoutReservedKeys(accountSchema);

export interface AccountSourceOptions {
  readonly defaultPageSize?: number;
  /**
   * Request the next page as soon as a page arrives, so the Scan's round trip overlaps the caller's work on
   * the current page (valuation, status reads, writes). Costs at most one unread page per segment when the
   * caller stops early. @default true
   */
  readonly readAhead?: boolean;
}

/** A page requested ahead of the caller, keyed by the cursor and page size it continues from. */
interface PendingPage {
  readonly key: string;
  readonly page: Promise<ScanOutcome>;
}

type ScanOutcome = { ok: true; page: AccountPage } | { ok: false; error: unknown };

/**
 * IAM actions each use of this adapter sends to the accounts table: `scanPage` a Scan, `approximateCount` a
 * DescribeTable, `getAccounts` (targeted sweeps) BatchGetItem. The stack grants each function the uses it makes.
 */
export const ACCOUNT_SOURCE_IAM_ACTIONS = {
  scan: ['dynamodb:Scan'],
  count: ['dynamodb:DescribeTable'],
  get: ['dynamodb:BatchGetItem'],
} as const;

export class DynamoDbAccountSource implements AccountSource, AccountReader {
  private pending: PendingPage | undefined;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: AccountSourceOptions = {},
  ) {}

  /**
   * One page of `segment`. `pageSize` is Scan's Limit (items evaluated), so a page may hold fewer accounts,
   * even none, and still carry a cursor. Reads are eventually consistent: a sweep values a snapshot anyway,
   * and consistent scans cost twice as much.
   */
  async scanPage(segment: ScanSegment, cursor?: string, pageSize?: number): Promise<AccountPage> {
    checkSegment(segment);
    const limit = pageSize ?? this.options.defaultPageSize ?? DEFAULT_ACCOUNT_PAGE_SIZE;
    if (!Number.isInteger(limit) || limit < 1) throw new QmtError(`page size must be a positive integer`);
    const key = pendingKey(segment, cursor, limit);
    const ahead = this.pending?.key === key ? this.pending.page : undefined;
    this.pending = undefined;
    const outcome = await (ahead ?? settle(this.fetchPage(segment, cursor, limit)));
    if (!outcome.ok) throw outcome.error;
    const next = outcome.page.cursor;
    if (next !== undefined && this.options.readAhead !== false) {
      // Settled, never rejected: a read-ahead nobody asks for must not surface as an unhandled rejection.
      this.pending = {
        key: pendingKey(segment, next, limit),
        page: settle(this.fetchPage(segment, next, limit)),
      };
    }
    return outcome.page;
  }

  private async fetchPage(
    segment: ScanSegment,
    cursor: string | undefined,
    limit: number,
  ): Promise<AccountPage> {
    const names = attributeNames(...ACCOUNT_ATTRIBUTES);
    const out = await this.client.send(
      new ScanCommand({
        TableName: this.tableName,
        Segment: segment.segment,
        TotalSegments: segment.totalSegments,
        Limit: limit,
        ProjectionExpression: Object.keys(names).join(', '),
        ExpressionAttributeNames: names,
        ExclusiveStartKey: cursor === undefined ? undefined : decodeScanCursor(cursor, segment),
      }),
    );

    const accounts: Account[] = [];
    const rejected: RejectedAccountRecord[] = [];
    for (const item of out.Items ?? []) {
      const result = readAccount(item);
      if (result.ok) accounts.push(result.account);
      else rejected.push(result.rejected);
    }
    return {
      accounts,
      rejected,
      ...(out.LastEvaluatedKey && { cursor: encodeScanCursor(segment, out.LastEvaluatedKey) }),
    };
  }

  /** DescribeTable's ItemCount: refreshed by DynamoDB about every six hours, good enough to size a sweep. */
  async approximateCount(): Promise<number> {
    const out = await this.client.send(new DescribeTableCommand({ TableName: this.tableName }));
    return out.Table?.ItemCount ?? 0;
  }

  /**
   * The accounts with these ids (the targeted sweep's `AccountReader`), by BatchGetItem in chunks of 100
   * with unprocessed keys retried; the same projection and validation as a Scan page. A bad record is
   * rejected with its key and reason; an id with no item is `missing`.
   *
   * @throws IncompleteBatchError when keys are still unread after the retries.
   */
  async getAccounts(accountIds: readonly string[]): Promise<AccountLookup> {
    const names = attributeNames(...ACCOUNT_ATTRIBUTES);
    const items = await batchGetAll(
      this.client,
      this.tableName,
      {
        keys: accountIds.map((id) => ({ accountId: { S: id } })),
        projectionExpression: Object.keys(names).join(', '),
        expressionAttributeNames: names,
      },
      ['accountId'],
    );
    const accounts: Account[] = [];
    const rejected: RejectedAccountRecord[] = [];
    const found = new Set<string>();
    for (const item of items) {
      const id = item.accountId?.S;
      if (id !== undefined) found.add(id);
      const result = readAccount(item);
      if (result.ok) accounts.push(result.account);
      else rejected.push(result.rejected);
    }
    return { accounts, rejected, missing: [...new Set(accountIds)].filter((id) => !found.has(id)) };
  }
}

function pendingKey(segment: ScanSegment, cursor: string | undefined, limit: number): string {
  return `${segment.segment}/${segment.totalSegments}|${limit}|${cursor ?? ''}`;
}

function settle(page: Promise<AccountPage>): Promise<ScanOutcome> {
  return page.then(
    (p): ScanOutcome => ({ ok: true, page: p }),
    (error: unknown): ScanOutcome => ({ ok: false, error }),
  );
}

function checkSegment({ segment, totalSegments }: ScanSegment): void {
  // DynamoDB's own bounds for parallel Scan.
  if (!Number.isInteger(totalSegments) || totalSegments < 1 || totalSegments > 1_000_000) {
    throw new QmtError(`totalSegments must be an integer from 1 to 1000000, got ${totalSegments}`);
  }
  if (!Number.isInteger(segment) || segment < 0 || segment >= totalSegments) {
    throw new QmtError(`segment must be an integer from 0 to ${totalSegments - 1}, got ${segment}`);
  }
}

type ReadResult = { ok: true; account: Account } | { ok: false; rejected: RejectedAccountRecord };

/** Validate one item against the account schema; never throws for bad data. */
export function readAccount(item: Item): ReadResult {
  const rawKey = item.accountId?.S ?? item.accountId?.N ?? JSON.stringify(item.accountId ?? null);
  // A key can be 2 KB; a hundred such in one ops event could pass SNS's 256 KB limit. 128 chars identify it.
  const accountKey = rawKey.length > 128 ? `${rawKey.slice(0, 125)}...` : rawKey;
  let plain: unknown;
  try {
    plain = toPlainValue({ M: item }, readNumber);
  } catch (error) {
    return {
      ok: false,
      rejected: { accountKey, reason: error instanceof Error ? error.message : String(error) },
    };
  }
  const parsed = accountRecordSchema.safeParse(plain);
  if (parsed.success) return { ok: true, account: parsed.data };
  return { ok: false, rejected: { accountKey, reason: describeIssues(parsed.error.issues) } };
}

/** Amounts stay exact decimal text; only the fields the schema types as floats become numbers. */
function readNumber(text: string, path: AttributePath): unknown {
  const field = path[path.length - 1];
  return typeof field === 'string' && FLOAT_FIELDS.has(field) ? Number(text) : text;
}

/** `collateral[0].amount: must be a decimal string …; positions[2].kind: …` (first few issues). */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const shown = issues
    .slice(0, MAX_REASON_ISSUES)
    .map((issue) => `${formatPath(issue.path) || '(record)'}: ${issue.message}`);
  const more = issues.length - shown.length;
  return more > 0 ? `${shown.join('; ')}; and ${more} more` : shown.join('; ');
}

// Cursor: base64url of JSON {v, segment, totalSegments, key}. Opaque to callers; it carries its segment so
// a cursor handed to the wrong segment fails loudly instead of skipping or repeating accounts.
const CURSOR_VERSION = 1;

interface CursorBody {
  readonly v: number;
  readonly segment: number;
  readonly totalSegments: number;
  readonly key: Record<string, { S: string } | { N: string }>;
}

export function encodeScanCursor(segment: ScanSegment, lastEvaluatedKey: Item): string {
  const key: CursorBody['key'] = {};
  for (const [name, value] of Object.entries(lastEvaluatedKey)) {
    if (value.S !== undefined) key[name] = { S: value.S };
    else if (value.N !== undefined) key[name] = { N: value.N };
    else throw new QmtError(`cannot encode key attribute ${name}: only S and N keys are supported`);
  }
  const body: CursorBody = {
    v: CURSOR_VERSION,
    segment: segment.segment,
    totalSegments: segment.totalSegments,
    key,
  };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

export function decodeScanCursor(cursor: string, segment: ScanSegment): Item {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new QmtError('scan cursor is not valid: not base64url JSON');
  }
  if (!isCursorBody(body)) throw new QmtError('scan cursor is not valid: unexpected shape or version');
  if (body.segment !== segment.segment || body.totalSegments !== segment.totalSegments) {
    throw new QmtError(
      `scan cursor belongs to segment ${body.segment}/${body.totalSegments}, not ${segment.segment}/${segment.totalSegments}`,
    );
  }
  const key: Item = {};
  for (const [name, value] of Object.entries(body.key)) key[name] = value;
  return key;
}

function isCursorBody(value: unknown): value is CursorBody {
  if (typeof value !== 'object' || value === null) return false;
  const body = value as Record<string, unknown>;
  if (body.v !== CURSOR_VERSION || !Number.isInteger(body.segment) || !Number.isInteger(body.totalSegments)) {
    return false;
  }
  const key = body.key;
  if (typeof key !== 'object' || key === null || Object.keys(key).length === 0) return false;
  return Object.values(key).every((attribute: unknown) => {
    if (typeof attribute !== 'object' || attribute === null) return false;
    const entries = Object.entries(attribute);
    return (
      entries.length === 1 &&
      (entries[0]?.[0] === 'S' || entries[0]?.[0] === 'N') &&
      typeof entries[0]?.[1] === 'string'
    );
  });
}
