/**
 * Margin status per account. A transition is one conditional PutItem on the stored sequence number, so of
 * two workers applying the same transition (a duplicate SQS delivery) or a late one, exactly one writes and
 * only that one may announce the change.
 *
 * Item (table `margin-status`, key `accountId`): accountId, state, previousState, sequence (N), marginRatio
 * (S decimal, or NULL when the ratio is undefined: no maintenance requirement), runId, thresholdSetId,
 * updatedAt, alertId, writeToken, pendingAlert, watch.
 *
 * Transactional outbox: the transition's PutItem also stores its alert as `pendingAlert` (S, the alert as
 * JSON, exactly as it will be published), so the state change and the duty to announce it are one atomic
 * write. `markAlertPublished` removes it after a successful publish, conditioned on the same sequence; until
 * then every sweep re-publishes it (same alertId, so subscribers and FIFO dedupe see one message).
 *
 * Watchlist: `watch` (`w<shard>`) puts the item in the sparse `watchlist` index. Every transition sets it
 * (its pending alert must be found); confirming an alert that moved the account back to OK removes it. So the
 * index holds exactly the statuses that are not OK or hold a pending alert: the only ones a sweep must read.
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ResourceNotFoundException,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  MARGIN_STATES,
  type MarginAlert,
  type MarginState,
  type MarginStatus,
  type MarginTransition,
} from '../../domain/account/account.ts';
import { QmtError } from '../../domain/errors.ts';
import type { MarginStatusStore, TransitionOutcome } from '../../ports.ts';
import {
  attributeNames,
  getString,
  type Item,
  num,
  requireNumber,
  requireString,
  str,
} from './attributes.ts';
import { type BatchOptions, batchGetAll } from './batch.ts';
import { shardOf } from './shards.ts';
import {
  keyAttributeNames,
  MARGIN_WATCHLIST_INDEX,
  MARGIN_WATCHLIST_SHARDS,
  marginStatusTable,
} from './tables.ts';

/**
 * Above this many watched accounts a sweep reads every status instead: each worker loads the whole
 * watchlist, so past a few hundred thousand (a crash day) reading its own page's statuses is cheaper.
 */
export const DEFAULT_WATCHLIST_LIMIT = 200_000;

const KEY_NAMES = keyAttributeNames(marginStatusTable);
const STATUS_ATTRIBUTES = [
  'accountId',
  'state',
  'sequence',
  'updatedAt',
  'thresholdSetId',
  'runId',
  'marginRatio',
  'pendingAlert',
];

/**
 * `MarginStatus.marginRatio` is a string but an alert's ratio may be null (no maintenance requirement, so
 * equity / 0). Stored as NULL; read back as this, the ratio's value for equity ≥ 0 (an insolvent account
 * with nothing required reads the same, and its state, LIQUIDATION, tells it apart).
 */
export const UNDEFINED_RATIO = 'Infinity';

export interface MarginStatusStoreOptions {
  readonly batch?: BatchOptions;
  /** Token that lets a writer recognise its own write when the SDK resends it after a lost response. */
  readonly newToken?: () => string;
  /** @default DEFAULT_WATCHLIST_LIMIT */
  readonly watchlistLimit?: number;
}

/**
 * IAM actions this adapter sends. On the table: BatchGetItem (`get`), PutItem (`applyTransition`),
 * UpdateItem (`markAlertPublished` clears the outbox). On the watchlist index: Query (`watchlist`).
 */
export const MARGIN_STATUS_STORE_IAM_ACTIONS = {
  table: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
  watchlistIndex: ['dynamodb:Query'],
} as const;

