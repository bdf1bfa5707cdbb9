import { describe, expect, it } from 'vitest';
import {
  CoinbaseMarkSource,
  coinbaseTickerResponseSchema,
} from '../../../../lib/adapters/market/marks/coinbase.ts';
import { json, scriptedFetch, unitHttp } from '../fake-fetch.ts';
import { coinbaseTicker, NOW } from './bodies.ts';

const now = () => NOW;

function source(body: unknown, status = 200) {
  const scripted = scriptedFetch(() => json(body, { status }));
  return { ...scripted, coinbase: new CoinbaseMarkSource({ ...unitHttp(scripted.fetch).options, now }) };
}

describe('CoinbaseMarkSource', () => {
  it('reads the last trade’s price and its ISO time (µs digits) as ms, from the catalogue’s product', async () => {
    const { coinbase, requests } = source(coinbaseTicker);
    expect(await coinbase.mark('BTC')).toEqual({
      venue: 'coinbase',
      instrument: 'BTC',
      price: 67018.41,
      at: Date.UTC(2024, 5, 10, 6, 13, 20, 123),
    });
    expect(requests[0]?.url.pathname).toBe('/products/BTC-USD/ticker');
    expect(requests[0]?.url.search).toBe('');
    expect(requests[0]?.headers.get('user-agent')).toMatch(/^qmt\//);
  });

  it('reads a time with an offset and one without fractional digits', () => {
    const parse = (time: string) => coinbaseTickerResponseSchema.parse({ ...coinbaseTicker, time }).time;
    expect(parse('2024-06-10T06:13:20Z')).toBe(Date.UTC(2024, 5, 10, 6, 13, 20));
    expect(parse('2024-06-10T08:13:20.5+02:00')).toBe(Date.UTC(2024, 5, 10, 6, 13, 20, 500));
  });

  it.each([
    ['missing', undefined],
    ['without a zone (local time is a guess)', '2024-06-10T06:13:20.123'],
    ['in seconds', 1718000000],
    ['not a date', 'yesterday'],
  ])('rejects a time that is %s, naming time', (_name, time) => {
    const parsed = coinbaseTickerResponseSchema.safeParse({ ...coinbaseTicker, time });
    expect(parsed.error?.issues[0]?.path).toEqual(['time']);
  });

  it.each([['NaN'], ['0'], ['-67018.41'], [67018.41], [null]])(
    'rejects the price %j, naming price',
    (price) => {
      const parsed = coinbaseTickerResponseSchema.safeParse({ ...coinbaseTicker, price });
      expect(parsed.error?.issues[0]?.path).toEqual(['price']);
    },
  );

  it('accepts trade_id as a string too (ccxt records it so), since it is not read', () => {
    expect(coinbaseTickerResponseSchema.safeParse({ ...coinbaseTicker, trade_id: '654321987' }).success).toBe(
      true,
    );
  });

  it('does not retry an unknown product (HTTP 404 NotFound)', async () => {
    const { coinbase, requests } = source({ message: 'NotFound' }, 404);
    await expect(coinbase.mark('ETH')).rejects.toThrow(
      /coinbase ETH: GET \/products\/ETH-USD\/ticker returned HTTP 404: \{"message":"NotFound"\}/,
    );
    expect(requests).toHaveLength(1);
  });
});
