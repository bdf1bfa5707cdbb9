import { describe, expect, it } from 'vitest';
import { backtest } from '../../../lib/domain/backtest/backtest.ts';
import { christoffersen, kupiecPof } from '../../../lib/domain/backtest/statistics.ts';
import { type CandleSeries, DAY_MS, utcDay } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import { expectClose } from '../math/tolerance.ts';
import { dayStart, seriesFromCloses } from '../threshold/fixtures.ts';

/**
 * A hand-made series: 80 daily closes from 2019-01-01 moving ±1% a day, with four large moves. Under a policy
 * whose floor and cap are both 5% the margin is 5% every day, so every breach is known in advance:
 *   day 50: −8%   (long loss 0.08: breach)        day 51: +7%   (short loss 0.07: breach)
 *   day 60: −4%   (0.04: no breach)               day 61: +5.5% (short 0.055: breach)
 *   day 62: −5.1% (long 0.051: breach)
 */
const MOVES: Readonly<Record<number, number>> = { 50: 0.92, 51: 1.07, 60: 0.96, 61: 1.055, 62: 0.949 };
const CLOSES = Array.from({ length: 80 }, () => 100);
for (let i = 1; i < CLOSES.length; i++) {
  CLOSES[i] = (CLOSES[i - 1] as number) * (MOVES[i] ?? (i % 2 === 0 ? 1.01 : 1 / 1.01));
}
const HAND = seriesFromCloses(CLOSES, '2019-01-01', 'HAND');
const dayOf = (i: number) => utcDay(dayStart('2019-01-01') + i * DAY_MS);
const FIVE_PERCENT = parseThresholdPolicy({
  bounds: { minInitialMarginRate: 0.05, maxInitialMarginRate: 0.05 },
});

