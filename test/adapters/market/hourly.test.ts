/**
 * Hourly candles from each venue (issue 16 item 3, for an hourly MPOR): the venue's own hourly parameter,
 * paging across a request boundary, a missing hour kept as a gap, the hour still open never returned.
 */
import { describe, expect, it } from 'vitest';
import { BinanceSource } from '../../../lib/adapters/market/binance.ts';
import { CoinbaseSource } from '../../../lib/adapters/market/coinbase.ts';
import { DeribitSource } from '../../../lib/adapters/market/deribit.ts';
import { ConsensusSource, createVenueSource } from '../../../lib/adapters/market/index.ts';
import { KRAKEN_MAX_ROWS, KrakenSource } from '../../../lib/adapters/market/kraken.ts';
import { InMemoryCandleStore, StoredCandleSource } from '../../../lib/adapters/market/stored.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { json, scriptedFetch, unitHttp } from './fake-fetch.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 10, 20);
/** Twelve hourly bars from T0, the one at T0 + 5h missing; "now" is inside the bar at T0 + 11h (still open). */
const OPENS = Array.from({ length: 12 }, (_, i) => T0 + i * HOUR).filter((t) => t !== T0 + 5 * HOUR);
const NOW = T0 + 11 * HOUR + 20 * 60_000;
const close = (time: number) => 100 + (time - T0) / HOUR;
const RANGE = { from: T0, to: T0 + 12 * HOUR };
/** What every venue must return: every closed hour but the missing one, oldest first. */
const EXPECTED = OPENS.filter((t) => t < T0 + 11 * HOUR);

function expectHourly(series: { intervalMs: number; candles: readonly { time: number; close: number }[] }) {
  expect(series.intervalMs).toBe(HOUR);
  expect(series.candles.map((c) => c.time)).toEqual(EXPECTED);
  expect(series.candles.map((c) => c.close)).toEqual(EXPECTED.map(close));
}

