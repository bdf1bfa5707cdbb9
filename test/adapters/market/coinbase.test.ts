import { describe, expect, it } from 'vitest';
import {
  CoinbaseSource,
  coinbaseCandles,
  coinbaseCandlesResponseSchema,
} from '../../../lib/adapters/market/coinbase.ts';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import { day, json, scriptedFetch, unitHttp } from './fake-fetch.ts';

const s = (iso: string) => day(iso) / 1_000;

describe('Coinbase candle parsing', () => {
  it('reads [time s, low, high, open, close, volume] newest first into OHLC oldest first', () => {
    const body = [
      [s('2022-11-09'), 15_588.0, 18_600.0, 18_541.0, 15_880.0, 100],
      [s('2022-11-08'), 17_166.0, 20_700.0, 20_600.0, 18_541.0, 50],
    ];
    expect(coinbaseCandles(coinbaseCandlesResponseSchema.parse(body))).toEqual([
      {
        time: day('2022-11-08'),
        open: 20_600,
        high: 20_700,
        low: 17_166,
        close: 18_541,
        volume: 50 * 18_541,
      },
      {
        time: day('2022-11-09'),
        open: 18_541,
        high: 18_600,
        low: 15_588,
        close: 15_880,
        volume: 100 * 15_880,
      },
    ]);
  });

  it('rejects a string price, naming the cell', () => {
    const parsed = coinbaseCandlesResponseSchema.safeParse([[s('2022-11-09'), '1', 2, 3, 4, 5]]);
    expect(parsed.error?.issues[0]?.path).toEqual([0, 1]);
  });
});

describe('CoinbaseSource', () => {
  it('chunks a long range so no request spans 300 days or more, and sorts and de-duplicates', async () => {
    const range = { from: day('2022-01-01'), to: day('2023-09-01') }; // 608 days → 3 requests
    const scripted = scriptedFetch((url) => {
      const start = Date.parse(url.searchParams.get('start') ?? '');
      const end = Date.parse(url.searchParams.get('end') ?? '');
      const rows = [];
      // Coinbase may include a candle before `start`: send the day before too, newest first.
      for (let t = Math.floor(end / DAY_MS) * DAY_MS; t >= start - DAY_MS; t -= DAY_MS) {
        rows.push([t / 1_000, 90, 110, 100, 105, 2]);
      }
      return json(rows);
    });
    const series = await new CoinbaseSource({
      ...unitHttp(scripted.fetch).options,
      now: () => day('2024-01-01'),
    }).candles('SOL', range);
    expect(series.candles).toHaveLength(608);
    expect(series.candles[0]?.time).toBe(range.from);
    expect(series.candles.at(-1)?.time).toBe(range.to - DAY_MS);
    const queries = scripted.requests.map((r) => Object.fromEntries(r.url.searchParams));
    expect(scripted.requests[0]?.url.pathname).toBe('/products/SOL-USD/candles');
    expect(queries[0]).toEqual({
      granularity: '86400',
      start: '2022-01-01T00:00:00Z',
      end: '2022-10-27T23:59:59Z',
    });
    expect(queries.map((q) => q.start)).toEqual([
      '2022-01-01T00:00:00Z',
      '2022-10-28T00:00:00Z',
      '2023-08-24T00:00:00Z',
    ]);
    for (const q of queries) {
      expect((Date.parse(q.end ?? '') - Date.parse(q.start ?? '')) / 1_000 / 86_400).toBeLessThan(300);
    }
  });
});
