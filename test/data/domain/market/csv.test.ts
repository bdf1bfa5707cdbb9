import { describe, expect, it } from 'vitest';
import { utcDay } from '../../../../lib/domain/market/candle.ts';
import { realSeries, type SharedInstrument } from '../../shared.ts';

describe('parseCandlesCsv on the real daily files', () => {
  it.each([
    ['BTC', 3134, '2015-01-01', '2023-07-31'],
    ['ETH', 2091, '2017-11-09', '2023-07-31'],
    ['SOL', 1208, '2020-04-10', '2023-07-31'],
  ] as const)('%s has %i rows from %s to %s', (instrument: SharedInstrument, rows, first, last) => {
    // Prepare / Act
    const series = realSeries(instrument);

    // Assess
    expect(series.candles).toHaveLength(rows);
    expect(utcDay(series.candles[0]?.time ?? Number.NaN)).toBe(first);
    expect(utcDay(series.candles.at(-1)?.time ?? Number.NaN)).toBe(last);
  });

  it.each([
    ['BTC', '2020-03-12', 4970.79],
    ['BTC', '2021-05-19', 37002.44],
    ['BTC', '2022-05-09', 30296.95],
    ['BTC', '2022-05-12', 29047.75],
    ['BTC', '2022-11-08', 18541.27],
    ['BTC', '2022-11-09', 15880.78],
    ['ETH', '2020-03-12', 112.35],
    ['ETH', '2021-05-19', 2460.68],
    ['ETH', '2022-05-09', 2245.43],
    ['ETH', '2022-05-12', 1961.7],
    ['ETH', '2022-11-08', 1332.84],
    ['ETH', '2022-11-09', 1100.17],
    ['SOL', '2021-05-19', 35.11],
    ['SOL', '2022-05-09', 63.27],
    ['SOL', '2022-05-12', 44.68],
    ['SOL', '2022-11-08', 24.15],
    ['SOL', '2022-11-09', 13.94],
  ] as const)('%s on %s closed at %f', (instrument: SharedInstrument, crashDay, close) => {
    // Prepare
    const series = realSeries(instrument);

    // Act
    const candle = series.candles.find((c) => utcDay(c.time) === crashDay);

    // Assess
    expect(candle?.close).toBeCloseTo(close, 2);
  });

  it('BTC 2020-03-12 has the README open and low, and fell 37.2% close to close', () => {
    // Prepare
    const candles = realSeries('BTC').candles;
    const index = candles.findIndex((c) => utcDay(c.time) === '2020-03-12');

    // Act
    const crash = candles[index];
    const change = (crash?.close ?? Number.NaN) / (candles[index - 1]?.close ?? Number.NaN) - 1;

    // Assess
    expect(crash?.open).toBeCloseTo(7913.62, 2);
    expect(crash?.low).toBeCloseTo(4860.35, 2);
    expect(change).toBeCloseTo(-0.372, 3);
  });
});
