import { describe, expect, it } from 'vitest';
import { DynamoDbCandleStore } from '../../../lib/adapters/dynamodb/candle-store.ts';
import { candlesTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { StoredCandleSource } from '../../../lib/adapters/market/stored.ts';
import { type Candle, DAY_MS } from '../../../lib/domain/market/candle.ts';
import type { CandleRevision, MarketDataSource, TimeRange } from '../../../lib/ports.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

/** A venue serving `bars`, counting requests and the days they asked for. */
function countingVenue(bars: Map<number, Candle>) {
  const requests: TimeRange[] = [];
  const venue: MarketDataSource = {
    name: 'kraken',
    async candles(instrument, range) {
      requests.push(range);
      const candles = [...bars.values()]
        .filter((bar) => bar.time >= range.from && bar.time < range.to)
        .sort((a, b) => a.time - b.time);
      return { instrument, intervalMs: DAY_MS, candles, source: 'kraken' };
    },
  };
  return { venue, requests };
}

const bar = (time: number, close: number): Candle => ({
  time,
  open: close,
  high: close + 1,
  low: close - 1,
  close,
  volume: 12.5,
});

describe('DynamoDbCandleStore on DynamoDB Local', () => {
  it('keeps a venue’s candles: full history once, then the new bar and the re-check window; a revision replaces the stored bar', async () => {
    const table = await db.freshTable(candlesTable);
    const store = new DynamoDbCandleStore(db.local.client, table);
    let asOf = Date.UTC(2026, 10, 24);
    const bars = new Map<number, Candle>();
    // 1,200 days: more than one 1 MB Query page is not needed, but more than one BatchWriteItem chunk is.
    for (let i = 1_200; i >= 1; i -= 1) bars.set(asOf - i * DAY_MS, bar(asOf - i * DAY_MS, 1_000 + i / 7));
    const { venue, requests } = countingVenue(bars);
    const revisions: CandleRevision[] = [];
    const source = new StoredCandleSource(venue, { store, onRevision: (r) => revisions.push(r) });
    const range = (to: number) => ({ from: to - 1_200 * DAY_MS, to });

    const first = await source.candles('ETH', range(asOf));
    expect(first.candles).toHaveLength(1_200);
    expect(requests).toEqual([range(asOf)]);
    expect(await store.read('kraken', 'ETH', DAY_MS, range(asOf))).toEqual(first.candles);

    // Next day: one new bar, and the venue corrected the bar before yesterday.
    const revisedDay = asOf - 2 * DAY_MS;
    const revised = { ...(bars.get(revisedDay) as Candle), close: 1_000.25, volume: 13 };
    bars.set(revisedDay, revised);
    bars.set(asOf, bar(asOf, 999));
    asOf += DAY_MS;
    const second = await source.candles('ETH', range(asOf));

    expect(requests[1]).toEqual({ from: asOf - 5 * DAY_MS, to: asOf });
    expect(second.candles).toHaveLength(1_200);
    expect(second.candles.at(-1)).toEqual(bar(asOf - DAY_MS, 999));
    expect(revisions).toEqual([
      expect.objectContaining({ venue: 'kraken', instrument: 'ETH', time: revisedDay, venueClose: 1_000.25 }),
    ]);
    expect(revisions[0]?.fields).toEqual(['close', 'volume']);
    expect(await store.read('kraken', 'ETH', DAY_MS, { from: revisedDay, to: revisedDay + 1 })).toEqual([
      revised,
    ]);
    // Another instrument and another bar length are other partitions.
    expect(await store.read('kraken', 'BTC', DAY_MS, range(asOf))).toEqual([]);
    expect(await store.read('kraken', 'ETH', 3_600_000, range(asOf))).toEqual([]);
  });
});

describe('DynamoDbCandleStore history start on DynamoDB Local', () => {
  it('keeps where a venue’s history starts beside the bars, without showing in a range read: the next run asks once', async () => {
    const table = await db.freshTable(candlesTable);
    const store = new DynamoDbCandleStore(db.local.client, table);
    let asOf = Date.UTC(2026, 10, 24);
    const bars = new Map<number, Candle>();
    // A 100-day listing under a 400-day lookback.
    for (let i = 100; i >= 1; i -= 1) bars.set(asOf - i * DAY_MS, bar(asOf - i * DAY_MS, 100 + i));
    const { venue, requests } = countingVenue(bars);
    const source = new StoredCandleSource(venue, { store, now: () => asOf });
    const lookback = () => ({ from: asOf - 400 * DAY_MS, to: asOf });

    await source.candles('SOL', lookback());
    expect(await store.readHistoryStart('kraken', 'SOL', DAY_MS)).toEqual({
      from: asOf - 400 * DAY_MS,
      before: asOf - 100 * DAY_MS,
      learntAt: asOf,
    });
    // The fact is not a bar: a read of every time since the epoch returns the 100 bars only.
    expect(await store.read('kraken', 'SOL', DAY_MS, { from: 0, to: asOf })).toHaveLength(100);
    bars.set(asOf, bar(asOf, 99));
    asOf += DAY_MS;
    const before = requests.length;
    const series = await source.candles('SOL', lookback());
    expect(series.candles).toHaveLength(101);
    // Only the re-check window (3 bars before the last stored) and the new bar: not the 300 days before the listing.
    expect(requests.slice(before)).toEqual([{ from: asOf - 5 * DAY_MS, to: asOf }]);
  }, 60_000);
});
