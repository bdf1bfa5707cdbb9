/**
 * DynamoDB Local killed in the middle of a sweep and restarted on the same files: the worker's call fails
 * with a connection error (the record fails, SQS redelivers it), the redelivered message resumes from its
 * checkpoint, and the sweep ends with every account valued, every transition applied once and every alert
 * published once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../../lib/adapters/dynamodb/account-writer.ts';
import { createDynamoDbClient } from '../../../lib/adapters/dynamodb/client.ts';
import { DynamoDbMarginStatusStore } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { isRetryableDynamoDbError } from '../../../lib/adapters/dynamodb/retryable.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../../lib/adapters/local/dynamodb-local.ts';
import { type SweepPorts, sweepSegment } from '../../../lib/app/sweep.ts';
import type { MarginStatusStore } from '../../../lib/ports.ts';
import { FixedClock, RecordingOps } from '../../app/in-memory-ports.ts';
import { isAlive } from '../support/dynamodb.ts';
import {
  btcSet,
  connectionFailure,
  RecordingAlertPublisher,
  STATUS_ITEM_ATTRIBUTES,
  scanAll,
  seededAccounts,
  withStatusReads,
} from './support.ts';

const ACCOUNTS = 500;
const PAGE_SIZE = 40;
const RUN_ID = 'sweep-2026-11-24T00:05:00Z';
const SEGMENT = { segment: 0, totalSegments: 1 };
/** Batch retries kept short: against a dead endpoint they would otherwise wait out the 20 s deadline. */
const QUICK_BATCH = { retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 2_000 } };

const dbPath = mkdtempSync(join(tmpdir(), 'qmt-ddb-restart-'));
const started: DynamoDbLocal[] = [];
const clients: DynamoDBClient[] = [];

afterAll(async () => {
  for (const local of started) await local.stop();
  for (const client of clients) client.destroy();
  rmSync(dbPath, { recursive: true, force: true });
  const alive = started.filter((local) => isAlive(local.pid)).map((local) => local.pid);
  if (alive.length > 0) throw new Error(`DynamoDB Local still running: ${alive.join(', ')}`);
});

async function start(createTables: boolean): Promise<DynamoDbLocal> {
  const local = await startDynamoDbLocal({ dbPath, createTables });
  started.push(local);
  return local;
}

/** Ports built on their own client (as a Lambda container would), apart from the harness's. */
function sweepPorts(
  local: DynamoDbLocal,
  alerts: RecordingAlertPublisher,
  ops: RecordingOps,
  wrapStatuses: (store: MarginStatusStore) => MarginStatusStore = (store) => store,
): SweepPorts {
  const client = createDynamoDbClient({ endpoint: local.endpoint, maxAttempts: 2 });
  clients.push(client);
  return {
    accounts: new DynamoDbAccountSource(client, local.tables.accounts),
    thresholds: new DynamoDbThresholdStore(client, local.tables.thresholds, { batch: QUICK_BATCH }),
    statuses: wrapStatuses(
      new DynamoDbMarginStatusStore(client, local.tables.marginStatus, { batch: QUICK_BATCH }),
    ),
    alerts,
    ops,
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  };
}

