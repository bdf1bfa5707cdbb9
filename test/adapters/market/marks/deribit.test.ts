import { describe, expect, it } from 'vitest';
import {
  DeribitMarkSource,
  deribitTickerResponseSchema,
} from '../../../../lib/adapters/market/marks/deribit.ts';
import { MarketSourceError } from '../../../../lib/domain/errors.ts';
import { json, scriptedFetch, unitHttp } from '../fake-fetch.ts';
import { deribitTicker, NOW } from './bodies.ts';

const now = () => NOW;

function source(body: unknown, status = 200) {
  const scripted = scriptedFetch(() => json(body, { status }));
  return { ...scripted, deribit: new DeribitMarkSource({ ...unitHttp(scripted.fetch).options, now }) };
}

const withResult = (patch: Record<string, unknown>) => ({
  ...deribitTicker,
  result: { ...deribitTicker.result, ...patch },
});

describe('DeribitMarkSource', () => {
  it('reads the index, not the mark or the last trade, timed by the ticker’s own ms timestamp', async () => {
    const { deribit, requests } = source(deribitTicker);
    expect(await deribit.mark('BTC')).toEqual({
      venue: 'deribit',
      instrument: 'BTC',
      price: 66990.18, // index_price; mark_price is 67015.42, last_price 67012.5
      at: 1718000000123, // timestamp (ms), not the envelope's usOut (µs)
    });
    expect(Object.fromEntries(requests[0]?.url.searchParams ?? [])).toEqual({
      instrument_name: 'BTC-PERPETUAL',
    });
  });

  it('asks for the catalogue’s perpetual: SOL is SOL_USDC-PERPETUAL', async () => {
    const { deribit, requests } = source(
      withResult({ instrument_name: 'SOL_USDC-PERPETUAL', index_price: 171.2 }),
    );
    expect((await deribit.mark('SOL')).price).toBe(171.2);
    expect(requests[0]?.url.searchParams.get('instrument_name')).toBe('SOL_USDC-PERPETUAL');
  });

  it('refuses an instrument that is not open', async () => {
    const { deribit } = source(withResult({ state: 'halted' }));
    const error = await deribit.mark('BTC').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toBe('deribit BTC: BTC-PERPETUAL is halted, not open');
  });

  it('refuses a ticker for another instrument', async () => {
    const { deribit } = source(withResult({ instrument_name: 'ETH-PERPETUAL' }));
    await expect(deribit.mark('BTC')).rejects.toThrow(
      /asked for BTC-PERPETUAL, the ticker answered for ETH-PERPETUAL/,
    );
  });

  it('refuses a timestamp in seconds (1970 as ms) or in µs (far in the future)', async () => {
    await expect(source(withResult({ timestamp: 1718000000 })).deribit.mark('BTC')).rejects.toThrow(
      /price time 1718000000 \(1970-01-20.*\) is before 2010/,
    );
    await expect(source(withResult({ timestamp: 1718000000123456 })).deribit.mark('BTC')).rejects.toThrow(
      /s ahead of the clock/,
    );
  });

  it('refuses a missing timestamp or index, and an index of zero, naming the field', () => {
    const { timestamp: _t, ...noTime } = deribitTicker.result;
    const paths = [
      { ...deribitTicker, result: noTime },
      withResult({ index_price: 0 }),
      withResult({ index_price: '66990.18' }),
      withResult({ index_price: null }),
    ].map((body) => deribitTickerResponseSchema.safeParse(body).error?.issues[0]?.path.join('.'));
    expect(paths).toEqual([
      'result.timestamp',
      'result.index_price',
      'result.index_price',
      'result.index_price',
    ]);
  });

  it('fails at once on “instrument not found” (HTTP 400, JSON-RPC -32602), quoting the venue', async () => {
    const { deribit, requests } = source(
      {
        jsonrpc: '2.0',
        error: {
          code: -32602,
          message: 'Invalid params',
          data: { reason: 'instrument not found', param: 'instrument_name' },
        },
        usIn: 1718000000123456,
      },
      400,
    );
    const error = await deribit.mark('BTC').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(
      /deribit BTC: GET \/public\/ticker .*-32602 Invalid params.*instrument not found/,
    );
    expect(requests).toHaveLength(1);
  });

  it('retries too_many_requests (10028)', async () => {
    const scripted = scriptedFetch((_url, call) =>
      call === 1
        ? json({ jsonrpc: '2.0', error: { code: 10028, message: 'too_many_requests' } }, { status: 429 })
        : json(deribitTicker),
    );
    const mark = await new DeribitMarkSource({ ...unitHttp(scripted.fetch).options, now }).mark('BTC');
    expect(mark.price).toBe(66990.18);
    expect(scripted.requests).toHaveLength(2);
  });
});
