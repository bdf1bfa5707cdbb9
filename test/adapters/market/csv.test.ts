import { describe, expect, it } from 'vitest';
import { CsvFileSource } from '../../../lib/adapters/market/csv.ts';
import { UnknownInstrumentError } from '../../../lib/config/instruments.ts';
import { type Candle, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { day } from './fake-fetch.ts';

const bar = (time: number): Candle => ({ time, open: 1, high: 1, low: 1, close: 1, volume: 1 });

describe('CsvFileSource', () => {
  it('reads the file mapped to the symbol and keeps [from, to)', async () => {
    const reads: string[] = [];
    const source = new CsvFileSource(
      { BTC: '/data/btc.csv' },
      {
        read: async (path, instrument) => {
          reads.push(path);
          return {
            instrument,
            intervalMs: DAY_MS,
            source: 'file:btc.csv',
            candles: [day('2024-01-01'), day('2024-01-02'), day('2024-01-03')].map(bar),
          };
        },
      },
    );
    const series = await source.candles('BTC', { from: day('2024-01-02'), to: day('2024-01-03') });
    expect(reads).toEqual(['/data/btc.csv']);
    expect(series).toMatchObject({ instrument: 'BTC', source: 'file:btc.csv' });
    expect(series.candles.map((c) => c.time)).toEqual([day('2024-01-02')]);
  });

  it('passes rows through in file order, duplicates included, so the validator can report them', async () => {
    const times = [day('2024-01-03'), day('2024-01-02'), day('2024-01-02')];
    const source = new CsvFileSource(
      { BTC: 'b.csv' },
      {
        read: async (_path, instrument) => ({
          instrument,
          intervalMs: DAY_MS,
          source: 'file:b.csv',
          candles: times.map(bar),
        }),
      },
    );
    const series = await source.candles('BTC', { from: day('2024-01-01'), to: day('2024-01-05') });
    expect(series.candles.map((c) => c.time)).toEqual(times);
  });

  it('names an unmapped symbol and the mapped ones', async () => {
    const source = new CsvFileSource({ ETH: 'e.csv', BTC: 'b.csv' });
    await expect(source.candles('SOL', { from: 0, to: 1 })).rejects.toThrow(UnknownInstrumentError);
    await expect(source.candles('SOL', { from: 0, to: 1 })).rejects.toThrow('knows BTC, ETH');
  });
});
