import { describe, expect, it } from 'vitest';
import {
  BinanceSource,
  binanceKlineCandles,
  binanceKlinesResponseSchema,
} from '../../../lib/adapters/market/binance.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import { day, json, scriptedFetch, unitHttp } from './fake-fetch.ts';

// The docs' example row (market-apis.md §2).
const docsKline = [
  1499040000000,
  '0.01634790',
  '0.80000000',
  '0.01575800',
  '0.01577100',
  '148976.11427815',
  1499644799999,
  '2434.19055334',
  308,
  '1756.87402397',
  '28.46694368',
  '0',
];

function kline(time: number, close: number) {
  return [
    time,
    String(close - 1),
    String(close + 2),
    String(close - 2),
    String(close),
    '10',
    time + DAY_MS - 1,
    String(10 * close),
    5,
    '4',
    '40',
    '0',
  ];
}

describe('Binance kline parsing', () => {
  it('parses the string prices and takes the quote-asset volume (index 7)', () => {
    expect(binanceKlineCandles(binanceKlinesResponseSchema.parse([docsKline]))).toEqual([
      {
        time: 1499040000000,
        open: 0.0163479,
        high: 0.8,
        low: 0.015758,
        close: 0.015771,
        volume: 2434.19055334,
      },
    ]);
  });

  it('rejects a price sent as a number or a non-decimal string, naming the cell', () => {
    const asNumber = binanceKlinesResponseSchema.safeParse([
      [...docsKline.slice(0, 4), 0.015771, ...docsKline.slice(5)],
    ]);
    expect(asNumber.error?.issues[0]?.path).toEqual([0, 4]);
    const junk = binanceKlinesResponseSchema.safeParse([
      [...docsKline.slice(0, 2), 'NaN', ...docsKline.slice(3)],
    ]);
    expect(junk.error?.issues[0]?.path).toEqual([0, 2]);
  });

  it('rejects a short row', () => {
    expect(binanceKlinesResponseSchema.safeParse([docsKline.slice(0, 8)]).success).toBe(false);
  });
});

describe('BinanceSource', () => {
  const now = () => day('2024-06-01');

  it('pages forward from startTime until a short page, stitching each day once', async () => {
    const range = { from: day('2024-01-01'), to: day('2024-01-08') };
    const scripted = scriptedFetch((url) => {
      const start = Number(url.searchParams.get('startTime'));
      const end = Number(url.searchParams.get('endTime'));
      const limit = Number(url.searchParams.get('limit'));
      const rows = [];
      for (let t = start; t <= end && rows.length < limit; t += DAY_MS) rows.push(kline(t, t / DAY_MS));
      return json(rows);
    });
    const source = new BinanceSource({ ...unitHttp(scripted.fetch).options, now, limit: 3 });
    const series = await source.candles('ETH', range);
    expect(series.candles.map((c) => c.time)).toEqual(
      Array.from({ length: 7 }, (_, i) => range.from + i * DAY_MS),
    );
    expect(series.source).toBe('binance');
    expect(scripted.requests.map((r) => Object.fromEntries(r.url.searchParams))).toEqual([
      {
        symbol: 'ETHUSDT',
        interval: '1d',
        startTime: String(range.from),
        endTime: String(range.to - 1),
        limit: '3',
      },
      expect.objectContaining({ startTime: String(range.from + 3 * DAY_MS) }),
      expect.objectContaining({ startTime: String(range.from + 6 * DAY_MS) }),
    ]);
  });

  it('drops today’s still-open kline', async () => {
    const scripted = scriptedFetch(() => json([kline(day('2024-05-31'), 10), kline(day('2024-06-01'), 11)]));
    const series = await new BinanceSource({
      ...unitHttp(scripted.fetch).options,
      now: () => day('2024-06-01') + 3_600_000,
    }).candles('BTC', { from: day('2024-05-31'), to: day('2024-06-02') });
    expect(series.candles.map((c) => c.close)).toEqual([10]);
  });

  it('reports a malformed kline as a MarketSourceError naming the field path', async () => {
    const scripted = scriptedFetch(() =>
      json([docsKline, [...docsKline.slice(0, 7), null, ...docsKline.slice(8)]]),
    );
    const error = await new BinanceSource({ ...unitHttp(scripted.fetch).options, now })
      .candles('BTC', { from: 0, to: day('2020-01-01') })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(
      /^binance BTC: GET \/api\/v3\/klines returned a malformed body at \[1\]\[7\]/,
    );
  });
});
