/**
 * The threshold model: from a policy and one instrument's daily candles to its margin rates, with every
 * component kept for audit. Pure and deterministic: the same policy, candles, previous threshold and context
 * give the same threshold, byte for byte.
 *
 * An MPOR under a day is modelled on intraday bars in `intraday.ts` (`recalibrate` sends it there).
 *
 * This file is the pipeline and the σ and risk-measure estimates; the floors, buffer and limits applied to
 * the model rate are in `floors.ts`, and the threshold record (computed or held) is built in `build.ts`.
 */
import { aggregateToUtcDays, formatInterval, isIntradayInterval } from '../market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../market/candle.ts';
import { type CandleIssue, describeIssue, validateCandles } from '../market/validate.ts';
import { ewmaVariances } from '../volatility/ewma.ts';
import { fitGarch11, GARCH_MIN_RETURNS, garchTermVariance } from '../volatility/garch.ts';
import { yangZhangVolatility } from '../volatility/range.ts';
import { buildThreshold, holdThreshold } from './build.ts';
import { chooseRate, stressedPeriodVolatility, stressRates } from './floors.ts';
import { recalibrateIntraday } from './intraday.ts';
import { subDayMporHours } from './mpor.ts';
import type { ThresholdPolicy } from './policy.ts';
import { residualMultiplier } from './risk-measure.ts';
import type { Threshold, ThresholdComponents } from './threshold.ts';

// The record builders are part of this module's public face: callers import them from here.
export { candlesHash, holdThreshold, notionalBrackets } from './build.ts';

/** What the caller knows besides the candles. */
export interface RecalibrationContext {
  /** When the threshold is computed for (ms). Default: the close of the last candle. Drives the staleness check. */
  readonly asOf?: number;
  /** Implied volatility (annualised fraction, e.g. DVOL / 100) where a source offers one. */
  readonly impliedVolatility?: number;
}

const YEAR_DAYS = 365;

/**
 * Recalibrate one instrument.
 *  1. Aggregate intraday bars to UTC days; validate the candles against the policy's data rules; unusable
 *     data holds the previous threshold.
 *  2. Estimate σ (EWMA, GARCH(1,1), Yang–Zhang, implied) and combine them as the policy says.
 *  3. Scale a risk measure (filtered historical simulation or Student-t; VaR or ES) to σ over the MPOR.
 *  4. Apply the stress floor and anti-procyclicality (long-lookback floor, stressed-period floor, buffer,
 *     stressed weight).
 *  5. Bound by the policy's floor and cap, then by the step limits against the previous threshold.
 *  6. Derive maintenance, warning and liquidation rates and the notional brackets.
 *
 * @example
 * const threshold = recalibrate(DEFAULT_THRESHOLD_POLICY, btcSeries, previous, { asOf: Date.now() });
 * threshold.initialMarginRate; // e.g. 0.118
 */
