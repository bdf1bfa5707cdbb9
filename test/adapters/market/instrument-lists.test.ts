// The venues' instrument lists over real loopback HTTP: each venue's shape read into catalogue rows, a venue
// down or answering garbage reported as failed (naming it), never as an empty list.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMIT } from '../../../lib/adapters/market/http.ts';
import { krakenAsset, VenueInstrumentLists } from '../../../lib/adapters/market/instrument-lists.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { binanceRow, deribitRow, type LoopbackLists, startLoopbackLists } from './loopback-lists.ts';

let venues: LoopbackLists;
beforeAll(async () => {
  venues = await startLoopbackLists();
});
afterEach(() => {
  for (const key of Object.keys(venues.answers)) delete venues.answers[key as keyof typeof venues.answers];
  for (const key of Object.keys(venues.hits)) delete venues.hits[key];
});
afterAll(() => venues.close());

const lists = () =>
  new VenueInstrumentLists({
    baseUrl: venues.baseUrl,
    rateLimiter: NO_RATE_LIMIT,
    timeoutMs: 2_000,
    retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 5_000 },
  });

describe('venue instrument lists', () => {
  it('reads each venue’s list into catalogue rows', async () => {
    venues.answers.deribit = {
      body: {
        jsonrpc: '2.0',
        result: [deribitRow('BTC-PERPETUAL', 'BTC', 'USD'), deribitRow('BTC-27DEC26', 'BTC', 'USD')],
      },
    };
    venues.answers.binance = {
      body: {
        timezone: 'UTC',
        symbols: [binanceRow('BTCUSDT', 'BTC'), binanceRow('CVCUSDT', 'CVC', 'SETTLING')],
      },
    };
    venues.answers.coinbase = {
      body: [
        {
          id: 'BTC-USD',
          base_currency: 'BTC',
          quote_currency: 'USD',
          status: 'online',
          trading_disabled: false,
        },
        { id: 'OLD-USD', base_currency: 'OLD', quote_currency: 'USD', status: 'delisted' },
      ],
    };
    venues.answers.kraken = {
      body: {
        error: [],
        result: {
          XXBTZUSD: {
            altname: 'XBTUSD',
            base: 'XXBT',
            quote: 'ZUSD',
            status: 'online',
            execution_venue: 'x',
          },
          'XXBTZUSD.d': { altname: 'XBTUSD.d', base: 'XXBT', quote: 'ZUSD' },
          SOLUSD: { altname: 'SOLUSD', base: 'SOL', quote: 'ZUSD', status: 'reduce_only' },
        },
      },
    };
    const read = await lists().read(['deribit', 'binance', 'coinbase', 'kraken']);
    expect(read).toEqual([
      {
        venue: 'deribit',
        instruments: [
          { name: 'BTC-PERPETUAL', base: 'BTC', quote: 'USD', kind: 'perpetual', trading: true },
          { name: 'BTC-27DEC26', base: 'BTC', quote: 'USD', kind: 'future', trading: true },
        ],
      },
      {
        venue: 'binance',
        instruments: [
          { name: 'BTCUSDT', base: 'BTC', quote: 'USDT', kind: 'perpetual', trading: true },
          { name: 'CVCUSDT', base: 'CVC', quote: 'USDT', kind: 'perpetual', trading: false },
        ],
      },
      {
        venue: 'coinbase',
        instruments: [
          { name: 'BTC-USD', base: 'BTC', quote: 'USD', kind: 'spot', trading: true },
          { name: 'OLD-USD', base: 'OLD', quote: 'USD', kind: 'spot', trading: false },
        ],
      },
      {
        venue: 'kraken',
        instruments: [
          { name: 'XBTUSD', base: 'BTC', quote: 'USD', kind: 'spot', trading: true },
          { name: 'SOLUSD', base: 'SOL', quote: 'USD', kind: 'spot', trading: false },
        ],
      },
    ]);
    expect(krakenAsset('XXDG')).toBe('DOGE');
    expect(krakenAsset('USDT')).toBe('USDT');
  });

  it('a venue down is failed with the reason, the others still read', async () => {
    venues.answers.deribit = { body: { result: [deribitRow('BTC-PERPETUAL', 'BTC', 'USD')] } };
    venues.answers.binance = { status: 503 };
    const read = await lists().read(['deribit', 'binance']);
    expect(read[0]).toMatchObject({
      venue: 'deribit',
      instruments: [expect.objectContaining({ name: 'BTC-PERPETUAL' })],
    });
    expect(read[1]).toEqual({
      venue: 'binance',
      failed: expect.stringMatching(/^binance instrument list: GET \/fapi\/v1\/exchangeInfo .*503/),
    });
    // Retried before giving up (503 is retryable).
    expect(venues.hits['/fapi/v1/exchangeInfo']).toBe(2);
  });

  it('rejects a malformed body naming the venue and the field', async () => {
    venues.answers.binance = {
      body: {
        symbols: [{ symbol: 'BTCUSDT', contractType: 'PERPETUAL', baseAsset: 'BTC', quoteAsset: 'USDT' }],
      },
    };
    venues.answers.kraken = { raw: '<html>maintenance</html>' };
    venues.answers.coinbase = { body: { message: 'not a list' } };
    const error = await lists()
      .venue('binance')
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as MarketSourceError).venue).toBe('binance');
    expect((error as Error).message).toMatch(
      /^binance instrument list: .*malformed body at symbols\[0\]\.status/,
    );
    const read = await lists().read(['kraken', 'coinbase']);
    expect(read).toEqual([
      { venue: 'kraken', failed: expect.stringMatching(/^kraken instrument list: /) },
      { venue: 'coinbase', failed: expect.stringMatching(/^coinbase instrument list: .*malformed body/) },
    ]);
  });
});
