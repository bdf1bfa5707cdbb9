import { describe, expect, it } from 'vitest';
import { volatilityReport } from '../../lib/cli/commands/volatility.ts';
import { UsageError } from '../../lib/cli/inputs.ts';
import type { Candle, CandleSeries } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';

const HOUR = 3_600_000;
const daily = generateCandles({
  instrument: 'ETH',
  days: 400,
  endTime: Date.UTC(2026, 10, 24),
  startPrice: 2_000,
  seed: 5,
});
/** Each day as 24 hourly bars that aggregate back to it. */
const hourly: CandleSeries = {
  ...daily,
  intervalMs: HOUR,
  candles: daily.candles.flatMap((d) =>
    Array.from({ length: 24 }, (_, h): Candle => {
      const open = d.open + ((d.close - d.open) * h) / 24;
      const close = d.open + ((d.close - d.open) * (h + 1)) / 24;
      return {
        time: d.time + h * HOUR,
        open,
        close,
        high: h === 3 ? d.high : Math.max(open, close),
        low: h === 4 ? d.low : Math.min(open, close),
        volume: d.volume / 24,
      };
    }),
  ),
};

describe('qmt volatility on intraday bars', () => {
  it('measures daily σ on the UTC days the hourly bars make, and says so in the source', () => {
    const fromHourly = volatilityReport(hourly);
    const fromDaily = volatilityReport(daily);
    expect(fromHourly.returns).toBe(fromDaily.returns);
    for (const [name, sigma] of Object.entries(fromDaily.estimators)) {
      expect(fromHourly.estimators[name], name).toBeCloseTo(sigma, 12);
    }
    expect(fromHourly.source).toMatch(/\(1h bars aggregated to UTC days\)$/);
  });

  it('refuses bars that do not divide a day, naming the bar length', () => {
    expect(() => volatilityReport({ ...hourly, intervalMs: 7 * HOUR })).toThrow(UsageError);
  });
});
