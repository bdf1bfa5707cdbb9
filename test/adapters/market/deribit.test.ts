import { describe, expect, it } from 'vitest';
import {
  DeribitSource,
  deribitBodyError,
  deribitChartCandles,
  deribitChartResponseSchema,
  dvolToFraction,
} from '../../../lib/adapters/market/deribit.ts';
import { InstrumentNotListedError } from '../../../lib/config/instruments.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import { day, json, scriptedFetch, unitHttp } from './fake-fetch.ts';

// The docs' example (market-apis.md §1b), keys deliberately in another order: Deribit does not promise one.
const docsChart = {
  jsonrpc: '2.0',
  result: {
    close: [5052.95, 5013.59],
    status: 'ok',
    ticks: [1554373800000, 1554375600000],
    volume: [19.007942601, 20.095877981],
    cost: [19000, 23400],
    open: [4963.42, 4986.29],
    low: [4728.94, 4726.6],
    high: [5185.45, 5250.87],
  },
  usIn: 1554381680742493,
  usOut: 1554381680742698,
  usDiff: 205,
  testnet: false,
};

function dailyChart(times: readonly number[], close = (i: number) => 100 + i) {
  return {
    jsonrpc: '2.0',
    result: {
      status: 'ok',
      ticks: times,
      open: times.map((_, i) => close(i) - 1),
      high: times.map((_, i) => close(i) + 2),
      low: times.map((_, i) => close(i) - 2),
      close: times.map((_, i) => close(i)),
      volume: times.map(() => 3),
      cost: times.map((_, i) => 300 * close(i)),
    },
  };
}

describe('Deribit chart parsing', () => {
  it('zips the columnar arrays by name and takes cost (quote currency) as volume', () => {
    const candles = deribitChartCandles(deribitChartResponseSchema.parse(docsChart));
    expect(candles).toEqual([
      { time: 1554373800000, open: 4963.42, high: 5185.45, low: 4728.94, close: 5052.95, volume: 19000 },
      { time: 1554375600000, open: 4986.29, high: 5250.87, low: 4726.6, close: 5013.59, volume: 23400 },
    ]);
  });

  it('falls back to base volume × close when cost is absent', () => {
    const { cost: _cost, ...withoutCost } = docsChart.result;
    const candles = deribitChartCandles(deribitChartResponseSchema.parse({ result: withoutCost }));
    expect(candles[0]?.volume).toBeCloseTo(19.007942601 * 5052.95, 6);
  });

  it('reads status no_data as no candles', () => {
    expect(deribitChartCandles(deribitChartResponseSchema.parse({ result: { status: 'no_data' } }))).toEqual(
      [],
    );
    const empty = {
      status: 'no_data',
      ticks: [],
      open: [],
      high: [],
      low: [],
      close: [],
      volume: [],
      cost: [],
    };
    expect(deribitChartCandles(deribitChartResponseSchema.parse({ result: empty }))).toEqual([]);
  });

  it('rejects columns of unequal length, naming the column', () => {
    const bad = { result: { ...docsChart.result, close: [5052.95] } };
    const parsed = deribitChartResponseSchema.safeParse(bad);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['result', 'close']);
  });

  it('reads the JSON-RPC error envelope: 10028 is retryable, others are final', () => {
    expect(
      deribitBodyError({ jsonrpc: '2.0', error: { code: 10028, message: 'too_many_requests' } }),
    ).toEqual({
      message: 'JSON-RPC error 10028 too_many_requests',
      retryable: true,
    });
    expect(
      deribitBodyError({
        jsonrpc: '2.0',
        error: { code: -32602, message: 'Invalid params', data: { param: 'instrument_name' } },
      }),
    ).toMatchObject({ retryable: false, message: expect.stringContaining('instrument_name') });
    expect(deribitBodyError(docsChart)).toBeUndefined();
  });
});

describe('DVOL units', () => {
  it('turns vol points and fractions into annualised fractions', () => {
    expect(dvolToFraction(56.76)).toBeCloseTo(0.5676, 12);
    expect(dvolToFraction(114.72)).toBeCloseTo(1.1472, 12);
    expect(dvolToFraction(0.210084879)).toBe(0.210084879);
    expect(dvolToFraction(0)).toBeUndefined();
    expect(dvolToFraction(900)).toBeUndefined();
  });
});