describe('hourly candles from each venue', () => {
  it('Binance: interval 1h, pages forward across the limit, the gap left, the open hour dropped', async () => {
    const scripted = scriptedFetch((url) => {
      const start = Number(url.searchParams.get('startTime'));
      const end = Number(url.searchParams.get('endTime'));
      const limit = Number(url.searchParams.get('limit'));
      expect(url.searchParams.get('interval')).toBe('1h');
      const rows = OPENS.filter((t) => t >= start && t <= end)
        .slice(0, limit)
        .map((t) => [
          t,
          '100',
          String(close(t) + 1),
          '99',
          String(close(t)),
          '1',
          t + HOUR - 1,
          '50',
          1,
          '0',
          '0',
          '0',
        ]);
      return json(rows);
    });
    const series = await new BinanceSource({
      ...unitHttp(scripted.fetch).options,
      now: () => NOW,
      limit: 4,
      interval: '1h',
    }).candles('ETH', RANGE);
    expectHourly(series);
    // 11 rows in pages of 4: 4, 4, 3 (the short page ends it); the second page starts after the first's last.
    expect(scripted.requests.map((r) => Number(r.url.searchParams.get('startTime')))).toEqual([
      T0,
      T0 + 4 * HOUR,
      T0 + 9 * HOUR,
    ]);
  });

  it('Deribit: resolution 60, chunks of at most maxCandlesPerRequest hours that never overlap', async () => {
    const scripted = scriptedFetch((url) => {
      const start = Number(url.searchParams.get('start_timestamp'));
      const end = Number(url.searchParams.get('end_timestamp'));
      expect(url.searchParams.get('resolution')).toBe('60');
      const ticks = OPENS.filter((t) => t >= start && t <= end);
      return json({
        jsonrpc: '2.0',
        result: {
          status: ticks.length === 0 ? 'no_data' : 'ok',
          ticks,
          open: ticks.map(() => 100),
          high: ticks.map((t) => close(t) + 1),
          low: ticks.map(() => 99),
          close: ticks.map(close),
          volume: ticks.map(() => 1),
          cost: ticks.map(() => 50),
        },
      });
    });
    const series = await new DeribitSource({
      ...unitHttp(scripted.fetch).options,
      now: () => NOW,
      maxCandlesPerRequest: 5,
      interval: '1h',
    }).candles('ETH', RANGE);
    expectHourly(series);
    expect(
      scripted.requests.map((r) => [
        Number(r.url.searchParams.get('start_timestamp')),
        Number(r.url.searchParams.get('end_timestamp')),
      ]),
    ).toEqual([
      [T0, T0 + 5 * HOUR - 1],
      [T0 + 5 * HOUR, T0 + 10 * HOUR - 1],
      [T0 + 10 * HOUR, T0 + 12 * HOUR - 1],
    ]);
  });

  it('Coinbase: granularity 3600, chunks under 300 bars, seconds and newest-first normalised', async () => {
    const scripted = scriptedFetch((url) => {
      const start = Date.parse(url.searchParams.get('start') ?? '');
      const end = Date.parse(url.searchParams.get('end') ?? '');
      expect(url.searchParams.get('granularity')).toBe('3600');
      const rows = OPENS.filter((t) => t >= start && t <= end)
        .reverse()
        .map((t) => [t / 1_000, 99, close(t) + 1, 100, close(t), 2]);
      return json(rows);
    });
    const series = await new CoinbaseSource({
      ...unitHttp(scripted.fetch).options,
      now: () => NOW,
      maxCandlesPerRequest: 5,
      interval: '1h',
    }).candles('ETH', RANGE);
    expectHourly(series);
    expect(scripted.requests.map((r) => r.url.searchParams.get('start'))).toEqual([
      '2026-11-20T00:00:00Z',
      '2026-11-20T05:00:00Z',
      '2026-11-20T10:00:00Z',
    ]);
  });

  it('Kraken: interval 60, its newest 720 hours only; a range wholly older is empty without a request', async () => {
    const scripted = scriptedFetch((url) => {
      expect(url.searchParams.get('interval')).toBe('60');
      const rows = OPENS.map((t) => [
        t / 1_000,
        '100',
        String(close(t) + 1),
        '99',
        String(close(t)),
        '50',
        '1',
        3,
      ]);
      return json({ error: [], result: { XETHZUSD: rows, last: (T0 + 10 * HOUR) / 1_000 } });
    });
    const kraken = new KrakenSource({ ...unitHttp(scripted.fetch).options, now: () => NOW, interval: '1h' });
    expectHourly(await kraken.candles('ETH', RANGE));
    expect(scripted.requests).toHaveLength(1);
    const older = { from: NOW - 2 * KRAKEN_MAX_ROWS * HOUR, to: NOW - KRAKEN_MAX_ROWS * HOUR };
    expect((await kraken.candles('ETH', older)).candles).toEqual([]);
    expect(scripted.requests).toHaveLength(1);
  });

  it('refuses a row that is not at an hour open, naming the venue and the time', async () => {
    const scripted = scriptedFetch(() =>
      json([[T0 + 30 * 60_000, '1', '2', '1', '1', '1', T0 + HOUR, '1', 1, '0', '0', '0']]),
    );
    const error = await new BinanceSource({
      ...unitHttp(scripted.fetch).options,
      now: () => NOW,
      interval: '1h',
    })
      .candles('ETH', RANGE)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(
      /binance ETH: candle time .*2026-11-20T00:30.* is not a 1h bar open/,
    );
  });

  it('createVenueSource passes the interval to every venue', async () => {
    const scripted = scriptedFetch((url) => {
      expect(url.searchParams.get('granularity')).toBe('3600');
      return json([]);
    });
    const coinbase = createVenueSource('coinbase', {
      http: { fetch: scripted.fetch, rateLimiter: unitHttp(scripted.fetch).options.rateLimiter },
      baseUrls: { coinbase: 'http://venue.test' },
      now: () => NOW,
      interval: '1h',
    });
    expect((await coinbase.candles('ETH', RANGE)).intervalMs).toBe(HOUR);
    expect(scripted.requests).toHaveLength(1);
  });
});

describe('consensus of hourly candles', () => {
  const bars = (source: string, shift = 0, intervalMs = HOUR, opens = EXPECTED) => ({
    name: source,
    candles: async (instrument: string) => ({
      instrument,
      intervalMs,
      source,
      candles: opens.map((time) => ({
        time,
        open: 100,
        high: close(time) + shift + 1,
        low: 99,
        close: close(time) + shift,
        volume: 1,
      })),
    }),
  });

  it('agrees hour by hour, and leaves out a venue answering with daily bars, with the reason', async () => {
    const daily = bars('coinbase', 0, 86_400_000, [T0]);
    const consensus = new ConsensusSource([bars('deribit'), bars('binance', 0.01), daily], {
      intervalMs: HOUR,
    });
    const series = await consensus.candles('ETH', RANGE);
    expect(series.intervalMs).toBe(HOUR);
    expect(series.candles.map((c) => c.time)).toEqual(EXPECTED);
    const coinbase = series.venueReport.find((v) => v.venue === 'coinbase');
    expect(coinbase).toMatchObject({ status: 'failed' });
    expect(coinbase?.error).toMatch(/coinbase ETH: answered with bars of 24h, this consensus needs 1h bars/);
    expect(series.issues.map((i) => i.kind)).toContain('venue-failed');
  });

  it('names hours, not days, in its findings', async () => {
    const late = bars('binance', 0, HOUR, EXPECTED.slice(0, -2));
    const series = await new ConsensusSource([bars('deribit'), late, bars('coinbase', 5)], {
      intervalMs: HOUR,
    }).candles('ETH', RANGE);
    const messages = series.issues.map((i) => i.message).join('\n');
    expect(messages).toContain('binance: last candle 2026-11-20T08:00Z, others have 2026-11-20T10:00Z');
    expect(messages).toMatch(/coinbase: close beyond 2\.0% of the median on \d+ bar\(s\)/);
  });
});