describe('backtest: breach accounting on a hand-made series', () => {
  it('counts a breach when the loss over the MPOR exceeds that day’s rate, per side', () => {
    // Act: score days 40–79
    const result = backtest(FIVE_PERCENT, HAND, { scoreFrom: dayStart(dayOf(40)) });

    // Assess
    expect(result.observations).toBe(40);
    expect([result.from, result.to]).toEqual([dayOf(40), dayOf(79)]);
    expect(result.long.breaches).toBe(2);
    expect(result.long.breachDates).toEqual([dayOf(50), dayOf(62)]);
    expect(result.short.breaches).toBe(2);
    expect(result.short.breachDates).toEqual([dayOf(51), dayOf(61)]);
    expect(result.long.breachRate).toBe(2 / 40);
    result.days.forEach((day, i) => {
      const t = 40 + i;
      const ratio = (CLOSES[t] as number) / (CLOSES[t - 1] as number);
      expect(day.date).toBe(dayOf(t));
      expect(day.close).toBe(CLOSES[t]);
      expect(day.initialMarginRate).toBe(0.05);
      expectClose(day.longLoss, 1 - ratio, { abs: 1e-15 });
      expectClose(day.shortLoss, ratio - 1, { abs: 1e-15 });
    });
  });

  it('reports the coverage tests on those breaches', () => {
    // Act
    const result = backtest(FIVE_PERCENT, HAND, { scoreFrom: dayStart(dayOf(40)) });

    // Assess: the statistics of 2 breaches in 40 days at p = 1%, and of the breach sequences. The backtest's
    // coverage is 1 − 0.99 (= 0.01 + 9e-18), hence 1e-12 relative rather than equality.
    const longFlags = result.days.map((d) => d.longBreach);
    const shortFlags = result.days.map((d) => d.shortBreach);
    const rel = { rel: 1e-12 };
    expectClose(result.long.kupiecStatistic, kupiecPof(40, 2, 0.01).statistic, rel);
    expectClose(result.long.kupiecP, kupiecPof(40, 2, 0.01).pValue, rel);
    expectClose(result.long.christoffersenP, christoffersen(longFlags, 0.01).independence.pValue, rel);
    expectClose(
      result.short.conditionalCoverageP,
      christoffersen(shortFlags, 0.01).conditionalCoverage.pValue,
      rel,
    );
    expect(result.long.trafficLight).toBe('yellow'); // P(X ≤ 2 | n = 40, p = 1%) = 0.9925
  });

  it('computes the hindsight rate and procyclicality of a flat 5% margin', () => {
    // Prepare: type-7 99% quantile of 40 losses: h = 39 · 0.99 = 38.61, between the two largest.
    // Long: 0.051 + 0.61 · (0.08 − 0.051) = 0.06869; short: 0.055 + 0.61 · (0.07 − 0.055) = 0.06415.
    const hindsight = 0.051 + 0.61 * (0.08 - 0.051);

    // Act
    const result = backtest(FIVE_PERCENT, HAND, { scoreFrom: dayStart(dayOf(40)) });

    // Assess: 1e-12 absolute (the losses carry the rounding of the closes)
    expectClose(result.hindsightFixedRate, hindsight, { abs: 1e-12 });
    expect(result.averageInitialMarginRate).toBeCloseTo(0.05, 15);
    expectClose(result.efficiency, 0.05 / hindsight, { abs: 1e-10 });
    expect([result.peakToTrough, result.maxIncrease1d, result.maxIncrease5d]).toEqual([1, 1, 1]);
    // Whatever rule names the rate (floor, cap, or held at the 5% cap during warm-up), every day is counted once.
    expect(Object.values(result.activeBounds).reduce((sum, n) => sum + (n ?? 0), 0)).toBe(40);
  });

  it('measures an MPOR of 2 days from the close before the day to the close after it', () => {
    // Prepare
    const twoDay = parseThresholdPolicy({
      marginPeriodOfRiskDays: 2,
      bounds: { minInitialMarginRate: 0.05, maxInitialMarginRate: 0.05 },
    });

    // Act
    const result = backtest(twoDay, HAND, { scoreFrom: dayStart(dayOf(40)) });

    // Assess: days 40–78 (day 79 has no close after it)
    expect(result.observations).toBe(39);
    expect(result.to).toBe(dayOf(78));
    result.days.forEach((day, i) => {
      const t = 40 + i;
      const ratio = (CLOSES[t + 1] as number) / (CLOSES[t - 1] as number);
      expectClose(day.longLoss, 1 - ratio, { abs: 1e-15 });
      expect(day.longBreach).toBe(1 - ratio > 0.05);
      expect(day.shortBreach).toBe(ratio - 1 > 0.05);
    });
    // Long: day 49 = (÷1.01)·0.92 = 0.911 and day 62 = 0.949·(÷1.01) = 0.940 breach; day 50 = 0.92·1.07 = 0.984
    // and day 61 = 1.055·0.949 = 1.001 do not. Short: day 51 = 1.07·1.01 = 1.081 only (day 60: 0.96·1.055).
    expect(result.long.breachDates).toEqual([dayOf(49), dayOf(62)]);
    expect(result.short.breachDates).toEqual([dayOf(51)]);
  });
});

describe('backtest: scored window', () => {
  it('scores only the days between scoreFrom and scoreTo, inclusive', () => {
    // Act
    const result = backtest(FIVE_PERCENT, HAND, {
      scoreFrom: dayStart(dayOf(45)),
      scoreTo: dayStart(dayOf(70)),
    });

    // Assess
    expect(result.observations).toBe(26);
    expect(result.days.map((d) => d.date)).toEqual(Array.from({ length: 26 }, (_, i) => dayOf(45 + i)));
  });

  it('scores from one year after the first candle to the last full MPOR by default', () => {
    // Prepare
    const series = generateCandles({
      instrument: 'SYN',
      days: 400,
      endTime: Date.UTC(2023, 0, 1),
      startPrice: 100,
      seed: 3,
    });
    const first = series.candles[0]?.time ?? Number.NaN;

    // Act
    const result = backtest(DEFAULT_THRESHOLD_POLICY, series);

    // Assess
    expect(result.from).toBe(utcDay(first + 365 * DAY_MS));
    expect(result.to).toBe('2022-12-31');
    expect(result.observations).toBe(35);
  });

  it('reports progress up to the last scored day', () => {
    // Prepare
    const calls: [number, number][] = [];

    // Act
    backtest(FIVE_PERCENT, HAND, {
      scoreFrom: dayStart(dayOf(40)),
      onProgress: (done, total) => calls.push([done, total]),
    });

    // Assess: the walk starts at seedDays + 2 = candle 32 and ends at candle 79
    expect(calls).toHaveLength(48);
    expect(calls.at(-1)).toEqual([48, 48]);
  });
});