describe('DeribitSource', () => {
  const range = { from: day('2024-01-01'), to: day('2024-01-06') };
  const now = () => day('2024-06-01');

  it('asks for 1D candles of the catalogue’s perpetual, chunked at maxCandlesPerRequest', async () => {
    const scripted = scriptedFetch((url) => {
      const start = Number(url.searchParams.get('start_timestamp'));
      const end = Number(url.searchParams.get('end_timestamp'));
      const times: number[] = [];
      for (let t = start; t <= end; t += DAY_MS) times.push(t);
      return json(dailyChart(times));
    });
    const source = new DeribitSource({ ...unitHttp(scripted.fetch).options, now, maxCandlesPerRequest: 2 });
    const series = await source.candles('BTC', range);
    expect(series.candles.map((c) => c.time)).toEqual([0, 1, 2, 3, 4].map((i) => range.from + i * DAY_MS));
    expect(series).toMatchObject({ instrument: 'BTC', source: 'deribit', intervalMs: DAY_MS });
    expect(scripted.requests.map((r) => Object.fromEntries(r.url.searchParams))).toEqual([
      {
        instrument_name: 'BTC-PERPETUAL',
        start_timestamp: String(range.from),
        end_timestamp: String(range.from + 2 * DAY_MS - 1),
        resolution: '1D',
      },
      expect.objectContaining({ start_timestamp: String(range.from + 2 * DAY_MS) }),
      expect.objectContaining({
        start_timestamp: String(range.from + 4 * DAY_MS),
        end_timestamp: String(range.to - 1),
      }),
    ]);
    expect(scripted.requests[0]?.url.pathname).toBe('/public/get_tradingview_chart_data');
  });

  it('retries a too_many_requests envelope, then succeeds', async () => {
    const scripted = scriptedFetch((_url, call) =>
      call === 1
        ? json({ jsonrpc: '2.0', error: { code: 10028, message: 'too_many_requests' } }, { status: 429 })
        : json(dailyChart([range.from])),
    );
    const http = unitHttp(scripted.fetch);
    const series = await new DeribitSource({ ...http.options, now }).candles('BTC', range);
    expect(series.candles).toHaveLength(1);
    expect(scripted.requests).toHaveLength(2);
  });

  it('fails at once on a non-retryable error envelope, with the venue’s message', async () => {
    const scripted = scriptedFetch(() =>
      json({ jsonrpc: '2.0', error: { code: 13020, message: 'not_found' } }, { status: 400 }),
    );
    const error = await new DeribitSource({ ...unitHttp(scripted.fetch).options, now })
      .candles('ETH', range)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(/deribit ETH: .*JSON-RPC error 13020 not_found/);
    expect(scripted.requests).toHaveLength(1);
  });

  it('rejects candles that are not at a UTC day open (a unit or resolution mix-up)', async () => {
    const scripted = scriptedFetch(() => json(docsChart));
    await expect(
      new DeribitSource({ ...unitHttp(scripted.fetch).options, now }).candles('BTC', {
        from: 0,
        to: day('2020-01-01'),
      }),
    ).rejects.toThrow(/candle time 1554373800000 \(2019-04-04T10:30:00.000Z\) is not a UTC day open/);
  });

  it('pages DVOL backwards with continuation and returns fractions oldest first', async () => {
    const t = (i: number) => range.from + i * DAY_MS;
    const scripted = scriptedFetch((url, call) => {
      if (call === 1) {
        expect(url.searchParams.get('end_timestamp')).toBe(String(range.to - 1));
        return json({
          result: {
            data: [
              [t(3), 50, 52, 49, 51.5],
              [t(4), 51, 53, 50, 52.25],
            ],
            continuation: t(3) - 1,
          },
        });
      }
      expect(url.searchParams.get('end_timestamp')).toBe(String(t(3) - 1));
      return json({
        result: {
          data: [
            [t(1), 48, 49, 47, 48.5],
            [t(2), 49, 50, 48, 49.75],
          ],
          continuation: null,
        },
      });
    });
    const dvol = await new DeribitSource({ ...unitHttp(scripted.fetch).options, now }).impliedVolatility(
      'BTC',
      range,
    );
    expect(scripted.requests.map((r) => r.url.searchParams.get('currency'))).toEqual(['BTC', 'BTC']);
    expect(dvol.points.map(([time]) => time)).toEqual([t(1), t(2), t(3), t(4)]);
    expect(dvol.points.map(([, v]) => v)).toEqual(
      [0.485, 0.4975, 0.515, 0.5225].map((v) => expect.closeTo(v, 12)),
    );
    for (const [, v] of dvol.points) expect(v).toBeGreaterThan(0.05);
  });

  it('stops a DVOL cursor that does not move back', async () => {
    const scripted = scriptedFetch(() => json({ result: { data: [], continuation: day('2024-01-05') } }));
    await expect(
      new DeribitSource({ ...unitHttp(scripted.fetch).options, now }).impliedVolatility('ETH', range),
    ).rejects.toThrow(/continuation .* does not move back/);
  });

  it('says SOL has no DVOL', async () => {
    const scripted = scriptedFetch(() => json({}));
    await expect(
      new DeribitSource({ ...unitHttp(scripted.fetch).options, now }).impliedVolatility('SOL', range),
    ).rejects.toBeInstanceOf(InstrumentNotListedError);
    expect(scripted.requests).toHaveLength(0);
  });
});
