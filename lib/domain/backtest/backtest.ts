/**
 * Walk-forward backtest of a threshold policy on one price history: no look-ahead (the threshold for day t
 * sees candles up to t−1 only), breaches counted for a long and a short position over the MPOR, and the
 * coverage and procyclicality statistics a risk committee reviews.
 */
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import { empiricalQuantile } from '../math/quantile.ts';
import { recalibrate, toDailyBars } from '../threshold/model.ts';
import { subDayMporHours } from '../threshold/mpor.ts';
import type { ThresholdPolicy } from '../threshold/policy.ts';
import type { ActiveBound, Threshold } from '../threshold/threshold.ts';
import { backtestIntraday } from './backtest-intraday.ts';
import {
  christoffersen,
  kupiecPof,
  maxIncrease,
  peakToTrough,
  type TrafficLightZone,
  trafficLight,
} from './statistics.ts';

export interface BacktestOptions {
  /** First scored day (ms, UTC day start). Default: one year after the first candle; earlier data warms up. */
  readonly scoreFrom?: number;
  /** Last scored day (ms, inclusive). Default: the last day whose MPOR the data still covers. */
  readonly scoreTo?: number;
  /** Called as the walk advances (for a progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** One scored day. Losses are fractions of notional over the MPOR that starts at this day's open. */
export interface BacktestDay {
  readonly date: string;
  readonly close: number;
  readonly initialMarginRate: number;
  readonly effectiveVolatility: number;
  readonly activeBound: ActiveBound;
  readonly longLoss: number;
  readonly shortLoss: number;
  readonly longBreach: boolean;
  readonly shortBreach: boolean;
}

/** What scoring a day needs (the daily backtest keeps only this of each day between runs). */
export type ScoredDay = Pick<
  BacktestDay,
  'date' | 'initialMarginRate' | 'longLoss' | 'shortLoss' | 'longBreach' | 'shortBreach'
>;

export interface SideStatistics {
  readonly breaches: number;
  readonly breachRate: number;
  readonly kupiecStatistic: number;
  readonly kupiecP: number;
  /** Christoffersen independence p-value (clustered breaches make it small). */
  readonly christoffersenP: number;
  readonly conditionalCoverageP: number;
  readonly trafficLight: TrafficLightZone;
  readonly breachDates: readonly string[];
}

export interface BacktestResult {
  readonly instrument: string;
  readonly source: string;
  readonly policyVersion: string;
  readonly confidence: number;
  readonly marginPeriodOfRiskDays: number;
  readonly from: string;
  readonly to: string;
  readonly observations: number;
  readonly long: SideStatistics;
  readonly short: SideStatistics;
  /** Mean initial margin rate over the scored days. */
  readonly averageInitialMarginRate: number;
  /** The fixed rate that would have given the same coverage in hindsight: the larger side's loss quantile. */
  readonly hindsightFixedRate: number;
  /** averageInitialMarginRate / hindsightFixedRate: the price of adapting (≤ 1.10 is the target). */
  readonly efficiency: number;
  readonly peakToTrough: number;
  readonly maxIncrease1d: number;
  readonly maxIncrease5d: number;
  /** Days on which the threshold was held because the data was unusable. */
  readonly heldDays: number;
  /** How often each rule set the final rate. */
  readonly activeBounds: Readonly<Partial<Record<ActiveBound, number>>>;
  /** How the input was turned into daily bars, when it was not daily (intraday bars aggregated). */
  readonly notes?: readonly string[];
  readonly days: readonly BacktestDay[];
}

/** The longest history a backtest walks: 20 years of daily bars (BTC's 3,134 days take about 40 s). */
export const MAX_BACKTEST_DAYS = 7_305;

/**
 * Run the walk-forward backtest. Intraday bars that divide a day are aggregated to UTC days first (the
 * result's `notes` say so).
 *
 * @example
 * const result = backtest(DEFAULT_THRESHOLD_POLICY, btc, { scoreFrom: Date.UTC(2016, 0, 1) });
 * result.long.kupiecP; // ≥ 0.05 for a well-calibrated 99% margin
 */
export function backtest(
  policy: ThresholdPolicy,
  bars: CandleSeries,
  options: BacktestOptions = {},
): BacktestResult {
  // An MPOR under a day is scored on the intraday bars themselves, one MPOR at a time.
  const hours = subDayMporHours(policy.marginPeriodOfRiskDays);
  if (hours !== undefined) return backtestIntraday(policy, bars, hours, options);
  // Intraday bars are aggregated once here, not again by every day's recalibration (that would be
  // quadratic in the bars).
  const daily = toDailyBars(bars);
  if ('heldReason' in daily) throw new RangeError(daily.heldReason);
  const series = daily.series;
  const candles = series.candles;
  // Each day recalibrates on all the history before it, so the walk grows with the square of its length:
  // refuse what would run for hours rather than run without end.
  if (candles.length > MAX_BACKTEST_DAYS) {
    throw new RangeError(
      `${series.instrument}: ${candles.length} daily bars; a backtest walks at most ${MAX_BACKTEST_DAYS} ` +
        '(20 years): give it a shorter history',
    );
  }
  const h = policy.marginPeriodOfRiskDays;
  const first = candles[0];
  if (!first || candles.length < 3) {
    throw new RangeError(
      `${series.instrument}: a backtest needs price history, got ${candles.length} candles`,
    );
  }
  const scoreFrom = options.scoreFrom ?? first.time + 365 * DAY_MS;
  const scoreTo = options.scoreTo ?? Number.POSITIVE_INFINITY;

  // Walk from the start so the step limits and the buffer carry a realistic previous threshold into day one.
  const walkFrom = Math.max(1, policy.volatility.seedDays + 2);
  // Day t is scored when its whole MPOR is in the data (closes t−1 … t+h−1) and the walk has reached it.
  const scored: number[] = [];
  for (let t = walkFrom; t + h - 1 < candles.length; t++) {
    const time = (candles[t] as Candle).time;
    if (time >= scoreFrom && time <= scoreTo) scored.push(t);
  }
  if (scored.length === 0) {
    throw new RangeError(
      `${series.instrument}: no day between ${day(scoreFrom)} and ${day(scoreTo)} has a full MPOR in the data`,
    );
  }

  const lastScored = scored[scored.length - 1] as number;
  const total = lastScored - walkFrom + 1;
  const days: BacktestDay[] = [];
  let previous: Threshold | undefined;
  let heldDays = 0;
  const activeBounds: Partial<Record<ActiveBound, number>> = {};
  const firstScored = scored[0] as number;
  for (let t = walkFrom; t <= lastScored; t++) {
    const today = candles[t] as Candle;
    const history: CandleSeries = { ...series, candles: candles.slice(0, t) };
    const threshold = recalibrate(policy, history, previous, { asOf: today.time });
    previous = threshold;
    options.onProgress?.(t - walkFrom + 1, total);
    if (t < firstScored) continue;
    if (threshold.status === 'held') heldDays++;
    activeBounds[threshold.activeBound] = (activeBounds[threshold.activeBound] ?? 0) + 1;
    const start = (candles[t - 1] as Candle).close;
    const end = (candles[t + h - 1] as Candle).close;
    const longLoss = 1 - end / start;
    const shortLoss = end / start - 1;
    const rate = threshold.initialMarginRate;
    days.push({
      date: utcDay(today.time),
      close: today.close,
      initialMarginRate: rate,
      // A day held with no previous threshold has no σ: NaN leaves a gap in the chart.
      effectiveVolatility: threshold.components.effectiveVolatility ?? Number.NaN,
      activeBound: threshold.activeBound,
      longLoss,
      shortLoss,
      longBreach: longLoss > rate,
      shortBreach: shortLoss > rate,
    });
  }

  return {
    instrument: series.instrument,
    source: series.source,
    policyVersion: policy.version,
    confidence: policy.confidence,
    marginPeriodOfRiskDays: h,
    from: (days[0] as BacktestDay).date,
    to: (days[days.length - 1] as BacktestDay).date,
    ...scoreBacktestDays(days, policy.confidence),
    heldDays,
    activeBounds,
    ...(daily.notes.length > 0 ? { notes: daily.notes } : {}),
    days,
  };
}

/** The coverage, cost and procyclicality figures of a run of scored days (what {@link BacktestResult} reports). */
export type BacktestScore = Pick<
  BacktestResult,
  | 'observations'
  | 'long'
  | 'short'
  | 'averageInitialMarginRate'
  | 'hindsightFixedRate'
  | 'efficiency'
  | 'peakToTrough'
  | 'maxIncrease1d'
  | 'maxIncrease5d'
>;

/**
 * Score a run of consecutive scored days (oldest first, at least one): breaches and coverage tests per side,
 * the average rate against the hindsight fixed rate, and the procyclicality of the rate series. The
 * backtest and the calibration (which scores sub-periods of a walk) share it.
 */
export function scoreBacktestDays(days: readonly ScoredDay[], confidence: number): BacktestScore {
  if (days.length === 0) throw new RangeError('no scored days to score');
  const coverage = 1 - confidence;
  const rates = days.map((d) => d.initialMarginRate);
  const averageInitialMarginRate = rates.reduce((sum, r) => sum + r, 0) / rates.length;
  const hindsightFixedRate = Math.max(
    empiricalQuantile(
      days.map((d) => d.longLoss),
      confidence,
    ),
    empiricalQuantile(
      days.map((d) => d.shortLoss),
      confidence,
    ),
  );
  return {
    observations: days.length,
    long: sideStatistics(days, 'longBreach', coverage),
    short: sideStatistics(days, 'shortBreach', coverage),
    averageInitialMarginRate,
    hindsightFixedRate,
    efficiency: averageInitialMarginRate / hindsightFixedRate,
    peakToTrough: peakToTrough(rates),
    maxIncrease1d: rates.length > 1 ? maxIncrease(rates, 1) : 1,
    maxIncrease5d: rates.length > 5 ? maxIncrease(rates, 5) : 1,
  };
}

function sideStatistics(
  days: readonly ScoredDay[],
  side: 'longBreach' | 'shortBreach',
  coverage: number,
): SideStatistics {
  const hits = days.map((d) => d[side]);
  const breaches = hits.filter(Boolean).length;
  const kupiec = kupiecPof(days.length, breaches, coverage);
  const clustering = christoffersen(hits, coverage);
  return {
    breaches,
    breachRate: breaches / days.length,
    kupiecStatistic: kupiec.statistic,
    kupiecP: kupiec.pValue,
    christoffersenP: clustering.independence.pValue,
    conditionalCoverageP: clustering.conditionalCoverage.pValue,
    trafficLight: trafficLight(days.length, breaches, coverage).zone,
    breachDates: days.filter((d) => d[side]).map((d) => d.date),
  };
}

function day(time: number): string {
  return Number.isFinite(time) ? utcDay(time) : 'the end';
}
