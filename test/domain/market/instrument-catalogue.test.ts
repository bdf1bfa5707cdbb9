import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../lib/domain/errors.ts';
import {
  belowQuorum,
  type DiscoveredCatalogue,
  diffCatalogue,
  parseCatalogueFilter,
  seedCatalogue,
  type VenueInstrument,
} from '../../../lib/domain/market/instrument-catalogue.ts';

const perp = (name: string, base: string, quote = 'USDT', trading = true): VenueInstrument => ({
  name,
  base,
  quote,
  kind: 'perpetual',
  trading,
});

const filter = parseCatalogueFilter({
  quotes: ['USD', 'USDT'],
  kinds: ['perpetual'],
  venues: ['deribit', 'binance'],
});

const previous: DiscoveredCatalogue = {
  entries: [
    {
      instrument: 'BTC',
      venues: { deribit: 'BTC-PERPETUAL', binance: 'BTCUSDT' },
      firstListed: '2026-01-01',
    },
    {
      instrument: 'ETH',
      venues: { deribit: 'ETH-PERPETUAL', binance: 'ETHUSDT' },
      firstListed: '2026-01-01',
    },
    { instrument: 'LUNA', venues: { binance: 'LUNAUSDT' }, firstListed: '2026-01-01' },
  ],
};

const deribit = [perp('BTC-PERPETUAL', 'BTC', 'USD'), perp('ETH-PERPETUAL', 'ETH', 'USD')];

