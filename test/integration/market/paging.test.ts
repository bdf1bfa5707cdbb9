// Each venue adapter against a loopback replay of its documented API, over ranges that need several
// requests: the query parameters of every request, and a stitched series with every day exactly once.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BinanceSource } from '../../../lib/adapters/market/binance.ts';
import { CoinbaseSource } from '../../../lib/adapters/market/coinbase.ts';
import { DeribitSource } from '../../../lib/adapters/market/deribit.ts';
import { NO_RATE_LIMIT, USER_AGENT } from '../../../lib/adapters/market/http.ts';
import { KrakenSource } from '../../../lib/adapters/market/kraken.ts';
import type { CandleSeries } from '../../../lib/domain/market/candle.ts';
import {
  DAY_MS,
  DVOL_PAGE_ROWS,
  type ReplayServer,
  SERVER_NOW,
  startReplayServer,
  syntheticClose,
} from './replay-server.ts';

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer();
});
afterEach(() => server.reset());
afterAll(async () => {
  await server.close();
});

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const TODAY = Math.floor(SERVER_NOW / DAY_MS) * DAY_MS;

function options(venue: keyof ReplayServer['baseUrls']) {
  return {
    baseUrl: server.baseUrls[venue],
    now: () => SERVER_NOW,
    rateLimiter: NO_RATE_LIMIT,
    timeoutMs: 5_000,
    retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 10_000 },
  };
}

/** Every day from `first` to `last` exactly once, in order, at the replay's prices. */
function expectEveryDayOnce(series: CandleSeries, asset: string, first: number, last: number) {
  const times = series.candles.map((c) => c.time);
  expect(times[0]).toBe(first);
  expect(times.at(-1)).toBe(last);
  expect(times).toHaveLength((last - first) / DAY_MS + 1);
  for (let i = 1; i < times.length; i++) expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBe(DAY_MS);
  for (const candle of series.candles.slice(0, 50)) {
    expect(candle.close).toBeCloseTo(syntheticClose(asset, candle.time), asset === 'BTC' ? 0 : 1);
    expect(candle.high).toBeGreaterThanOrEqual(Math.max(candle.open, candle.close));
    expect(candle.low).toBeLessThanOrEqual(Math.min(candle.open, candle.close));
  }
}

describe('Deribit over loopback', () => {
  it('chunks 14 years of daily candles into ≤ 5,000-day requests (the replay rejects longer ones)', async () => {
    const range = { from: day('2010-01-01'), to: TODAY + DAY_MS };
    const series = await new DeribitSource(options('deribit')).candles('BTC', range);
    // Today's bar is still open at SERVER_NOW, so the series ends yesterday.
    expectEveryDayOnce(series, 'BTC', range.from, TODAY - DAY_MS);
    const requests = server.requestsTo('/deribit/api/v2/public/get_tradingview_chart_data');
    expect(requests.map((r) => r.query)).toEqual([
      {
        instrument_name: 'BTC-PERPETUAL',
        start_timestamp: String(range.from),
        end_timestamp: String(range.from + 5_000 * DAY_MS - 1),
        resolution: '1D',
      },
      {
        instrument_name: 'BTC-PERPETUAL',
        start_timestamp: String(range.from + 5_000 * DAY_MS),
        end_timestamp: String(range.to - 1),
        resolution: '1D',
      },
    ]);
    expect(requests[0]?.userAgent).toBe(USER_AGENT);
    // Volume is `cost`, the quote-currency turnover.
    expect(series.candles[0]?.volume).toBeGreaterThan(1_000);
  });

  it('reads a no_data range as an empty series', async () => {
    const series = await new DeribitSource(options('deribit')).candles('SOL', {
      from: TODAY + 10 * DAY_MS,
      to: TODAY + 20 * DAY_MS,
    });
    expect(series.candles).toEqual([]);
  });

  it('pages DVOL backwards with continuation and returns annualised fractions', async () => {
    const range = { from: day('2023-01-01'), to: TODAY };
    const dvol = await new DeribitSource(options('deribit')).impliedVolatility('ETH', range);
    const days = (TODAY - range.from) / DAY_MS;
    expect(dvol.points).toHaveLength(days);
    expect(dvol.points[0]?.[0]).toBe(range.from);
    expect(dvol.points.at(-1)?.[0]).toBe(TODAY - DAY_MS);
    for (const [, sigma] of dvol.points) {
      expect(sigma).toBeGreaterThan(0.35);
      expect(sigma).toBeLessThan(0.65);
    }
    const requests = server.requestsTo('/deribit/api/v2/public/get_volatility_index_data');
    expect(requests).toHaveLength(Math.ceil(days / DVOL_PAGE_ROWS));
    const ends = requests.map((r) => Number(r.query.end_timestamp));
    expect(ends[0]).toBe(range.to - 1);
    for (let i = 1; i < ends.length; i++) {
      expect(ends[i]).toBe(TODAY - DAY_MS * i * DVOL_PAGE_ROWS - 1);
    }
    for (const r of requests)
      expect(r.query).toMatchObject({
        currency: 'ETH',
        start_timestamp: String(range.from),
        resolution: '1D',
      });
  });
});

