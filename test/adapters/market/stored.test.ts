import { describe, expect, it } from 'vitest';
import { BinanceSource } from '../../../lib/adapters/market/binance.ts';
import {
  DEFAULT_RECHECK_DAYS,
  InMemoryCandleStore,
  StoredCandleSource,
} from '../../../lib/adapters/market/stored.ts';
import { type Candle, DAY_MS } from '../../../lib/domain/market/candle.ts';
import type { CandleRevision, CandleStore, MarketDataSource, TimeRange } from '../../../lib/ports.ts';
import { day, json, scriptedFetch, unitHttp } from './fake-fetch.ts';

/**
 * A loopback Binance: serves klines from `history` (open time → bar) as the real endpoint pages them, and
 * records every request, so a test counts what a run costs the venue.
 */
function fakeBinance(history: Map<number, Candle>, now: () => number) {
  const scripted = scriptedFetch((url) => {
    const start = Number(url.searchParams.get('startTime'));
    const end = Number(url.searchParams.get('endTime'));
    const limit = Number(url.searchParams.get('limit'));
    const rows = [...history.values()]
      .filter((bar) => bar.time >= start && bar.time <= end)
      .sort((a, b) => a.time - b.time)
      .slice(0, limit)
      .map((bar) => [
        bar.time,
        String(bar.open),
        String(bar.high),
        String(bar.low),
        String(bar.close),
        '1',
        bar.time + DAY_MS - 1,
        String(bar.volume),
        5,
        '0',
        '0',
        '0',
      ]);
    return json(rows);
  });
  const source = new BinanceSource({ ...unitHttp(scripted.fetch).options, now });
  return { source, requests: scripted.requests };
}

function bar(time: number, close: number): Candle {
  return { time, open: close, high: close * 1.01, low: close * 0.99, close, volume: 1_000 * close };
}

/** Four years of daily bars up to (not including) `end`. */
function history(end: number, days = 1_461): Map<number, Candle> {
  const bars = new Map<number, Candle>();
  for (let i = days; i >= 1; i -= 1) {
    const time = end - i * DAY_MS;
    bars.set(time, bar(time, 100 + Math.sin(i / 10) * 20));
  }
  return bars;
}

const lookback = (asOf: number): TimeRange => ({ from: asOf - 1_461 * DAY_MS, to: asOf });

