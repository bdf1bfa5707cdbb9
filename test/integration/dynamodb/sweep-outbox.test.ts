/**
 * Issue 6 against DynamoDB Local: an alert whose publish failed after its transition was written goes out
 * exactly once on the next sweep, from the `pendingAlert` the transition's conditional write stored.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbMarginStatusStore } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { type SweepPorts, sweepSegment } from '../../../lib/app/sweep.ts';
import type { Account, MarginAlert } from '../../../lib/domain/account/account.ts';
import type { AlertPublisher, AlertPublishResult } from '../../../lib/ports.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryThresholdStore,
  RecordingOps,
} from '../../app/in-memory-ports.ts';
import { account, btc } from '../../app/sweep-fixtures.ts';
import { uniqueId, useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();
const segment = { segment: 0, totalSegments: 1 };

/** Fails every alert while `down`, publishes (and records) them once it is back. */
class FlakyPublisher implements AlertPublisher {
  down = true;
  readonly delivered: MarginAlert[] = [];
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    if (this.down) {
      return { published: [], failed: alerts.map((a) => ({ alertId: a.alertId, reason: 'SNS down' })) };
    }
    this.delivered.push(...alerts);
    return { published: alerts.map((a) => a.alertId), failed: [] };
  }
}

async function setup(accounts: readonly Account[]) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const alerts = new FlakyPublisher();
  const ports = {
    accounts: new InMemoryAccountSource(accounts),
    thresholds,
    // A fresh store object per sweep, as each Lambda invocation builds its own.
    statuses: new DynamoDbMarginStatusStore(db.local.client, db.local.tables.marginStatus),
    alerts,
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  } satisfies SweepPorts;
  const store = () => new DynamoDbMarginStatusStore(db.local.client, db.local.tables.marginStatus);
  return { ports, alerts, store };
}

describe('the alert outbox on DynamoDB Local', () => {
  it('publishes an alert lost after its state was written exactly once on the next sweep', async () => {
    const warning = uniqueId('warning');
    const healthy = uniqueId('healthy');
    const { ports, alerts, store } = await setup([account(warning, 2_000), account(healthy, 10_000)]);

    // Act 1: the transition is written, SNS fails.
    const first = await sweepSegment({ ...ports, statuses: store() }, { runId: 'sweep-1', segment });
    expect(first.counts).toMatchObject({ transitions: 1, alertsPublished: 0, alertsFailed: 1 });
    const written = (await store().get([warning])).get(warning);
    expect(written).toMatchObject({ state: 'WARNING', sequence: 1 });
    expect(written?.pendingAlert).toMatchObject({ alertId: `${warning}:1`, sequence: 1 });

    // Act 2: SNS is back; no state change, yet the alert goes out from the outbox.
    alerts.down = false;
    const second = await sweepSegment({ ...ports, statuses: store() }, { runId: 'sweep-2', segment });
    expect(second.counts).toMatchObject({ transitions: 0, alertsPublished: 1, alertsResent: 1 });
    expect(alerts.delivered).toEqual([written?.pendingAlert]);
    expect((await store().get([warning])).get(warning)?.pendingAlert).toBeUndefined();

    // Act 3: nothing more to say.
    const third = await sweepSegment({ ...ports, statuses: store() }, { runId: 'sweep-3', segment });
    expect(third.counts).toMatchObject({ transitions: 0, alertsPublished: 0, alertsResent: 0 });
    expect(alerts.delivered.map((a) => a.alertId)).toEqual([`${warning}:1`]);
  });

  it('holds a newer transition back until the older pending alert is out, then sends both in order', async () => {
    const id = uniqueId('acc');
    const { ports, alerts, store } = await setup([account(id, 2_000)]);
    await sweepSegment({ ...ports, statuses: store() }, { runId: 'sweep-1', segment });
    // The account gets worse while SNS is still down: the MARGIN_CALL transition must wait.
    const worse = { ...ports, accounts: new InMemoryAccountSource([account(id, 1_700)]) };
    const second = await sweepSegment({ ...worse, statuses: store() }, { runId: 'sweep-2', segment });
    expect(second.counts).toMatchObject({ deferred: 1, transitions: 0 });
    expect((await store().get([id])).get(id)?.pendingAlert?.alertId).toBe(`${id}:1`);

    alerts.down = false;
    const third = await sweepSegment({ ...worse, statuses: store() }, { runId: 'sweep-3', segment });
    expect(third.counts).toMatchObject({ deferred: 0, transitions: 1, alertsPublished: 2, alertsResent: 1 });
    expect(alerts.delivered.map((a) => [a.alertId, a.newState])).toEqual([
      [`${id}:1`, 'WARNING'],
      [`${id}:2`, 'MARGIN_CALL'],
    ]);
    const status = (await store().get([id])).get(id);
    expect(status).toMatchObject({ state: 'MARGIN_CALL', sequence: 2 });
    expect(status?.pendingAlert).toBeUndefined();
  });
});
