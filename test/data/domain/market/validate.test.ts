import { describe, expect, it } from 'vitest';
import {
  type CandleValidationRules,
  candleValidationRulesSchema,
  DEFAULT_CANDLE_VALIDATION_RULES,
  describeIssue,
  validateCandles,
} from '../../../../lib/domain/market/validate.ts';
import { dayAfterLast, patchCandle } from '../../../domain/market/fixtures.ts';
import { realSeries, type SharedInstrument } from '../../shared.ts';

const rules = (overrides: Partial<CandleValidationRules> = {}): CandleValidationRules =>
  candleValidationRulesSchema.parse(overrides);

const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);

describe('validateCandles on the real daily files', () => {
  const instruments: SharedInstrument[] = ['BTC', 'ETH', 'SOL'];

  it.each(instruments)('%s validates clean with the defaults the day after its last candle', (instrument) => {
    // Prepare
    const series = realSeries(instrument);

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(series));

    // Assess
    expect(report.issues).toEqual([]);
    expect(report.usable).toBe(true);
    expect(report.candles).toHaveLength(series.candles.length);
  });

  it.each(instruments)('%s is stale a month later', (instrument) => {
    // Prepare
    const series = realSeries(instrument);

    // Act
    const report = validateCandles(series, DEFAULT_CANDLE_VALIDATION_RULES, day('2023-09-01'));

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues.map(describeIssue)).toEqual([
      `${instrument} 2023-07-31: last candle is 31 closed bars behind 2023-09-01 (allowed: 2)`,
    ]);
  });

  it.each([
    ['BTC', '2020-03-12'],
    ['ETH', '2020-03-12'],
    ['SOL', '2022-11-09'],
  ] as const)(
    '%s %s crash is not a spike, even with spikeLogMove below the size of the crash',
    (instrument, crashDay) => {
      // Prepare: 0.3 in log terms is a 26% move; these crashes were 37–43% and stayed down.
      const series = realSeries(instrument);
      const crash = series.candles.findIndex((c) => c.time === day(crashDay));
      const crashLogMove = Math.log(
        (series.candles[crash]?.close ?? Number.NaN) / (series.candles[crash - 1]?.close ?? Number.NaN),
      );

      // Act
      const report = validateCandles(series, rules({ spikeLogMove: 0.3 }), dayAfterLast(series));

      // Assess
      expect(crashLogMove).toBeLessThan(-0.45);
      expect(report.issues).toEqual([]);
    },
  );

  it('flags a synthetic 10× one-bar print injected into real BTC prices', () => {
    // Prepare
    const series = realSeries('BTC');
    const index = series.candles.findIndex((c) => c.time === day('2021-06-15'));
    const original = series.candles[index];
    if (!original) throw new Error('2021-06-15 missing');
    const spiked = patchCandle(series, index, { close: original.close * 10, high: original.close * 10 });

    // Act
    const report = validateCandles(spiked, DEFAULT_CANDLE_VALIDATION_RULES, dayAfterLast(series));

    // Assess
    expect(report.usable).toBe(false);
    expect(report.issues).toMatchObject([{ code: 'spike', time: day('2021-06-15'), severity: 'error' }]);
  });
});