describe('Binance over loopback', () => {
  it('pages forward 1,000 klines at a time from 2017-08-17', async () => {
    const range = { from: day('2017-08-17'), to: TODAY + DAY_MS };
    const series = await new BinanceSource(options('binance')).candles('BTC', range);
    expectEveryDayOnce(series, 'BTC', range.from, TODAY - DAY_MS);
    const requests = server.requestsTo('/binance/api/v3/klines');
    const served = (TODAY - range.from) / DAY_MS + 1; // the replay also serves today's open kline
    expect(requests).toHaveLength(Math.floor(served / 1_000) + 1);
    requests.forEach((r, i) => {
      expect(r.query).toEqual({
        symbol: 'BTCUSDT',
        interval: '1d',
        startTime: String(range.from + i * 1_000 * DAY_MS),
        endTime: String(range.to - 1),
        limit: '1000',
      });
    });
    // Quote-asset volume (index 7), not base volume.
    expect(series.candles[0]?.volume).toBeGreaterThan(1_000);
  });
});

describe('Coinbase over loopback', () => {
  it('splits 684 days into requests the venue accepts (≤ 300 candles) and sorts newest-first rows', async () => {
    const range = { from: day('2022-08-01'), to: TODAY };
    const series = await new CoinbaseSource(options('coinbase')).candles('ETH', range);
    expectEveryDayOnce(series, 'ETH', range.from, TODAY - DAY_MS);
    const requests = server.requestsTo('/coinbase/products/ETH-USD/candles');
    expect(requests.map((r) => r.query)).toEqual([
      { granularity: '86400', start: '2022-08-01T00:00:00Z', end: '2023-05-27T23:59:59Z' },
      { granularity: '86400', start: '2023-05-28T00:00:00Z', end: '2024-03-22T23:59:59Z' },
      { granularity: '86400', start: '2024-03-23T00:00:00Z', end: '2024-06-14T23:59:59Z' },
    ]);
    // Base volume × close: back near the replay's quote turnover.
    expect(series.candles[0]?.volume).toBeCloseTo(1_000 + ((range.from / DAY_MS) % 100), 6);
  });
});

describe('Kraken over loopback', () => {
  it('reads the canonical pair key and drops the open bar', async () => {
    const range = { from: TODAY - 100 * DAY_MS, to: TODAY + DAY_MS };
    const series = await new KrakenSource(options('kraken')).candles('BTC', range);
    expectEveryDayOnce(series, 'BTC', range.from, TODAY - DAY_MS);
    expect(server.requestsTo('/kraken/0/public/OHLC').map((r) => r.query)).toEqual([
      { pair: 'XBTUSD', interval: '1440', since: String(range.from / 1_000 - 1) },
    ]);
  });

  it('cannot reach past its 720 newest rows: an older range comes back shorter', async () => {
    const range = { from: day('2020-01-01'), to: TODAY };
    const series = await new KrakenSource(options('kraken')).candles('ETH', range);
    expect(series.candles).toHaveLength(720);
    expect(series.candles[0]?.time).toBe(TODAY - 720 * DAY_MS);
    expect(server.requestsTo('/kraken/')).toHaveLength(1);
  });
});
