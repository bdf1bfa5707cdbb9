import { describe, expect, it } from 'vitest';
import { backtest } from '../../../lib/domain/backtest/backtest.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { seededRandom } from '../../../lib/domain/math/random.ts';
import {
  barLambda,
  barReturns,
  fitIntraday,
  seasonalFactors,
  seasonalHorizon,
  seasonalSlot,
  slotsFrom,
} from '../../../lib/domain/threshold/intraday.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';

const HOUR = 3_600_000;
const START = Date.UTC(2022, 0, 1);

/** Hourly bars with a volatility profile: σ 0.4% an hour, doubled 13:00–16:59 UTC (the US open). */
function hourlySeries(
  days: number,
  seed = 7,
  missing: readonly number[] = [],
  stressed:
    | { readonly fromDay: number; readonly toDay: number; readonly times: number }
    | undefined = undefined,
  weekend = 1,
): CandleSeries {
  const random = seededRandom(seed);
  const candles: Candle[] = [];
  let close = 1000;
  for (let i = 0; i < days * 24; i++) {
    const time = START + i * HOUR;
    const hour = new Date(time).getUTCHours();
    const day = Math.floor(i / 24);
    const storm = stressed && day >= stressed.fromDay && day < stressed.toDay ? stressed.times : 1;
    const weekday = new Date(time).getUTCDay();
    const quiet = weekday === 0 || weekday === 6 ? weekend : 1;
    const sigma = 0.004 * (hour >= 13 && hour < 17 ? 2 : 1) * storm * quiet;
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const open = close;
    close = open * Math.exp(sigma * normal);
    if (missing.includes(time)) continue;
    candles.push({ time, open, high: Math.max(open, close), low: Math.min(open, close), close, volume: 10 });
  }
  return { instrument: 'ETH', intervalMs: HOUR, candles, source: 'test' };
}

function dailySeries(days: number): CandleSeries {
  const random = seededRandom(3);
  const candles: Candle[] = [];
  let close = 1000;
  for (let i = 0; i < days; i++) {
    const open = close;
    close = open * Math.exp(0.03 * (random() - 0.5));
    candles.push({
      time: START + i * DAY_MS,
      open,
      high: Math.max(open, close),
      low: Math.min(open, close),
      close,
      volume: 1,
    });
  }
  return { instrument: 'BTC', intervalMs: DAY_MS, candles, source: 'test' };
}

const intraday = (mpor: string) =>
  parseThresholdPolicy({
    marginPeriodOfRisk: mpor,
    stress: { coveredShare: 0 },
    stepLimits: { maxIncrease: null, maxDecrease: null },
    bounds: { minInitialMarginRate: 0.001 },
    dataQuality: { gapAction: 'warn' },
  });

describe('seasonal factors', () => {
  it('are √(mean r² of the slot / mean r² of all), by hand', () => {
    // Two 12-hour slots: r² 0.0004 and 0.0016 twice each; mean 0.001. The NaN (a gap) is left out.
    const returns = Float64Array.of(Number.NaN, 0.02, -0.04, 0.02, 0.04);
    const slots = Int32Array.of(1, 0, 1, 0, 1);
    const factors = seasonalFactors(returns, slots, 2, 0, 5);
    expect(factors[0]).toBeCloseTo(Math.sqrt(0.4), 12); // 0.632456
    expect(factors[1]).toBeCloseTo(Math.sqrt(1.6), 12); // 1.264911
  });

  it('use only the window [from, to) and leave a slot with no return at 1', () => {
    const factors = seasonalFactors(Float64Array.of(0.5, 0.02, 0.02), Int32Array.of(1, 0, 0), 2, 1, 3);
    expect([...factors]).toEqual([1, 1]);
  });

  it('find the US-open hours about twice as volatile on a generated series', () => {
    const series = hourlySeries(120);
    const bars = barReturns(series.candles, HOUR);
    const factors = seasonalFactors(bars.returns, bars.slots, 24, 0, series.candles.length);
    // σ² 4 for 4 hours, 1 for 20: mean 1.5, so s = 2/√1.5 = 1.63 and 1/√1.5 = 0.82.
    expect(factors[14]).toBeGreaterThan(1.45);
    expect(factors[14]).toBeLessThan(1.8);
    expect(factors[3]).toBeGreaterThan(0.72);
    expect(factors[3]).toBeLessThan(0.92);
  });
});

