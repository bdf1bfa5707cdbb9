import { describe, expect, it } from 'vitest';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { opsSeverity } from '../../lib/adapters/sns/ops-message.ts';
import { type MarketWatchPorts, watchMarket } from '../../lib/app/market-watch.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import type { MarkSnapshot } from '../../lib/domain/market/mark.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';
import type { MarkSource } from '../../lib/ports.ts';
import { opsEventSchema } from '../../lib/schemas/ops-message.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { liveMarks } from './marks.ts';
import { account, btc, PRICE } from './sweep-fixtures.ts';

const ETH_PRICE = 2_000;
const eth: Threshold = { ...btc, instrument: 'ETH', referencePrice: ETH_PRICE };
const segment = { segment: 0, totalSegments: 1 };
const MINUTE = Date.UTC(2026, 10, 24, 14, 0);

/** Whatever snapshot the test sets; records what it was asked for. */
class SetMarks implements MarkSource {
  readonly name = 'set';
  readonly asked: string[][] = [];
  constructor(public next: MarkSnapshot) {}
  async snapshot(instruments: readonly string[]): Promise<MarkSnapshot> {
    this.asked.push([...instruments]);
    return this.next;
  }
}

/** One ETH perpetual at 2,000, maintenance 6%: ratio = collateral / 120. */
const ethAccount = (accountId: string, collateral: number): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
  positions: [
    {
      kind: 'perpetual',
      instrument: 'ETH',
      quantity: '1',
      entryPrice: String(ETH_PRICE),
      settlement: 'linear',
    },
  ],
});

const btcNear = account('btc-near', 2_300); // 1.28: WARNING once BTC is under about 29,770
const btcFar = account('btc-far', 20_000);
const ethNear = ethAccount('eth-near', 153.6); // 1.28: WARNING once ETH is under about 1,985

const held = (instrument: string, takenAt = MINUTE): MarkSnapshot => ({
  ...liveMarks({ BTC: PRICE }, takenAt),
  held: new Map([
    [instrument, { instrument, reason: 'no quorum: 1 of 2 venues answered', cause: 'no-quorum' }],
  ]),
});

/** `lost`: an account whose alerts the full sweep's publication loses (left pending in its outbox). */
async function setup(accounts: Account[], lost?: string) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc, eth] },
    undefined,
  );
  const store = new InMemoryAccounts(accounts);
  const marks = new SetMarks(liveMarks({ BTC: PRICE, ETH: ETH_PRICE }, MINUTE));
  const ports = {
    accounts: store,
    breachIndex: new InMemoryBreachIndex(),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(MINUTE),
    marks,
  } satisfies MarketWatchPorts;
  // The full sweep at the previous marks builds every band.
  if (lost !== undefined) ports.alerts.failWhen = (alert) => alert.accountId === lost;
  const full = await sweepSegment(ports, { runId: 'full-1', segment });
  ports.alerts.failWhen = undefined;
  expect(full.counts.indexed).toBe(accounts.length);
  return { ports, store, marks };
}

