/**
 * The watchlist: a sweep reads only the statuses of accounts not OK or with an alert pending, and reads any
 * other account's status just before it changes state. It must announce exactly what a sweep that reads
 * every status announces.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import type { Account, MarginStatus } from '../../lib/domain/account/account.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { account, btc } from './sweep-fixtures.ts';

const segment = { segment: 0, totalSegments: 1 };
const levels = { warning: 1.2, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 };

async function world(watchlist: boolean) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const statuses = new InMemoryMarginStatusStore({ watchlist });
  const alerts = new RecordingAlerts();
  let run = 0;
  const sweep = (accounts: readonly Account[], pageSize = 3) => {
    run++;
    const ports: SweepPorts = {
      accounts: new InMemoryAccountSource(accounts),
      thresholds,
      statuses,
      alerts,
      ops: new RecordingOps(),
      clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5 * run)),
    };
    return sweepSegment(ports, { runId: `sweep-${run}`, segment, pageSize, levels });
  };
  return { statuses, alerts, sweep };
}

/** A stored status at `sequence` in `state`, optionally with its alert still pending. */
function stored(accountId: string, state: MarginStatus['state'], sequence: number): MarginStatus {
  return {
    accountId,
    state,
    sequence,
    updatedAt: '2026-11-23T00:00:00.000Z',
    thresholdSetId: 'set-0',
    runId: 'sweep-0',
    marginRatio: '5.00000000',
  };
}

describe('sweepSegment with a watchlist', () => {
  it('announces what a sweep reading every status announces, over any path of collateral (property)', async () => {
    // Collateral for one BTC at 30,000 (maintenance 1,800): OK, the hysteresis band, each level, below.
    const collateral = fc.constantFrom(10_000, 2_200, 2_000, 1_850, 1_700, 1_500, 1_000);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(collateral, { minLength: 5, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1, max: 6 }),
        async (path, pageSize) => {
          const watched = await world(true);
          const plain = await world(false);
          for (const step of path) {
            const accounts = step.map((c, i) => account(`acc-${i}`, c));
            const a = await watched.sweep(accounts, pageSize);
            const b = await plain.sweep(accounts, pageSize);
            expect(a.counts).toEqual(b.counts);
          }
          // The same alerts; within a page, accounts re-read off the watchlist are announced after the others.
          const summary = (alerts: RecordingAlerts) =>
            alerts.published.map((x) => `${x.alertId} ${x.previousState}→${x.newState}`).sort();
          expect(summary(watched.alerts)).toEqual(summary(plain.alerts));
          expect([...watched.statuses.items]).toEqual([...plain.statuses.items]);
          // Watched exactly: not OK, or an alert pending.
          const expectedWatch = [...watched.statuses.items.values()]
            .filter((s) => s.state !== 'OK' || s.pendingAlert)
            .map((s) => s.accountId)
            .sort();
          expect([...watched.statuses.watch].sort()).toEqual(expectedWatch);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads only the watched statuses when nothing changes', async () => {
    const { statuses, sweep } = await world(true);
    const accounts = [account('ok-1', 10_000), account('ok-2', 10_000), account('warn', 2_000)];
    await sweep(accounts, 10);
    statuses.reads.length = 0;
    const steady = await sweep(accounts, 10);
    expect(steady.counts).toMatchObject({ accounts: 3, transitions: 0 });
    expect(statuses.reads).toEqual([['warn']]);
  });

  it('reads the stored status of an account off the watchlist before it worsens: the alert carries its sequence', async () => {
    const { statuses, alerts, sweep } = await world(true);
    // Back to OK long ago at sequence 4, so not watched.
    statuses.items.set('acc', stored('acc', 'OK', 4));
    const result = await sweep([account('acc', 1_700)]);
    expect(result.counts).toMatchObject({ transitions: 1, stale: 0 });
    expect(alerts.published[0]).toMatchObject({
      alertId: 'acc:5',
      previousState: 'OK',
      newState: 'MARGIN_CALL',
    });
    expect(statuses.reads).toEqual([[], ['acc']]);
  });

  it('holds an account whose pending alert the watchlist has not caught up with, and sends that alert first', async () => {
    const { statuses, alerts, sweep } = await world(true);
    // A transition to WARNING written a moment ago whose alert is still pending; the index lags behind.
    const pendingAlert = {
      schemaVersion: '1.1',
      eventType: 'margin.state_changed',
      alertId: 'acc:1',
      accountId: 'acc',
      previousState: 'OK',
      newState: 'WARNING',
      severity: 'warning',
      sequence: 1,
      equity: '2000.00000000',
      initialRequirement: '3000.00000000',
      maintenanceRequirement: '1800.00000000',
      marginRatio: '1.11111111',
      shortfallToInitial: '1000.00000000',
      thresholdSetId: 'set-1',
      runId: 'sweep-0',
      occurredAt: '2026-11-24T00:00:00.000Z',
      marks: {},
    } as const;
    statuses.items.set('acc', { ...stored('acc', 'WARNING', 1), pendingAlert });
    const first = await sweep([account('acc', 1_700)]);
    expect(first.counts).toMatchObject({ transitions: 0, deferred: 1 });
    expect(alerts.published).toEqual([]);
    // The index catches up: the pending alert goes out, then the newer change.
    statuses.watch.add('acc');
    const second = await sweep([account('acc', 1_700)]);
    expect(second.counts).toMatchObject({ alertsResent: 1, transitions: 1 });
    expect(alerts.published.map((a) => a.alertId)).toEqual(['acc:1', 'acc:2']);
  });

  it('takes an account off the watchlist once its alert back to OK is out, and keeps it on while that alert fails', async () => {
    const { statuses, alerts, sweep } = await world(true);
    await sweep([account('acc', 2_000)]);
    expect(statuses.watch.has('acc')).toBe(true);
    alerts.failWhen = () => true;
    await sweep([account('acc', 10_000)]);
    expect(statuses.items.get('acc')?.state).toBe('OK');
    expect(statuses.watch.has('acc')).toBe(true);
    alerts.failWhen = undefined;
    const third = await sweep([account('acc', 10_000)]);
    expect(third.counts).toMatchObject({ alertsResent: 1 });
    expect(statuses.watch.has('acc')).toBe(false);
  });
});
