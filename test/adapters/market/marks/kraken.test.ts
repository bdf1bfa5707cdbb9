import { describe, expect, it } from 'vitest';
import {
  KrakenMarkSource,
  krakenTickerResponseSchema,
} from '../../../../lib/adapters/market/marks/kraken.ts';
import { MarketSourceError } from '../../../../lib/domain/errors.ts';
import { json, scriptedFetch, unitHttp } from '../fake-fetch.ts';
import { krakenTicker, NOW } from './bodies.ts';

describe('KrakenMarkSource', () => {
  it('reads the last trade c[0] under the canonical key, timed when the answer arrived', async () => {
    let clock = NOW;
    const scripted = scriptedFetch(() => {
      clock += 250; // the answer arrives 250 ms after the request
      return json(krakenTicker);
    });
    const kraken = new KrakenMarkSource({ ...unitHttp(scripted.fetch).options, now: () => clock });
    expect(await kraken.mark('BTC')).toEqual({
      venue: 'kraken',
      instrument: 'BTC',
      price: 67019.9,
      at: NOW + 250,
    });
    expect(scripted.requests[0]?.url.pathname).toBe('/0/public/Ticker');
    expect(Object.fromEntries(scripted.requests[0]?.url.searchParams ?? [])).toEqual({ pair: 'XBTUSD' });
  });

  it('needs exactly one pair key', () => {
    const ticker = krakenTicker.result.XXBTZUSD;
    const two = { error: [], result: { XXBTZUSD: ticker, XETHZUSD: ticker } };
    expect(krakenTickerResponseSchema.safeParse(two).error?.issues[0]?.message).toMatch(
      /found XXBTZUSD, XETHZUSD/,
    );
    expect(krakenTickerResponseSchema.safeParse({ error: [], result: {} }).error?.issues[0]?.message).toMatch(
      /found none/,
    );
  });

  it.each([[67019.9], ['NaN'], ['0.00000'], ['']])('rejects the last trade %j, naming c[0]', (price) => {
    const body = { error: [], result: { XXBTZUSD: { ...krakenTicker.result.XXBTZUSD, c: [price, '1'] } } };
    expect(krakenTickerResponseSchema.safeParse(body).error?.issues[0]?.path).toEqual([
      'result',
      'XXBTZUSD',
      'c',
      0,
    ]);
  });

  it('treats an error array with HTTP 200 and no result as a final error', async () => {
    const scripted = scriptedFetch(() => json({ error: ['EQuery:Unknown asset pair'] }));
    const error = await new KrakenMarkSource({ ...unitHttp(scripted.fetch).options, now: () => NOW })
      .mark('ETH')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(
      /kraken ETH: GET \/0\/public\/Ticker .*EQuery:Unknown asset pair/,
    );
    expect(scripted.requests).toHaveLength(1);
  });

  it('waits out Kraken’s rate-limit error (HTTP 200) and retries', async () => {
    const scripted = scriptedFetch((_url, call) =>
      json(call === 1 ? { error: ['EAPI:Rate limit exceeded'] } : krakenTicker),
    );
    const http = unitHttp(scripted.fetch);
    const mark = await new KrakenMarkSource({ ...http.options, now: () => NOW }).mark('BTC');
    expect(mark.price).toBe(67019.9);
    expect(http.waits).toEqual([3_000]);
  });
});
