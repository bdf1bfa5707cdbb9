/** The crash day `qmt start` replays is written in the code: its figures are those of the shared BTC file. */
import { describe, expect, it } from 'vitest';
import { BTC_2020_03_12 } from '../../../lib/cli/commands/replay.ts';
import { realSeries } from '../shared.ts';

describe('BTC 2020-03-12 in the demo crash replay', () => {
  it('has the open, high, low and close of BTC-USD.csv, and the previous close', () => {
    const candles = realSeries('BTC').candles;
    const i = candles.findIndex((c) => c.time === BTC_2020_03_12.day);
    const day = candles[i];
    expect(day).toMatchObject({
      open: BTC_2020_03_12.open,
      high: BTC_2020_03_12.high,
      low: BTC_2020_03_12.low,
      close: BTC_2020_03_12.close,
    });
    expect(candles[i - 1]?.close).toBe(BTC_2020_03_12.previousClose);
  });
});
