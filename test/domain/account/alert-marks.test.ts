// The marks an alert carries: the account's instruments and its marked collateral, at the sweep's marks.
import { describe, expect, it } from 'vitest';
import type { Account } from '../../../lib/domain/account/account.ts';
import { alertMarks, evaluateAccount } from '../../../lib/domain/account/state-machine.ts';
import { createMarkSnapshot } from '../../../lib/domain/market/mark.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { marketSnapshotAt } from '../../../lib/domain/valuation/snapshot.ts';
import { btc } from '../../app/sweep-fixtures.ts';

const NOW = Date.UTC(2026, 11, 3, 14, 0);
const eth = { ...btc, instrument: 'ETH', referencePrice: 2_000 };
const sol = { ...btc, instrument: 'SOL', referencePrice: 150 };
const set = { setId: 's', runId: 'r', createdAt: '2026-12-03T00:00:00Z', thresholds: [btc, eth, sol] };
const marks = createMarkSnapshot({
  takenAt: NOW,
  marks: [
    { instrument: 'BTC', price: 28_000.25, at: NOW - 1_000, source: 'live', venues: ['kraken', 'deribit'] },
    { instrument: 'ETH', price: 1_900, at: NOW - 2_000, source: 'live', venues: ['kraken', 'deribit'] },
    { instrument: 'SOL', price: 140, at: NOW - 3_000, source: 'live', venues: ['kraken', 'deribit'] },
  ],
});

const holder: Account = {
  accountId: 'acc-1',
  collateral: [
    { asset: 'USDT', amount: '100.00' },
    { asset: 'ETH', amount: '0.01', haircut: 0.1 },
  ],
  positions: [
    {
      kind: 'perpetual',
      instrument: 'BTC',
      quantity: '1',
      entryPrice: '30000',
      settlement: 'linear',
    },
  ],
};

describe('alertMarks', () => {
  it("are the marks of the account's instruments and marked collateral, not stablecoins or what it does not hold", () => {
    const snapshot = marketSnapshotAt(set, marks);
    expect(alertMarks(holder, snapshot, NOW)).toEqual({
      BTC: { price: '28000.25', at: new Date(NOW - 1_000).toISOString() },
      ETH: { price: '1900', at: new Date(NOW - 2_000).toISOString() },
    });
  });

  it("go into the alert of a state change, equal to the snapshot's", () => {
    // 1 BTC bought at 30,000 marked at 28,000.25 with ~119 USD of collateral: deep under water.
    const snapshot = marketSnapshotAt(set, marks);
    const { transition } = evaluateAccount(holder, snapshot, undefined, DEFAULT_THRESHOLD_POLICY.levels, {
      thresholdSetId: 's',
      runId: 'r',
      asOf: NOW,
    });
    expect(transition?.alert.newState).toBe('LIQUIDATION');
    expect(transition?.alert.marks).toEqual({
      BTC: { price: '28000.25', at: new Date(NOW - 1_000).toISOString() },
      ETH: { price: '1900', at: new Date(NOW - 2_000).toISOString() },
    });
  });
});
