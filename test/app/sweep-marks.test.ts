// Market data apart from risk parameters: a sweep values at the MarkSnapshot it is given (or takes from its
// mark source), never at the threshold's reference price, and says where its marks came from.

import { describe, expect, it } from 'vitest';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { ReferenceCloseMarkSource } from '../../lib/app/reference-close-marks.ts';
import { type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import { sweepMoved } from '../../lib/app/targeted-sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { createMarkSnapshot } from '../../lib/domain/market/mark.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type { MarkSource } from '../../lib/ports.ts';
import { opsEventSchema } from '../../lib/schemas/ops-message.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { liveMarks } from './marks.ts';
import { account, btc, MM, PRICE } from './sweep-fixtures.ts';

const NOW = Date.UTC(2026, 10, 24, 0, 5);
const segment = { segment: 0, totalSegments: 1 };
const eth = { ...btc, instrument: 'ETH', referencePrice: 3_000 };
const SET: ThresholdSet = {
  setId: 'set-1',
  runId: 'run-1',
  createdAt: '2026-11-24T00:00:00Z',
  thresholds: [btc, eth],
};

/** One ETH perpetual at its reference close, 3,000: ratio = collateral / 180. */
const ethAccount = (accountId: string, collateral: number): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
  positions: [
    { kind: 'perpetual', instrument: 'ETH', quantity: '1', entryPrice: '3000', settlement: 'linear' },
  ],
});

async function setup(accounts: Account[], marks?: MarkSource) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(SET, undefined);
  return {
    accounts: new InMemoryAccountSource(accounts),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(NOW),
    ...(marks ? { marks } : {}),
  } satisfies SweepPorts;
}

// One BTC long entered at 30,000 with 2,300 USD: at the reference close the ratio is 2,300 / 1,800 = 1.28
// (OK). At a live mark of 29,000: equity 2,300 − 1,000 = 1,300, maintenance 0.06 × 29,000 = 1,740, ratio
// 0.747 (LIQUIDATION).
const LIVE = 29_000;
const expectedRatio = (2_300 - (PRICE - LIVE)) / (MM * LIVE);

