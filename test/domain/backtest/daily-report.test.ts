import { describe, expect, it } from 'vitest';
import {
  backtestZone,
  dailyBacktest,
  setBacktestReport,
  worstZone,
  zoneLevel,
} from '../../../lib/domain/backtest/daily-report.ts';
import { binomialCdf } from '../../../lib/domain/math/binomial.ts';
import { parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import { seriesFromCloses } from '../threshold/fixtures.ts';

/**
 * The Basel boundaries at 99% over 250 days, by hand: P(X ≤ x) = Σ_{k ≤ x} C(250, k) 0.01^k 0.99^(250−k).
 * 0.99^250 = e^(250 ln 0.99) = 0.081059; each next term is the last × (250 − k + 1)/k × 0.01/0.99:
 * P(X ≤ 4) = 0.081059 + 0.204695 + 0.257416 + 0.214939 + 0.134078 = 0.892188 (< 95%: green)
 * P(X ≤ 5) = 0.892188 + 0.066629 = 0.958817 (≥ 95%: yellow)
 * P(X ≤ 9) = 0.999750 (< 99.99%: yellow); P(X ≤ 10) = 0.999946 (≥ 99.99%: red)
 * (the same as the Basel Committee's 1996 table: 89.22%, 95.88%, 99.97%, 99.99%).
 */
const HAND_CDF = { 4: 0.892188, 5: 0.958817, 9: 0.99975, 10: 0.999946 } as const;

describe('daily backtest zone (Basel traffic light, 99% over 250 days)', () => {
  it.each([
    [4, 'green'],
    [5, 'yellow'],
    [9, 'yellow'],
    [10, 'red'],
  ] as const)('%s breaches on one side is %s', (breaches, zone) => {
    // Assess: the cumulative probability the zone rests on is the hand-computed one
    expect(binomialCdf(breaches, 250, 0.01)).toBeCloseTo(HAND_CDF[breaches], 6);
    // Act / Assess: the side that breached sets the zone, whichever it is
    expect(backtestZone(250, breaches, 0, 0.01)).toBe(zone);
    expect(backtestZone(250, 0, breaches, 0.01)).toBe(zone);
  });

  it('takes the worse side: 4 long and 5 short is yellow, 9 long and 10 short is red', () => {
    expect(backtestZone(250, 4, 4, 0.01)).toBe('green');
    expect(backtestZone(250, 4, 5, 0.01)).toBe('yellow');
    expect(backtestZone(250, 9, 10, 0.01)).toBe('red');
  });

  it('ranks zones for the set and the metric: green 0 < yellow 1 < red 2', () => {
    expect(worstZone([])).toBe('green');
    expect(worstZone(['green', 'red', 'yellow'])).toBe('red');
    expect(worstZone(['yellow', 'green'])).toBe('yellow');
    expect(['green', 'yellow', 'red'].map((z) => zoneLevel(z as 'green'))).toEqual([0, 1, 2]);
  });
});

/**
 * 320 daily closes moving ±1% a day, under a policy whose rate is 5% every day: a −8% day is a long breach,
 * a +7% day a short breach, nothing else breaches. The last 250 scored days are indices 70–319.
 */
const FIVE_PERCENT = parseThresholdPolicy({
  bounds: { minInitialMarginRate: 0.05, maxInitialMarginRate: 0.05 },
});
function plantedSeries(longBreaches: readonly number[], shortBreaches: readonly number[]) {
  const closes = [100];
  for (let i = 1; i < 320; i++) {
    const move = longBreaches.includes(i)
      ? 0.92
      : shortBreaches.includes(i)
        ? 1.07
        : i % 2 === 0
          ? 1.01
          : 1 / 1.01;
    closes.push((closes[i - 1] as number) * move);
  }
  return seriesFromCloses(closes, '2022-01-01', 'HAND');
}
const days = (first: number, count: number) => Array.from({ length: count }, (_, k) => first + 20 * k);

describe('dailyBacktest: the last 250 scored days with the policy in force', () => {
  it('scores exactly the last 250 days: a breach before the window does not count', () => {
    // Prepare: 4 long breaches inside the window, 1 before it (index 40)
    const series = plantedSeries([40, ...days(100, 4)], []);
    // Act
    const report = dailyBacktest(FIVE_PERCENT, series);
    // Assess
    expect(report.observations).toBe(250);
    expect([report.from, report.to]).toEqual(['2022-03-12', '2022-11-16']);
    expect(report.long.breaches).toBe(4);
    expect(report.short.breaches).toBe(0);
    expect(report.zone).toBe('green');
    expect(report.averageInitialMarginRate).toBeCloseTo(0.05, 12);
    expect(report.cost).toBeCloseTo(0.05 / report.hindsightFixedRate, 12);
  });

  it.each([
    [[4, 0], 'green'],
    [[5, 0], 'yellow'],
    [[0, 9], 'yellow'],
    [[0, 10], 'red'],
  ] as const)('long/short breaches %j in the window: zone %s', ([long, short], zone) => {
    // Prepare
    const series = plantedSeries(days(80, long), days(90, short));
    // Act
    const report = dailyBacktest(FIVE_PERCENT, series);
    // Assess
    expect([report.long.breaches, report.short.breaches]).toEqual([long, short]);
    expect(report.zone).toBe(zone);
    expect(report.long.kupiecP).toBeGreaterThan(0);
    expect(report.short.christoffersenP).toBeGreaterThan(0);
  });

  it('scores what there is when the history is shorter, and refuses a history with no scored day', () => {
    const short = plantedSeries([], []);
    const report = dailyBacktest(FIVE_PERCENT, { ...short, candles: short.candles.slice(0, 150) });
    expect(report.observations).toBeLessThan(250);
    expect(report.observations).toBeGreaterThan(100);
    expect(() => dailyBacktest(FIVE_PERCENT, { ...short, candles: short.candles.slice(0, 1) })).toThrow(
      /too few to backtest/,
    );
    expect(() => dailyBacktest(FIVE_PERCENT, short, 0)).toThrow(RangeError);
  });

  it('a set report takes the worst instrument zone', () => {
    const green = dailyBacktest(FIVE_PERCENT, plantedSeries(days(80, 2), []));
    const red = dailyBacktest(FIVE_PERCENT, plantedSeries([], days(90, 10)));
    const report = setBacktestReport({ setId: 's', runId: 'r', computedAt: 0 }, 250, [green, red], []);
    expect(report.zone).toBe('red');
    expect(report.computedAt).toBe('1970-01-01T00:00:00.000Z');
  });
});