describe('bar returns across a gap', () => {
  it('leave out the return across a missing bar rather than count a 2-hour move as 1 hour', () => {
    const candles = [0, 1, 2, 4, 5].map((h, i) => ({
      time: START + h * HOUR,
      open: 100 + i,
      high: 101 + i,
      low: 99 + i,
      close: 100 * 1.01 ** (i + 1),
      volume: 1,
    }));
    const bars = barReturns(candles, HOUR);
    expect(Number.isNaN(bars.returns[0] as number)).toBe(true);
    expect(bars.returns[1]).toBeCloseTo(Math.log(1.01), 12);
    expect(Number.isNaN(bars.returns[3] as number)).toBe(true); // 02:00 → 04:00 spans 2 hours
    expect(bars.returns[4]).toBeCloseTo(Math.log(1.01), 12);
    expect(bars.gaps).toEqual([{ after: START + 2 * HOUR, missing: 1 }]);
    expect([...bars.slots]).toEqual([0, 1, 2, 4, 5]);
  });

  it('are not scored in the backtest: no observation starts at or spans the missing hour', () => {
    const gap = START + (400 * 24 + 13) * HOUR; // 13:00 on day 400
    const series = hourlySeries(405, 7, [gap]);
    for (const mpor of ['1h', '4h']) {
      const result = backtest(intraday(mpor), series, { scoreFrom: START + 399 * DAY_MS });
      const hours = mpor === '1h' ? 1 : 4;
      const spans = result.days.filter((d) => {
        const open = Date.parse(d.date);
        return open <= gap + HOUR && open + hours * HOUR > gap;
      });
      expect(spans).toEqual([]);
      expect(result.notes?.join('\n')).toMatch(
        /1 gap\(s\) in the 1h bars \(missing bars: 1 after 2023-02-05T12:00Z\)/,
      );
      expect(result.notes?.join('\n')).toMatch(/1 MPOR window\(s\) with a missing bar not scored/);
    }
  });
});

describe('a sub-day MPOR', () => {
  it('is refused on daily bars: the threshold is held, never computed from daily closes', () => {
    const series = dailySeries(800);
    const previous = recalibrate(parseThresholdPolicy({}), series);
    const held = recalibrate(intraday('4h'), series, previous);
    expect(held.status).toBe('held');
    expect(held.heldReason).toMatch(
      /margin period of risk is 4h, under a day, and the prices are daily bars/,
    );
    expect(held.initialMarginRate).toBe(previous.initialMarginRate);
  });

  it('is refused by the backtest on daily bars with the reason', () => {
    expect(() => backtest(intraday('1h'), dailySeries(800))).toThrow(
      /BTC: the policy's margin period of risk is 1h, under a day, and the prices are daily bars/,
    );
  });

  it('is refused when it is not a whole number of bars', () => {
    const series = hourlySeries(60);
    const fourHourly = {
      ...series,
      intervalMs: 4 * HOUR,
      candles: series.candles.filter((c) => (c.time - START) % (4 * HOUR) === 0),
    };
    const held = recalibrate(intraday('2h'), fourHourly);
    expect(held.heldReason).toMatch(/an MPOR of 2h is not a whole number of 4h bars/);
  });

  it('gives a margin that grows with the MPOR and with the busy hours ahead', () => {
    const series = hourlySeries(400);
    // The last bar opens 23:00: the next hour is a quiet one (σ 0.4%).
    const oneHour = recalibrate(intraday('1h'), series);
    const fourHours = recalibrate(intraday('4h'), series);
    expect(oneHour.status).toBe('computed');
    expect(oneHour.initialMarginRate).toBeGreaterThan(0.004 * 2);
    expect(oneHour.initialMarginRate).toBeLessThan(0.004 * 4);
    expect(fourHours.initialMarginRate).toBeGreaterThan(oneHour.initialMarginRate * 1.6);
    // Before 13:00 the next hour is a busy one: about twice the quiet hour's margin.
    const beforeOpen = { ...series, candles: series.candles.slice(0, -10) };
    const busy = recalibrate(intraday('1h'), beforeOpen);
    expect(busy.initialMarginRate / oneHour.initialMarginRate).toBeGreaterThan(1.6);
    expect(busy.initialMarginRate / oneHour.initialMarginRate).toBeLessThan(2.4);
  });

  it('applies the stressed-period floor as the daily model does, and lets it age out', () => {
    // Thirty days at five times the usual σ, 600 days before the end; calm since.
    const series = hourlySeries(800, 7, [], { fromDay: 170, toDay: 200, times: 5 });
    const withFloor = (years: number) =>
      parseThresholdPolicy({
        ...intraday('1h'),
        antiProcyclicality: { stressedPeriodFloor: { share: 0.9, windowDays: 30, years } },
      });
    const inWindow = recalibrate(withFloor(2), series);
    expect(inWindow.activeBound).toBe('apc-stressed-floor');
    const floorRate = inWindow.components.apcStressedFloorRate as number;
    // σ five times the calm σ, 90% of it: about 4.5 × the calm model rate (expm1 is near linear here).
    expect(floorRate / inWindow.components.modelRate).toBeGreaterThan(3.5);
    expect(floorRate / inWindow.components.modelRate).toBeLessThan(5.5);
    expect(inWindow.initialMarginRate).toBeCloseTo(floorRate, 12);
    // One year back the storm has left the window: the floor is calm-σ sized and does not bind.
    const agedOut = recalibrate(withFloor(1), series);
    expect(agedOut.activeBound).not.toBe('apc-stressed-floor');
    expect(agedOut.components.apcStressedFloorRate as number).toBeLessThan(floorRate / 3);
    // The backtest uses the same floor: its first scored bar has recalibrate's rate.
    const scoreFrom = START + 796 * DAY_MS;
    const first = backtest(withFloor(2), series, { scoreFrom }).days[0] as { initialMarginRate: number };
    const before = series.candles.filter((c) => c.time < scoreFrom);
    expect(first.initialMarginRate).toBeCloseTo(
      recalibrate(withFloor(2), { ...series, candles: before }).initialMarginRate,
      12,
    );
  });

  it('backtests at the rate recalibrate gives on the bars before each day', () => {
    const series = hourlySeries(400);
    const policy = intraday('4h');
    const result = backtest(policy, series, { scoreFrom: START + 396 * DAY_MS });
    const first = result.days.find((d) => d.date.endsWith('T00:00Z')) as (typeof result.days)[number];
    const before = series.candles.filter((c) => c.time < Date.parse(first.date));
    const threshold = recalibrate(policy, { ...series, candles: before });
    expect(first.initialMarginRate).toBeCloseTo(threshold.initialMarginRate, 12);
    expect(result.observations).toBe(4 * 6);
  });
});

