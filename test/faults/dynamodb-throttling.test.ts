/**
 * DynamoDB throttling and server errors on the margin status store, with a mocked client (no SDK retry
 * layer: `send` itself is stubbed, so what is asserted is the adapter's own behaviour and what it hands
 * the sweep and the worker).
 *
 * - BatchGetItem (statuses of a page): the store retries throttles and 5xx with the batch backoff; once the
 *   deadline passes it throws IncompleteBatchError naming the unread accounts, and the sweep fails before
 *   writing anything, so the worker fails the SQS record and SQS redelivers it.
 * - PutItem (the conditional transition write): the store has no retry loop of its own (the SDK's standard
 *   retry sits below it, see test/integration/faults/throttled-sweep.test.ts); an error that outlasts the
 *   SDK's attempts reaches the sweep unchanged and retryable, and nothing is announced for that write.
 */
import {
  BatchGetItemCommand,
  DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  RequestLimitExceeded,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { isRetryableDynamoDbError } from '../../lib/adapters/dynamodb/retryable.ts';
import { IncompleteBatchError } from '../../lib/adapters/errors.ts';
import { type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import { fakeRetryTime, sampleTransition } from '../adapters/dynamodb/support.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { btcSet, seededAccounts } from '../integration/faults/support.ts';

const ddb = mockClient(DynamoDBClient);
const TABLE = 'qmt-margin-status';

const throttled = () =>
  new ProvisionedThroughputExceededException({ message: 'Rate of requests exceeds capacity', $metadata: {} });
const serverError = () =>
  new InternalServerError({ message: 'Internal server error', $metadata: { httpStatusCode: 500 } });

function store(time = fakeRetryTime()) {
  return new DynamoDbMarginStatusStore(new DynamoDBClient({}), TABLE, {
    newToken: () => 'token-1',
    batch: {
      concurrency: 1,
      retryHooks: time.hooks,
      retryPolicy: { maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1_000, deadlineMs: 5_000 },
    },
  });
}

beforeEach(() => {
  ddb.reset();
});

describe('throttling on BatchGetItem (reading a page’s statuses)', () => {
  it.each([
    ['ProvisionedThroughputExceededException', throttled],
    ['ThrottlingException', () => new ThrottlingException({ message: 'slow down', $metadata: {} })],
    ['RequestLimitExceeded', () => new RequestLimitExceeded({ message: 'account limit', $metadata: {} })],
    ['InternalServerError (500)', serverError],
  ])('retries %s with backoff, then reads every status', async (_label, error) => {
    // Prepare
    ddb
      .on(BatchGetItemCommand)
      .rejectsOnce(error())
      .rejectsOnce(error())
      .resolves({ Responses: { [TABLE]: [] } });
    const time = fakeRetryTime();
    // Act
    const statuses = await store(time).get(['a', 'b']);
    // Assess
    expect(statuses.size).toBe(0);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 3);
    expect(time.waits).toHaveLength(2);
  });

  it('names the unread accounts once the deadline passes, keeping the throttle as the cause', async () => {
    ddb.on(BatchGetItemCommand).rejects(throttled());
    const failure = await store()
      .get(['a', 'b', 'c'])
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(IncompleteBatchError);
    expect((failure as IncompleteBatchError).message).toMatch(/3 of 3 keys not read/);
    expect(isRetryableDynamoDbError((failure as Error).cause)).toBe(true);
    expect(ddb).toHaveReceivedCommandTimes(BatchGetItemCommand, 5);
  });

  it('fails the sweep before any write or alert, so the worker fails the record and SQS redelivers it', async () => {
    ddb.on(BatchGetItemCommand).rejects(serverError());
    const ports = sweepPorts();
    await expect(
      sweepSegment(ports, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } }),
    ).rejects.toBeInstanceOf(IncompleteBatchError);
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 0);
    expect(ports.alerts.published).toEqual([]);
    expect(ports.ops.events.filter((e) => e.type === 'sweep.completed')).toEqual([]);
  });
});

describe('throttling on the conditional transition write (PutItem)', () => {
  it.each([
    ['ProvisionedThroughputExceededException', throttled],
    ['ThrottlingException', () => new ThrottlingException({ message: 'slow down', $metadata: {} })],
    ['InternalServerError (500)', serverError],
  ])('hands %s to the caller unchanged and retryable: no outcome is guessed', async (_label, error) => {
    const thrown = error();
    ddb.on(PutItemCommand).rejects(thrown);
    await expect(store().applyTransition(sampleTransition('acc-1', 0))).rejects.toBe(thrown);
    expect(isRetryableDynamoDbError(thrown)).toBe(true);
    // One attempt at this layer: the SDK's standard retry (maxAttempts 4 on the qmt client) is below it.
    expect(ddb).toHaveReceivedCommandTimes(PutItemCommand, 1);
  });

  it('fails the sweep with the throttle and announces nothing for the unconfirmed write', async () => {
    // Prepare: one page of 4 accounts, 3 of which change state; the write for acc-0002 stays throttled.
    ddb.on(BatchGetItemCommand).resolves({ Responses: { [TABLE]: [] } });
    ddb.on(PutItemCommand).resolves({});
    ddb.on(PutItemCommand, { Item: { accountId: { S: 'acc-0002' } } }).rejects(throttled());
    const ports = sweepPorts(4);
    // Act
    const failure = await sweepSegment(ports, {
      runId: 'sweep-1',
      segment: { segment: 0, totalSegments: 1 },
    }).catch((error: unknown) => error);
    // Assess: the worker sees a retryable error (SQS redelivers the record), and no alert of the page was
    // announced, the throttled account's least of all.
    expect(failure).toBeInstanceOf(ProvisionedThroughputExceededException);
    expect(isRetryableDynamoDbError(failure)).toBe(true);
    expect(ports.alerts.published.map((a) => a.accountId)).not.toContain('acc-0002');
    expect(ports.ops.events.filter((e) => e.type === 'sweep.completed')).toEqual([]);
  });
});

function sweepPorts(accounts = 8) {
  // An empty watchlist (no status yet): each account that changes state has its status read first.
  ddb.on(QueryCommand).resolves({ Items: [] });
  const thresholds = new InMemoryThresholdStore();
  void thresholds.publishSet(btcSet, undefined);
  return {
    accounts: new InMemoryAccountSource(seededAccounts(accounts).map((s) => s.account)),
    thresholds,
    statuses: store(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  } satisfies SweepPorts;
}