export function recalibrate(
  policy: ThresholdPolicy,
  bars: CandleSeries,
  previous?: Threshold,
  context: RecalibrationContext = {},
): Threshold {
  // An MPOR under a day is modelled on the intraday bars themselves, never on days (intraday.ts).
  const hours = subDayMporHours(policy.marginPeriodOfRiskDays);
  if (hours !== undefined) return recalibrateIntraday(policy, bars, hours, previous, context.asOf);
  const daily = toDailyBars(bars);
  if ('heldReason' in daily) return holdThreshold(policy, bars, previous, daily.heldReason);
  const series = daily.series;
  const offDay = offUtcDayReason(series);
  if (offDay !== undefined) return holdThreshold(policy, series, previous, offDay);
  const last = series.candles[series.candles.length - 1];
  const asOf = context.asOf ?? (last ? last.time + series.intervalMs : Number.NaN);
  const report = validateCandles(series, policy.dataQuality, Number.isFinite(asOf) ? asOf : undefined);
  if (!report.usable) {
    const reasons = report.issues.filter((issue) => issue.severity === 'error').map(describeIssue);
    return holdThreshold(policy, trustedPart(series, report.issues, asOf), previous, summarise(reasons));
  }
  const candles = report.candles;
  const warnings = [...daily.notes, ...report.issues.map(describeIssue)];
  const returns = logReturns(candles);
  // The FHS quantile needs residuals beyond the seed: at least 1/(1−p) of them (100 at 99%).
  const minimumResiduals = Math.ceil(1 / (1 - policy.confidence) - 1e-9);
  const minimumReturns = Math.max(GARCH_MIN_RETURNS, policy.volatility.seedDays + minimumResiduals);
  if (returns.length < minimumReturns) {
    return holdThreshold(
      policy,
      series,
      previous,
      `${series.instrument}: ${returns.length} returns, the model needs at least ${minimumReturns}`,
    );
  }

  const h = policy.marginPeriodOfRiskDays;
  const volatility = estimateVolatility(policy, candles, returns, context.impliedVolatility);
  const multiplier = riskMultiplier(policy, returns);
  const horizonSigma = volatility.effective * Math.sqrt(h);
  const modelRate = lossRate(multiplier, horizonSigma);

  const stress = stressRates(policy, series.instrument, candles, asOf);
  const apc = policy.antiProcyclicality;
  const apcFloorRate = apc.longLookbackFloor
    ? apc.longLookbackFloor.share *
      lossRate(multiplier, rootMeanSquare(returns, apc.longLookbackFloor.years * YEAR_DAYS) * Math.sqrt(h))
    : undefined;
  const stressedFloor = apc.stressedPeriodFloor;
  const apcStressedFloorRate = stressedFloor
    ? stressedFloor.share *
      lossRate(
        multiplier,
        stressedPeriodVolatility(returns, stressedFloor.windowDays, stressedFloor.years * YEAR_DAYS) *
          Math.sqrt(h),
      )
    : undefined;

  // The largest candidate wins and is named as the active bound; then bounds and step limits.
  const bounded = chooseRate(
    policy,
    { modelRate, stressWorst: stress.worst, apcFloorRate, apcStressedFloorRate },
    previous,
  );
  const { unboundedRate, stressRate, apcBufferRate } = bounded;
  const components: ThresholdComponents = {
    volatility: volatility.estimates,
    effectiveVolatility: volatility.effective,
    riskMultiplier: multiplier,
    modelRate,
    unboundedRate,
    ...(stressRate !== undefined ? { stressRate } : {}),
    ...(apcFloorRate !== undefined ? { apcFloorRate } : {}),
    ...(apcStressedFloorRate !== undefined ? { apcStressedFloorRate } : {}),
    ...(apcBufferRate !== undefined ? { apcBufferRate } : {}),
    ...(Object.keys(stress.scenarios).length > 0 ? { stressScenarios: stress.scenarios } : {}),
    ...(volatility.garch ? { garch: volatility.garch } : {}),
  };
  return buildThreshold(
    policy,
    series,
    candles,
    bounded.rate,
    bounded.activeBound,
    components,
    previous,
    [...warnings, ...stress.warnings].slice(0, 20),
  );
}

/**
 * Every σ and horizon here is per day: intraday bars that divide a day are aggregated to UTC days (with a
 * note); other bar lengths would be read as daily and misstate the risk, so they hold.
 */
export function toDailyBars(
  bars: CandleSeries,
): { readonly series: CandleSeries; readonly notes: readonly string[] } | { readonly heldReason: string } {
  if (bars.intervalMs === DAY_MS) return { series: bars, notes: [] };
  if (!isIntradayInterval(bars.intervalMs)) {
    return {
      heldReason: `${bars.instrument}: bars of ${bars.intervalMs} ms; the model needs daily bars, or intraday bars that divide a day`,
    };
  }
  const aggregation = aggregateToUtcDays(bars);
  if (aggregation.problemCount > 0) {
    return {
      heldReason: `${bars.instrument}: ${formatInterval(bars.intervalMs)} bars cannot be aggregated to days: ${aggregation.problems.join('; ')}`,
    };
  }
  return { series: aggregation.series, notes: [aggregation.note] };
}

/** Daily log returns of consecutive closes. */
function logReturns(candles: readonly Candle[]): number[] {
  const returns = new Array<number>(Math.max(0, candles.length - 1));
  for (let i = 1; i < candles.length; i++) {
    returns[i - 1] = Math.log((candles[i] as Candle).close / (candles[i - 1] as Candle).close);
  }
  return returns;
}

interface VolatilityEstimate {
  readonly estimates: Record<string, number>;
  readonly effective: number;
  readonly garch?: ThresholdComponents['garch'];
}