describe('StoredCandleSource: candles kept, not refetched', () => {
  it('fetches the full history on the first run and stores it', async () => {
    const now = day('2026-11-24');
    const venue = history(now);
    const binance = fakeBinance(venue, () => now);
    const store = new InMemoryCandleStore();
    const source = new StoredCandleSource(binance.source, { store });

    const series = await source.candles('BTC', lookback(now));
    expect(series.candles).toHaveLength(1_461);
    // Binance pages 1,000 bars: four years are two requests.
    expect(binance.requests).toHaveLength(2);
    expect(await store.read('binance', 'BTC', DAY_MS, lookback(now))).toEqual(series.candles);
  });

  it('fetches only the new day plus the re-check window on the next run, and answers from the store', async () => {
    let now = day('2026-11-24');
    const venue = history(now);
    const binance = fakeBinance(venue, () => now);
    const store = new InMemoryCandleStore();
    const source = new StoredCandleSource(binance.source, { store });
    await source.candles('BTC', lookback(now));
    binance.requests.length = 0;

    // A day later the venue has one more completed bar.
    const yesterday = now;
    venue.set(yesterday, bar(yesterday, 123));
    now += DAY_MS;
    const series = await source.candles('BTC', lookback(now));

    expect(binance.requests).toHaveLength(1);
    const asked = Object.fromEntries(binance.requests[0]?.url.searchParams ?? []);
    // From the re-check window's first day (3 bars before the last stored one) to the end of the range.
    expect(Number(asked.startTime)).toBe(yesterday - (DEFAULT_RECHECK_DAYS + 1) * DAY_MS);
    expect(Number(asked.endTime)).toBe(now - 1);
    // The series is what a full refetch gives: 1,461 bars ending with the new one.
    const full = await fakeBinance(venue, () => now).source.candles('BTC', lookback(now));
    expect(series.candles).toEqual(full.candles);
    expect(series.candles.at(-1)?.close).toBe(123);
  });

  it('detects a revised bar in the re-check window, reports it and keeps the venue’s bar', async () => {
    let now = day('2026-11-24');
    const venue = history(now);
    const binance = fakeBinance(venue, () => now);
    const store = new InMemoryCandleStore();
    const revisions: CandleRevision[] = [];
    const source = new StoredCandleSource(binance.source, {
      store,
      onRevision: (revision) => revisions.push(revision),
    });
    await source.candles('BTC', lookback(now));

    // The venue corrects the bar two days back (a late trade moved the close).
    const revisedDay = now - 2 * DAY_MS;
    const before = venue.get(revisedDay) as Candle;
    const revised = { ...before, close: before.close * 1.004, high: before.close * 1.02 };
    venue.set(revisedDay, revised);
    venue.set(now, bar(now, 111));
    now += DAY_MS;
    const series = await source.candles('BTC', lookback(now));

    expect(revisions).toEqual([
      {
        venue: 'binance',
        instrument: 'BTC',
        day: '2026-11-22',
        time: revisedDay,
        storedClose: before.close,
        venueClose: revised.close,
        fields: ['high', 'close'],
      },
    ]);
    expect(series.candles.find((c) => c.time === revisedDay)).toEqual(revised);
    const stored = await store.read('binance', 'BTC', DAY_MS, { from: revisedDay, to: revisedDay + 1 });
    expect(stored).toEqual([revised]);
  });

  it('never lets a gap or a malformed bar from the venue replace a good stored bar', async () => {
    let now = day('2026-11-24');
    const venue = history(now);
    const binance = fakeBinance(venue, () => now);
    const store = new InMemoryCandleStore();
    const revisions: CandleRevision[] = [];
    const source = new StoredCandleSource(binance.source, {
      store,
      onRevision: (revision) => revisions.push(revision),
    });
    await source.candles('BTC', lookback(now));

    const gapDay = now - DAY_MS;
    const badDay = now - 2 * DAY_MS;
    const goodGap = venue.get(gapDay) as Candle;
    const goodBad = venue.get(badDay) as Candle;
    venue.delete(gapDay);
    // High below low: the schema accepts the numbers, the bar is still nonsense.
    venue.set(badDay, { ...goodBad, high: goodBad.low * 0.5, close: goodBad.close * 3 });
    // And a malformed new bar, with nothing stored under it.
    venue.set(now, { ...bar(now, 100), low: 500 });
    now += DAY_MS;
    const series = await source.candles('BTC', lookback(now));

    expect(series.candles.find((c) => c.time === gapDay)).toEqual(goodGap);
    expect(series.candles.find((c) => c.time === badDay)).toEqual(goodBad);
    expect(revisions).toEqual([]);
    expect(await store.read('binance', 'BTC', DAY_MS, { from: badDay, to: now })).toEqual([goodBad, goodGap]);
    // The new malformed bar goes on to the validator (which holds the instrument), as without the store.
    expect(series.candles.at(-1)).toMatchObject({ time: now - DAY_MS, low: 500 });
  });

  it('fetches the whole range from the venue when the store cannot be read, and says so', async () => {
    const now = day('2026-11-24');
    const binance = fakeBinance(history(now), () => now);
    const broken: CandleStore = {
      read: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      write: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      readHistoryStart: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
      writeHistoryStart: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const warnings: string[] = [];
    const source = new StoredCandleSource(binance.source, {
      store: broken,
      onWarning: (warning) => warnings.push(warning),
    });
    const series = await source.candles('BTC', lookback(now));
    expect(series.candles).toHaveLength(1_461);
    expect(warnings).toEqual([
      expect.stringMatching(/^binance BTC: stored candles unreadable, fetched the whole range/),
      expect.stringMatching(/^binance BTC: 1461 candles not stored, next run fetches them again/),
    ]);
  });

  it('remembers that the venue has nothing before its first bar: one request per run, not two, re-checked weekly', async () => {
    // A listing 300 days old, a four-year lookback: every run used to ask again for the years before it.
    let now = day('2026-11-24');
    const venue = history(now, 300);
    const binance = fakeBinance(venue, () => now);
    const store = new InMemoryCandleStore();
    const source = new StoredCandleSource(binance.source, { store, now: () => now });
    const perRun: number[] = [];
    for (let run = 0; run < 15; run += 1) {
      const before = binance.requests.length;
      const series = await source.candles('SOL', lookback(now));
      expect(series.candles).toHaveLength(300 + run);
      perRun.push(binance.requests.length - before);
      venue.set(now, bar(now, 100 + run));
      now += DAY_MS;
    }
    // The first run fetches all and learns where the history starts; a week later the venue is asked again.
    expect(perRun).toEqual([1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 1, 2]);
    expect(await store.readHistoryStart('binance', 'SOL', DAY_MS)).toEqual({
      from: lookback(now - DAY_MS).from,
      before: day('2026-11-24') - 300 * DAY_MS,
      learntAt: now - DAY_MS,
    });
    console.log(
      `candle requests per run, a 300-day SOL listing under a 4-year lookback: ${perRun.join(', ')} (was 2 after the first)`,
    );
  });

  it('asks again at once for a longer lookback, and takes bars a venue backfilled at the weekly re-check', async () => {
    let now = day('2026-11-24');
    const venue = history(now, 300);
    const binance = fakeBinance(venue, () => now);
    const source = new StoredCandleSource(binance.source, {
      store: new InMemoryCandleStore(),
      now: () => now,
    });
    await source.candles('SOL', lookback(now));
    // A lookback longer than the one checked: the days before it were never asked for.
    const longer = { from: now - 2_000 * DAY_MS, to: now };
    let before = binance.requests.length;
    await source.candles('SOL', longer);
    expect(binance.requests.length - before).toBe(2);
    before = binance.requests.length;
    await source.candles('SOL', longer);
    expect(binance.requests.length - before).toBe(1);
    // The venue backfills 50 older days; a week later the re-check finds them.
    const listed = now - 300 * DAY_MS;
    for (let i = 1; i <= 50; i += 1) venue.set(listed - i * DAY_MS, bar(listed - i * DAY_MS, 90));
    now += 7 * DAY_MS;
    const series = await source.candles('SOL', longer);
    expect(series.candles[0]?.time).toBe(listed - 50 * DAY_MS);
  });

  it('keeps hourly bars beside the daily ones: the next run asks for the new hours and a 3-bar re-check window only', async () => {
    const HOUR = 3_600_000;
    let now = day('2026-11-24');
    // Sixty days of hourly bars for an hourly MPOR; the same store also holds the daily bars.
    const hours = new Map<number, Candle>();
    for (let i = 60 * 24; i >= 1; i -= 1) hours.set(now - i * HOUR, bar(now - i * HOUR, 100 + (i % 7)));
    const requests: TimeRange[] = [];
    const hourly: MarketDataSource = {
      name: 'binance',
      async candles(instrument, range) {
        requests.push(range);
        const candles = [...hours.values()].filter((b) => b.time >= range.from && b.time < range.to);
        return { instrument, intervalMs: HOUR, candles, source: 'binance' };
      },
    };
    const store = new InMemoryCandleStore();
    await store.write('binance', 'ETH', DAY_MS, [bar(now - DAY_MS, 1)]);
    const source = new StoredCandleSource(hourly, { store, intervalMs: HOUR, now: () => now });
    const range = () => ({ from: now - 60 * DAY_MS, to: now });

    const first = await source.candles('ETH', range());
    expect(first.candles).toHaveLength(1_440);
    // Six new hours later: the new bars and the three before the last stored one, from one request.
    for (let i = 0; i < 6; i += 1) hours.set(now + i * HOUR, bar(now + i * HOUR, 120));
    now += 6 * HOUR;
    const before = requests.length;
    const next = await source.candles('ETH', range());
    expect(requests.slice(before)).toEqual([{ from: now - 6 * HOUR - 4 * HOUR, to: now }]);
    expect(next.intervalMs).toBe(HOUR);
    expect(next.candles).toEqual(
      [...hours.values()].filter((b) => b.time >= now - 60 * DAY_MS && b.time < now),
    );
    // The daily partition is untouched, the hourly one complete.
    expect(await store.read('binance', 'ETH', DAY_MS, range())).toEqual([bar(day('2026-11-23'), 1)]);
    expect(await store.read('binance', 'ETH', HOUR, range())).toHaveLength(1_440);
  });

  it('never stores bars of another length than it keeps, and says so', async () => {
    const now = day('2026-11-24');
    const hourly: MarketDataSource = {
      name: 'binance',
      async candles(instrument) {
        return { instrument, intervalMs: 3_600_000, candles: [bar(now - 3_600_000, 100)], source: 'binance' };
      },
    };
    const store = new InMemoryCandleStore();
    const warnings: string[] = [];
    // A daily keeper (the default) in front of a source that answers hourly: a wiring mistake.
    const source = new StoredCandleSource(hourly, { store, onWarning: (w) => warnings.push(w) });
    await source.candles('ETH', { from: now - DAY_MS, to: now });
    expect(await store.read('binance', 'ETH', DAY_MS, { from: 0, to: now })).toEqual([]);
    expect(await store.read('binance', 'ETH', 3_600_000, { from: 0, to: now })).toEqual([]);
    expect(warnings).toEqual(['binance ETH: bars of 3600000 ms where 86400000 ms are kept, not stored']);
  });

  it('requests per run, with the store and without (printed)', async () => {
    // One venue, one instrument, 30 daily runs of a four-year lookback, Binance paging 1,000 bars.
    let now = day('2026-11-24');
    const venue = history(now);
    const withStore = fakeBinance(venue, () => now);
    const without = fakeBinance(venue, () => now);
    const source = new StoredCandleSource(withStore.source, { store: new InMemoryCandleStore() });
    const perRun: { withStore: number; without: number }[] = [];
    for (let run = 0; run < 30; run += 1) {
      const before = { withStore: withStore.requests.length, without: without.requests.length };
      const a = await source.candles('BTC', lookback(now));
      const b = await without.source.candles('BTC', lookback(now));
      expect(a.candles).toEqual(b.candles);
      perRun.push({
        withStore: withStore.requests.length - before.withStore,
        without: without.requests.length - before.without,
      });
      venue.set(now, bar(now, 100 + run));
      now += DAY_MS;
    }
    expect(perRun[0]).toEqual({ withStore: 2, without: 2 });
    expect(perRun.slice(1).every((run) => run.withStore === 1 && run.without === 2)).toBe(true);
    console.log(
      `candle requests per instrument and venue (binance, 4-year lookback): first run ${perRun[0]?.withStore}, ` +
        `then ${perRun[1]?.withStore} per run with the store vs ${perRun[1]?.without} without; ` +
        `30 runs: ${perRun.reduce((n, r) => n + r.withStore, 0)} vs ${perRun.reduce((n, r) => n + r.without, 0)}`,
    );
  });
});