/** The series with every price from the bar opening at `time` on scaled by `factor`: a jump in that bar. */
function withJump(series: CandleSeries, time: number, factor: number): CandleSeries {
  const candles = series.candles.map((c) => {
    if (c.time > time) {
      return {
        ...c,
        open: c.open * factor,
        high: c.high * factor,
        low: c.low * factor,
        close: c.close * factor,
      };
    }
    if (c.time < time) return c;
    const close = c.close * factor;
    return { ...c, close, high: Math.max(c.high, close), low: Math.min(c.low, close) };
  });
  return { ...series, candles };
}

const tuned = (mpor: string, intraday: Record<string, unknown>) =>
  parseThresholdPolicy({
    marginPeriodOfRisk: mpor,
    intraday,
    stress: { coveredShare: 0 },
    stepLimits: { maxIncrease: null, maxDecrease: null },
    bounds: { minInitialMarginRate: 0.001 },
    dataQuality: { gapAction: 'warn' },
  });

describe('a weekday and a weekend profile', () => {
  it('puts Saturday and Sunday bars in their own slots, after the 24 weekday ones', () => {
    // 2024-01-05 is a Friday.
    expect(seasonalSlot(Date.UTC(2024, 0, 5, 23), HOUR, 'weekday-weekend')).toBe(23);
    expect(seasonalSlot(Date.UTC(2024, 0, 6, 0), HOUR, 'weekday-weekend')).toBe(24);
    expect(seasonalSlot(Date.UTC(2024, 0, 6, 13), HOUR, 'weekday-weekend')).toBe(37);
    expect(seasonalSlot(Date.UTC(2024, 0, 7, 23), HOUR, 'weekday-weekend')).toBe(47);
    expect(seasonalSlot(Date.UTC(2024, 0, 8, 0), HOUR, 'weekday-weekend')).toBe(0);
    expect(seasonalSlot(Date.UTC(2024, 0, 6, 8), 4 * HOUR, 'weekday-weekend')).toBe(8);
    expect(seasonalSlot(Date.UTC(2024, 0, 6, 13), HOUR, 'time-of-day')).toBe(13);
    const bars = barReturns(hourlySeries(3).candles, HOUR, 'weekday-weekend');
    expect(bars.slotCount).toBe(48);
    expect(bars.barsPerDay).toBe(24);
  });

  it('finds weekend hours quieter, and sizes an MPOR across Friday midnight on both profiles', () => {
    const series = hourlySeries(400, 7, [], undefined, 0.5);
    const end = series.candles.length;
    const bars = barReturns(series.candles, HOUR, 'weekday-weekend');
    const factors = seasonalFactors(bars.returns, bars.slots, bars.slotCount, 0, end);
    // 03:00 on a weekday against 03:00 on a weekend day: σ halved.
    expect((factors[24 + 3] as number) / (factors[3] as number)).toBeGreaterThan(0.42);
    expect((factors[24 + 3] as number) / (factors[3] as number)).toBeLessThan(0.58);
    // Four hours from Friday 22:00: two weekday slots, then Saturday's 00:00 and 01:00.
    const slots = slotsFrom(Date.UTC(2024, 0, 5, 22), HOUR, 4, 'weekday-weekend');
    expect(slots).toEqual([22, 23, 24, 25]);
    const f = (j: number) => (factors[j] as number) ** 2;
    expect(seasonalHorizon(factors, slots)).toBeCloseTo(Math.sqrt(f(22) + f(23) + f(24) + f(25)), 14);
  });

  it('gives a lower margin for a weekend hour than for the same weekday hour', () => {
    const series = hourlySeries(400, 7, [], undefined, 0.5);
    const policy = tuned('1h', { seasonality: 'weekday-weekend' });
    const rateBefore = (time: number) =>
      recalibrate(policy, { ...series, candles: series.candles.filter((c) => c.time < time) })
        .initialMarginRate;
    // Day 399 (2023-02-04) is a Saturday, day 397 a Thursday: the margin for their 03:00 hour.
    const saturday = rateBefore(START + 399 * DAY_MS + 3 * HOUR);
    const thursday = rateBefore(START + 397 * DAY_MS + 3 * HOUR);
    expect(new Date(START + 399 * DAY_MS).getUTCDay()).toBe(6);
    expect(saturday / thursday).toBeGreaterThan(0.4);
    expect(saturday / thursday).toBeLessThan(0.65);
    // One profile for all days sees no difference between them.
    const plain = tuned('1h', {});
    const plainRate = (time: number) =>
      recalibrate(plain, { ...series, candles: series.candles.filter((c) => c.time < time) })
        .initialMarginRate;
    const ratio = plainRate(START + 399 * DAY_MS + 3 * HOUR) / plainRate(START + 397 * DAY_MS + 3 * HOUR);
    expect(ratio).toBeGreaterThan(0.8);
  });
});

