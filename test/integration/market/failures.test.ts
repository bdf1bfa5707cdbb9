// How the adapters behave when the venue misbehaves, over real loopback HTTP: throttling with
// Retry-After, server errors, stalls past the timeout, venue error envelopes and malformed bodies.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BinanceSource } from '../../../lib/adapters/market/binance.ts';
import { CoinbaseSource } from '../../../lib/adapters/market/coinbase.ts';
import { DeribitSource } from '../../../lib/adapters/market/deribit.ts';
import { MarketHttpError, MinIntervalRateLimiter, NO_RATE_LIMIT } from '../../../lib/adapters/market/http.ts';
import { KrakenSource } from '../../../lib/adapters/market/kraken.ts';
import { sleep } from '../../../lib/adapters/retry.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { DAY_MS, type ReplayServer, SERVER_NOW, startReplayServer } from './replay-server.ts';

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer();
});
afterEach(() => server.reset());
afterAll(async () => {
  await server.close();
});

const TODAY = Math.floor(SERVER_NOW / DAY_MS) * DAY_MS;
const range = { from: TODAY - 30 * DAY_MS, to: TODAY };

/** Real sleeps, recorded, so a test can check what wait the client chose. */
function recordingSleep() {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms: number, signal?: AbortSignal) => {
      waits.push(ms);
      await sleep(Math.min(ms, 20), signal);
    },
  };
}

