import { describe, expect, it } from 'vitest';
import { marketSnapshotFromSet } from '../../../lib/domain/valuation/snapshot.ts';
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
