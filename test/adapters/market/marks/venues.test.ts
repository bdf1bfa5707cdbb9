// What every venue mark source shares with the candle sources: the retry, timeout and error discipline of
// the HTTP client, and the catalogue's not-listed error. One table, four venues.
import { describe, expect, it } from 'vitest';
import { MarketHttpError } from '../../../../lib/adapters/market/http.ts';
import {
  BinanceMarkSource,
  CoinbaseMarkSource,
  createVenueMarkSources,
  DeribitMarkSource,
  KrakenMarkSource,
  type VenueMarkOptions,
} from '../../../../lib/adapters/market/marks/index.ts';
import { InstrumentNotListedError } from '../../../../lib/config/instruments.ts';
import { MarketSourceError } from '../../../../lib/domain/errors.ts';
import type { VenueMarkSource } from '../../../../lib/ports.ts';
import { json, scriptedFetch, unitHttp } from '../fake-fetch.ts';
import { binancePremiumIndex, coinbaseTicker, deribitTicker, krakenTicker, NOW } from './bodies.ts';

interface VenueCase {
  readonly venue: string;
  readonly create: (options: VenueMarkOptions) => VenueMarkSource;
  readonly path: string;
  readonly body: unknown;
  /** The body with its price field broken. */
  readonly malformed: unknown;
  readonly badField: string;
  readonly price: number;
}

const cases: VenueCase[] = [
  {
    venue: 'deribit',
    create: (o) => new DeribitMarkSource(o),
    path: '/public/ticker',
    body: deribitTicker,
    malformed: { ...deribitTicker, result: { ...deribitTicker.result, index_price: 'NaN' } },
    badField: 'result.index_price',
    price: 66990.18,
  },
  {
    venue: 'binance',
    create: (o) => new BinanceMarkSource(o),
    path: '/fapi/v1/premiumIndex',
    body: binancePremiumIndex,
    malformed: { ...binancePremiumIndex, markPrice: '' },
    badField: 'markPrice',
    price: 67021.4,
  },
  {
    venue: 'coinbase',
    create: (o) => new CoinbaseMarkSource(o),
    path: '/products/BTC-USD/ticker',
    body: coinbaseTicker,
    malformed: { ...coinbaseTicker, price: '-67018.41' },
    badField: 'price',
    price: 67018.41,
  },
  {
    venue: 'kraken',
    create: (o) => new KrakenMarkSource(o),
    path: '/0/public/Ticker',
    body: krakenTicker,
    malformed: { error: [], result: { XXBTZUSD: { ...krakenTicker.result.XXBTZUSD, c: [] } } },
    badField: 'result.XXBTZUSD.c[0]',
    price: 67019.9,
  },
];

const never = (_url: URL, _call: number, init: RequestInit) =>
  new Promise<Response>((_resolve, reject) => {
    init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
  });

describe.each(cases)('$venue mark source', (c) => {
  const now = () => NOW;

  it('asks the venue’s current-price path and returns the price under the qmt symbol', async () => {
    const scripted = scriptedFetch(() => json(c.body));
    const mark = await c.create({ ...unitHttp(scripted.fetch).options, now }).mark('BTC');
    expect(mark).toMatchObject({ venue: c.venue, instrument: 'BTC', price: c.price });
    expect(scripted.requests.map((r) => r.url.pathname)).toEqual([c.path]);
  });

  it('waits out an HTTP 429 for its Retry-After, then succeeds', async () => {
    const scripted = scriptedFetch((_url, call) =>
      call === 1
        ? json({ message: 'Too many requests' }, { status: 429, headers: { 'retry-after': '2' } })
        : json(c.body),
    );
    const http = unitHttp(scripted.fetch);
    const mark = await c.create({ ...http.options, now }).mark('BTC');
    expect(mark.price).toBe(c.price);
    expect(scripted.requests).toHaveLength(2);
    expect(http.waits).toEqual([2_000]);
  });

  it('abandons a stalled request at the timeout and retries it', async () => {
    const scripted = scriptedFetch((url, call, init) => (call === 1 ? never(url, call, init) : json(c.body)));
    const mark = await c.create({ ...unitHttp(scripted.fetch).options, timeoutMs: 30, now }).mark('BTC');
    expect(mark.price).toBe(c.price);
    expect(scripted.requests).toHaveLength(2);
  });

  it('fails naming venue, instrument and the timeout when every attempt stalls', async () => {
    const scripted = scriptedFetch(never);
    const error = await c
      .create({ ...unitHttp(scripted.fetch).options, timeoutMs: 30, now })
      .mark('BTC')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketHttpError);
    expect(error).toMatchObject({ venue: c.venue, instrument: 'BTC' });
    expect((error as Error).message).toMatch(/timed out after 30 ms.*gave up after 3 attempts/);
  });

  it('names the bad field of a malformed body, and does not retry it', async () => {
    const scripted = scriptedFetch(() => json(c.malformed));
    const error = await c
      .create({ ...unitHttp(scripted.fetch).options, now })
      .mark('BTC')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketHttpError);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect(error).toMatchObject({
      venue: c.venue,
      instrument: 'BTC',
      fieldPath: c.badField,
      retryable: false,
    });
    expect((error as Error).message).toContain(`malformed body at ${c.badField}`);
    expect(scripted.requests).toHaveLength(1);
  });

  it('throws the catalogue’s not-listed error for an instrument the venue does not list, asking nothing', async () => {
    const scripted = scriptedFetch(() => json(c.body));
    // A listing on one other venue only: valid for the catalogue, absent on this venue.
    const other =
      c.venue === 'kraken' ? { coinbase: { productId: 'DOGE-USD' } } : { kraken: { pair: 'XDGUSD' } };
    const error = await c
      .create({ ...unitHttp(scripted.fetch).options, now, catalogue: { DOGE: other } })
      .mark('DOGE')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InstrumentNotListedError);
    expect(error).toMatchObject({ instrument: 'DOGE', venue: c.venue });
    expect(scripted.requests).toHaveLength(0);
  });
});

describe('createVenueMarkSources', () => {
  it('builds the four venues in order, each with the base URL it is given', async () => {
    const scripted = scriptedFetch((url) => {
      if (url.host === 'deribit.test') return json(deribitTicker);
      if (url.host === 'binance.test') return json(binancePremiumIndex);
      if (url.host === 'coinbase.test') return json(coinbaseTicker);
      return json(krakenTicker);
    });
    const { options } = unitHttp(scripted.fetch);
    const { baseUrl: _unused, ...http } = options;
    const sources = createVenueMarkSources(undefined, {
      http,
      now: () => NOW,
      baseUrls: {
        deribit: 'http://deribit.test',
        binance: 'http://binance.test',
        coinbase: 'http://coinbase.test',
        kraken: 'http://kraken.test',
      },
    });
    expect(sources.map((s) => s.venue)).toEqual(['deribit', 'binance', 'coinbase', 'kraken']);
    const marks = await Promise.all(sources.map((s) => s.mark('BTC')));
    expect(marks.map((m) => m.price)).toEqual([66990.18, 67021.4, 67018.41, 67019.9]);
  });
});
