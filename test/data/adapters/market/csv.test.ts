import { describe, expect, it } from 'vitest';
import { CsvFileSource } from '../../../../lib/adapters/market/csv.ts';
import { day } from '../../../adapters/market/fake-fetch.ts';
import { sharedPriceFile } from '../../shared.ts';

describe('CsvFileSource', () => {
  it('reads the shared BTC file through readCandlesCsv', async () => {
    const source = new CsvFileSource({ BTC: sharedPriceFile('BTC') });
    const series = await source.candles('BTC', { from: day('2020-03-11'), to: day('2020-03-14') });
    expect(series.source).toBe('file:BTC-USD.csv');
    expect(series.candles.map((c) => c.time)).toEqual([
      day('2020-03-11'),
      day('2020-03-12'),
      day('2020-03-13'),
    ]);
    expect(series.candles[1]?.close).toBeCloseTo(4970.79, 2);
  });
});