describe('a sweep values at its MarkSnapshot, beside the threshold set', () => {
  it('values at the marks the request brings, not at the reference price, and reports them live', async () => {
    // Prepare
    const ports = await setup([account('near', 2_300)]);
    const marks = liveMarks({ BTC: LIVE }, NOW - 2_000, SET);
    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment, marks });
    // Assess: the mark moved the account; at the reference price (30,000) it would have stayed OK.
    expect(ports.alerts.published).toHaveLength(1);
    const alert = ports.alerts.published[0];
    expect(alert).toMatchObject({ accountId: 'near', newState: 'LIQUIDATION' });
    expect(Number(alert?.marginRatio)).toBeCloseTo(expectedRatio, 7);
    expect(Number(alert?.maintenanceRequirement)).toBeCloseTo(MM * LIVE, 6);
    expect(result.marks).toEqual({
      source: 'mixed', // BTC live, ETH at its reference close
      takenAt: new Date(NOW - 2_000).toISOString(),
      marked: 2,
      held: [],
    });
  });

  it('asks its mark source when the request brings no marks', async () => {
    const asked: string[][] = [];
    const source: MarkSource = {
      name: 'test-live',
      async snapshot(instruments) {
        asked.push([...instruments]);
        return createMarkSnapshot({
          takenAt: NOW,
          marks: instruments.map((instrument) => ({
            instrument,
            price: instrument === 'BTC' ? LIVE : 3_000,
            at: NOW - 500,
            source: 'live' as const,
            venues: ['deribit', 'binance'],
          })),
        });
      },
    };
    const ports = await setup([account('near', 2_300)], source);
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment });
    expect(asked).toEqual([['BTC', 'ETH']]);
    expect(Number(ports.alerts.published[0]?.marginRatio)).toBeCloseTo(expectedRatio, 7);
    expect(result.marks.source).toBe('live');
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.completed',
      marks: { source: 'live', takenAt: new Date(NOW).toISOString() },
    });
  });

  it('without live marks values at the reference closes and says so: source reference-close', async () => {
    // Prepare: 2,000 USD against 1,800 maintenance at the 30,000 close: WARNING (1.11).
    const ports = await setup([account('warned', 2_000)]);
    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment });
    // Assess
    expect(ports.alerts.published.map((a) => [a.accountId, a.newState])).toEqual([['warned', 'WARNING']]);
    expect(Number(ports.alerts.published[0]?.marginRatio)).toBeCloseTo(2_000 / (MM * PRICE), 8);
    const report = { source: 'reference-close', takenAt: new Date(NOW).toISOString(), marked: 2, held: [] };
    expect(result.marks).toEqual(report);
    expect(ports.ops.events.find((e) => e.type === 'sweep.completed')).toMatchObject({ marks: report });
  });

  it('leaves the accounts of a held instrument untouched and reports them; the others are valued', async () => {
    // Prepare: a first sweep at the closes puts 'btc-warned' in WARNING ('eth-moved' is OK: 2,070 / 180).
    // Then BTC's mark is held (no quorum) and ETH is marked live at 1,000: equity 70, maintenance 60.
    const ports = await setup([account('btc-warned', 2_000), ethAccount('eth-moved', 2_070)]);
    await sweepSegment(ports, { runId: 'sweep-1', segment });
    const before = structuredClone(ports.statuses.items.get('btc-warned'));
    expect(before).toMatchObject({ state: 'WARNING', sequence: 1 });
    const published = ports.alerts.published.length;
    const marks = createMarkSnapshot({
      takenAt: NOW + 60_000,
      marks: [{ instrument: 'ETH', price: 1_000, at: NOW + 59_000, source: 'live', venues: ['a', 'b'] }],
      held: [{ instrument: 'BTC', reason: 'no quorum: 1 of 3 venues answered' }],
    });
    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-2', segment, marks });
    // Assess: no transition, no alert, the stored status unchanged; the account is reported with its reason.
    expect(result.counts).toMatchObject({ accounts: 1, rejected: 1, transitions: 1 });
    expect(ports.alerts.published.slice(published).map((a) => [a.accountId, a.newState])).toEqual([
      ['eth-moved', 'WARNING'],
    ]);
    expect(ports.statuses.items.get('btc-warned')).toEqual(before);
    expect(result.rejected).toEqual([
      { accountKey: 'btc-warned', reason: expect.stringMatching(/no market data for instrument BTC$/) },
    ]);
    expect(result.marks).toEqual({
      source: 'live',
      takenAt: new Date(NOW + 60_000).toISOString(),
      marked: 1,
      held: [{ instrument: 'BTC', reason: 'no quorum: 1 of 3 venues answered' }],
    });
  });

  it('the targeted sweep values at its MarkSnapshot and reports its source', async () => {
    const ports = {
      ...(await setup([])),
      accounts: new InMemoryAccounts([account('near', 2_300)]),
      breachIndex: new InMemoryBreachIndex(),
    };
    await sweepSegment(ports, { runId: 'full-1', segment });
    const result = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: LIVE }, NOW, SET) });
    expect(result.alerts.map((a) => [a.accountId, a.newState])).toEqual([['near', 'LIQUIDATION']]);
    expect(Number(result.alerts[0]?.marginRatio)).toBeCloseTo(expectedRatio, 7);
    expect(result.marks.source).toBe('mixed');
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.completed',
      marks: result.marks,
    });
    // A look is not a segment: the field is absent, and the event keeps the published ops contract.
    expect(ports.ops.events.at(-1)).not.toHaveProperty('segment');
    expect(opsEventSchema.safeParse(ports.ops.events.at(-1)).error).toBeUndefined();
  });
});

describe('ReferenceCloseMarkSource', () => {
  it('marks each instrument of the CURRENT set at its reference close, timed at the end of its day', async () => {
    const thresholds = new InMemoryThresholdStore();
    const { referencePrice: _p, ...unpriced } = { ...btc, instrument: 'DOGE' };
    await thresholds.publishSet(
      { ...SET, thresholds: [btc, eth, { ...unpriced, status: 'held' }] },
      undefined,
    );
    const source = new ReferenceCloseMarkSource(thresholds, new FixedClock(NOW));
    const snapshot = await source.snapshot(['BTC', 'DOGE', 'SOL']);
    expect(snapshot.takenAt).toBe(NOW);
    expect([...snapshot.marks.values()]).toEqual([
      { instrument: 'BTC', price: PRICE, at: Date.UTC(2026, 10, 24), source: 'reference-close', venues: [] },
    ]);
    expect([...snapshot.held.values()]).toEqual([
      { instrument: 'DOGE', reason: 'no reference close to mark at' },
      { instrument: 'SOL', reason: 'not in the CURRENT threshold set' },
    ]);
  });

  it('holds every instrument before the first threshold set', async () => {
    const source = new ReferenceCloseMarkSource(new InMemoryThresholdStore(), new FixedClock(NOW));
    const snapshot = await source.snapshot(['BTC']);
    expect(snapshot.marks.size).toBe(0);
    expect([...snapshot.held.values()]).toEqual([{ instrument: 'BTC', reason: 'no CURRENT threshold set' }]);
  });
});
