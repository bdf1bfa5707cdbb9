/**
 * The runs ledger: one lease for recalibration across all runs, and a record per run with its status,
 * attempts, counts and outcome. Scheduled events are idempotent: a run that succeeded (or was skipped) cannot
 * start again; a failed run can be retried.
 *
 * Items (table `runs`, key `pk`):
 * - `LEASE#<name>`: runId, holder, expiresAt (epoch ms), acquiredAt, ttl
 * - `RUN#<runId>`: runId, status (`running` | `completed`), holder, leaseExpiresAt, startedAt, attempts,
 *   outcome, counts (M of N), detail, completedAt, completionToken, ttl (epoch s; old runs expire)
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { QmtError } from '../../domain/errors.ts';
import type { Clock, Lease, RunLedger, RunOutcome } from '../../ports.ts';
import { type RetryHooks, type RetryPolicy, withRetry } from '../retry.ts';
import { attributeNames, getString, num, str } from './attributes.ts';

const DAY_MS = 86_400_000;
const MAX_DETAIL_CHARS = 10_000;

/** Contention on the lease item clears within milliseconds: a few quick tries, then report it as held. */
const LEASE_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 25,
  maxDelayMs: 250,
  deadlineMs: 2_000,
};

export interface RunLedgerOptions {
  readonly clock?: Clock;
  /** Name of the lease all runs share (default `recalibration`). */
  readonly leaseName?: string;
  /** How long run records are kept after they finish (default 90 days). */
  readonly retentionMs?: number;
  readonly newToken?: () => string;
  readonly retryPolicy?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
}

/** The transaction lost to another writer on the same item: worth a retry, which then sees the winner. */
function isTransactionConflict(error: unknown): boolean {
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict')
  );
}

function isConditionFailure(error: unknown): boolean {
  return (
    error instanceof TransactionCanceledException &&
    (error.CancellationReasons ?? []).some((reason) => reason.Code === 'ConditionalCheckFailed')
  );
}

/**
 * IAM actions this adapter sends to the runs table: TransactWriteItems of a Put and an Update (authorised as
 * PutItem and UpdateItem), UpdateItem, DeleteItem (lease release).
 */
export const RUN_LEDGER_IAM_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
] as const;

