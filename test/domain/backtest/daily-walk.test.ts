import { describe, expect, it } from 'vitest';
import { dailyBacktest } from '../../../lib/domain/backtest/daily-report.ts';
import {
  continueDailyBacktest,
  type DailyWalk,
  type DailyWalkState,
  parseDailyWalkState,
  walkDailyBacktest,
} from '../../../lib/domain/backtest/daily-walk.ts';
import type { CandleSeries } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import { withCandle } from '../threshold/fixtures.ts';

/**
 * The incremental daily backtest must report exactly what a full walk reports: 250 days walked in full
 * against 249 days walked and one continued, row by row and figure by figure. Generated histories of ~400
 * days keep each walk to a second or two; the production walk is the same code over ten years.
 */
const N = 420;
const series = generateCandles({
  instrument: 'BTC',
  days: N,
  endTime: Date.parse('2026-11-24T00:00:00Z'),
  startPrice: 30_000,
  seed: 77,
  annualVolatility: 0.8,
});
const upTo = (s: CandleSeries, end: number, start = 0): CandleSeries => ({
  ...s,
  candles: s.candles.slice(start, end),
});

function expectSameWalk(continued: DailyWalk | { walkAgain: string }, full: DailyWalk) {
  if ('walkAgain' in continued) throw new Error(`continued walk refused: ${continued.walkAgain}`);
  expect(continued.state.rows).toEqual(full.state.rows);
  expect(continued.report).toEqual(full.report);
  expect(continued.state).toEqual(full.state);
}

describe('the daily backtest walked in full', () => {
  it('reports what dailyBacktest reports (the same walk, plus the state to continue from)', () => {
    const full = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, series);
    expect(full.report).toEqual(dailyBacktest(DEFAULT_THRESHOLD_POLICY, series));
    expect(full.report.observations).toBe(250);
    expect(full.state.rows).toHaveLength(250);
    expect(full.state.lastDay).toBe(full.report.to);
    expect(full.walkedDays).toBeGreaterThan(350);
  });
});

describe('the daily backtest continued a day at a time equals the full walk', () => {
  it('250 days walked in full = 249 days walked + 1 day continued: every row, the zone, breaches, p-values, cost', () => {
    // Prepare
    const full = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, series);
    const yesterday = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, upTo(series, N - 1));
    // The state goes through JSON between runs, as it does in DynamoDB
    const kept = parseDailyWalkState(JSON.parse(JSON.stringify(yesterday.state)), 'BTC');
    // Act
    const today = continueDailyBacktest(DEFAULT_THRESHOLD_POLICY, kept, series);
    // Assess
    expectSameWalk(today, full);
    expect((today as DailyWalk).walkedDays).toBe(1);
    expect(yesterday.report.to).not.toBe(full.report.to);
  });

  it('with the window sliding as the recalibration’s fetch does (the next run’s candles start a day later)', () => {
    // Yesterday's run fetched N−1 days; today's run fetches the same N−1 days shifted by one
    const windowDays = N - 2;
    const yesterday = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, upTo(series, N - 1), { windowDays });
    expect(yesterday.report).toEqual(dailyBacktest(DEFAULT_THRESHOLD_POLICY, upTo(series, N - 1)));
    const today = continueDailyBacktest(DEFAULT_THRESHOLD_POLICY, yesterday.state, upTo(series, N, 1), {
      windowDays,
    });
    // The full walk over the whole history, each day on the window before it
    expectSameWalk(today, walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, series, { windowDays }));
  });

  it('with a 2-day MPOR, and across three missed days', () => {
    const policy = parseThresholdPolicy({ marginPeriodOfRiskDays: 2 });
    const earlier = walkDailyBacktest(policy, upTo(series, N - 3), { scoredDays: 100 });
    const today = continueDailyBacktest(policy, earlier.state, series, { scoredDays: 100 });
    expectSameWalk(today, walkDailyBacktest(policy, series, { scoredDays: 100 }));
    expect((today as DailyWalk).walkedDays).toBe(3);
  });

  it('a second run on the same candles walks nothing and reports the same', () => {
    const full = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, series, { scoredDays: 50 });
    const again = continueDailyBacktest(DEFAULT_THRESHOLD_POLICY, full.state, series, { scoredDays: 50 });
    expectSameWalk(again, full);
    expect((again as DailyWalk).walkedDays).toBe(0);
  });
});

describe('a kept walk that cannot be continued is walked again, with the reason', () => {
  const short = upTo(series, 300);
  const yesterday = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, upTo(short, 299), { scoredDays: 50 });
  const again = (state: DailyWalkState, candles: CandleSeries = short, scoredDays = 50) =>
    continueDailyBacktest(DEFAULT_THRESHOLD_POLICY, state, candles, { scoredDays });

  it('another policy (its hash)', () => {
    const other = parseThresholdPolicy({ confidence: 0.995 });
    expect(continueDailyBacktest(other, yesterday.state, short, { scoredDays: 50 })).toEqual({
      walkAgain: expect.stringMatching(/^the policy changed/),
    });
  });

  it('another window', () => {
    expect(again(yesterday.state, short, 60)).toEqual({ walkAgain: expect.stringMatching(/window changed/) });
  });

  it('a gap: the kept last day is not in the candles', () => {
    const gapped = { ...short, candles: short.candles.filter((_, i) => i !== 298) };
    expect(again(yesterday.state, gapped)).toEqual({
      walkAgain: expect.stringMatching(/^gap: .* not in the candles/),
    });
  });

  it('a gap inside the scored window (a day missing before the last one)', () => {
    const gapped = { ...short, candles: short.candles.filter((_, i) => i !== 280) };
    expect(again({ ...yesterday.state }, gapped)).toEqual({ walkAgain: expect.stringMatching(/^gap: /) });
  });

  it('a venue revised a close inside the window', () => {
    const revised = withCandle(short, 270, { close: (short.candles[270]?.close ?? 0) * 1.01 });
    expect(again(yesterday.state, revised)).toEqual({ walkAgain: expect.stringMatching(/revision/) });
  });

  it('a corrupt kept state is refused with the reason, never continued', () => {
    const json = JSON.parse(JSON.stringify(yesterday.state)) as Record<string, unknown>;
    expect(() => parseDailyWalkState('nope', 'BTC')).toThrow(/BTC: the kept backtest walk is not an object/);
    expect(() => parseDailyWalkState({ ...json, instrument: 'ETH' }, 'BTC')).toThrow(/is of ETH/);
    expect(() => parseDailyWalkState({ ...json, policyHash: '' }, 'BTC')).toThrow(/policy hash/);
    expect(() =>
      parseDailyWalkState({ ...json, previous: { instrument: 'BTC', initialMarginRate: null } }, 'BTC'),
    ).toThrow(/usable threshold/);
    const rows = [...(json.rows as unknown[][])];
    rows[3] = [rows[3]?.[0], null, 0, 0];
    expect(() => parseDailyWalkState({ ...json, rows }, 'BTC')).toThrow(/bad row/);
    expect(() => parseDailyWalkState({ ...json, lastDay: '2020-01-01' }, 'BTC')).toThrow(
      /not on its last day/,
    );
    expect(parseDailyWalkState(json, 'BTC')).toEqual(yesterday.state);
  });
});
