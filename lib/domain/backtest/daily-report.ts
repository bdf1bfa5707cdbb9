/**
 * The daily backtest a CCP runs under EMIR Art. 49 (RTS 153/2013 Art. 49): after each recalibration, each
 * instrument's last 250 scored days are backtested with the policy in force and classed by the Basel traffic
 * light on the breaches. The walk and its statistics are `backtest()`'s; this module only picks the window
 * and reduces the result to what is stored with the threshold set and reported.
 */
import type { CandleSeries } from '../market/candle.ts';
import { toDailyBars } from '../threshold/model.ts';
import type { ThresholdPolicy } from '../threshold/policy.ts';
import { type BacktestResult, type BacktestScore, backtest, type SideStatistics } from './backtest.ts';
import { type TrafficLightZone, trafficLight } from './statistics.ts';

/** The Basel window: 250 business days (for crypto, 250 calendar days). */
export const DAILY_BACKTEST_DAYS = 250;

/** One side (a long or a short position) of an instrument's daily backtest. */
export interface DailyBacktestSide {
  readonly breaches: number;
  readonly kupiecP: number;
  /** Christoffersen independence p-value. */
  readonly christoffersenP: number;
  readonly zone: TrafficLightZone;
  readonly breachDates: readonly string[];
}

/** An instrument's daily backtest, as stored with the set. */
export interface InstrumentBacktestReport {
  readonly instrument: string;
  readonly policyVersion: string;
  readonly confidence: number;
  readonly marginPeriodOfRiskDays: number;
  /** First and last scored day (YYYY-MM-DD). */
  readonly from: string;
  readonly to: string;
  /** Scored days: 250 unless the instrument's history is shorter. */
  readonly observations: number;
  /** The worse side's zone: one side breaching too often is enough to call the model into question. */
  readonly zone: TrafficLightZone;
  readonly long: DailyBacktestSide;
  readonly short: DailyBacktestSide;
  /** Mean initial margin rate over the window, the hindsight fixed rate, and their ratio (the cost). */
  readonly averageInitialMarginRate: number;
  readonly hindsightFixedRate: number;
  readonly cost: number;
}

/** An instrument whose backtest could not run, and why (it never stops the others). */
export interface FailedInstrumentBacktest {
  readonly instrument: string;
  readonly reason: string;
}

/** What is stored with a threshold set: every instrument's daily backtest. */
export interface SetBacktestReport {
  readonly setId: string;
  readonly runId: string;
  /** When the backtest ran (ISO 8601, UTC). */
  readonly computedAt: string;
  /** The window asked for (the Basel 250 days unless configured). */
  readonly scoredDays: number;
  /** The worst zone over the instruments backtested (green when none was). */
  readonly zone: TrafficLightZone;
  readonly instruments: readonly InstrumentBacktestReport[];
  readonly failed: readonly FailedInstrumentBacktest[];
}

const ZONE_RANK: Readonly<Record<TrafficLightZone, number>> = { green: 0, yellow: 1, red: 2 };

/** The worse of some zones (green for none). */
export function worstZone(zones: readonly TrafficLightZone[]): TrafficLightZone {
  return zones.reduce<TrafficLightZone>((worst, z) => (ZONE_RANK[z] > ZONE_RANK[worst] ? z : worst), 'green');
}

/** The zone as a number for a metric: 0 green, 1 yellow (amber), 2 red. */
export function zoneLevel(zone: TrafficLightZone): number {
  return ZONE_RANK[zone];
}

/**
 * The daily backtest's zone: the Basel traffic light of each side's breaches over the window, the worse one.
 * At 99% over 250 days: green 0–4 breaches, yellow 5–9, red 10 or more.
 *
 * @example
 * backtestZone(250, 4, 5, 0.01); // 'yellow' (the short side's 5 breaches)
 */