export class DynamoDbMarginStatusStore implements MarginStatusStore {
  private readonly newToken: () => string;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: MarginStatusStoreOptions = {},
  ) {
    this.newToken = options.newToken ?? randomUUID;
  }

  /**
   * Statuses of `accountIds` (accounts without an item are absent), 100 keys per BatchGetItem, unprocessed
   * keys retried. Consistent reads: the sequence read here is the one the next transition is conditioned on,
   * and a stale read would only turn that transition into a needless `stale`.
   *
   * @throws IncompleteBatchError listing the account ids still unread after the retries.
   */
  async get(accountIds: readonly string[]): Promise<Map<string, MarginStatus>> {
    const statuses = new Map<string, MarginStatus>();
    if (accountIds.length === 0) return statuses;
    const names = attributeNames(...STATUS_ATTRIBUTES);
    const items = await batchGetAll(
      this.client,
      this.tableName,
      {
        keys: accountIds.map((accountId) => ({ accountId: str(accountId) })),
        projectionExpression: Object.keys(names).join(', '),
        expressionAttributeNames: names,
        consistentRead: true,
      },
      KEY_NAMES,
      this.options.batch,
    );
    for (const item of items) {
      const status = readStatus(item);
      statuses.set(status.accountId, status);
    }
    return statuses;
  }

  async applyTransition(transition: MarginTransition): Promise<TransitionOutcome> {
    const expected = transition.expectedSequence;
    if (!Number.isSafeInteger(expected) || expected < 0) {
      throw new QmtError(`expectedSequence must be a non-negative integer, got ${expected}`);
    }
    const { alert } = transition;
    const token = this.newToken();
    const marginRatio: AttributeValue = alert.marginRatio === null ? { NULL: true } : str(alert.marginRatio);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            accountId: str(transition.accountId),
            state: str(transition.newState),
            previousState: str(transition.previousState),
            sequence: num(expected + 1),
            marginRatio,
            runId: str(alert.runId),
            thresholdSetId: str(alert.thresholdSetId),
            updatedAt: str(alert.occurredAt),
            alertId: str(alert.alertId),
            pendingAlert: str(JSON.stringify(alert)),
            writeToken: str(token),
            watch: str(watchKey(transition.accountId)),
          },
          ...(expected === 0
            ? {
                ConditionExpression: 'attribute_not_exists(#accountId)',
                ExpressionAttributeNames: attributeNames('accountId'),
              }
            : {
                ConditionExpression: '#sequence = :expected',
                ExpressionAttributeNames: attributeNames('sequence'),
                ExpressionAttributeValues: { ':expected': num(expected) },
              }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return 'applied';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // The SDK resends a write whose response was lost; our own token means that earlier attempt applied.
      // A duplicate worker has its own token, so it still gets `stale` and announces nothing.
      return getString(error.Item, 'writeToken') === token ? 'applied' : 'stale';
    }
  }

  /**
   * `REMOVE pendingAlert` (and `watch` when the account is back to OK: `stillWatched` false) only while the
   * stored sequence is `sequence`; a failed condition (a newer transition wrote its own pending alert, or
   * there is no item) leaves everything as it is.
   */
  async markAlertPublished(accountId: string, sequence: number, stillWatched = true): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { accountId: str(accountId) },
          UpdateExpression: stillWatched ? 'REMOVE #pendingAlert' : 'REMOVE #pendingAlert, #watch',
          ConditionExpression: '#sequence = :sequence',
          ExpressionAttributeNames: attributeNames(
            'pendingAlert',
            'sequence',
            ...(stillWatched ? [] : ['watch']),
          ),
          ExpressionAttributeValues: { ':sequence': num(sequence) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * The accounts in the watchlist index (not OK, or an alert pending): one Query per shard, all at once,
   * every page. Undefined when there are more than the limit, so the caller reads every status instead.
   * The index is eventually consistent: a status changed in the last moment may be missing, which only
   * delays that account's recovery to the next sweep (a worsening re-reads the status before it writes).
   */
  async watchlist(): Promise<ReadonlySet<string> | undefined> {
    try {
      return await this.readWatchlist(this.options.watchlistLimit ?? DEFAULT_WATCHLIST_LIMIT);
    } catch (error) {
      // The index is missing or still being built (added to an existing table): read every status.
      if (error instanceof ResourceNotFoundException) return undefined;
      if (error instanceof Error && error.name === 'ValidationException' && /index/i.test(error.message)) {
        return undefined;
      }
      throw error;
    }
  }

  /** Every shard, every page, all shards at once; undefined as soon as more than `limit` are found. */
  private async readWatchlist(limit: number): Promise<ReadonlySet<string> | undefined> {
    const watched = new Set<string>();
    const names = attributeNames('watch', 'accountId');
    await Promise.all(
      Array.from({ length: MARGIN_WATCHLIST_SHARDS }, async (_, shard) => {
        let start: Item | undefined;
        do {
          const out = await this.client.send(
            new QueryCommand({
              TableName: this.tableName,
              IndexName: MARGIN_WATCHLIST_INDEX,
              KeyConditionExpression: '#watch = :watch',
              ProjectionExpression: '#accountId',
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: { ':watch': str(watchPartition(shard)) },
              ExclusiveStartKey: start,
            }),
          );
          for (const item of out.Items ?? []) {
            const id = item.accountId?.S;
            if (id !== undefined) watched.add(id);
          }
          start = out.LastEvaluatedKey as Item | undefined;
        } while (start !== undefined && watched.size <= limit);
      }),
    );
    return watched.size > limit ? undefined : watched;
  }
}

function watchPartition(shard: number): string {
  return `w${shard}`;
}

/** The watchlist partition of an account: `w0` … `w15`. */
export function watchKey(accountId: string): string {
  return watchPartition(shardOf(accountId, MARGIN_WATCHLIST_SHARDS));
}

function readStatus(item: Item): MarginStatus {
  const accountId = requireString(item, 'accountId', 'margin status');
  const what = `margin status of ${accountId}`;
  const state = requireString(item, 'state', what);
  if (!isMarginState(state)) throw new QmtError(`${what}: unknown state ${state}`);
  return {
    accountId,
    state,
    sequence: requireNumber(item, 'sequence', what),
    updatedAt: requireString(item, 'updatedAt', what),
    thresholdSetId: requireString(item, 'thresholdSetId', what),
    runId: requireString(item, 'runId', what),
    marginRatio: item.marginRatio?.NULL ? UNDEFINED_RATIO : requireString(item, 'marginRatio', what),
    ...(item.pendingAlert === undefined ? {} : { pendingAlert: readPendingAlert(item, accountId, what) }),
  };
}

function readPendingAlert(item: Item, accountId: string, what: string): MarginAlert {
  const text = requireString(item, 'pendingAlert', what);
  let alert: unknown;
  try {
    alert = JSON.parse(text);
  } catch {
    throw new QmtError(`${what}: pendingAlert is not JSON`);
  }
  const candidate = alert as Partial<MarginAlert> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.alertId !== 'string' ||
    typeof candidate.sequence !== 'number' ||
    candidate.accountId !== accountId
  ) {
    throw new QmtError(`${what}: pendingAlert is not an alert of this account`);
  }
  return candidate as MarginAlert;
}

function isMarginState(value: string): value is MarginState {
  return (MARGIN_STATES as readonly string[]).includes(value);
}
