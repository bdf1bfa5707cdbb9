import { describe, expect, it } from 'vitest';
import {
  KrakenSource,
  krakenBodyError,
  krakenOhlcCandles,
  krakenOhlcResponseSchema,
} from '../../../lib/adapters/market/kraken.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { day, json, scriptedFetch, unitHttp } from './fake-fetch.ts';

const s = (iso: string) => day(iso) / 1_000;

// The documented shape (market-apis.md §4), with the canonical pair key and the open bar last.
const body = {
  error: [],
  result: {
    XXBTZUSD: [
      [s('2024-03-01'), '61000.0', '63000.0', '60000.0', '62000.0', '61800.5', '1000.00000000', 50_000],
      [s('2024-03-02'), '62000.0', '62500.0', '61500.0', '62100.0', '62050.0', '500.00000000', 30_000],
      [s('2024-03-03'), '62100.0', '62200.0', '62000.0', '62150.0', '62120.0', '10.00000000', 900],
    ],
    last: s('2024-03-02'),
  },
};

describe('Kraken OHLC parsing', () => {
  it('reads the one non-`last` key, drops the open last bar, volume = base volume × VWAP', () => {
    expect(krakenOhlcCandles(krakenOhlcResponseSchema.parse(body))).toEqual([
      {
        time: day('2024-03-01'),
        open: 61_000,
        high: 63_000,
        low: 60_000,
        close: 62_000,
        volume: 1_000 * 61_800.5,
      },
      {
        time: day('2024-03-02'),
        open: 62_000,
        high: 62_500,
        low: 61_500,
        close: 62_100,
        volume: 500 * 62_050,
      },
    ]);
  });

  it('needs exactly one pair key', () => {
    const two = { error: [], result: { ...body.result, XETHZUSD: [] } };
    expect(krakenOhlcResponseSchema.safeParse(two).error?.issues[0]?.message).toMatch(
      /found XXBTZUSD, XETHZUSD/,
    );
    expect(krakenOhlcResponseSchema.safeParse({ error: [], result: { last: 1 } }).success).toBe(false);
  });

  it('names the bad cell of a row', () => {
    const bad = {
      error: [],
      result: { XXBTZUSD: [[s('2024-03-01'), 61_000, '1', '1', '1', '1', '1', 1]], last: 1 },
    };
    expect(krakenOhlcResponseSchema.safeParse(bad).error?.issues[0]?.path).toEqual([
      'result',
      'XXBTZUSD',
      0,
      1,
    ]);
  });

  it('reads the error array: rate limits retry after a pause, others are final', () => {
    expect(krakenBodyError({ error: ['EAPI:Rate limit exceeded'] })).toEqual({
      message: 'EAPI:Rate limit exceeded',
      retryable: true,
      retryAfterMs: 3_000,
    });
    expect(krakenBodyError({ error: ['EQuery:Unknown asset pair'] })).toEqual({
      message: 'EQuery:Unknown asset pair',
      retryable: false,
    });
    expect(krakenBodyError(body)).toBeUndefined();
  });
});

describe('KrakenSource', () => {
  const range = { from: day('2024-03-01'), to: day('2024-04-01') };
  const now = () => day('2024-03-03') + 3_600_000;

  it('sends the alt pair name, interval 1440 and since in seconds', async () => {
    const scripted = scriptedFetch(() => json(body));
    const series = await new KrakenSource({ ...unitHttp(scripted.fetch).options, now }).candles('BTC', range);
    expect(series.candles.map((c) => c.close)).toEqual([62_000, 62_100]);
    expect(scripted.requests[0]?.url.pathname).toBe('/0/public/OHLC');
    expect(Object.fromEntries(scripted.requests[0]?.url.searchParams ?? [])).toEqual({
      pair: 'XBTUSD',
      interval: '1440',
      since: String(s('2024-03-01') - 1),
    });
  });

  it('treats a non-empty error array with HTTP 200 as an error', async () => {
    const scripted = scriptedFetch(() => json({ error: ['EQuery:Unknown asset pair'] }));
    const error = await new KrakenSource({ ...unitHttp(scripted.fetch).options, now })
      .candles('ETH', range)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(/kraken ETH: GET \/0\/public\/OHLC .*EQuery:Unknown asset pair/);
    expect(scripted.requests).toHaveLength(1);
  });

  it('waits out a rate-limit error and retries', async () => {
    const scripted = scriptedFetch((_url, call) =>
      json(call === 1 ? { error: ['EAPI:Rate limit exceeded'] } : body),
    );
    const http = unitHttp(scripted.fetch);
    const series = await new KrakenSource({ ...http.options, now }).candles('BTC', range);
    expect(series.candles).toHaveLength(2);
    expect(http.waits).toEqual([3_000]);
  });
});
