import { describe, expect, it } from 'vitest';
import { readCandlesCsv } from '../../../lib/adapters/csv-file.ts';
import { utcDay } from '../../../lib/domain/market/candle.ts';
import { sharedPriceFile } from '../shared.ts';

describe('readCandlesCsv', () => {
  it('reads a real file and labels the source with its file name', async () => {
    // Prepare
    const file = sharedPriceFile('SOL');

    // Act
    const series = await readCandlesCsv(file, 'SOL');

    // Assess
    expect(series.source).toBe('file:SOL-USD.csv');
    expect(series.instrument).toBe('SOL');
    expect(series.candles).toHaveLength(1208);
    expect(utcDay(series.candles[0]?.time ?? Number.NaN)).toBe('2020-04-10');
  });
});