function options(
  venue: keyof ReplayServer['baseUrls'],
  extra: { timeoutMs?: number; realSleep?: boolean } = {},
) {
  const recorder = recordingSleep();
  return {
    waits: recorder.waits,
    options: {
      baseUrl: server.baseUrls[venue],
      now: () => SERVER_NOW,
      rateLimiter: NO_RATE_LIMIT,
      timeoutMs: extra.timeoutMs ?? 2_000,
      retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 10_000 },
      retryHooks: extra.realSleep ? {} : { sleep: recorder.sleep },
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<MarketHttpError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(MarketSourceError);
  expect(error).toBeInstanceOf(MarketHttpError);
  return error as MarketHttpError;
}

describe('429 with Retry-After', () => {
  it('waits the Retry-After seconds (measured at the server) and then succeeds', async () => {
    server.inject('/binance/', {
      status: 429,
      headers: { 'retry-after': '1' },
      body: '{"code":-1003,"msg":"Too many requests"}',
    });
    const { options: o } = options('binance', { realSleep: true });
    const series = await new BinanceSource(o).candles('BTC', range);
    expect(series.candles).toHaveLength(30);
    const [first, second] = server.requestsTo('/binance/');
    expect(second).toBeDefined();
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('honours an HTTP-date Retry-After', async () => {
    const at = new Date(Date.now() + 2_000).toUTCString();
    server.inject('/coinbase/', {
      status: 429,
      headers: { 'retry-after': at },
      body: '{"message":"Public rate limit exceeded"}',
    });
    const { options: o, waits } = options('coinbase');
    const series = await new CoinbaseSource(o).candles('BTC', range);
    expect(series.candles).toHaveLength(30);
    expect(waits).toHaveLength(1);
    expect(waits[0]).toBeGreaterThan(900);
    expect(waits[0]).toBeLessThanOrEqual(2_000);
  });

  it('retries Deribit’s too_many_requests envelope (code 10028) even on a 4xx status', async () => {
    server.inject('/deribit/', {
      status: 400,
      body: JSON.stringify({
        jsonrpc: '2.0',
        error: { code: 10028, message: 'too_many_requests' },
        testnet: false,
      }),
    });
    const { options: o, waits } = options('deribit');
    const series = await new DeribitSource(o).candles('ETH', range);
    expect(series.candles).toHaveLength(30);
    expect(waits).toHaveLength(1);
    expect(server.requestsTo('/deribit/')).toHaveLength(2);
  });

  it('waits out Kraken’s rate-limit error sent with HTTP 200', async () => {
    server.inject('/kraken/', { status: 200, body: '{"error":["EAPI:Rate limit exceeded"]}' });
    const { options: o, waits } = options('kraken');
    const series = await new KrakenSource(o).candles('SOL', range);
    expect(series.candles).toHaveLength(30);
    expect(waits).toEqual([3_000]);
  });
});

describe('HTTP 500', () => {
  it('retries a 500 and then succeeds', async () => {
    server.inject('/deribit/', { status: 500, body: 'Internal Server Error' });
    const { options: o } = options('deribit');
    const series = await new DeribitSource(o).candles('BTC', range);
    expect(series.candles).toHaveLength(30);
    expect(server.requestsTo('/deribit/')).toHaveLength(2);
  });

  it('gives up on a persistent 500 after the policy’s attempts, naming venue, instrument and path', async () => {
    server.inject(
      '/coinbase/',
      ...Array.from({ length: 5 }, () => ({ status: 500, body: '{"message":"Internal server error"}' })),
    );
    const { options: o } = options('coinbase');
    const error = await failure(new CoinbaseSource(o).candles('SOL', range));
    expect(server.requestsTo('/coinbase/')).toHaveLength(3);
    expect(error).toMatchObject({
      venue: 'coinbase',
      instrument: 'SOL',
      status: 500,
      urlPath: '/coinbase/products/SOL-USD/candles',
    });
    expect(error.message).toBe(
      'coinbase SOL: GET /coinbase/products/SOL-USD/candles returned HTTP 500: {"message":"Internal server error"} (gave up after 3 attempts)',
    );
  });

  it('does not retry a 400 (a request that would fail the same way again)', async () => {
    server.inject('/binance/', { status: 400, body: '{"code":-1121,"msg":"Invalid symbol."}' });
    const { options: o } = options('binance');
    const error = await failure(new BinanceSource(o).candles('ETH', range));
    expect(error.status).toBe(400);
    expect(error.message).toContain('Invalid symbol.');
    expect(server.requestsTo('/binance/')).toHaveLength(1);
  });
});

describe('a response slower than the timeout', () => {
  it('is abandoned at the timeout and retried, then succeeds', async () => {
    server.inject('/kraken/', { delayMs: 1_000 });
    const { options: o } = options('kraken', { timeoutMs: 200 });
    const started = Date.now();
    const series = await new KrakenSource(o).candles('BTC', range);
    expect(series.candles).toHaveLength(30);
    expect(Date.now() - started).toBeLessThan(900);
    expect(server.requestsTo('/kraken/')).toHaveLength(2);
  });

  it('fails with a timeout error once every attempt stalls', async () => {
    server.inject('/binance/', { delayMs: 1_000 }, { delayMs: 1_000 }, { delayMs: 1_000 });
    const { options: o } = options('binance', { timeoutMs: 200 });
    const started = Date.now();
    const error = await failure(new BinanceSource(o).candles('BTC', range));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error.message).toBe(
      'binance BTC: GET /binance/api/v3/klines timed out after 200 ms (gave up after 3 attempts)',
    );
    expect(error.retryable).toBe(true);
    expect(server.requestsTo('/binance/')).toHaveLength(3);
  });
});

describe('malformed bodies', () => {
  it('a body that is not JSON: error naming venue, instrument and path, not retried', async () => {
    server.inject('/binance/', { rawBody: '<html><body>502 Bad Gateway</body></html>' });
    const { options: o } = options('binance');
    const error = await failure(new BinanceSource(o).candles('SOL', range));
    expect(error.message).toBe(
      'binance SOL: GET /binance/api/v3/klines returned a body that is not JSON: <html><body>502 Bad Gateway</body></html>',
    );
    expect(server.requestsTo('/binance/')).toHaveLength(1);
  });

  it('Deribit: a close that is a string is named by its path', async () => {
    const t = [TODAY - 2 * DAY_MS, TODAY - DAY_MS];
    server.inject('/deribit/', {
      rawBody: JSON.stringify({
        jsonrpc: '2.0',
        result: {
          status: 'ok',
          ticks: t,
          open: [1, 2],
          high: [1, 2],
          low: [1, 2],
          close: [1, '2'],
          volume: [1, 1],
          cost: [1, 1],
        },
      }),
    });
    const error = await failure(new DeribitSource(options('deribit').options).candles('BTC', range));
    expect(error.fieldPath).toBe('result.close[1]');
    expect(error.message).toMatch(
      /^deribit BTC: GET \/deribit\/api\/v2\/public\/get_tradingview_chart_data returned a malformed body at result\.close\[1\]: /,
    );
  });

  it('Deribit: a missing column is named', async () => {
    server.inject('/deribit/', {
      rawBody: JSON.stringify({
        jsonrpc: '2.0',
        result: { status: 'ok', ticks: [TODAY - DAY_MS], open: [1], high: [1], low: [1], volume: [1] },
      }),
    });
    const error = await failure(new DeribitSource(options('deribit').options).candles('ETH', range));
    expect(error.fieldPath).toBe('result.close');
  });

  it('Kraken: a price sent as a number instead of a string is named, under the canonical key', async () => {
    server.inject('/kraken/', {
      rawBody: JSON.stringify({
        error: [],
        result: {
          XXBTZUSD: [[(TODAY - DAY_MS) / 1_000, '1.0', '1.0', '1.0', 1.0, '1.0', '1.0', 1]],
          last: 0,
        },
      }),
    });
    const error = await failure(new KrakenSource(options('kraken').options).candles('BTC', range));
    expect(error.fieldPath).toBe('result.XXBTZUSD[0][4]');
  });

  it('Coinbase: an object where the rows should be', async () => {
    server.inject('/coinbase/', { rawBody: '{"candles":[]}' });
    const error = await failure(new CoinbaseSource(options('coinbase').options).candles('BTC', range));
    expect(error.fieldPath).toBe('(root)');
    expect(error.message).toMatch(/expected array/);
  });

  it('Binance: a short kline row', async () => {
    server.inject('/binance/', { rawBody: JSON.stringify([[TODAY - DAY_MS, '1', '1', '1', '1']]) });
    const error = await failure(new BinanceSource(options('binance').options).candles('BTC', range));
    expect(error.fieldPath).toMatch(/^\[0\]/);
  });
});

describe('rate limiting', () => {
  it('spaces requests to one venue by the limiter’s interval', async () => {
    const { options: o } = options('coinbase');
    const source = new CoinbaseSource({ ...o, rateLimiter: new MinIntervalRateLimiter(150) });
    await source.candles('BTC', { from: TODAY - 900 * DAY_MS, to: TODAY }); // 3 requests
    const times = server.requestsTo('/coinbase/').map((r) => r.at);
    expect(times).toHaveLength(3);
    for (let i = 1; i < times.length; i++)
      expect((times[i] ?? 0) - (times[i - 1] ?? 0)).toBeGreaterThanOrEqual(140);
  });
});