export function backtestZone(
  observations: number,
  longBreaches: number,
  shortBreaches: number,
  coverage: number,
): TrafficLightZone {
  return worstZone([
    trafficLight(observations, longBreaches, coverage).zone,
    trafficLight(observations, shortBreaches, coverage).zone,
  ]);
}

/**
 * Backtest `policy` on the last `scoredDays` scored days of `series` (the history the recalibration used):
 * every day's threshold is recalibrated on the candles before it, exactly as `backtest()` walks.
 *
 * @throws RangeError when the series cannot be backtested (too short, unusable bars).
 * @example
 * const report = dailyBacktest(policy, btc); // report.zone, report.long.breaches, report.cost
 */
export function dailyBacktest(
  policy: ThresholdPolicy,
  series: CandleSeries,
  scoredDays: number = DAILY_BACKTEST_DAYS,
): InstrumentBacktestReport {
  if (!(Number.isSafeInteger(scoredDays) && scoredDays >= 1)) {
    throw new RangeError(`scored days must be a positive integer, got ${scoredDays}`);
  }
  const daily = toDailyBars(series);
  if ('heldReason' in daily) throw new RangeError(daily.heldReason);
  const candles = daily.series.candles;
  // backtest() scores day t when closes t−1 … t+h−1 are in the data: the last scored day is n − h.
  const lastScored = candles.length - policy.marginPeriodOfRiskDays;
  const first = candles[Math.max(1, lastScored - scoredDays + 1)];
  if (!first || lastScored < 1) {
    throw new RangeError(`${series.instrument}: ${candles.length} daily bars are too few to backtest`);
  }
  const result = backtest(policy, daily.series, { scoreFrom: first.time });
  return instrumentBacktestReport(series.instrument, policy, result);
}

/**
 * The stored form of an instrument's scored window (a full walk's, or an incremental walk's rebuilt from
 * its kept rows): both go through here, so the two cannot report differently.
 */
export function instrumentBacktestReport(
  instrument: string,
  policy: ThresholdPolicy,
  scored: Pick<BacktestResult, 'from' | 'to'> & BacktestScore,
): InstrumentBacktestReport {
  const coverage = 1 - policy.confidence;
  return {
    instrument,
    policyVersion: policy.version,
    confidence: policy.confidence,
    marginPeriodOfRiskDays: policy.marginPeriodOfRiskDays,
    from: scored.from,
    to: scored.to,
    observations: scored.observations,
    zone: backtestZone(scored.observations, scored.long.breaches, scored.short.breaches, coverage),
    long: side(scored.long),
    short: side(scored.short),
    averageInitialMarginRate: scored.averageInitialMarginRate,
    hindsightFixedRate: scored.hindsightFixedRate,
    cost: scored.efficiency,
  };
}

function side(statistics: SideStatistics): DailyBacktestSide {
  return {
    breaches: statistics.breaches,
    kupiecP: statistics.kupiecP,
    christoffersenP: statistics.christoffersenP,
    zone: statistics.trafficLight,
    breachDates: statistics.breachDates,
  };
}

/** Assemble the set's report: the worst zone over the instruments that ran. */
export function setBacktestReport(
  identity: { readonly setId: string; readonly runId: string; readonly computedAt: number },
  scoredDays: number,
  instruments: readonly InstrumentBacktestReport[],
  failed: readonly FailedInstrumentBacktest[],
): SetBacktestReport {
  return {
    setId: identity.setId,
    runId: identity.runId,
    computedAt: new Date(identity.computedAt).toISOString(),
    scoredDays,
    zone: worstZone(instruments.map((i) => i.zone)),
    instruments,
    failed,
  };
}

/** One line per instrument, for the ops summary and logs: `BTC yellow (long 5, short 2 of 250)`. */
export function describeBacktest(report: InstrumentBacktestReport): string {
  return `${report.instrument} ${report.zone} (long ${report.long.breaches}, short ${report.short.breaches} of ${report.observations}, ${report.from} to ${report.to})`;
}
