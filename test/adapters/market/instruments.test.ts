// The catalogue lives in lib/config; its tests sit with the adapters that read it.
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INSTRUMENT_CATALOGUE,
  InstrumentNotListedError,
  instrumentListing,
  knownInstruments,
  mergeInstrumentCatalogue,
  parseInstrumentCatalogue,
  UnknownInstrumentError,
  venueListing,
} from '../../../lib/config/instruments.ts';
import { PolicyError } from '../../../lib/domain/errors.ts';

describe('instrument catalogue', () => {
  it('maps the qmt symbols to each venue’s names', () => {
    expect(venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'BTC', 'deribit')).toEqual({
      instrument: 'BTC-PERPETUAL',
      dvolCurrency: 'BTC',
    });
    expect(venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'BTC', 'kraken').pair).toBe('XBTUSD');
    expect(venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'ETH', 'kraken').pair).toBe('ETHUSD');
    expect(venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'SOL', 'deribit')).toEqual({
      instrument: 'SOL_USDC-PERPETUAL',
    });
    expect(venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'SOL', 'binance').symbol).toBe('SOLUSDT');
    expect(venueListing(DEFAULT_INSTRUMENT_CATALOGUE, 'ETH', 'coinbase').productId).toBe('ETH-USD');
    expect(knownInstruments(DEFAULT_INSTRUMENT_CATALOGUE)).toEqual(['BTC', 'ETH', 'SOL']);
    expect(parseInstrumentCatalogue(DEFAULT_INSTRUMENT_CATALOGUE)).toEqual(DEFAULT_INSTRUMENT_CATALOGUE);
  });

  it('names an unknown instrument and the known ones', () => {
    const error = (() => {
      try {
        instrumentListing(DEFAULT_INSTRUMENT_CATALOGUE, 'DOGE');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UnknownInstrumentError);
    expect(error).toMatchObject({ instrument: 'DOGE', known: ['BTC', 'ETH', 'SOL'] });
    expect((error as Error).message).toBe(
      'unknown instrument "DOGE": the instrument catalogue knows BTC, ETH, SOL',
    );
    // Inherited object keys are not instruments.
    expect(() => instrumentListing(DEFAULT_INSTRUMENT_CATALOGUE, 'constructor')).toThrow(
      UnknownInstrumentError,
    );
  });

  it('says when a known instrument is not listed on a venue', () => {
    const catalogue = mergeInstrumentCatalogue(DEFAULT_INSTRUMENT_CATALOGUE, { SOL: { kraken: null } });
    expect(() => venueListing(catalogue, 'SOL', 'kraken')).toThrow(InstrumentNotListedError);
    expect(() => venueListing(catalogue, 'SOL', 'kraken')).toThrow(
      'instrument "SOL" is not listed on kraken',
    );
  });

  it('merges a user’s config: venue entries replace, null removes, new instruments are added', () => {
    const merged = mergeInstrumentCatalogue(DEFAULT_INSTRUMENT_CATALOGUE, {
      DOGE: { binance: { symbol: 'DOGEUSDT' }, coinbase: { productId: 'DOGE-USD' } },
      BTC: { binance: { symbol: 'BTCUSDC' }, kraken: null },
      SOL: null,
    });
    expect(knownInstruments(merged)).toEqual(['BTC', 'DOGE', 'ETH']);
    expect(merged.BTC).toEqual({
      deribit: { instrument: 'BTC-PERPETUAL', dvolCurrency: 'BTC' },
      binance: { symbol: 'BTCUSDC' },
      coinbase: { productId: 'BTC-USD' },
    });
    expect(DEFAULT_INSTRUMENT_CATALOGUE.BTC?.kraken).toEqual({ pair: 'XBTUSD' });
  });

  it('rejects a bad user config with a PolicyError naming the field', () => {
    const attempt = (input: unknown) => {
      try {
        mergeInstrumentCatalogue(DEFAULT_INSTRUMENT_CATALOGUE, input);
      } catch (e) {
        return e;
      }
    };
    expect(attempt({ BTC: { binance: { symbol: '' } } })).toMatchObject({
      path: 'instruments.BTC.binance.symbol',
    });
    expect(attempt({ BTC: { binanse: { symbol: 'BTCUSDT' } } })).toBeInstanceOf(PolicyError);
    expect(attempt({ btc: { binance: { symbol: 'BTCUSDT' } } })).toMatchObject({ path: 'instruments.btc' });
    expect(attempt({ DOGE: {} })).toMatchObject({
      message: expect.stringContaining('at least one venue'),
      path: 'instruments.DOGE',
    });
  });
});
