import { describe, expect, it } from 'vitest';
import {
  BINANCE_FUTURES_BASE_URL,
  BinanceMarkSource,
  binancePremiumIndexResponseSchema,
} from '../../../../lib/adapters/market/marks/binance.ts';
import { MarketSourceError } from '../../../../lib/domain/errors.ts';
import { json, scriptedFetch, unitHttp } from '../fake-fetch.ts';
import { binancePremiumIndex, NOW } from './bodies.ts';

const now = () => NOW;

function source(body: unknown, status = 200) {
  const scripted = scriptedFetch(() => json(body, { status }));
  return { ...scripted, binance: new BinanceMarkSource({ ...unitHttp(scripted.fetch).options, now }) };
}

describe('BinanceMarkSource', () => {
  it('reads markPrice (a decimal string) and the record’s time in ms, asking for the catalogue’s symbol', async () => {
    const { binance, requests } = source(binancePremiumIndex);
    expect(await binance.mark('BTC')).toEqual({
      venue: 'binance',
      instrument: 'BTC',
      price: 67021.4, // markPrice; indexPrice is 67003.81234567
      at: 1718000000000,
    });
    expect(Object.fromEntries(requests[0]?.url.searchParams ?? [])).toEqual({ symbol: 'BTCUSDT' });
  });

  it('defaults to the futures host, not the spot market-data host the candles use', () => {
    expect(BINANCE_FUTURES_BASE_URL).toBe('https://fapi.binance.com');
  });

  it('accepts the time as a string of digits (as ccxt records it) and funding fields left empty', async () => {
    const delivery = {
      ...binancePremiumIndex,
      time: '1718000000000',
      lastFundingRate: '',
      interestRate: '',
      nextFundingTime: 0,
    };
    expect((await source(delivery).binance.mark('BTC')).at).toBe(1718000000000);
  });

  it.each([
    ['a number instead of a decimal string', 67021.4],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['an empty string', ''],
    ['zero', '0.00000000'],
    ['a negative price', '-1.5'],
    ['an overflow to infinity', '1e999'],
    ['a comma decimal', '67021,4'],
  ])('rejects a markPrice that is %s, naming markPrice', (_name, markPrice) => {
    const parsed = binancePremiumIndexResponseSchema.safeParse({ ...binancePremiumIndex, markPrice });
    expect(parsed.error?.issues[0]?.path).toEqual(['markPrice']);
  });

  it('rejects a missing or fractional time', () => {
    const { time: _t, ...noTime } = binancePremiumIndex;
    expect(binancePremiumIndexResponseSchema.safeParse(noTime).error?.issues[0]?.path).toEqual(['time']);
    expect(
      binancePremiumIndexResponseSchema.safeParse({ ...binancePremiumIndex, time: '1718000000.5' }).success,
    ).toBe(false);
  });

  it('rejects the every-symbol array (the request lost its symbol) and an answer for another symbol', async () => {
    await expect(source([binancePremiumIndex]).binance.mark('BTC')).rejects.toThrow(
      /malformed body at \(root\)/,
    );
    const error = await source({ ...binancePremiumIndex, symbol: 'ETHUSDT' })
      .binance.mark('BTC')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toBe(
      'binance BTC: asked for BTCUSDT, the mark price answered for ETHUSDT',
    );
  });

  it('does not retry an invalid symbol (HTTP 400, -1121)', async () => {
    const { binance, requests } = source({ code: -1121, msg: 'Invalid symbol.' }, 400);
    await expect(binance.mark('BTC')).rejects.toThrow(/HTTP 400: \{"code":-1121,"msg":"Invalid symbol."\}/);
    expect(requests).toHaveLength(1);
  });

  it('does not retry a restricted location (HTTP 451), quoting Binance’s reason', async () => {
    const reason = 'Service unavailable from a restricted location';
    const { binance, requests } = source({ code: 0, msg: reason }, 451);
    const error = await binance.mark('BTC').catch((e: unknown) => e);
    expect(error).toMatchObject({ venue: 'binance', instrument: 'BTC', status: 451, retryable: false });
    expect((error as Error).message).toContain(reason);
    expect(requests).toHaveLength(1);
  });
});
