import { describe, expect, it } from 'vitest';
import { DynamoDbMarginStatusStore } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../../lib/adapters/dynamodb/run-ledger.ts';
import type { Lease } from '../../../lib/ports.ts';
import { sampleTransition } from '../../adapters/dynamodb/support.ts';
import { uniqueId, useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

describe('DynamoDbMarginStatusStore on DynamoDB Local', () => {
  const store = () => new DynamoDbMarginStatusStore(db.local.client, db.local.tables.marginStatus);

  it('applies a transition delivered twice at once exactly once', async () => {
    const accountId = uniqueId('acc');
    const transition = sampleTransition(accountId, 0);
    // Two workers (separate store objects) handling the same SQS message.
    const outcomes = await Promise.all([
      store().applyTransition(transition),
      store().applyTransition(transition),
    ]);
    expect(outcomes.sort()).toEqual(['applied', 'stale']);
    expect((await store().get([accountId])).get(accountId)?.sequence).toBe(1);

    const next = sampleTransition(accountId, 1);
    const again = await Promise.all([1, 2, 3].map(() => store().applyTransition(next)));
    expect(again.sort()).toEqual(['applied', 'stale', 'stale']);
    const status = (await store().get([accountId])).get(accountId);
    expect(status).toEqual({
      accountId,
      state: 'WARNING',
      sequence: 2,
      updatedAt: next.alert.occurredAt,
      thresholdSetId: 'set-1',
      runId: 'run-1',
      marginRatio: '1.250625',
      pendingAlert: next.alert,
    });
  });

  it('turns a late worker (an older expected sequence) away', async () => {
    const accountId = uniqueId('acc');
    await store().applyTransition(sampleTransition(accountId, 0));
    await store().applyTransition(sampleTransition(accountId, 1));
    await expect(store().applyTransition(sampleTransition(accountId, 1))).resolves.toBe('stale');
    await expect(store().applyTransition(sampleTransition(accountId, 0))).resolves.toBe('stale');
    expect((await store().get([accountId])).get(accountId)?.sequence).toBe(2);
  });

  it('clears the pending alert only for the sequence it belongs to', async () => {
    const accountId = uniqueId('acc');
    const first = sampleTransition(accountId, 0);
    await store().applyTransition(first);
    expect((await store().get([accountId])).get(accountId)?.pendingAlert).toEqual(first.alert);
    const second = sampleTransition(accountId, 1);
    await store().applyTransition(second);
    // A late confirmation of the first alert must not remove the second one's.
    await store().markAlertPublished(accountId, 1);
    expect((await store().get([accountId])).get(accountId)?.pendingAlert).toEqual(second.alert);
    await store().markAlertPublished(accountId, 2);
    const status = (await store().get([accountId])).get(accountId);
    expect(status).toMatchObject({ sequence: 2, state: 'WARNING' });
    expect(status?.pendingAlert).toBeUndefined();
    // Twice, or for an account with no status: nothing happens.
    await store().markAlertPublished(accountId, 2);
    await store().markAlertPublished(uniqueId('acc'), 1);
    expect((await store().get([accountId])).get(accountId)).toEqual(status);
  });

  it('stores and reads back a pending alert with an undefined ratio', async () => {
    const accountId = uniqueId('acc');
    const transition = sampleTransition(accountId, 0);
    const alert = { ...transition.alert, marginRatio: null };
    await store().applyTransition({ ...transition, alert });
    expect((await store().get([accountId])).get(accountId)?.pendingAlert).toEqual(alert);
  });

  it('gets many statuses at once, leaving out accounts that have none', async () => {
    const ids = Array.from({ length: 150 }, () => uniqueId('acc'));
    await Promise.all(ids.slice(0, 120).map((id) => store().applyTransition(sampleTransition(id, 0))));
    const statuses = await store().get(ids);
    expect(statuses.size).toBe(120);
    expect([...statuses.values()].every((s) => s.sequence === 1)).toBe(true);
  });
});

describe('DynamoDbRunLedger on DynamoDB Local', () => {
  function ledgers() {
    let now = Date.parse('2024-03-02T00:05:00Z');
    // Each test has its own lease, so tests do not contend for `recalibration`.
    const leaseName = uniqueId('lease');
    const make = () =>
      new DynamoDbRunLedger(db.local.client, db.local.tables.runs, { leaseName, clock: { now: () => now } });
    return { make, advance: (ms: number) => (now += ms) };
  }

  it('holds the lease against every other run until it expires or is released', async () => {
    const { make, advance } = ledgers();
    const runA = uniqueId('run');
    const runB = uniqueId('run');
    const first = await make().acquire(runA, 'lambda-1', 60_000);
    expect(first).toMatchObject({ runId: runA, holder: 'lambda-1' });
    // Held: neither another holder of the same run nor another run may take it.
    await expect(make().acquire(runA, 'lambda-2', 60_000)).resolves.toBeUndefined();
    await expect(make().acquire(runB, 'lambda-2', 60_000)).resolves.toBeUndefined();

    // Expired: a retry of the same run takes it over.
    advance(60_001);
    const second = await make().acquire(runA, 'lambda-2', 60_000);
    expect(second).toMatchObject({ runId: runA, holder: 'lambda-2' });

    // The first holder wakes up late: it may not record an outcome for a run it lost.
    await expect(make().complete(first as Lease, 'succeeded', { instruments: 3 })).rejects.toThrow(
      /not held by lambda-1/,
    );
    await make().complete(second as Lease, 'succeeded', { instruments: 3, held: 0 }, 'all good');

    // Released: the next run starts at once; the completed run never again.
    await expect(make().acquire(runA, 'lambda-3', 60_000)).resolves.toBeUndefined();
    await expect(make().acquire(runB, 'lambda-3', 60_000)).resolves.toMatchObject({ runId: runB });
  });

  it('gives a succeeded run to nobody, even after the lease is free', async () => {
    const { make, advance } = ledgers();
    const run = uniqueId('run');
    const lease = await make().acquire(run, 'lambda-1', 1_000);
    await make().complete(lease as Lease, 'succeeded', { instruments: 3 });
    advance(10_000);
    await expect(make().acquire(run, 'lambda-2', 1_000)).resolves.toBeUndefined();
  });

  it('lets a failed run be retried, once the lease is free', async () => {
    const { make, advance } = ledgers();
    const run = uniqueId('run');
    const lease = await make().acquire(run, 'lambda-1', 1_000);
    await make().complete(lease as Lease, 'failed', {}, 'no market data');
    advance(10_000);
    await expect(make().acquire(run, 'lambda-2', 1_000)).resolves.toMatchObject({
      runId: run,
      holder: 'lambda-2',
    });
  });

  it('grants one lease among concurrent acquirers', async () => {
    const { make } = ledgers();
    const run = uniqueId('run');
    const leases = await Promise.all(
      Array.from({ length: 5 }, (_, i) => make().acquire(run, `lambda-${i}`, 60_000)),
    );
    expect(leases.filter((lease) => lease !== undefined)).toHaveLength(1);
  });
});