describe('diffCatalogue', () => {
  it('lists a new instrument from its first day, delists one no venue trades, keeps the rest', () => {
    const diff = diffCatalogue(
      previous,
      [
        { venue: 'deribit', instruments: deribit },
        {
          venue: 'binance',
          instruments: [
            perp('BTCUSDT', 'BTC'),
            perp('ETHUSDT', 'ETH'),
            perp('DOGEUSDT', 'DOGE'),
            perp('LUNAUSDT', 'LUNA', 'USDT', false),
          ],
        },
      ],
      filter,
      '2026-12-03',
    );
    expect(diff.listed).toEqual([
      { instrument: 'DOGE', venues: { binance: 'DOGEUSDT' }, firstListed: '2026-12-03' },
    ]);
    expect(diff.delisted).toEqual([
      { instrument: 'LUNA', reason: 'LUNA: no venue lists it as trading in USD/USDT perpetual' },
    ]);
    expect(diff.unchanged).toEqual(['BTC', 'ETH']);
    expect(diff.catalogue.entries.map((e) => e.instrument)).toEqual(['BTC', 'DOGE', 'ETH']);
    expect(diff.catalogue.entries[0]?.firstListed).toBe('2026-01-01');
    expect(diff.keptVenues).toEqual([]);
  });

  it('a venue whose list failed keeps its previous names: a venue down never delists', () => {
    const diff = diffCatalogue(
      previous,
      [
        { venue: 'deribit', instruments: deribit },
        { venue: 'binance', failed: 'binance: HTTP 503' },
      ],
      filter,
      '2026-12-03',
    );
    expect(diff.delisted).toEqual([]);
    expect(diff.listed).toEqual([]);
    expect(diff.catalogue).toEqual(previous);
    expect(diff.keptVenues).toEqual([{ venue: 'binance', reason: 'binance: HTTP 503' }]);
    // Every venue down: the previous catalogue stands whole.
    const allDown = diffCatalogue(
      previous,
      [
        { venue: 'deribit', failed: 'timeout' },
        { venue: 'binance', failed: 'HTTP 503' },
      ],
      filter,
      '2026-12-03',
    );
    expect(allDown.catalogue).toEqual(previous);
    expect(allDown.delisted).toEqual([]);
  });

  it('the first run seeds from the set in force: nothing announced as new, nothing unnamed delisted while a venue is down', () => {
    const seeded = seedCatalogue([
      { instrument: 'ETH', firstCandle: '2024-01-01' },
      { instrument: 'BTC', firstCandle: '2023-01-01' },
    ]);
    const up = diffCatalogue(
      seeded,
      [
        { venue: 'deribit', instruments: deribit.slice(0, 1) },
        { venue: 'binance', instruments: [] },
      ],
      filter,
      '2026-12-03',
    );
    expect(up.listed).toEqual([]);
    expect(up.unchanged).toEqual(['BTC']);
    expect(up.catalogue.entries[0]).toEqual({
      instrument: 'BTC',
      venues: { deribit: 'BTC-PERPETUAL' },
      firstListed: '2023-01-01',
    });
    expect(up.delisted.map((d) => d.instrument)).toEqual(['ETH']);
    // Binance down: ETH (whose names are not known yet) might be listed there, so it stays.
    const down = diffCatalogue(
      seeded,
      [
        { venue: 'deribit', instruments: deribit.slice(0, 1) },
        { venue: 'binance', failed: 'HTTP 503' },
      ],
      filter,
      '2026-12-03',
    );
    expect(down.delisted).toEqual([]);
    expect(down.catalogue.entries.map((e) => e.instrument)).toEqual(['BTC', 'ETH']);
  });

  it('filters by quote, kind, allow- and deny-list, preferring the earlier quote', () => {
    const strict = parseCatalogueFilter({
      quotes: ['USDC', 'USD'],
      kinds: ['perpetual'],
      allow: ['BTC', 'SOL', 'ETH'],
      deny: ['ETH'],
      venues: ['deribit'],
    });
    const diff = diffCatalogue(
      undefined,
      [
        {
          venue: 'deribit',
          instruments: [
            perp('BTC-PERPETUAL', 'BTC', 'USD'),
            perp('BTC_USDC-PERPETUAL', 'BTC', 'USDC'),
            perp('ETH-PERPETUAL', 'ETH', 'USD'),
            perp('SOL_USDC-PERPETUAL', 'SOL', 'USDC'),
            perp('XRP_USDC-PERPETUAL', 'XRP', 'USDC'),
            { name: 'SOL-27DEC26', base: 'SOL', quote: 'USDC', kind: 'future', trading: true },
            perp('ADA_USDT-PERPETUAL', 'ADA', 'USDT'),
          ],
        },
      ],
      strict,
      '2026-12-03',
    );
    expect(diff.catalogue.entries.map((e) => [e.instrument, e.venues.deribit])).toEqual([
      ['BTC', 'BTC_USDC-PERPETUAL'],
      ['SOL', 'SOL_USDC-PERPETUAL'],
    ]);
    // A filter change that refuses a held instrument delists it, saying why.
    const denied = diffCatalogue(
      previous,
      [{ venue: 'deribit', instruments: deribit }],
      parseCatalogueFilter({ quotes: ['USD'], deny: ['ETH'], venues: ['deribit'] }),
      '2026-12-03',
    );
    expect(denied.delisted).toEqual([
      { instrument: 'ETH', reason: 'ETH: on the deny-list' },
      { instrument: 'LUNA', reason: 'LUNA: no venue lists it as trading in USD perpetual' },
    ]);
  });

  it('refuses a bad filter naming the path', () => {
    expect(() => parseCatalogueFilter({ quotes: [] })).toThrow(PolicyError);
    expect(() => parseCatalogueFilter({ quotes: ['USD'], kinds: ['option'] })).toThrow(
      /^discovery\.filter\.kinds\.0: /,
    );
    expect(() => parseCatalogueFilter({ quotes: ['usd'] })).toThrow(
      /^discovery\.filter\.quotes\.0: an upper-case code/,
    );
    expect(() => parseCatalogueFilter({ quotes: ['USD'], allowList: ['BTC'] })).toThrow(
      /^discovery\.filter: /,
    );
  });
});

describe('belowQuorum', () => {
  const entry = (instrument: string, venues: Record<string, string>) => ({
    instrument,
    venues,
    firstListed: '2026-12-03',
  });
  const catalogue = {
    entries: [
      entry('BTC', { deribit: 'BTC-PERPETUAL', binance: 'BTCUSDT' }),
      entry('DOGE', { binance: 'DOGEUSDT' }),
      entry('PEPE', { binance: 'PEPEUSDT', kraken: 'PEPEUSD' }),
      // Seeded from a set older than discovery: its venues are unknown, so it is not judged.
      entry('SOL', {}),
    ],
  };

  it('names the instruments fewer than the quorum of priced venues list, and why', () => {
    const held = belowQuorum(catalogue, 2, ['deribit', 'binance', 'coinbase']);
    expect([...held.keys()]).toEqual(['DOGE', 'PEPE']);
    // Kraken lists PEPE, but its candles are not read: one venue would price it.
    expect(held.get('PEPE')).toBe(
      "PEPE: listed on 1 venue(s) whose candles are read (binance), fewer than the quorum of 2: not valued at one venue's prices",
    );
    expect([...belowQuorum(catalogue, 2).keys()]).toEqual(['DOGE']);
    expect([...belowQuorum(catalogue, 1).keys()]).toEqual([]);
  });
});
