/**
 * Throttling and lost responses on the conditional transition write, injected into a real DynamoDB client
 * (a middleware inside or outside the SDK's retry loop) while the sweep runs on DynamoDB Local.
 */
import type { DynamoDBClient, PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import { InternalServerError, ThrottlingException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../../lib/adapters/dynamodb/account-source.ts';
import { createDynamoDbClient } from '../../../lib/adapters/dynamodb/client.ts';
import { DynamoDbMarginStatusStore } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { isRetryableDynamoDbError } from '../../../lib/adapters/dynamodb/retryable.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { type SweepPorts, sweepSegment } from '../../../lib/app/sweep.ts';
import { FixedClock, RecordingOps } from '../../app/in-memory-ports.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';
import {
  RecordingAlertPublisher,
  STATUS_ITEM_ATTRIBUTES,
  scanAll,
  seededAccounts,
  sweepTables,
} from './support.ts';

const db = useDynamoDbLocal();
const ACCOUNTS = 40;
const seeded = seededAccounts(ACCOUNTS);
const changes = seeded.filter((s) => s.expectedState !== 'OK');
const request = { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 }, pageSize: 20 };

type Fault = (accountId: string, attempt: number) => 'throttle-before' | 'lose-response' | undefined;

/**
 * A client whose PutItem attempts go through `fault` first. The middleware sits in the deserialize step,
 * inside the SDK's retry loop: each SDK attempt is seen, as DynamoDB would see it.
 */
function faultyClient(
  fault: Fault,
  maxAttempts: number,
): { client: DynamoDBClient; attempts: Map<string, number> } {
  const client = createDynamoDbClient({ endpoint: db.local.endpoint, maxAttempts });
  const attempts = new Map<string, number>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutItemCommand') return next(args);
      const accountId = (args.input as PutItemCommandInput).Item?.accountId?.S ?? '';
      const attempt = (attempts.get(accountId) ?? 0) + 1;
      attempts.set(accountId, attempt);
      const what = fault(accountId, attempt);
      if (what === 'throttle-before') {
        throw new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
      }
      const result = await next(args);
      if (what === 'lose-response') {
        // The write was applied, but its answer never arrives.
        throw new InternalServerError({ message: 'response lost', $metadata: { httpStatusCode: 500 } });
      }
      return result;
    },
    { step: 'deserialize', name: 'qmtFaultInjection' },
  );
  return { client, attempts };
}

async function prepare() {
  const tables = await sweepTables(
    db,
    seeded.map((s) => s.account),
  );
  const alerts = new RecordingAlertPublisher();
  const ops = new RecordingOps();
  const ports = (client: DynamoDBClient): SweepPorts => ({
    accounts: new DynamoDbAccountSource(client, tables.accounts),
    thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
    statuses: new DynamoDbMarginStatusStore(client, tables.statuses),
    alerts,
    ops,
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  });
  /** Every changed account has one whole status at sequence 1 and exactly one announced alert. */
  const expectEachChangeOnce = async () => {
    const items = await scanAll(db.local.client, tables.statuses);
    expect(items).toHaveLength(changes.length);
    for (const item of items) {
      for (const attribute of STATUS_ITEM_ATTRIBUTES) expect(item).toHaveProperty(attribute);
      expect(item.sequence?.N).toBe('1');
    }
    const alertIds = alerts.published.map((a) => a.alertId);
    expect(new Set(alertIds).size).toBe(alertIds.length);
    expect(alerts.published.map((a) => a.accountId).sort()).toEqual(
      changes.map((c) => c.account.accountId).sort(),
    );
    const byAccount = new Map(items.map((item) => [item.accountId?.S, item]));
    for (const alert of alerts.published)
      expect(byAccount.get(alert.accountId)?.alertId?.S).toBe(alert.alertId);
  };
  return { ports, alerts, ops, expectEachChangeOnce };
}

describe('throttled and lost conditional writes during a sweep on DynamoDB Local', () => {
  it('a throttle on every first attempt is retried by the SDK: the sweep completes, each change once', async () => {
    const { ports, expectEachChangeOnce } = await prepare();
    const { client, attempts } = faultyClient(
      (_id, attempt) => (attempt === 1 ? 'throttle-before' : undefined),
      4,
    );
    const result = await sweepSegment(ports(client), request);
    expect(result.done).toBe(true);
    expect(result.counts).toMatchObject({ accounts: ACCOUNTS, transitions: changes.length, stale: 0 });
    expect([...attempts.values()].every((n) => n === 2)).toBe(true);
    await expectEachChangeOnce();
    client.destroy();
  });

  it('a write applied whose answer was lost is recognised by its token on the resend: applied, announced once', async () => {
    const { ports, expectEachChangeOnce } = await prepare();
    const { client, attempts } = faultyClient(
      (_id, attempt) => (attempt === 1 ? 'lose-response' : undefined),
      4,
    );
    const result = await sweepSegment(ports(client), request);
    expect(result.counts).toMatchObject({
      transitions: changes.length,
      stale: 0,
      alertsPublished: changes.length,
    });
    expect([...attempts.values()].every((n) => n === 2)).toBe(true);
    await expectEachChangeOnce();
    client.destroy();
  });

  it('a throttle that outlasts the SDK retries fails the sweep (SQS redelivers); the redelivery loses and repeats nothing', async () => {
    const { ports, alerts, ops, expectEachChangeOnce } = await prepare();
    const stuck = changes[1]?.account.accountId as string;
    const { client } = faultyClient((id) => (id === stuck ? 'throttle-before' : undefined), 2);
    // Act 1: the worker's sweep fails on the throttled write.
    const failure = await sweepSegment(ports(client), request).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ThrottlingException);
    expect(isRetryableDynamoDbError(failure)).toBe(true);
    expect(alerts.published.map((a) => a.accountId)).not.toContain(stuck);
    expect(ops.events.filter((e) => e.type === 'sweep.completed')).toEqual([]);
    client.destroy();

    // Act 2: SQS redelivers the message; the throttle has passed.
    const redelivered = await sweepSegment(ports(db.local.client), request);
    // Assess: done, outcome recorded, and every change announced exactly once across both deliveries.
    expect(redelivered.done).toBe(true);
    expect(ops.events.filter((e) => e.type === 'sweep.completed')).toHaveLength(1);
    await expectEachChangeOnce();
  });
});
