import { describe, expect, it } from 'vitest';
import { chunkDays, dayWindow, finaliseDailyCandles } from '../../../lib/adapters/market/daily.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { type Candle, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { day } from './fake-fetch.ts';

const bar = (time: number, close = 100): Candle => ({
  time,
  open: close,
  high: close,
  low: close,
  close,
  volume: 1,
});

describe('dayWindow and chunkDays', () => {
  it('covers the day opens inside [from, to)', () => {
    expect(dayWindow({ from: day('2024-01-01') + 1, to: day('2024-01-04') })).toEqual({
      firstDay: day('2024-01-02'),
      endDay: day('2024-01-04'),
    });
    expect(dayWindow({ from: day('2024-01-01'), to: day('2024-01-03') + 1 }).endDay).toBe(day('2024-01-04'));
    expect(dayWindow({ from: day('2024-01-05'), to: day('2024-01-01') })).toEqual({
      firstDay: day('2024-01-05'),
      endDay: day('2024-01-05'),
    });
    expect(() => dayWindow({ from: Number.NaN, to: 0 })).toThrow(RangeError);
  });

  it('splits into chunks of at most maxDays', () => {
    const chunks = chunkDays({ firstDay: 0, endDay: 5 * DAY_MS }, 2);
    expect(chunks).toEqual([
      { firstDay: 0, endDay: 2 * DAY_MS },
      { firstDay: 2 * DAY_MS, endDay: 4 * DAY_MS },
      { firstDay: 4 * DAY_MS, endDay: 5 * DAY_MS },
    ]);
  });
});

describe('finaliseDailyCandles', () => {
  const range = { from: day('2024-01-02'), to: day('2024-01-05') };
  const context = { venue: 'v', instrument: 'BTC', range, now: () => day('2024-02-01') };

  it('keeps [from, to), sorts, and lets the later duplicate win', () => {
    const series = finaliseDailyCandles(
      [
        bar(day('2024-01-04')),
        bar(day('2024-01-01')),
        bar(day('2024-01-02'), 1),
        bar(day('2024-01-05')),
        bar(day('2024-01-02'), 2),
      ],
      context,
    );
    expect(series.candles.map((c) => [c.time, c.close])).toEqual([
      [day('2024-01-02'), 2],
      [day('2024-01-04'), 100],
    ]);
    expect(series).toMatchObject({ instrument: 'BTC', source: 'v', intervalMs: DAY_MS });
  });

  it('drops the bar that has not closed yet', () => {
    const series = finaliseDailyCandles([bar(day('2024-01-03')), bar(day('2024-01-04'))], {
      ...context,
      now: () => day('2024-01-04') + 1,
    });
    expect(series.candles.map((c) => c.time)).toEqual([day('2024-01-03')]);
  });

  it('rejects a bar that is not at a UTC day open, e.g. seconds mistaken for ms', () => {
    expect(() => finaliseDailyCandles([bar(day('2024-01-03') / 1_000)], context)).toThrow(MarketSourceError);
  });
});