describe('DynamoDB Local killed and restarted during a sweep', () => {
  it('resumes from the checkpoint on the restarted database: no account missed, no alert lost or repeated', async () => {
    // Prepare: a persistent database with a threshold set and 500 accounts.
    const seeded = seededAccounts(ACCOUNTS);
    const first = await start(true);
    await new DynamoDbThresholdStore(first.client, first.tables.thresholds).publishSet(btcSet, undefined);
    await writeAccounts(
      first.client,
      first.tables.accounts,
      seeded.map((s) => s.account),
    );
    const alerts = new RecordingAlertPublisher();
    const ops = new RecordingOps();
    const scanned = new Set<string>();
    const recordScans = (ports: SweepPorts): SweepPorts => ({
      ...ports,
      accounts: {
        scanPage: async (segment, cursor, pageSize) => {
          const page = await ports.accounts.scanPage(segment, cursor, pageSize);
          for (const account of page.accounts) scanned.add(account.accountId);
          return page;
        },
        approximateCount: () => ports.accounts.approximateCount(),
      },
    });

    // Act 1: worker A sweeps three pages, then nears its timeout and hands over its cursor.
    let pagesA = 0;
    const partA = await sweepSegment(recordScans(sweepPorts(first, alerts, ops)), {
      runId: RUN_ID,
      segment: SEGMENT,
      pageSize: PAGE_SIZE,
      shouldStop: () => ++pagesA >= 3,
    });
    expect(partA.done).toBe(false);
    expect(partA.cursor).toBeDefined();
    expect(partA.counts.accounts).toBe(3 * PAGE_SIZE);
    const checkpoint = partA.cursor as string;

    // Act 2: worker B takes the continuation; DynamoDB Local dies in the middle of its third page, after
    // the page was scanned and before its statuses are read or written.
    let getsB = 0;
    const killing = (store: MarginStatusStore): MarginStatusStore =>
      withStatusReads(store, async (ids) => {
        if (++getsB === 3) await first.stop();
        return store.get(ids);
      });
    const partB = sweepSegment(recordScans(sweepPorts(first, alerts, ops, killing)), {
      runId: RUN_ID,
      segment: SEGMENT,
      cursor: checkpoint,
      pageSize: PAGE_SIZE,
    });
    // Assess: the worker sees a retryable connection failure, so it fails the SQS record and SQS redelivers it.
    const failure = await partB.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeDefined();
    expect(connectionFailure(failure)).toBe('ECONNREFUSED');
    expect(isRetryableDynamoDbError((failure as { cause?: unknown }).cause ?? failure)).toBe(true);
    expect(isAlive(first.pid)).toBe(false);
    // The next call on the dead endpoint fails the same way.
    const deadPorts = sweepPorts(first, alerts, ops);
    await expect(deadPorts.thresholds.currentSet()).rejects.toSatisfy(
      (error) => connectionFailure(error) === 'ECONNREFUSED',
    );
    const alertsBeforeRestart = alerts.published.length;
    expect(alertsBeforeRestart).toBeGreaterThan(0);

    // Act 3: DynamoDB Local restarts on the same files (another port); SQS redelivers B's message, whose
    // cursor is A's checkpoint, to a fresh worker with fresh clients.
    const second = await start(false);
    expect(second.port).not.toBe(first.port);
    const redelivered = await sweepSegment(recordScans(sweepPorts(second, alerts, ops)), {
      runId: RUN_ID,
      segment: SEGMENT,
      cursor: checkpoint,
      pageSize: PAGE_SIZE,
    });

    // Assess: the segment is finished and its outcome reported.
    expect(redelivered.done).toBe(true);
    expect(redelivered.cursor).toBeUndefined();
    expect(ops.events.filter((e) => e.type === 'sweep.completed')).toEqual([
      expect.objectContaining({ runId: RUN_ID, segment: 0, counts: redelivered.counts }),
    ]);
    // Pages B finished before the crash are swept again from the checkpoint: no state changes there, so no
    // transition is attempted and nothing is announced twice.
    expect(redelivered.counts.stale).toBe(0);
    expect(partA.counts.accounts + redelivered.counts.accounts).toBe(ACCOUNTS);

    // Every account was valued, the data survived the restart.
    expect(scanned.size).toBe(ACCOUNTS);
    const statuses = await scanAll(second.client, second.tables.marginStatus);
    const expectedChanges = seeded.filter((s) => s.expectedState !== 'OK');
    expect(statuses).toHaveLength(expectedChanges.length);

    // Each transition applied exactly once, and no status half-written.
    const byAccount = new Map(statuses.map((item) => [item.accountId?.S, item]));
    for (const { account, expectedState } of expectedChanges) {
      const item = byAccount.get(account.accountId);
      expect(item, account.accountId).toBeDefined();
      for (const attribute of STATUS_ITEM_ATTRIBUTES) expect(item).toHaveProperty(attribute);
      expect(item?.sequence?.N).toBe('1');
      expect(item?.state?.S).toBe(expectedState);
      expect(item?.previousState?.S).toBe('OK');
    }

    // Each alert published exactly once: one per state change, each matching its stored status.
    const alertIds = alerts.published.map((a) => a.alertId);
    expect(new Set(alertIds).size).toBe(alertIds.length);
    expect(alerts.published).toHaveLength(expectedChanges.length);
    for (const alert of alerts.published) {
      const item = byAccount.get(alert.accountId);
      expect(item?.alertId?.S).toBe(alert.alertId);
      expect(item?.state?.S).toBe(alert.newState);
      expect(alert.sequence).toBe(1);
    }
    const totalTransitions = partA.counts.transitions + redelivered.counts.transitions;
    expect(totalTransitions + (alertsBeforeRestart - partA.counts.alertsPublished)).toBe(
      expectedChanges.length,
    );

    // A second redelivery after the finish changes nothing.
    const again = await sweepSegment(sweepPorts(second, alerts, ops), {
      runId: RUN_ID,
      segment: SEGMENT,
      pageSize: PAGE_SIZE,
    });
    expect(again.counts).toMatchObject({ accounts: ACCOUNTS, transitions: 0, stale: 0, alertsPublished: 0 });
    expect(alerts.published).toHaveLength(expectedChanges.length);
  });
});
