/**
 * BatchWriteItem and BatchGetItem done properly: chunked to DynamoDB's limits (25 writes, 100 keys), the
 * entries DynamoDB hands back (UnprocessedItems/UnprocessedKeys) and throttling retried with the shared
 * backoff, all under one deadline. What is still not done at the deadline is named in an
 * `IncompleteBatchError`; nothing is dropped silently. This loop is the only retry layer of these calls:
 * the SDK's own is off for them (`withoutSdkRetries`, see `client.ts`). Errors that retrying cannot fix (ValidationException,
 * ResourceNotFoundException, …) are rethrown at once, unchanged.
 */
import {
  BatchGetItemCommand,
  BatchWriteItemCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { IncompleteBatchError } from '../errors.ts';
import { type RetryDecision, type RetryHooks, type RetryPolicy, withRetry } from '../retry.ts';
import { describeKey, type Item } from './attributes.ts';
import { withoutSdkRetries } from './client.ts';
import { errorName, isRetryableDynamoDbError } from './retryable.ts';

export const BATCH_WRITE_LIMIT = 25;
export const BATCH_GET_LIMIT = 100;

/** Many quick attempts: unprocessed entries usually clear within a few hundred ms; the deadline bounds it. */
export const DEFAULT_BATCH_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 12,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  deadlineMs: 20_000,
};

export interface BatchOptions {
  /** Attempts per chunk and the deadline for the whole call. */
  readonly retryPolicy?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
  /** Chunks in flight at once (default 4). */
  readonly concurrency?: number;
}

/** DynamoDB answered but handed some entries back; retried like a throttle. */
class UnfinishedBatch extends Error {
  constructor(readonly remaining: number) {
    super(`${remaining} entries returned unprocessed`);
    this.name = 'UnfinishedBatch';
  }
}

function classify(error: unknown): RetryDecision {
  return { retry: error instanceof UnfinishedBatch || isRetryableDynamoDbError(error) };
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** Runs `run` over the chunks, `concurrency` at a time; stops scheduling after the first error and rethrows it. */
async function forEachChunk<T>(
  chunks: readonly T[][],
  concurrency: number,
  run: (chunk: T[]) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const runner = async () => {
    while (failure === undefined) {
      const current = chunks[next++];
      if (current === undefined) return;
      try {
        await run(current);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const runners = Math.max(1, Math.min(concurrency, chunks.length));
  await Promise.all(Array.from({ length: runners }, runner));
  if (failure) throw failure.error;
}

/** One deadline shared by every chunk of a call. */
function deadlineBudget(policy: RetryPolicy, hooks: RetryHooks): () => number {
  const now = hooks.now ?? Date.now;
  const started = now();
  return () => policy.deadlineMs - (now() - started);
}

function lastErrorText(error: unknown): string {
  if (error === undefined) return 'the deadline passed before they were sent';
  if (error instanceof UnfinishedBatch) return 'entries still unprocessed';
  return error instanceof Error ? `${errorName(error)}: ${error.message}` : String(error);
}

/**
 * Send each chunk, re-sending what DynamoDB hands back unprocessed (and throttled calls) with backoff, until
 * all is done or the call's deadline passes. Returns what is still unsent and the last error, so the caller
 * can name it in an `IncompleteBatchError`.
 */
async function drainChunks<T>(
  chunks: T[][],
  options: BatchOptions,
  send: (pending: T[]) => Promise<T[]>,
): Promise<{ left: T[]; lastError: unknown }> {
  const policy = options.retryPolicy ?? DEFAULT_BATCH_RETRY_POLICY;
  const hooks = options.retryHooks ?? {};
  const remainingMs = deadlineBudget(policy, hooks);
  const left: T[] = [];
  let lastError: unknown;
  await forEachChunk(chunks, options.concurrency ?? 4, async (entries) => {
    let pending = entries;
    const budget = remainingMs();
    if (budget <= 0) {
      left.push(...pending);
      return;
    }
    try {
      await withRetry(
        async () => {
          pending = await send(pending);
          if (pending.length > 0) throw new UnfinishedBatch(pending.length);
        },
        classify,
        { ...policy, deadlineMs: budget },
        hooks,
      );
    } catch (error) {
      // A retryable failure here means retries or the deadline ran out; anything else fails at once.
      if (!classify(error).retry) throw error;
      lastError = error;
      left.push(...pending);
    }
  });
  return { left, lastError };
}

/**
 * Write `requests` (puts and deletes) to `tableName`. `keyNames` are the table's key attributes, used to
 * name what was not written.
 *
 * @throws IncompleteBatchError when entries are still unwritten after the retries or the deadline.
 */
export async function batchWriteAll(
  client: DynamoDBClient,
  tableName: string,
  requests: readonly WriteRequest[],
  keyNames: readonly string[],
  options: BatchOptions = {},
): Promise<void> {
  const { left: unwritten, lastError } = await drainChunks(
    chunk(requests, BATCH_WRITE_LIMIT),
    options,
    async (pending) => {
      const out = await client.send(
        withoutSdkRetries(new BatchWriteItemCommand({ RequestItems: { [tableName]: pending } })),
      );
      return out.UnprocessedItems?.[tableName] ?? [];
    },
  );

  if (unwritten.length > 0) {
    const keys = unwritten.map((request) =>
      describeKey(request.PutRequest?.Item ?? request.DeleteRequest?.Key ?? {}, keyNames),
    );
    throw new IncompleteBatchError(
      `BatchWriteItem on ${tableName}: ${keys.length} of ${requests.length} items not written after retries (${lastErrorText(lastError)})`,
      keys,
      { cause: lastError },
    );
  }
}

export interface BatchGetRequest {
  readonly keys: readonly Item[];
  readonly projectionExpression?: string;
  readonly expressionAttributeNames?: Record<string, string>;
  readonly consistentRead?: boolean;
}

/**
 * Read the items at `request.keys` (duplicates read once; missing items are simply absent from the result).
 *
 * @throws IncompleteBatchError when keys are still unread after the retries or the deadline.
 */
export async function batchGetAll(
  client: DynamoDBClient,
  tableName: string,
  request: BatchGetRequest,
  keyNames: readonly string[],
  options: BatchOptions = {},
): Promise<Item[]> {
  // BatchGetItem rejects a request that names the same key twice.
  const unique = [...new Map(request.keys.map((key) => [describeKey(key, keyNames), key])).values()];
  const found: Item[] = [];
  const { left: unread, lastError } = await drainChunks(
    chunk(unique, BATCH_GET_LIMIT),
    options,
    async (pending) => {
      const out = await client.send(
        withoutSdkRetries(
          new BatchGetItemCommand({
            RequestItems: {
              [tableName]: {
                Keys: pending,
                ConsistentRead: request.consistentRead,
                ProjectionExpression: request.projectionExpression,
                ExpressionAttributeNames: request.expressionAttributeNames,
              },
            },
          }),
        ),
      );
      found.push(...(out.Responses?.[tableName] ?? []));
      return out.UnprocessedKeys?.[tableName]?.Keys ?? [];
    },
  );

  if (unread.length > 0) {
    const keys = unread.map((key) => describeKey(key, keyNames));
    throw new IncompleteBatchError(
      `BatchGetItem on ${tableName}: ${keys.length} of ${unique.length} keys not read after retries (${lastErrorText(lastError)})`,
      keys,
      { cause: lastError },
    );
  }
  return found;
}