describe('watchMarket', () => {
  it('sweeps only the accounts whose band the move crossed, at marks for every instrument of the set', async () => {
    const { ports, store, marks } = await setup([btcNear, btcFar, ethNear]);
    marks.next = liveMarks({ BTC: PRICE * 0.99, ETH: ETH_PRICE }, MINUTE);
    const before = store.reads.getItems;

    const result = await watchMarket(ports, { runId: 'watch-1' });

    expect(marks.asked).toContainEqual(['BTC', 'ETH']);
    expect(result.sweep?.revisited).toEqual(['btc-near']);
    expect(store.reads.getItems - before).toBe(1);
    expect(result.sweep?.alerts.map((a) => [a.accountId, a.newState])).toEqual([['btc-near', 'WARNING']]);
    expect(result).toMatchObject({ marked: 2, held: [], recalibrated: [] });
    expect(ports.ops.events.some((e) => e.type === 'marks.held')).toBe(false);
  });

  it('re-sends, at a quiet minute, the alert the full sweep could not publish (no full sweep needed)', async () => {
    const { ports, store } = await setup([btcNear, account('btc-warned', 2_000)], 'btc-warned');
    const [lost] = ports.alerts.calls.flat();
    expect(lost).toMatchObject({ accountId: 'btc-warned', newState: 'WARNING' });
    expect(ports.alerts.published).toEqual([]);
    const reads = store.reads.getItems;

    // The marks have not moved: no band is crossed, only the undelivered alert's account is revisited.
    const result = await watchMarket(ports, { runId: 'watch-1' });

    expect(result.sweep?.revisited).toEqual(['btc-warned']);
    expect(store.reads.getItems - reads).toBe(1);
    expect(result.sweep?.counts).toMatchObject({ alertsResent: 1, transitions: 0 });
    expect(ports.alerts.published.map((a) => a.alertId)).toEqual([lost?.alertId]);
    expect((await ports.statuses.get(['btc-warned'])).get('btc-warned')?.pendingAlert).toBeUndefined();
    // Delivered once: the next minute neither reads it nor repeats it.
    const next = await watchMarket(ports, { runId: 'watch-2' });
    expect(next.sweep?.counts.revisited).toBe(0);
    expect(ports.alerts.published).toHaveLength(1);
  });

  it('leaves a held instrument’s accounts where they are and reports it to ops, by cause', async () => {
    const { ports, marks } = await setup([btcNear, ethNear]);
    // ETH's venues disagree: no mark for it. Its accounts must not be revisited, worsened or recovered.
    marks.next = held('ETH');

    const result = await watchMarket(ports, { runId: 'watch-1' });

    expect(result.sweep?.revisited ?? []).not.toContain('eth-near');
    expect(result.sweep?.counts.crossed).toBe(0);
    expect((await ports.statuses.get(['eth-near'])).get('eth-near')?.state ?? 'OK').toBe('OK');
    expect(result.heldCounts).toEqual({ 'no-quorum': 1, stale: 0, 'unconfirmed-jump': 0, other: 0 });
    expect(ports.ops.events).toContainEqual({
      type: 'marks.held',
      runId: 'watch-1',
      takenAt: new Date(MINUTE).toISOString(),
      held: [{ instrument: 'ETH', reason: 'no quorum: 1 of 2 venues answered', cause: 'no-quorum' }],
    });
    expect(ports.alerts.published).toEqual([]);
  });

  it('does not value an account through a held instrument even when its other instrument moved', async () => {
    const both: Account = {
      accountId: 'both',
      collateral: [{ asset: 'USD', amount: '2453.60' }],
      positions: [...btcNear.positions, ...ethNear.positions],
    };
    const { ports, marks } = await setup([both]);
    marks.next = { ...held('ETH'), marks: liveMarks({ BTC: PRICE * 0.9 }, MINUTE).marks };

    const result = await watchMarket(ports, { runId: 'watch-1' });

    expect(result.sweep?.revisited).toEqual(['both']);
    expect(result.sweep?.counts.transitions).toBe(0);
    expect(ports.alerts.published).toEqual([]);
    expect((await ports.statuses.get(['both'])).get('both')?.state ?? 'OK').toBe('OK');
  });

  it('announces nothing new when the same minute runs twice, one after the other or at once', async () => {
    const { ports, marks } = await setup([btcNear, btcFar, ethNear]);
    marks.next = liveMarks({ BTC: PRICE * 0.99, ETH: ETH_PRICE * 0.99 }, MINUTE);

    const first = await watchMarket(ports, { runId: 'watch-2026-11-24T14:00:00Z' });
    const again = await watchMarket(ports, { runId: 'watch-2026-11-24T14:00:00Z' });
    expect(first.sweep?.alerts.map((a) => a.accountId).sort()).toEqual(['btc-near', 'eth-near']);
    expect(again.sweep?.alerts).toEqual([]);
    expect(ports.alerts.published).toHaveLength(2);

    // Two deliveries of the next minute at once: both read the index before either re-indexes, both revisit
    // the account; the status sequence lets one transition through.
    marks.next = liveMarks({ BTC: PRICE * 0.9, ETH: ETH_PRICE * 0.99 }, MINUTE + 60_000);
    const [a, b] = await Promise.all([
      watchMarket(ports, { runId: 'watch-2026-11-24T14:01:00Z' }),
      watchMarket(ports, { runId: 'watch-2026-11-24T14:01:00Z' }),
    ]);
    expect(a.sweep?.revisited).toContain('btc-near');
    expect(b.sweep?.revisited).toContain('btc-near');
    const calls = ports.alerts.published.filter(
      (x) => x.accountId === 'btc-near' && x.newState !== 'WARNING',
    );
    expect(calls).toHaveLength(1);
    expect(new Set(ports.alerts.published.map((x) => x.alertId)).size).toBe(ports.alerts.published.length);
  });

  it('hands every snapshot to the shock step first, and sweeps even when that step fails', async () => {
    const { ports, marks } = await setup([btcNear]);
    marks.next = liveMarks({ BTC: PRICE * 0.99, ETH: ETH_PRICE }, MINUTE);
    const seen: MarkSnapshot[] = [];
    const ok = await watchMarket(
      {
        ...ports,
        onMarks: async (snapshot) => {
          seen.push(snapshot);
          return { recalibrated: ['BTC'] };
        },
      },
      { runId: 'watch-1' },
    );
    expect(seen).toEqual([marks.next]);
    expect(ok.recalibrated).toEqual(['BTC']);

    marks.next = liveMarks({ BTC: PRICE * 0.9, ETH: ETH_PRICE }, MINUTE + 60_000);
    const failed = await watchMarket(
      {
        ...ports,
        onMarks: async () => {
          throw new Error('lease held by the daily run');
        },
      },
      { runId: 'watch-2' },
    );
    expect(failed.shockError).toMatch(/lease held/);
    expect(failed.sweep?.alerts.map((a) => a.newState)).toEqual(['LIQUIDATION']);
    // A failed recalibration (nothing was raised), not a sweep segment: no sentinel segment any more.
    expect(ports.ops.events).toContainEqual({
      type: 'recalibration.failed',
      runId: 'watch-2',
      reason: 'shock step: Error: lease held by the daily run',
    });
    expect(ports.ops.events.some((e) => e.type === 'sweep.failed')).toBe(false);
  });

  it('skips the targeted sweep when the shock step flipped the set, and reports a full sweep it could not queue', async () => {
    const { ports, store, marks } = await setup([btcNear]);
    marks.next = liveMarks({ BTC: PRICE * 0.7, ETH: ETH_PRICE }, MINUTE);
    const reads = store.reads.getItems;
    const result = await watchMarket(
      {
        ...ports,
        onMarks: async () => ({
          recalibrated: ['BTC'],
          fullSweep: { runId: 'sweep-shock#1', setId: 'shock#1', error: 'IncompleteBatchError: queue down' },
        }),
      },
      { runId: 'watch-1' },
    );
    // Nothing valued at the set being replaced: the new set's full sweep values every account.
    expect(result.sweep).toBeUndefined();
    expect(store.reads.getItems).toBe(reads);
    expect(ports.alerts.published).toEqual([]);
    expect(result.fullSweep).toEqual({
      runId: 'sweep-shock#1',
      setId: 'shock#1',
      error: 'IncompleteBatchError: queue down',
    });
    // Its own event, naming the raised set and instruments (before: `sweep.failed` with segment -1).
    const notQueued = {
      type: 'sweep.not-queued',
      runId: 'sweep-shock#1',
      setId: 'shock#1',
      instruments: ['BTC'],
      reason: 'IncompleteBatchError: queue down',
    } as const;
    expect(ports.ops.events).toContainEqual(notQueued);
    expect(ports.ops.events.some((e) => e.type === 'sweep.failed')).toBe(false);
    expect(opsEventSchema.parse(notQueued)).toEqual(notQueued);
    expect(opsSeverity(notQueued)).toBe('warning');
  });

  it('takes no marks and sweeps nothing before the first recalibration', async () => {
    const marks = new SetMarks(liveMarks({ BTC: PRICE }, MINUTE));
    const result = await watchMarket(
      {
        accounts: new InMemoryAccounts([btcNear]),
        breachIndex: new InMemoryBreachIndex(),
        thresholds: new InMemoryThresholdStore(),
        statuses: new InMemoryMarginStatusStore(),
        alerts: new RecordingAlerts(),
        ops: new RecordingOps(),
        clock: new FixedClock(MINUTE),
        marks,
      },
      { runId: 'watch-1' },
    );
    expect(result.sweep).toBeUndefined();
    expect(marks.asked).toEqual([]);
  });
});