describe('a fast σ component', () => {
  it('holds σ² = max(slow EWMA, fast EWMA), each by its recursion; without it σ² is the slow one', () => {
    const series = hourlySeries(120);
    const bars = barReturns(series.candles, HOUR);
    const end = series.candles.length;
    const fit = fitIntraday(tuned('1h', { fastEwmaLambda: 0.01 }), bars, HOUR, 1, end);
    const slow = fit.slowVariances;
    const fast = fit.fastVariances as Float64Array;
    const lf = barLambda(0.01, HOUR); // 0.01^(1/24) = 0.8254 a bar
    expect(lf).toBeCloseTo(0.825404185268019, 12);
    for (const i of [800, 1500, end - 1]) {
      const d = (bars.returns[i] as number) / (fit.factors[bars.slots[i] as number] as number);
      expect(fast[i + 1]).toBeCloseTo(lf * (fast[i] as number) + (1 - lf) * d * d, 18);
      expect(fit.variances[i + 1]).toBe(Math.max(slow[i + 1] as number, fast[i + 1] as number));
    }
    const plain = fitIntraday(tuned('1h', {}), bars, HOUR, 1, end);
    expect(plain.fastVariances).toBeUndefined();
    expect(plain.variances).toBe(plain.slowVariances);
    expect([...plain.slowVariances]).toEqual([...slow]);
  });

  it('raises the next hour’s margin after a large bar, in recalibrate and in the backtest', () => {
    // A 3% bar (about 7σ) at 10:00 on day 398.
    const jump = START + 398 * DAY_MS + 10 * HOUR;
    const series = withJump(hourlySeries(400), jump, 1.03);
    const fast = tuned('1h', { fastEwmaLambda: 0.01 });
    const slow = tuned('1h', {});
    const upTo = (time: number) => ({ ...series, candles: series.candles.filter((c) => c.time < time) });
    const ratio = (policy: typeof fast) =>
      recalibrate(policy, upTo(jump + HOUR)).initialMarginRate /
      recalibrate(policy, upTo(jump)).initialMarginRate;
    expect(ratio(fast)).toBeGreaterThan(2);
    expect(ratio(slow)).toBeLessThan(1.1);
    // The backtest carries the fast σ bar by bar within the day: the 11:00 observation is raised too.
    const scoreFrom = START + 398 * DAY_MS;
    const at = (policy: typeof fast, time: number) =>
      (
        backtest(policy, series, { scoreFrom }).days.find((d) => Date.parse(d.date) === time) as {
          initialMarginRate: number;
        }
      ).initialMarginRate;
    expect(at(fast, jump + HOUR) / at(fast, jump)).toBeGreaterThan(2);
    expect(at(slow, jump + HOUR) / at(slow, jump)).toBeLessThan(1.1);
  });
});
