import { describe, expect, it } from 'vitest';
import { NoThresholdSetError, type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { account, btc } from './sweep-fixtures.ts';

async function setup(records: ConstructorParameters<typeof InMemoryAccountSource>[0]) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const ports = {
    accounts: new InMemoryAccountSource(records),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  } satisfies SweepPorts;
  return ports;
}

describe('sweepSegment', () => {
  const segment = { segment: 0, totalSegments: 1 };

  it('announces one alert per state change, with the ratio computed independently', async () => {
    // Prepare: maintenance requirement is 30,000 × 0.06 = 1,800 for one BTC.
    const ports = await setup([
      account('healthy', 10_000), // 5.56 → OK
      account('warning', 2_000), // 1.111 → WARNING
      account('call', 1_700), // 0.944 → MARGIN_CALL
      account('liquidate', 1_000), // 0.556 → LIQUIDATION
    ]);
    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment });
    // Assess
    expect(result.done).toBe(true);
    expect(result.counts).toMatchObject({ accounts: 4, transitions: 3, alertsPublished: 3, rejected: 0 });
    const byAccount = new Map(ports.alerts.published.map((a) => [a.accountId, a]));
    expect(byAccount.has('healthy')).toBe(false);
    expect(byAccount.get('warning')).toMatchObject({
      previousState: 'OK',
      newState: 'WARNING',
      severity: 'warning',
      sequence: 1,
    });
    expect(byAccount.get('call')).toMatchObject({ newState: 'MARGIN_CALL', severity: 'critical' });
    expect(byAccount.get('liquidate')).toMatchObject({
      newState: 'LIQUIDATION',
      thresholdSetId: 'set-1',
      runId: 'sweep-1',
    });
    expect(Number(byAccount.get('warning')?.marginRatio)).toBeCloseTo(2_000 / 1_800, 6);
    expect(Number(byAccount.get('warning')?.maintenanceRequirement)).toBeCloseTo(1_800, 6);
    // Shortfall to initial margin: 3,000 − 2,000.
    expect(Number(byAccount.get('warning')?.shortfallToInitial)).toBeCloseTo(1_000, 6);
    expect(ports.ops.events.at(-1)).toMatchObject({ type: 'sweep.completed', counts: { transitions: 3 } });
  });

  it('publishes nothing the second time over unchanged accounts', async () => {
    const ports = await setup([account('warning', 2_000), account('healthy', 10_000)]);
    await sweepSegment(ports, { runId: 'sweep-1', segment });
    const again = await sweepSegment(ports, { runId: 'sweep-2', segment });
    expect(again.counts.transitions).toBe(0);
    expect(ports.alerts.published).toHaveLength(1);
  });

  it('reports a bad record and an unvaluable account by key and reason, and sweeps the rest', async () => {
    const unknown: Account = {
      accountId: 'doge-holder',
      collateral: [{ asset: 'USD', amount: '100.00' }],
      positions: [
        { kind: 'perpetual', instrument: 'DOGE', quantity: '10', entryPrice: '0.1', settlement: 'linear' },
      ],
    };
    const ports = await setup([
      { accountKey: 'broken', reason: 'collateral[0].amount: must be a decimal string' },
      unknown,
      account('warning', 2_000),
    ]);
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment });
    expect(result.rejected.map((r) => r.accountKey)).toEqual(['broken', 'doge-holder']);
    expect(result.rejected[1]?.reason).toContain('DOGE');
    expect(result.counts).toMatchObject({ accounts: 1, rejected: 2, transitions: 1 });
    expect(ports.ops.events.find((e) => e.type === 'accounts.rejected')).toBeDefined();
  });

  it('stops when asked and resumes from its cursor, valuing every account exactly once', async () => {
    const records = Array.from({ length: 25 }, (_, i) => account(`a${i}`, 2_000));
    const ports = await setup(records);
    let pages = 0;
    const first = await sweepSegment(ports, {
      runId: 's',
      segment,
      pageSize: 10,
      shouldStop: () => ++pages >= 1,
    });
    expect(first).toMatchObject({ done: false, cursor: '10' });
    const second = await sweepSegment(ports, {
      runId: 's',
      segment,
      pageSize: 10,
      ...(first.cursor ? { cursor: first.cursor } : {}),
    });
    expect(second.done).toBe(true);
    expect(first.counts.accounts + second.counts.accounts).toBe(25);
    expect(new Set(ports.alerts.published.map((a) => a.accountId)).size).toBe(25);
    expect(ports.alerts.published).toHaveLength(25);
  });

  it('does not announce a transition another worker already applied', async () => {
    const ports = await setup([account('warning', 2_000)]);
    // Prepare: a concurrent worker moved the account first.
    await sweepSegment(ports, { runId: 'other', segment });
    ports.alerts.published.length = 0;
    ports.statuses.get = async () => new Map(); // this worker read before the other wrote
    const result = await sweepSegment(ports, { runId: 'late', segment });
    expect(result.counts).toMatchObject({ transitions: 0, stale: 1, alertsPublished: 0 });
    expect(ports.alerts.published).toHaveLength(0);
  });

  it('refuses to sweep without a CURRENT threshold set', async () => {
    const ports = await setup([]);
    ports.thresholds.current = undefined;
    await expect(sweepSegment(ports, { runId: 'x', segment })).rejects.toBeInstanceOf(NoThresholdSetError);
  });
});