export class DynamoDbRunLedger implements RunLedger {
  private readonly clock: Clock;
  private readonly leaseKey: string;
  private readonly retentionMs: number;
  private readonly newToken: () => string;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: RunLedgerOptions = {},
  ) {
    this.clock = options.clock ?? { now: () => Date.now() };
    this.leaseKey = `LEASE#${options.leaseName ?? 'recalibration'}`;
    this.retentionMs = options.retentionMs ?? 90 * DAY_MS;
    this.newToken = options.newToken ?? randomUUID;
  }

  /**
   * Takes the lease for `runId` in one transaction: the lease item must be absent or expired, and the run
   * must not have completed. The lease is not re-entrant: a second acquire, even by the same holder, waits
   * for release or expiry. Returns undefined when either condition fails.
   */
  async acquire(runId: string, holder: string, ttlMs: number): Promise<Lease | undefined> {
    if (runId === '' || holder === '') throw new QmtError('a lease needs a runId and a holder');
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
      throw new QmtError(`lease ttlMs must be a positive integer`);
    try {
      return await withRetry(
        async () => {
          const now = this.clock.now();
          const expiresAt = now + ttlMs;
          await this.client.send(
            new TransactWriteItemsCommand({
              // Makes an SDK resend of a transaction that already succeeded a no-op instead of a "held" answer.
              ClientRequestToken: this.newToken(),
              TransactItems: [
                {
                  Put: {
                    TableName: this.tableName,
                    Item: {
                      pk: str(this.leaseKey),
                      runId: str(runId),
                      holder: str(holder),
                      expiresAt: num(expiresAt),
                      acquiredAt: str(new Date(now).toISOString()),
                      // Only housekeeping: the condition below decides expiry, not TTL (which lags by hours).
                      ttl: num(epochSeconds(expiresAt + DAY_MS)),
                    },
                    ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
                    ExpressionAttributeNames: attributeNames('pk', 'expiresAt'),
                    ExpressionAttributeValues: { ':now': num(now) },
                  },
                },
                {
                  Update: {
                    TableName: this.tableName,
                    Key: { pk: str(`RUN#${runId}`) },
                    UpdateExpression:
                      'SET #runId = :runId, #status = :running, #holder = :holder, #leaseExpiresAt = :expiresAt, ' +
                      '#startedAt = if_not_exists(#startedAt, :startedAt), #ttl = :ttl ADD #attempts :one',
                    // A failed run may be retried (the scheduler's retry, or an operator); a succeeded one never reruns.
                    ConditionExpression:
                      'attribute_not_exists(#pk) OR #status <> :completed OR #outcome = :failed',
                    ExpressionAttributeNames: attributeNames(
                      'pk',
                      'runId',
                      'status',
                      'outcome',
                      'holder',
                      'leaseExpiresAt',
                      'startedAt',
                      'ttl',
                      'attempts',
                    ),
                    ExpressionAttributeValues: {
                      ':runId': str(runId),
                      ':running': str('running'),
                      ':completed': str('completed'),
                      ':failed': str('failed'),
                      ':holder': str(holder),
                      ':expiresAt': num(expiresAt),
                      ':startedAt': str(new Date(now).toISOString()),
                      ':ttl': num(epochSeconds(expiresAt + this.retentionMs)),
                      ':one': num(1),
                    },
                  },
                },
              ],
            }),
          );
          return { runId, holder, expiresAt };
        },
        // Only the conflict, which the SDK does not retry: each try is a new transaction (new token, new
        // times). Throttles and 5xx are the SDK's to retry (see `client.ts`), resending the same token.
        (error) => ({ retry: !isConditionFailure(error) && isTransactionConflict(error) }),
        this.options.retryPolicy ?? LEASE_RETRY_POLICY,
        this.options.retryHooks,
      );
    } catch (error) {
      // Held by a live holder, or the run already completed; a conflict that outlasted the retries means
      // another acquirer is mid-transaction on the same lease, and it is the one that will hold it.
      if (isConditionFailure(error) || isTransactionConflict(error)) return undefined;
      throw error;
    }
  }

  /**
   * Records the outcome and counts (only while this holder still owns the run), then releases the lease if
   * it is still this holder's. A completed run stays completed: `acquire` refuses it from then on.
   *
   * @throws QmtError when the run is no longer this holder's (its lease expired and another holder took it).
   */
  async complete(
    lease: Lease,
    outcome: RunOutcome,
    counts: Readonly<Record<string, number>>,
    detail?: string,
  ): Promise<void> {
    const now = this.clock.now();
    const token = this.newToken();
    const countsValue: AttributeValue = {
      M: Object.fromEntries(Object.entries(counts).map(([name, count]) => [name, num(count)])),
    };
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { pk: str(`RUN#${lease.runId}`) },
          UpdateExpression:
            'SET #status = :completed, #outcome = :outcome, #counts = :counts, #completedAt = :completedAt, ' +
            `#completionToken = :token, #ttl = :ttl${detail === undefined ? '' : ', #detail = :detail'}`,
          ConditionExpression: '#holder = :holder AND #status = :running',
          ExpressionAttributeNames: attributeNames(
            'status',
            'outcome',
            'counts',
            'completedAt',
            'completionToken',
            'ttl',
            'holder',
            ...(detail === undefined ? [] : ['detail']),
          ),
          ExpressionAttributeValues: {
            ':completed': str('completed'),
            ':running': str('running'),
            ':outcome': str(outcome),
            ':counts': countsValue,
            ':completedAt': str(new Date(now).toISOString()),
            ':token': str(token),
            ':ttl': num(epochSeconds(now + this.retentionMs)),
            ':holder': str(lease.holder),
            ...(detail !== undefined && { ':detail': str(detail.slice(0, MAX_DETAIL_CHARS)) }),
          },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // An SDK resend of our own successful update finds our token: already recorded.
      if (getString(error.Item, 'completionToken') !== token) {
        throw new QmtError(
          `run ${lease.runId} is not held by ${lease.holder} (status ${getString(error.Item, 'status') ?? 'missing'}, ` +
            `holder ${getString(error.Item, 'holder') ?? 'none'}): outcome ${outcome} not recorded`,
        );
      }
    }

    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: { pk: str(this.leaseKey) },
          ConditionExpression: '#runId = :runId AND #holder = :holder',
          ExpressionAttributeNames: attributeNames('runId', 'holder'),
          ExpressionAttributeValues: { ':runId': str(lease.runId), ':holder': str(lease.holder) },
        }),
      );
    } catch (error) {
      // Already released, or it expired and another run holds it now: not ours to delete.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
}

function epochSeconds(ms: number): number {
  return Math.ceil(ms / 1000);
}