describe('backtest: no look-ahead', () => {
  // 400 days to 2022-12-31: contains the LUNA and FTX stress windows, so a scenario counted too early would
  // show up as a changed rate before the cut.
  const base = generateCandles({
    instrument: 'SYN',
    days: 400,
    endTime: Date.UTC(2023, 0, 1),
    startPrice: 30_000,
    seed: 11,
  });
  const scoreFrom = dayStart('2022-01-15');

  /** Candles on and after `cut` halved, then made wilder; candles before it untouched. */
  function perturbFrom(series: CandleSeries, cut: number): CandleSeries {
    return {
      ...series,
      candles: series.candles.map((c, i) => {
        if (i < cut) return c;
        const f = 0.5 * (1 + 0.2 * Math.sin(i));
        return { ...c, open: c.open * f, high: c.high * f * 1.3, low: c.low * f * 0.7, close: c.close * f };
      }),
    };
  }

  it.each(['2022-05-10', '2022-11-09', '2022-12-31'])(
    'does not let candles on or after %s change the threshold used that day',
    (day) => {
      // Prepare
      const cut = base.candles.findIndex((c) => c.time === dayStart(day));
      const perturbed = perturbFrom(base, cut);

      // Act
      const a = backtest(DEFAULT_THRESHOLD_POLICY, base, { scoreFrom });
      const b = backtest(DEFAULT_THRESHOLD_POLICY, perturbed, { scoreFrom });

      // Assess: identical thresholds through the cut day; its loss (and the next day's σ) do change
      const upTo = a.days.findIndex((d) => d.date === day);
      expect(upTo).toBeGreaterThan(0);
      for (let i = 0; i <= upTo; i++) {
        const [x, y] = [a.days[i], b.days[i]];
        expect(y?.initialMarginRate, x?.date).toBe(x?.initialMarginRate);
        expect(y?.effectiveVolatility, x?.date).toBe(x?.effectiveVolatility);
        expect(y?.activeBound, x?.date).toBe(x?.activeBound);
      }
      expect(b.days[upTo]?.longLoss).not.toBe(a.days[upTo]?.longLoss);
      if (upTo + 1 < a.days.length) {
        expect(b.days[upTo + 1]?.effectiveVolatility).not.toBe(a.days[upTo + 1]?.effectiveVolatility);
      }
    },
  );
});

describe('backtest: errors', () => {
  it('refuses fewer than three candles', () => {
    // Prepare
    const two = seriesFromCloses([100, 101], '2019-01-01', 'TINY');

    // Act / Assess
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, two)).toThrow(RangeError);
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, two)).toThrow(
      /TINY: a backtest needs price history, got 2/,
    );
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, { ...two, candles: [] })).toThrow(/got 0 candles/);
  });

  it('refuses a window with no fully covered day', () => {
    // Act / Assess: the default window starts a year after the first of 80 candles
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, HAND)).toThrow(RangeError);
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, HAND)).toThrow(
      /HAND: no day between 2020-01-01 and the end has a full MPOR/,
    );
    expect(() =>
      backtest(DEFAULT_THRESHOLD_POLICY, HAND, {
        scoreFrom: dayStart(dayOf(60)),
        scoreTo: dayStart(dayOf(50)),
      }),
    ).toThrow(RangeError);
  });

  // Regression guard (was a bug in backtest.ts lines 216–237): `scored` includes days before the walk starts (candle
  // seedDays + 2 = 32), which are then skipped silently. With 20 candles and scoreFrom at the first one
  // nothing is scored and the error is the quantile's 'values must not be empty', naming no instrument; with
  // 60 candles the first 31 requested days vanish from the result without a word. Fix: build `scored` from
  // t = walkFrom (compute walkFrom first), so the existing "no day … has a full MPOR" error fires, ideally
  // saying that the first walkFrom candles warm the model up.
  it('names the instrument when the history is too short to warm the model up', () => {
    // Prepare
    const short = seriesFromCloses(CLOSES.slice(0, 20), '2019-01-01', 'SHORT');

    // Act / Assess
    expect(() => backtest(DEFAULT_THRESHOLD_POLICY, short, { scoreFrom: dayStart('2019-01-01') })).toThrow(
      /SHORT/,
    );
  });
});