describe('requests for an hourly lookback of 3,650 days (docs/SCALE.md)', () => {
  it('counts the requests per venue, first run and next, with the store (printed)', async () => {
    const today = Date.UTC(2026, 10, 24);
    const first = today - 3_650 * 24 * HOUR;
    const row = (t: number) => ({ t, c: 2_000 + ((t / HOUR) % 7) });
    const served = (from: number, to: number, limit = Number.POSITIVE_INFINITY) => {
      const rows = [];
      for (let t = Math.max(from, first); t <= to && rows.length < limit; t += HOUR) rows.push(row(t));
      return rows;
    };
    const counts: Record<string, number> = { deribit: 0, binance: 0, coinbase: 0, kraken: 0 };
    const scripted = scriptedFetch((url) => {
      const q = (name: string) => url.searchParams.get(name) ?? '';
      if (url.pathname.endsWith('get_tradingview_chart_data')) {
        counts.deribit = (counts.deribit ?? 0) + 1;
        const rows = served(Number(q('start_timestamp')), Number(q('end_timestamp')));
        const ticks = rows.map((r) => r.t);
        const closes = rows.map((r) => r.c);
        return json({
          result: {
            status: 'ok',
            ticks,
            open: closes,
            high: closes,
            low: closes,
            close: closes,
            volume: closes,
          },
        });
      }
      if (url.pathname.endsWith('klines')) {
        counts.binance = (counts.binance ?? 0) + 1;
        const rows = served(Number(q('startTime')), Number(q('endTime')), Number(q('limit')));
        return json(
          rows.map((r) => [r.t, `${r.c}`, `${r.c}`, `${r.c}`, `${r.c}`, '1', r.t, '1', 1, '0', '0', '0']),
        );
      }
      if (url.pathname.includes('/candles')) {
        counts.coinbase = (counts.coinbase ?? 0) + 1;
        const rows = served(Date.parse(q('start')), Date.parse(q('end')));
        return json(rows.map((r) => [r.t / 1_000, r.c, r.c, r.c, r.c, 1]));
      }
      counts.kraken = (counts.kraken ?? 0) + 1;
      const rows = served(today - KRAKEN_MAX_ROWS * HOUR, today).map((r) => [
        r.t / 1_000,
        `${r.c}`,
        `${r.c}`,
        `${r.c}`,
        `${r.c}`,
        `${r.c}`,
        '1',
        1,
      ]);
      return json({ error: [], result: { XETHZUSD: rows, last: today / 1_000 } });
    });
    const store = new InMemoryCandleStore();
    const run = async (day: number) => {
      for (const key of Object.keys(counts)) counts[key] = 0;
      const { options } = unitHttp(scripted.fetch);
      const { baseUrl, ...http } = options;
      for (const venue of ['deribit', 'binance', 'coinbase', 'kraken'] as const) {
        const source = new StoredCandleSource(
          createVenueSource(venue, {
            http,
            baseUrls: { [venue]: baseUrl },
            now: () => day + 60_000,
            interval: '1h',
          }),
          { store, intervalMs: HOUR, recheckBars: 24, now: () => day },
        );
        await source.candles('ETH', { from: day - 3_650 * 24 * HOUR, to: day });
      }
      return { ...counts };
    };
    const firstRun = await run(today);
    const nextRun = await run(today + 24 * HOUR);
    console.log(
      `hourly ETH, 3,650-day lookback: first run ${JSON.stringify(firstRun)}, next day ${JSON.stringify(nextRun)}`,
    );
    // 87,600 hours: Deribit 5,000 a request, Binance 1,000, Coinbase 300, Kraken its newest 720 in one.
    expect(firstRun).toEqual({ deribit: 18, binance: 88, coinbase: 292, kraken: 1 });
    expect(nextRun).toEqual({ deribit: 1, binance: 1, coinbase: 1, kraken: 1 });
    expect(await store.read('coinbase', 'ETH', HOUR, { from: 0, to: today })).toHaveLength(87_600);
  });
});