function estimateVolatility(
  policy: ThresholdPolicy,
  candles: readonly Candle[],
  returns: readonly number[],
  impliedVolatility: number | undefined,
): VolatilityEstimate {
  const v = policy.volatility;
  const h = policy.marginPeriodOfRiskDays;
  const estimates: Record<string, number> = {};
  const ewma = ewmaVariances(returns, { lambda: v.ewmaLambda, seed: 'mean-squared', seedWindow: v.seedDays });
  estimates.ewma = Math.sqrt(ewma[ewma.length - 1] as number);

  let garch: ThresholdComponents['garch'];
  const garchReturns = returns.slice(-v.garchWindowDays);
  if (garchReturns.length >= GARCH_MIN_RETURNS) {
    const fit = fitGarch11(garchReturns);
    // A fit that did not converge or is (near) integrated has no long-run level to revert to: report it,
    // but do not let it set a margin.
    if (fit.converged && fit.persistence < 0.999) {
      // The MPOR term structure: mean daily variance over the h days ahead, so GARCH's mean reversion counts.
      estimates.garch = Math.sqrt(garchTermVariance(fit, fit.sigmaNext ** 2, h) / h);
      garch = { omega: fit.omega, alpha: fit.alpha, beta: fit.beta, negLogLik: fit.negLogLik };
    }
  }
  const rangeBars = candles.slice(-v.rangeWindowDays);
  const beforeRange = candles[candles.length - rangeBars.length - 1];
  if (rangeBars.length >= 2 && beforeRange)
    estimates.range = yangZhangVolatility(rangeBars, beforeRange.close);
  if (impliedVolatility !== undefined && Number.isFinite(impliedVolatility) && impliedVolatility > 0) {
    estimates.implied = impliedVolatility / Math.sqrt(YEAR_DAYS);
  }

  const weighted = (Object.entries(v.combination.weights) as [string, number][]).filter(
    ([name, weight]) => weight > 0 && estimates[name] !== undefined,
  );
  let effective: number;
  if (weighted.length === 0) {
    // The weighted estimators are all unavailable (say, implied only and no DVOL): fall back to EWMA.
    effective = estimates.ewma;
  } else if (v.combination.method === 'max') {
    effective = Math.max(...weighted.map(([name]) => estimates[name] as number));
  } else {
    const total = weighted.reduce((sum, [, weight]) => sum + weight, 0);
    effective = weighted.reduce(
      (sum, [name, weight]) => sum + (weight / total) * (estimates[name] as number),
      0,
    );
  }
  return { estimates, effective, ...(garch ? { garch } : {}) };
}

/**
 * How many σ of the MPOR return the margin covers: an FHS quantile (or tail mean) of the returns
 * de-volatilised by their own EWMA σ, or a Student-t quantile/ES with ν fitted on the same residuals.
 */
function riskMultiplier(policy: ThresholdPolicy, returns: readonly number[]): number {
  const filter = ewmaVariances(returns, {
    lambda: policy.volatility.filterLambda,
    seed: 'mean-squared',
    seedWindow: policy.volatility.seedDays,
  });
  // Skip the seed period: its σ is the seed's, not a forecast.
  const start = Math.max(policy.volatility.seedDays, returns.length - policy.lookbackDays);
  const residuals: number[] = [];
  for (let t = start; t < returns.length; t++)
    residuals.push((returns[t] as number) / Math.sqrt(filter[t] as number));
  return residualMultiplier(policy, residuals);
}

/**
 * The margin rate (fraction of notional) that covers a log move of `multiplier × σ_h`. The short side's
 * loss e^x − 1 exceeds the long side's 1 − e^−x for the same x, so this is the larger of the two.
 */
function lossRate(multiplier: number, horizonSigma: number): number {
  return Math.expm1(multiplier * horizonSigma);
}

function rootMeanSquare(returns: readonly number[], window: number): number {
  const start = Math.max(0, returns.length - window);
  let sum = 0;
  for (let i = start; i < returns.length; i++) sum += (returns[i] as number) ** 2;
  return Math.sqrt(sum / (returns.length - start));
}

/**
 * Daily bars must open at 00:00 UTC: the model's days, `asOf` and the stress scenarios are UTC calendar
 * days. Dates written with an offset (`2020-03-12T00:00:00+14:00` is 10:00 UTC the day before) would shift
 * every scenario by a day and drop the crash it is keyed on. The venue adapters already refuse such rows;
 * this catches files and other sources.
 */
function offUtcDayReason(series: CandleSeries): string | undefined {
  const off = series.candles.filter((c) => Number.isFinite(c.time) && c.time % DAY_MS !== 0);
  const first = off[0];
  if (!first) return undefined;
  const at = `${new Date(first.time).toISOString().slice(0, 16)}Z`;
  const count = off.length === 1 ? 'a daily bar opens' : `${off.length} daily bars open`;
  return `${series.instrument} ${at}: misdated series: ${count} off 00:00 UTC (first at ${at}); the model's days and stress scenarios are UTC calendar days (a time-zone offset in the dates?)`;
}

/**
 * The series without the candles whose price must never be used, not even as the reference price (the
 * mark accounts are valued at) of a hold with no previous threshold: unconfirmed jumps, and candles not
 * closed by `asOf` (from the future, or still forming). A frozen run's price is only old, not false: it stays.
 */
function trustedPart(series: CandleSeries, issues: readonly CandleIssue[], asOf: number): CandleSeries {
  const jumps = new Set(
    issues.flatMap((issue) =>
      issue.code === 'unconfirmed-jump' && issue.time !== undefined ? [issue.time] : [],
    ),
  );
  const closed = (c: Candle) => c.time + series.intervalMs <= asOf;
  return { ...series, candles: series.candles.filter((c) => closed(c) && !jumps.has(c.time)) };
}

function summarise(reasons: readonly string[]): string {
  if (reasons.length <= 3) return reasons.join('; ');
  return `${reasons.slice(0, 3).join('; ')}; and ${reasons.length - 3} more`;
}
