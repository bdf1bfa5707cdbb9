/**
 * The threshold model: from a policy and one instrument's daily candles to its margin rates, with every
 * component kept for audit. Pure and deterministic: the same policy, candles, previous threshold and context
 * give the same threshold, byte for byte.
 */
import { createHash } from 'node:crypto';
import { aggregateToUtcDays, formatInterval, isIntradayInterval } from '../market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import { type CandleIssue, describeIssue, validateCandles } from '../market/validate.ts';
import { empiricalExpectedShortfall, empiricalQuantile } from '../math/quantile.ts';
import {
  fitStandardizedTDegreesOfFreedom,
  standardizedTExpectedShortfall,
  standardizedTQuantile,
} from '../math/student-t.ts';
import { ewmaVariances } from '../volatility/ewma.ts';
import { fitGarch11, GARCH_MIN_RETURNS, garchTermVariance } from '../volatility/garch.ts';
import { yangZhangVolatility } from '../volatility/range.ts';
import { policyHash, type StressScenario, type ThresholdPolicy } from './policy.ts';
import type { ActiveBound, NotionalBracket, Threshold, ThresholdComponents } from './threshold.ts';

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
 *  4. Apply the stress floor and anti-procyclicality (long-lookback floor, buffer, stressed weight).
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
  const stressRate = stress.worst > 0 ? policy.stress.coveredShare * stress.worst : undefined;
  const apc = policy.antiProcyclicality;
  const apcFloorRate = apc.longLookbackFloor
    ? apc.longLookbackFloor.share *
      lossRate(multiplier, rootMeanSquare(returns, apc.longLookbackFloor.years * YEAR_DAYS) * Math.sqrt(h))
    : undefined;

  // Candidates for the unbounded rate; the largest wins and is named as the active bound.
  const blendedModel =
    apc.stressedWeight > 0 && stress.worst > 0
      ? (1 - apc.stressedWeight) * modelRate + apc.stressedWeight * stress.worst
      : modelRate;
  const apcBufferRate = apc.buffer > 0 ? bufferedRate(blendedModel, apc.buffer, previous) : undefined;
  const candidates: [ActiveBound, number | undefined][] = [
    ['model', blendedModel],
    ['apc-buffer', apcBufferRate],
    ['stress-floor', stressRate],
    ['apc-floor', apcFloorRate],
  ];
  let activeBound: ActiveBound = 'model';
  let unboundedRate = blendedModel;
  for (const [name, value] of candidates) {
    if (value !== undefined && value > unboundedRate) {
      unboundedRate = value;
      activeBound = name;
    }
  }

  const bounded = applyBounds(policy, unboundedRate, activeBound, previous);
  const components: ThresholdComponents = {
    volatility: volatility.estimates,
    effectiveVolatility: volatility.effective,
    riskMultiplier: multiplier,
    modelRate,
    unboundedRate,
    ...(stressRate !== undefined ? { stressRate } : {}),
    ...(apcFloorRate !== undefined ? { apcFloorRate } : {}),
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
  const measure = policy.riskMeasure;
  const p = policy.confidence;
  if (measure.method === 'student-t') {
    const nu =
      measure.degreesOfFreedom === 'fit'
        ? fitStandardizedTDegreesOfFreedom(residuals).nu
        : measure.degreesOfFreedom;
    return measure.measure === 'es' ? standardizedTExpectedShortfall(p, nu) : standardizedTQuantile(p, nu);
  }
  const upper = measure.measure === 'es' ? empiricalExpectedShortfall : empiricalQuantile;
  if (measure.symmetric) {
    const pooled = new Float64Array(residuals.length * 2);
    residuals.forEach((r, i) => {
      pooled[2 * i] = r;
      pooled[2 * i + 1] = -r;
    });
    return upper(pooled, p);
  }
  // Separate tails: the larger of the short side (upper tail) and the long side (lower tail, negated).
  return Math.max(
    upper(residuals, p),
    upper(
      residuals.map((r) => -r),
      p,
    ),
  );
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
 * EMIR Art. 28(a): hold a buffer in calm markets, release it as the model rate rises. The rate keeps the
 * previous level while the model stays within the buffer, and follows the model once it climbs beyond it.
 */
function bufferedRate(model: number, buffer: number, previous: Threshold | undefined): number {
  const full = model * (1 + buffer);
  if (!previous) return full;
  return Math.max(model, Math.min(full, previous.initialMarginRate));
}

interface StressResult {
  readonly worst: number;
  readonly scenarios: Record<string, StressScenarioLoss>;
  /** Scenarios that have happened, are not in the series and carry no recorded move: named, not silent. */
  readonly warnings: readonly string[];
}

type StressScenarioLoss = NonNullable<ThresholdComponents['stressScenarios']>[string];

/**
 * Each scenario's loss over the MPOR, long and short. A historical scenario is measured on the candles once
 * they cover its whole window. One that has happened by `asOf` but that the series does not cover (it
 * starts later, or its dates are wrong) takes its recorded move instead — the instrument's own, else the
 * generic one — marked `recorded, not in series`, so the stress floor never silently disappears. One that
 * has not happened by `asOf` does not count (in a backtest: no look-ahead).
 */
function stressRates(
  policy: ThresholdPolicy,
  instrument: string,
  candles: readonly Candle[],
  asOf: number,
): StressResult {
  const h = policy.marginPeriodOfRiskDays;
  const scenarios: Record<string, StressScenarioLoss> = {};
  const warnings: string[] = [];
  let worst = 0;
  const record = (scenario: StressScenario, loss: StressScenarioLoss) => {
    scenarios[scenario.name] = loss;
    worst = Math.max(worst, loss.long, loss.short);
  };
  for (const scenario of policy.stress.scenarios) {
    if (scenario.kind === 'hypothetical') {
      record(scenario, { long: Math.max(0, -scenario.move), short: Math.max(0, scenario.move) });
      continue;
    }
    // Compare times, not formatted days: a backtest calls this once per day over thousands of candles.
    const fromTime = Date.parse(`${scenario.from}T00:00:00Z`);
    const toTime = Date.parse(`${scenario.to}T00:00:00Z`);
    const firstTime = (candles[0] as Candle).time;
    const lastTime = (candles[candles.length - 1] as Candle).time;
    if (fromTime <= firstTime || toTime > lastTime) {
      if (!(toTime + DAY_MS <= asOf)) continue;
      // Own keys only: an instrument named `constructor` must not read Object.prototype.
      const own = scenario.recorded && Object.hasOwn(scenario.recorded.instruments, instrument);
      const recorded = (own ? scenario.recorded?.instruments[instrument] : undefined) ?? scenario.recorded;
      if (recorded) {
        record(scenario, { ...recordedOverMpor(recorded, h), source: 'recorded, not in series' });
      } else {
        scenarios[scenario.name] = { long: 0, short: 0, source: 'not in series, no recorded move' };
        warnings.push(
          `${instrument}: stress scenario ${scenario.name} (${scenario.from} … ${scenario.to}) is not in the series and has no recorded move: it does not count`,
        );
      }
      continue;
    }
    let long = 0;
    let short = 0;
    let days = 0;
    // Every MPOR window (closes i−1 … i+h−1) that contains a scenario day, including those ending on it.
    for (let i = Math.max(1, firstIndexAtOrAfter(candles, fromTime) - (h - 1)); i < candles.length; i++) {
      const day = candles[i] as Candle;
      if (day.time > toTime) break;
      const end = candles[i + h - 1];
      const start = candles[i - 1];
      if (!end || !start) continue;
      days++;
      const move = end.close / start.close - 1;
      long = Math.max(long, -move);
      short = Math.max(short, move);
    }
    if (days > 0) record(scenario, { long, short });
  }
  return { worst, scenarios, warnings };
}

/**
 * A recorded one-day move over an MPOR of `h` days: the log move scaled by √h (a square-root-of-time
 * approximation; exact for the default 1-day MPOR).
 */
function recordedOverMpor(
  recorded: { readonly long: number; readonly short: number },
  h: number,
): { long: number; short: number } {
  const scale = Math.sqrt(h);
  return {
    long: -Math.expm1(Math.log1p(-recorded.long) * scale),
    short: Math.expm1(Math.log1p(recorded.short) * scale),
  };
}

function firstIndexAtOrAfter(candles: readonly Candle[], time: number): number {
  let lo = 0;
  let hi = candles.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).time < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function applyBounds(
  policy: ThresholdPolicy,
  unbounded: number,
  activeBound: ActiveBound,
  previous: Threshold | undefined,
): { rate: number; activeBound: ActiveBound } {
  const { minInitialMarginRate, maxInitialMarginRate } = policy.bounds;
  let rate = unbounded;
  let bound = activeBound;
  if (previous) {
    const { maxIncrease, maxDecrease } = policy.stepLimits;
    const prior = previous.initialMarginRate;
    if (maxIncrease !== null && rate > prior * (1 + maxIncrease)) {
      rate = prior * (1 + maxIncrease);
      bound = 'step-up-limit';
    } else if (maxDecrease !== null && rate < prior * (1 - maxDecrease)) {
      rate = prior * (1 - maxDecrease);
      bound = 'step-down-limit';
    }
  }
  // The floor and cap are the committee's hard limits: they beat the step limits.
  if (rate < minInitialMarginRate) return { rate: minInitialMarginRate, activeBound: 'floor' };
  if (rate > maxInitialMarginRate) return { rate: maxInitialMarginRate, activeBound: 'cap' };
  return { rate, activeBound: bound };
}

/** Binance-style brackets from the base rates: MM = notional × MMR − cum keeps maintenance continuous. */
export function notionalBrackets(
  policy: ThresholdPolicy,
  initialRate: number,
  maintenanceRate: number,
): NotionalBracket[] {
  const brackets: NotionalBracket[] = [];
  let floor = 0;
  let cum = 0;
  let previousMaintenance = 0;
  for (const bracket of policy.brackets) {
    const im = Math.min(1, initialRate * bracket.multiplier);
    const mm = Math.min(im, maintenanceRate * bracket.multiplier);
    cum += floor * (mm - previousMaintenance);
    brackets.push({
      notionalFloor: floor,
      notionalCap: bracket.notionalCap,
      initialMarginRate: im,
      maintenanceMarginRate: mm,
      cum,
    });
    floor = bracket.notionalCap ?? floor;
    previousMaintenance = mm;
  }
  return brackets;
}

function buildThreshold(
  policy: ThresholdPolicy,
  series: CandleSeries,
  candles: readonly Candle[],
  initialMarginRate: number,
  activeBound: ActiveBound,
  components: ThresholdComponents,
  previous: Threshold | undefined,
  warnings: readonly string[],
): Threshold {
  const maintenanceMarginRate = initialMarginRate * policy.maintenanceFraction;
  const first = candles[0] as Candle;
  const last = candles[candles.length - 1] as Candle;
  const advWindow = candles.slice(-policy.liquidity.averageDailyVolumeDays);
  const averageDailyVolume = advWindow.reduce((sum, c) => sum + c.volume, 0) / advWindow.length;
  return {
    instrument: series.instrument,
    asOf: utcDay(last.time),
    referencePrice: last.close,
    initialMarginRate,
    maintenanceMarginRate,
    warningMarginRate: maintenanceMarginRate * policy.levels.warning,
    liquidationMarginRate: maintenanceMarginRate * policy.levels.liquidation,
    status: 'computed',
    activeBound,
    components,
    brackets: notionalBrackets(policy, initialMarginRate, maintenanceMarginRate),
    ...(policy.openInterestScaling ? { openInterestScaling: policy.openInterestScaling } : {}),
    liquidity: { averageDailyVolume, participationRate: policy.liquidity.participationRate },
    ...(previous ? { change: changeFrom(previous, initialMarginRate) } : {}),
    ...(warnings.length > 0 ? { warnings: warnings.slice(0, 20) } : {}),
    inputs: {
      policyVersion: policy.version,
      policyHash: policyHash(policy),
      pricesHash: candlesHash(candles),
      source: series.source,
      firstCandle: utcDay(first.time),
      lastCandle: utcDay(last.time),
      candleCount: candles.length,
    },
  };
}

function changeFrom(previous: Threshold, initialMarginRate: number): Threshold['change'] {
  return {
    previousInitialMarginRate: previous.initialMarginRate,
    previousAsOf: previous.asOf,
    absolute: initialMarginRate - previous.initialMarginRate,
    relative: initialMarginRate / previous.initialMarginRate - 1,
  };
}

/**
 * Bad or missing data never lowers a margin: keep the previous threshold, marked held with the reason. With
 * no previous threshold there is nothing safe to keep, so the instrument gets the policy's cap.
 */
export function holdThreshold(
  policy: ThresholdPolicy,
  series: CandleSeries,
  previous: Threshold | undefined,
  reason: string,
): Threshold {
  if (previous) {
    const { change: _change, warnings: _warnings, ...kept } = previous;
    return {
      ...kept,
      status: 'held',
      heldReason: reason,
      activeBound: 'held',
      change: changeFrom(previous, previous.initialMarginRate),
    };
  }
  const rate = policy.bounds.maxInitialMarginRate;
  const maintenance = rate * policy.maintenanceFraction;
  const last = series.candles[series.candles.length - 1];
  const first = series.candles[0];
  // Every field must be storable (DynamoDB refuses NaN, and one unstorable threshold stops the whole set),
  // so what the model never computed is left out rather than written as NaN.
  const referencePrice = lastSaneClose(series.candles);
  return {
    instrument: series.instrument,
    asOf: last && Number.isFinite(last.time) ? utcDay(last.time) : 'unknown',
    // The last trustworthy close, if any; without one a sweep has no price to value positions at.
    ...(referencePrice === undefined ? {} : { referencePrice }),
    initialMarginRate: rate,
    maintenanceMarginRate: maintenance,
    warningMarginRate: maintenance * policy.levels.warning,
    liquidationMarginRate: maintenance * policy.levels.liquidation,
    status: 'held',
    heldReason: `${reason} (no previous threshold: held at the policy cap)`,
    activeBound: 'held',
    components: {
      volatility: {},
      modelRate: rate,
      unboundedRate: rate,
    },
    brackets: notionalBrackets(policy, rate, maintenance),
    inputs: {
      policyVersion: policy.version,
      policyHash: policyHash(policy),
      pricesHash: candlesHash(series.candles),
      source: series.source,
      firstCandle: first && Number.isFinite(first.time) ? utcDay(first.time) : 'unknown',
      lastCandle: last && Number.isFinite(last.time) ? utcDay(last.time) : 'unknown',
      candleCount: series.candles.length,
    },
  };
}

function lastSaneClose(candles: readonly Candle[]): number | undefined {
  for (let i = candles.length - 1; i >= 0; i--) {
    const close = (candles[i] as Candle).close;
    if (Number.isFinite(close) && close > 0) return close;
  }
  return undefined;
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

/** SHA-256 over every candle's fields as IEEE doubles, in order: the audit fingerprint of the prices. */
export function candlesHash(candles: readonly Candle[]): string {
  const buffer = new Float64Array(candles.length * 6);
  candles.forEach((c, i) => {
    buffer.set([c.time, c.open, c.high, c.low, c.close, c.volume], i * 6);
  });
  return createHash('sha256').update(new Uint8Array(buffer.buffer)).digest('hex');
}
