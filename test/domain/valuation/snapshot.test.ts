import { describe, expect, it } from 'vitest';
import { createMarkSnapshot, referenceCloseMarks } from '../../../lib/domain/market/mark.ts';
import { marketSnapshotAt, marketSnapshotFromSet } from '../../../lib/domain/valuation/snapshot.ts';
import { btc } from '../../app/sweep-fixtures.ts';

describe('marketSnapshotFromSet', () => {
  it('leaves out a threshold held without a price, so its positions cannot be valued at a made-up mark', () => {
    // Prepare: ETH held at the cap on its first run, with no trustworthy close.
    const unpriced = { ...btc, instrument: 'ETH', referencePrice: 0, status: 'held' as const };
    const set = { setId: 's', runId: 'r', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc, unpriced] };
    // Act
    const snapshot = marketSnapshotFromSet(set);
    // Assess
    expect([...snapshot.instruments.keys()]).toEqual(['BTC']);
    expect(snapshot.assetPrices.has('ETH')).toBe(false);
    expect(snapshot.assetPrices.get('BTC')).toBe(btc.referencePrice);
  });

  it('uses a live mark over the reference price, even for an instrument held without one', () => {
    const unpriced = { ...btc, instrument: 'ETH', referencePrice: 0 };
    const snapshot = marketSnapshotFromSet(
      { setId: 's', runId: 'r', createdAt: '2026-11-24T00:00:00Z', thresholds: [unpriced] },
      { markPrices: { ETH: 2_000 } },
    );
    expect(snapshot.instruments.get('ETH')?.markPrice).toBe(2_000);
  });
});

describe('marketSnapshotAt', () => {
  const eth = { ...btc, instrument: 'ETH', referencePrice: 3_000 };
  const set = { setId: 's', runId: 'r', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc, eth] };
  const at = Date.UTC(2026, 10, 24, 0, 5);

  it('marks at the MarkSnapshot, never at the reference price; a held or missing instrument is left out', () => {
    // Act: BTC marked live at 29,000; ETH held.
    const snapshot = marketSnapshotAt(
      set,
      createMarkSnapshot({
        takenAt: at,
        marks: [{ instrument: 'BTC', price: 29_000, at, source: 'live', venues: ['a', 'b'] }],
        held: [{ instrument: 'ETH', reason: 'stale' }],
      }),
      { policy: { grid: { method: 'span' } } },
    );
    // Assess
    expect([...snapshot.instruments.keys()]).toEqual(['BTC']);
    expect(snapshot.instruments.get('BTC')?.markPrice).toBe(29_000);
    expect(snapshot.instruments.get('BTC')?.threshold).toBe(btc);
    expect(snapshot.assetPrices.get('BTC')).toBe(29_000);
    expect(snapshot.assetPrices.has('ETH')).toBe(false);
    expect(snapshot.policy.grid.method).toBe('span');
  });

  it("at reference closes gives the same snapshot the reference prices did, with the closes' times", () => {
    const marks = referenceCloseMarks(set, at);
    const snapshot = marketSnapshotAt(set, marks);
    const fromPrices = marketSnapshotFromSet(set);
    // Each instrument carries when its mark was observed (for the alert's marks); all else is the same.
    for (const [instrument, market] of snapshot.instruments) {
      expect(market.markedAt).toBe(marks.marks.get(instrument)?.at);
    }
    const withoutTimes = new Map(
      [...snapshot.instruments].map(([instrument, { markedAt: _, ...market }]) => [instrument, market]),
    );
    expect({ ...snapshot, instruments: withoutTimes }).toEqual(fromPrices);
  });

  it('refuses a mark that is not a positive number, naming the instrument', () => {
    const marks = {
      takenAt: at,
      marks: new Map([
        ['BTC', { instrument: 'BTC', price: Number.NaN, at, source: 'live' as const, venues: [] }],
      ]),
      held: new Map(),
    };
    expect(() => marketSnapshotAt(set, marks)).toThrow(/BTC: mark price must be a positive number/);
  });
});
