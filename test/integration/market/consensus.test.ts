// The consensus over all four replayed venues, wired the way the app wires it (createConsensusSource).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMIT } from '../../../lib/adapters/market/http.ts';
import { createConsensusSource } from '../../../lib/adapters/market/index.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { DAY_MS, type ReplayServer, SERVER_NOW, startReplayServer, syntheticClose } from './replay-server.ts';

let server: ReplayServer;
beforeAll(async () => {
  server = await startReplayServer();
});
afterEach(() => server.reset());
afterAll(async () => {
  await server.close();
});

const TODAY = Math.floor(SERVER_NOW / DAY_MS) * DAY_MS;
const range = { from: TODAY - 200 * DAY_MS, to: TODAY + DAY_MS };

function market(
  venues: Parameters<typeof createConsensusSource>[0] = ['deribit', 'binance', 'coinbase', 'kraken'],
) {
  return createConsensusSource(venues, {
    baseUrls: server.baseUrls,
    now: () => SERVER_NOW,
    http: {
      rateLimiter: NO_RATE_LIMIT,
      timeoutMs: 2_000,
      retryPolicy: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 10, deadlineMs: 5_000 },
    },
  });
}

describe('consensus over the replayed venues', () => {
  it('excludes a venue 10% off on every day; the closes are the honest venues’', async () => {
    server.priceFactor.coinbase = 1.1;
    const series = await market().candles('BTC', range);
    expect(series.source).toBe('consensus(deribit,binance,coinbase,kraken)');
    expect(series.candles).toHaveLength(200);
    expect(series.candles.at(-1)?.time).toBe(TODAY - DAY_MS);
    for (const candle of series.candles)
      expect(candle.close).toBeCloseTo(syntheticClose('BTC', candle.time), 1);
    const coinbase = series.venueReport.find((v) => v.venue === 'coinbase');
    expect(coinbase).toMatchObject({ status: 'disagreed', daysUsed: 0 });
    expect(coinbase?.disagreements).toHaveLength(200);
    expect(series.venueReport.filter((v) => v.status === 'ok').map((v) => v.venue)).toEqual([
      'deribit',
      'binance',
      'kraken',
    ]);
  });

  it('keeps the quorum when one venue is down, and reports it', async () => {
    server.inject('/deribit/', { status: 503, body: 'down' }, { status: 503, body: 'down' });
    const series = await market(['deribit', 'binance', 'coinbase']).candles('ETH', range);
    expect(series.candles).toHaveLength(200);
    expect(series.venueReport[0]).toMatchObject({ venue: 'deribit', status: 'failed' });
    expect(series.venueReport[0]?.error).toContain('HTTP 503');
  });

  it('fails naming both venues when two of three are down', async () => {
    server.inject('/deribit/', { status: 503, body: 'down' }, { status: 503, body: 'down' });
    server.inject('/binance/', { rawBody: 'not json' });
    const error = await market(['deribit', 'binance', 'coinbase'])
      .candles('SOL', range)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    const message = (error as Error).message;
    expect(message).toContain(
      'consensus(deribit,binance,coinbase) SOL: 1 of 3 venues returned data, quorum is 2',
    );
    expect(message).toMatch(/deribit failed \(deribit SOL: GET .* HTTP 503/);
    expect(message).toMatch(/binance failed \(binance SOL: GET .* not JSON/);
  });

  it('passes Deribit’s DVOL through', async () => {
    const dvol = await market().impliedVolatility?.('BTC', { from: TODAY - 10 * DAY_MS, to: TODAY });
    expect(dvol?.source).toBe('deribit:dvol');
    expect(dvol?.points).toHaveLength(10);
  });
});
