/**
 * At-least-once delivery on DynamoDB Local, through the real use cases: two recalibrations at once (the same
 * scheduled event twice, or two schedules overlapping), and the same SQS segment message handled by two
 * workers at once.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../../lib/adapters/dynamodb/account-source.ts';
import { createDynamoDbClient } from '../../../lib/adapters/dynamodb/client.ts';
import { DynamoDbMarginStatusStore } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../../lib/adapters/dynamodb/run-ledger.ts';
import { runsTable, thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { type RecalibrationPorts, recalibrate } from '../../../lib/app/recalibrate.ts';
import { type SweepPorts, sweepSegment } from '../../../lib/app/sweep.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { Lease, MarginStatusStore, RunLedger } from '../../../lib/ports.ts';
import { FixedClock, PreparedMarket, RecordingOps } from '../../app/in-memory-ports.ts';
import { uniqueId, useDynamoDbLocal } from '../support/dynamodb.ts';
import {
  RecordingAlertPublisher,
  STATUS_ITEM_ATTRIBUTES,
  scanAll,
  seededAccounts,
  sweepTables,
  withStatusReads,
} from './support.ts';

const db = useDynamoDbLocal();

const today = Date.UTC(2026, 10, 24);
const instruments = ['BTC', 'ETH'].map((instrument) => ({ instrument, policy: DEFAULT_THRESHOLD_POLICY }));

/** Opens once `parties` callers have arrived; `opened` waits without arriving. */
function barrier(parties: number): { arrive(): Promise<void>; readonly opened: Promise<void> } {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    opened,
    arrive() {
      if (++arrived >= parties) open();
      return opened;
    },
  };
}

describe('two recalibrations at once on DynamoDB Local', () => {
  async function recalibrationSetup() {
    const thresholdsTableName = await db.freshTable(thresholdsTable);
    const runsTableName = await db.freshTable(runsTable);
    const leaseName = uniqueId('lease');
    const market = new PreparedMarket({
      BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 100, seed: 1 }),
      ETH: generateCandles({ instrument: 'ETH', days: 1000, endTime: today, startPrice: 100, seed: 2 }),
    });
    // Market data is served only once both runs have had their answer from the lease: the winner cannot
    // finish and release the lease before the other asks, so the race is real every time.
    const bothAsked = barrier(2);
    const ops = new RecordingOps();
    // Each run is its own Lambda: its own client, ledger and store.
    const ports = (): RecalibrationPorts => {
      const client = createDynamoDbClient({ endpoint: db.local.endpoint });
      const ledger = new DynamoDbRunLedger(client, runsTableName, { leaseName });
      const answeredLedger: RunLedger = {
        acquire: async (runId, holder, ttlMs) => {
          try {
            return await ledger.acquire(runId, holder, ttlMs);
          } finally {
            void bothAsked.arrive();
          }
        },
        complete: (lease: Lease, outcome, counts, detail) => ledger.complete(lease, outcome, counts, detail),
      };
      return {
        market: {
          name: market.name,
          candles: async (instrument, range) => {
            await bothAsked.opened;
            return market.candles(instrument, range);
          },
        },
        thresholds: new DynamoDbThresholdStore(client, thresholdsTableName),
        ledger: answeredLedger,
        ops,
        clock: new FixedClock(today + 60_000),
      };
    };
    const runRecord = async (runId: string) => {
      const out = await db.local.client.send(
        new GetItemCommand({
          TableName: runsTableName,
          Key: { pk: { S: `RUN#${runId}` } },
          ConsistentRead: true,
        }),
      );
      return out.Item;
    };
    const store = new DynamoDbThresholdStore(db.local.client, thresholdsTableName);
    return { ports, ops, runRecord, store };
  }

  it('the same scheduled event twice: one run publishes, the other is skipped, and a late third finds it done', async () => {
    // Prepare
    const { ports, ops, runRecord, store } = await recalibrationSetup();
    const runId = '2026-11-24T00:00:00Z';
    // Act
    const results = await Promise.all([
      recalibrate(ports(), { runId, holder: 'lambda-a', instruments }),
      recalibrate(ports(), { runId, holder: 'lambda-b', instruments }),
    ]);
    // Assess
    expect(results.map((r) => r.outcome).sort()).toEqual(['published', 'skipped']);
    const winner = results.find((r) => r.outcome === 'published');
    const current = await store.currentSet();
    expect(current?.setId).toBe(runId);
    expect(current?.thresholds.map((t) => t.instrument).sort()).toEqual(['BTC', 'ETH']);
    if (winner?.outcome === 'published') expect(current).toEqual(winner.set);
    const record = await runRecord(runId);
    expect(record?.status?.S).toBe('completed');
    expect(record?.outcome?.S).toBe('succeeded');
    expect(ops.events.filter((e) => e.type === 'recalibration.completed')).toHaveLength(1);
    expect(ops.events.filter((e) => e.type === 'recalibration.failed')).toHaveLength(0);

    // A third delivery after the run finished is skipped too, and changes nothing.
    const late = await recalibrate(ports(), { runId, holder: 'lambda-c', instruments });
    expect(late.outcome).toBe('skipped');
    await expect(store.currentSet()).resolves.toEqual(current);
  });

  it('two different runs at once: one takes the lease and publishes, the other exits cleanly', async () => {
    // Prepare
    const { ports, ops, runRecord, store } = await recalibrationSetup();
    const runIds = ['2026-11-24T00:00:00Z', '2026-11-24T00:00:01Z'];
    // Act
    const results = await Promise.all(
      runIds.map((runId, i) => recalibrate(ports(), { runId, holder: `lambda-${i}`, instruments })),
    );
    // Assess
    expect(results.map((r) => r.outcome).sort()).toEqual(['published', 'skipped']);
    const winner = results.find((r) => r.outcome === 'published');
    const loser = results.find((r) => r.outcome === 'skipped');
    const current = await store.currentSet();
    expect(current?.setId).toBe(winner?.runId);
    expect(current?.thresholds).toHaveLength(2);
    if (winner?.outcome === 'published') expect(current).toEqual(winner.set);
    expect((await runRecord(winner?.runId as string))?.outcome?.S).toBe('succeeded');
    // The loser never started: no run record, so Scheduler's retry of it may run later.
    await expect(runRecord(loser?.runId as string)).resolves.toBeUndefined();
    expect(ops.events).toEqual([
      expect.objectContaining({ type: 'recalibration.completed', runId: winner?.runId }),
    ]);
  });
});