describe('sweepSegment: the alert outbox (pendingAlert on the status)', () => {
  const segment = { segment: 0, totalSegments: 1 };

  it('re-sends an alert whose publish failed after the state was written, exactly once', async () => {
    const ports = await setup([account('warning', 2_000), account('healthy', 10_000)]);
    // Act 1: SNS is down for the whole page.
    ports.alerts.failWhen = () => true;
    const first = await sweepSegment(ports, { runId: 'sweep-1', segment });
    // Assess: the state moved, the alert waits on the status, nothing counted as published.
    expect(first.counts).toMatchObject({ transitions: 1, alertsPublished: 0, alertsFailed: 1 });
    expect(first.alerts).toEqual([]);
    const written = ports.statuses.items.get('warning');
    expect(written).toMatchObject({ state: 'WARNING', sequence: 1 });
    expect(written?.pendingAlert).toMatchObject({ alertId: 'warning:1', sequence: 1, newState: 'WARNING' });

    // Act 2: SNS is back. The account's state is unchanged, so only the outbox can bring the alert out.
    ports.alerts.failWhen = undefined;
    const second = await sweepSegment(ports, { runId: 'sweep-2', segment });
    expect(second.counts).toMatchObject({
      transitions: 0,
      alertsPublished: 1,
      alertsResent: 1,
      alertsFailed: 0,
      deferred: 0,
    });
    expect(ports.alerts.published).toEqual([written?.pendingAlert]);
    expect(ports.alerts.published[0]).toMatchObject({ alertId: 'warning:1', sequence: 1, runId: 'sweep-1' });
    expect(ports.statuses.items.get('warning')?.pendingAlert).toBeUndefined();
    expect(ports.statuses.items.get('warning')).toMatchObject({ state: 'WARNING', sequence: 1 });

    // Act 3: nothing pending, nothing changed: nothing goes out.
    const third = await sweepSegment(ports, { runId: 'sweep-3', segment });
    expect(third.counts).toMatchObject({ transitions: 0, alertsPublished: 0, alertsResent: 0 });
    expect(ports.alerts.published).toHaveLength(1);
  });

  it('clears the pending alert as soon as it is published, so a sweep that succeeds leaves none', async () => {
    const ports = await setup([account('warning', 2_000)]);
    await sweepSegment(ports, { runId: 'sweep-1', segment });
    expect(ports.statuses.items.get('warning')).toMatchObject({ sequence: 1 });
    expect(ports.statuses.items.get('warning')?.pendingAlert).toBeUndefined();
  });

  it('keeps only the alert that failed pending when the publisher fails one of several', async () => {
    const ports = await setup([account('warning', 2_000), account('call', 1_700), account('liq', 1_000)]);
    ports.alerts.failWhen = (a) => a.accountId === 'call';
    const first = await sweepSegment(ports, { runId: 'sweep-1', segment });
    expect(first.counts).toMatchObject({ transitions: 3, alertsPublished: 2, alertsFailed: 1 });
    expect(first.alerts.map((a) => a.accountId).sort()).toEqual(['liq', 'warning']);
    const pending = [...ports.statuses.items.values()].filter((s) => s.pendingAlert !== undefined);
    expect(pending.map((s) => s.pendingAlert?.alertId)).toEqual(['call:1']);

    ports.alerts.failWhen = undefined;
    const second = await sweepSegment(ports, { runId: 'sweep-2', segment });
    expect(second.counts).toMatchObject({ transitions: 0, alertsPublished: 1, alertsResent: 1 });
    expect(ports.alerts.published.map((a) => a.alertId).sort()).toEqual(['call:1', 'liq:1', 'warning:1']);
    expect([...ports.statuses.items.values()].every((s) => s.pendingAlert === undefined)).toBe(true);
  });

  it('delivers an older pending alert before a newer transition of the same account, losing neither', async () => {
    const ports = await setup([account('a', 2_000)]);
    ports.alerts.failWhen = () => true;
    await sweepSegment(ports, { runId: 'sweep-1', segment }); // OK → WARNING (sequence 1), not announced
    // The account gets worse while its first alert is still pending.
    ports.accounts = new InMemoryAccountSource([account('a', 1_700)]);
    ports.alerts.failWhen = undefined;
    const second = await sweepSegment(ports, { runId: 'sweep-2', segment });
    expect(second.counts).toMatchObject({ transitions: 1, alertsPublished: 2, alertsResent: 1 });
    expect(ports.alerts.published.map((a) => [a.alertId, a.previousState, a.newState])).toEqual([
      ['a:1', 'OK', 'WARNING'],
      ['a:2', 'WARNING', 'MARGIN_CALL'],
    ]);
    // The pending one went out in its own, earlier batch.
    expect(ports.alerts.calls.map((c) => c.map((a) => a.alertId))).toEqual([['a:1'], ['a:1'], ['a:2']]);
    expect(ports.statuses.items.get('a')).toMatchObject({ state: 'MARGIN_CALL', sequence: 2 });
    expect(ports.statuses.items.get('a')?.pendingAlert).toBeUndefined();
  });

  it('does not value an account whose pending alert still fails, so the newer transition cannot bury it', async () => {
    const ports = await setup([account('a', 2_000), account('b', 10_000)]);
    ports.alerts.failWhen = () => true;
    await sweepSegment(ports, { runId: 'sweep-1', segment });
    ports.accounts = new InMemoryAccountSource([account('a', 1_700), account('b', 10_000)]);
    // Still down: the older alert must not be overwritten by the MARGIN_CALL transition.
    const second = await sweepSegment(ports, { runId: 'sweep-2', segment });
    expect(second.counts).toMatchObject({ accounts: 1, deferred: 1, transitions: 0, alertsFailed: 1 });
    expect(ports.statuses.items.get('a')).toMatchObject({ state: 'WARNING', sequence: 1 });
    expect(ports.statuses.items.get('a')?.pendingAlert?.alertId).toBe('a:1');

    ports.alerts.failWhen = undefined;
    const third = await sweepSegment(ports, { runId: 'sweep-3', segment });
    expect(third.counts).toMatchObject({ deferred: 0, transitions: 1, alertsPublished: 2 });
    expect(ports.alerts.published.map((a) => a.alertId)).toEqual(['a:1', 'a:2']);
  });

  it('re-sends the same alertId when it died between publishing and clearing (subscribers dedupe)', async () => {
    const ports = await setup([account('a', 2_000)]);
    const markAlertPublished = ports.statuses.markAlertPublished.bind(ports.statuses);
    ports.statuses.markAlertPublished = async () => {
      throw new Error('Lambda killed');
    };
    await expect(sweepSegment(ports, { runId: 'sweep-1', segment })).rejects.toThrow('Lambda killed');
    expect(ports.statuses.items.get('a')?.pendingAlert?.alertId).toBe('a:1');

    ports.statuses.markAlertPublished = markAlertPublished;
    await sweepSegment(ports, { runId: 'sweep-2', segment });
    await sweepSegment(ports, { runId: 'sweep-3', segment });
    // At least once on the wire, one alertId: the second copy is the same message, deduped downstream.
    expect(ports.alerts.published.map((a) => a.alertId)).toEqual(['a:1', 'a:1']);
    expect(ports.alerts.published[1]).toEqual(ports.alerts.published[0]);
    expect(ports.statuses.items.get('a')?.pendingAlert).toBeUndefined();
  });

  it('leaves a newer pending alert alone when marking an older sequence published', async () => {
    const store = new InMemoryMarginStatusStore();
    const ports = await setup([account('a', 2_000)]);
    ports.alerts.failWhen = () => true;
    await sweepSegment({ ...ports, statuses: store }, { runId: 'sweep-1', segment });
    ports.accounts = new InMemoryAccountSource([account('a', 1_700)]);
    ports.alerts.failWhen = (a) => a.sequence === 2;
    await sweepSegment({ ...ports, statuses: store }, { runId: 'sweep-2', segment });
    expect(store.items.get('a')?.pendingAlert?.alertId).toBe('a:2');
    await store.markAlertPublished('a', 1);
    expect(store.items.get('a')?.pendingAlert?.alertId).toBe('a:2');
    await store.markAlertPublished('a', 2);
    expect(store.items.get('a')?.pendingAlert).toBeUndefined();
  });
});