describe('the same segment message handled by two workers at once on DynamoDB Local', () => {
  it('applies each transition once (the other worker gets stale) and publishes each alert once', async () => {
    // Prepare: 200 accounts, 150 of which change state.
    const seeded = seededAccounts(200);
    const tables = await sweepTables(
      db,
      seeded.map((s) => s.account),
    );
    const alerts = new RecordingAlertPublisher();
    const ops = new RecordingOps();
    // Both workers read each page's statuses before either writes: every transition is contested.
    const pageBarriers = new Map<number, ReturnType<typeof barrier>>();
    const worker = (): SweepPorts => {
      const client = createDynamoDbClient({ endpoint: db.local.endpoint });
      const store = new DynamoDbMarginStatusStore(client, tables.statuses);
      let page = 0;
      const statuses: MarginStatusStore = withStatusReads(store, async (ids) => {
        const read = await store.get(ids);
        const gate = pageBarriers.get(page) ?? barrier(2);
        pageBarriers.set(page++, gate);
        await gate.arrive();
        return read;
      });
      return {
        accounts: new DynamoDbAccountSource(client, tables.accounts),
        thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
        statuses,
        alerts,
        ops,
        clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
      };
    };
    const request = { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 }, pageSize: 25 };

    // Act
    const [a, b] = await Promise.all([sweepSegment(worker(), request), sweepSegment(worker(), request)]);

    // Assess
    const changes = seeded.filter((s) => s.expectedState !== 'OK');
    expect(a.done && b.done).toBe(true);
    expect(a.counts.accounts).toBe(200);
    expect(b.counts.accounts).toBe(200);
    expect(a.counts.transitions + b.counts.transitions).toBe(changes.length);
    expect(a.counts.stale + b.counts.stale).toBe(changes.length);
    const alertIds = alerts.published.map((alert) => alert.alertId);
    expect(alerts.published).toHaveLength(changes.length);
    expect(new Set(alertIds).size).toBe(changes.length);
    expect(new Set(alerts.published.map((alert) => alert.accountId)).size).toBe(changes.length);
    expect(a.counts.alertsPublished + b.counts.alertsPublished).toBe(changes.length);

    const items = await scanAll(db.local.client, tables.statuses);
    expect(items).toHaveLength(changes.length);
    const published = new Map(alerts.published.map((alert) => [alert.accountId, alert]));
    for (const item of items) {
      for (const attribute of STATUS_ITEM_ATTRIBUTES) expect(item).toHaveProperty(attribute);
      expect(item.sequence?.N).toBe('1');
      // The announced alert is the one whose write won.
      expect(item.alertId?.S).toBe(published.get(item.accountId?.S as string)?.alertId);
    }
    // Both invocations record their outcome.
    expect(ops.events.filter((e) => e.type === 'sweep.completed')).toHaveLength(2);
  });
});
