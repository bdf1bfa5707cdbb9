/**
 * The threshold model at a margin period of risk under a day (`marginPeriodOfRisk: "1h"`, `"4h"`), on
 * intraday bars. Crypto venues liquidate in minutes, so a margin that covers a one-day move is far too dear.
 *
 * The method (README "Margin period of risk in hours"):
 *  1. Bar log returns of consecutive closes. A missing bar leaves a gap: the return across it spans two bars
 *     and is left out (never counted as a one-bar move), and no MPOR window spans it.
 *  2. Intraday seasonality: volatility has a daily profile (quiet Asian night, busy US open). Each bar's
 *     return is divided by its slot's factor s_j = √(mean r² of the bars at slot j / mean r² of all
 *     bars), estimated on the lookback, before the EWMA sees it; s² averages about 1 over the slots. A slot
 *     is the time of day, or (`intraday.seasonality: "weekday-weekend"`) the time of day on a weekday or on
 *     a weekend day: weekend hours are quieter, and one profile for both leaves weekday breaches bunched.
 *  3. EWMA σ of the de-seasonalised returns, bar by bar. The policy's λ is per day (0.99 ≈ 100 days of
 *     memory); per bar it is λ^(bar/day), so the memory in calendar time is the same at any bar length.
 *     With `intraday.fastEwmaLambda`, σ² is the larger of that slow EWMA and a fast one: a slow σ barely
 *     moves after a 5σ hour, so the next hours breach in a bunch; the fast one lifts them within the hour.
 *  4. Filtered historical simulation on MPOR-long returns: each historical window of k bars (k = MPOR / bar)
 *     is divided by the σ the model held before it times √Σ s² of its k slots; the policy's risk measure of
 *     those residuals (pooled tails by default) is the multiplier.
 *  5. The margin for the next k bars: multiplier × σ × √Σ s² of the next k slots, as a loss rate.
 * The stress floor, anti-procyclicality, bounds and step limits are the daily model's (`floors.ts`), at the
 * MPOR: a recorded one-day scenario move is scaled by √(hours/24).
 */
import { formatInterval, isIntradayInterval } from '../market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../market/candle.ts';
import { type CandleIssue, describeIssue, validateCandles } from '../market/validate.ts';
import { buildThreshold, holdThreshold } from './build.ts';
import { type ChosenRate, chooseRate, stressedPeriodVolatility, stressRates } from './floors.ts';
import type { ThresholdPolicy } from './policy.ts';
import { residualMultiplier } from './risk-measure.ts';
import type { Threshold, ThresholdComponents } from './threshold.ts';

const HOUR_MS = 3_600_000;
const YEAR_DAYS = 365;
/** 1970-01-01 (time 0) was a Thursday: days since it, plus 3, modulo 7 count from Monday (0) to Sunday (6). */
const THURSDAY_FROM_MONDAY = 3;

export type IntradaySeasonality = 'time-of-day' | 'weekday-weekend';

/** The policy's intraday settings, the current behaviour where it gives none. */
export function intradaySettings(policy: ThresholdPolicy): {
  readonly seasonality: IntradaySeasonality;
  readonly fastEwmaLambda: number | null;
} {
  return {
    seasonality: policy.intraday?.seasonality ?? 'time-of-day',
    fastEwmaLambda: policy.intraday?.fastEwmaLambda ?? null,
  };
}

/**
 * The seasonal slot of the bar opening at `time`: its time of day in bars (0 … bars a day − 1) and, by
 * weekday and weekend, that plus bars a day on Saturday and Sunday (UTC).
 *
 * @example
 * seasonalSlot(Date.UTC(2024, 0, 6, 13), 3_600_000, 'weekday-weekend'); // 37: Saturday 13:00
 */
export function seasonalSlot(time: number, intervalMs: number, seasonality: IntradaySeasonality): number {
  const dayTime = ((time % DAY_MS) + DAY_MS) % DAY_MS;
  const slot = Math.floor(dayTime / intervalMs);
  if (seasonality === 'time-of-day') return slot;
  const weekday = (((Math.floor(time / DAY_MS) + THURSDAY_FROM_MONDAY) % 7) + 7) % 7;
  return weekday >= 5 ? slot + DAY_MS / intervalMs : slot;
}

/** Bar returns aligned with the candles: `returns[i]` is ln(close_i / close_{i−1}), NaN at 0 and after a gap. */
export interface BarReturns {
  readonly returns: Float64Array;
  /** The seasonal slot of each bar (0 … slotCount−1), `seasonalSlot` of its open time. */
  readonly slots: Int32Array;
  readonly slotCount: number;
  /** Bars in a UTC day. */
  readonly barsPerDay: number;
  /** Each gap: the bar open before it and the bars missing. */
  readonly gaps: readonly { readonly after: number; readonly missing: number }[];
}

/**
 * Bar log returns, leaving out any across a gap (a 2-hour move is not a 1-hour return).
 *
 * @example
 * barReturns(hourlyEth, 3_600_000).gaps; // [{ after: Date.UTC(2023, 2, 24, 12), missing: 1 }]
 */
export function barReturns(
  candles: readonly Candle[],
  intervalMs: number,
  seasonality: IntradaySeasonality = 'time-of-day',
): BarReturns {
  const n = candles.length;
  const returns = new Float64Array(n).fill(Number.NaN);
  const slots = new Int32Array(n);
  const barsPerDay = DAY_MS / intervalMs;
  const slotCount = seasonality === 'time-of-day' ? barsPerDay : 2 * barsPerDay;
  const gaps: { after: number; missing: number }[] = [];
  for (let i = 0; i < n; i++) {
    const bar = candles[i] as Candle;
    slots[i] = seasonalSlot(bar.time, intervalMs, seasonality);
    if (i === 0) continue;
    const before = candles[i - 1] as Candle;
    const step = bar.time - before.time;
    if (step === intervalMs) returns[i] = Math.log(bar.close / before.close);
    else if (step > intervalMs) gaps.push({ after: before.time, missing: Math.round(step / intervalMs) - 1 });
  }
  return { returns, slots, slotCount, barsPerDay, gaps };
}

/**
 * The time-of-day volatility factors s_j = √(mean r² at slot j / mean r²) over returns [from, to). A slot
 * with no return in the window gets 1 (no evidence of a profile).
 *
 * @example
 * // two 12-hour slots, returns 0.01 (slot 0) and 0.03 (slot 1): mean r² 0.0005, s = √(0.0001/0.0005), √(0.0009/0.0005)
 * seasonalFactors(Float64Array.of(0.01, 0.03), Int32Array.of(0, 1), 2, 0, 2); // [0.4472, 1.3416]
 */
export function seasonalFactors(
  returns: Float64Array,
  slots: Int32Array,
  slotCount: number,
  from: number,
  to: number,
): Float64Array {
  const sums = new Float64Array(slotCount);
  const counts = new Float64Array(slotCount);
  let total = 0;
  let count = 0;
  for (let i = Math.max(0, from); i < to; i++) {
    const r = returns[i] as number;
    if (Number.isNaN(r)) continue;
    const slot = slots[i] as number;
    sums[slot] = (sums[slot] as number) + r * r;
    counts[slot] = (counts[slot] as number) + 1;
    total += r * r;
    count++;
  }
  const overall = count > 0 ? total / count : 0;
  const factors = new Float64Array(slotCount).fill(1);
  if (!(overall > 0)) return factors;
  for (let j = 0; j < slotCount; j++) {
    const c = counts[j] as number;
    const s = c > 0 ? Math.sqrt((sums[j] as number) / c / overall) : 1;
    // A slot whose bars never moved would divide by zero: keep it neutral.
    factors[j] = s > 0 ? s : 1;
  }
  return factors;
}

/** The EWMA's per-bar decay: the policy's daily λ over the same calendar memory. */
export function barLambda(dailyLambda: number, intervalMs: number): number {
  return dailyLambda ** (intervalMs / DAY_MS);
}

/** What the model fitted on the bars up to one point: the profile, σ bar by bar, the multiplier. */
export interface IntradayFit {
  readonly factors: Float64Array;
  /**
   * `variances[i]`: the variance (de-seasonalised) held before bar i's return, `[n]` the next bar's: the slow
   * EWMA's, or the larger of it and the fast one's.
   */
  readonly variances: Float64Array;
  /** The slow EWMA's variances, and the fast one's (policy `intraday.fastEwmaLambda`), for carrying σ on. */
  readonly slowVariances: Float64Array;
  readonly fastVariances: Float64Array | undefined;
  readonly multiplier: number;
  /** RMS of the de-seasonalised returns over the anti-procyclicality floor's years. */
  readonly longRunSigma: number;
  /**
   * RMS of the de-seasonalised returns over the most volatile `windowDays` of the stressed-period floor's
   * years (NaN without that floor): the same rule as the daily model's, counted in bars.
   */
  readonly stressedSigma: number;
  readonly residualCount: number;
}

/** Bars of the MPOR: the MPOR must be a whole number of bars. */
export function mporBars(hours: number, intervalMs: number): number | undefined {
  const bars = (hours * HOUR_MS) / intervalMs;
  return Number.isInteger(bars) && bars >= 1 ? bars : undefined;
}

/**
 * Fit the model on bars [0, end): the profile and the multiplier on the lookback, σ over all of it. The
 * backtest refits once per UTC day and carries σ bar by bar; `recalibrate` fits at the last bar.
 */
export function fitIntraday(
  policy: ThresholdPolicy,
  bars: BarReturns,
  intervalMs: number,
  k: number,
  end: number,
  sigmaLambda = barLambda(policy.volatility.ewmaLambda, intervalMs),
): IntradayFit {
  const perDay = bars.barsPerDay;
  const lookback = policy.lookbackDays * perDay;
  const seed = policy.volatility.seedDays * perDay;
  const from = Math.max(1, end - lookback);
  const factors = seasonalFactors(bars.returns, bars.slots, bars.slotCount, from, end);
  const slowVariances = ewmaOverBars(bars, factors, end, sigmaLambda, seed);
  const { fastEwmaLambda } = intradaySettings(policy);
  const fastVariances =
    fastEwmaLambda === null
      ? undefined
      : ewmaOverBars(bars, factors, end, barLambda(fastEwmaLambda, intervalMs), seed);
  const variances = fastVariances ? largerOf(slowVariances, fastVariances) : slowVariances;
  // The filter de-volatilises with the σ the margin scales (the fast component too), so the multiplier
  // measures the tails of moves over that σ.
  const filter =
    policy.volatility.filterLambda === policy.volatility.ewmaLambda
      ? variances
      : withFast(
          ewmaOverBars(bars, factors, end, barLambda(policy.volatility.filterLambda, intervalMs), seed),
          fastVariances,
        );
  const residuals: number[] = [];
  // Windows of k bars starting at t (returns t … t+k−1), after the seed, inside the lookback, with no gap.
  for (let t = Math.max(seed + 1, from); t + k <= end; t++) {
    let move = 0;
    let season = 0;
    let whole = true;
    for (let j = 0; j < k; j++) {
      const r = bars.returns[t + j] as number;
      if (Number.isNaN(r)) {
        whole = false;
        break;
      }
      move += r;
      season += (factors[bars.slots[t + j] as number] as number) ** 2;
    }
    if (!whole) continue;
    residuals.push(move / Math.sqrt((filter[t] as number) * season));
  }
  const years = policy.antiProcyclicality.longLookbackFloor?.years ?? 0;
  let sum = 0;
  let count = 0;
  for (let i = Math.max(1, end - years * YEAR_DAYS * perDay); i < end; i++) {
    const r = bars.returns[i] as number;
    if (Number.isNaN(r)) continue;
    sum += (r / (factors[bars.slots[i] as number] as number)) ** 2;
    count++;
  }
  const stressedFloor = policy.antiProcyclicality.stressedPeriodFloor;
  let stressedSigma = Number.NaN;
  if (stressedFloor) {
    const deseasonalised: number[] = [];
    for (let i = Math.max(1, end - stressedFloor.years * YEAR_DAYS * perDay); i < end; i++) {
      const r = bars.returns[i] as number;
      if (!Number.isNaN(r)) deseasonalised.push(r / (factors[bars.slots[i] as number] as number));
    }
    stressedSigma = stressedPeriodVolatility(
      deseasonalised,
      stressedFloor.windowDays * perDay,
      deseasonalised.length,
    );
  }
  return {
    factors,
    variances,
    slowVariances,
    fastVariances,
    multiplier: residuals.length > 0 ? residualMultiplier(policy, residuals) : Number.NaN,
    longRunSigma: count > 0 ? Math.sqrt(sum / count) : Number.NaN,
    stressedSigma,
    residualCount: residuals.length,
  };
}

function largerOf(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, i) => Math.max(v, b[i] as number));
}

function withFast(slow: Float64Array, fast: Float64Array | undefined): Float64Array {
  return fast ? largerOf(slow, fast) : slow;
}

/**
 * EWMA variance of the de-seasonalised returns over bars [0, end), seeded with the mean square of the first
 * `seed` of them; a missing return (the first bar, a gap) leaves σ as it was. Length end + 1.
 */
function ewmaOverBars(
  bars: BarReturns,
  factors: Float64Array,
  end: number,
  lambda: number,
  seed: number,
): Float64Array {
  let seedSum = 0;
  let seedCount = 0;
  for (let i = 1; i < end && seedCount < seed; i++) {
    const r = bars.returns[i] as number;
    if (Number.isNaN(r)) continue;
    seedSum += (r / (factors[bars.slots[i] as number] as number)) ** 2;
    seedCount++;
  }
  let variance = seedCount > 0 ? seedSum / seedCount : Number.NaN;
  const variances = new Float64Array(end + 1);
  for (let i = 0; i < end; i++) {
    variances[i] = variance;
    const r = bars.returns[i] as number;
    if (Number.isNaN(r)) continue;
    const d = r / (factors[bars.slots[i] as number] as number);
    variance = lambda * variance + (1 - lambda) * d * d;
  }
  variances[end] = variance;
  return variances;
}

/** √Σ s² over the slots of the MPOR's bars: the seasonal share of the MPOR's variance. */
export function seasonalHorizon(factors: Float64Array, slots: ArrayLike<number>): number {
  let season = 0;
  for (let j = 0; j < slots.length; j++) season += (factors[slots[j] as number] as number) ** 2;
  return Math.sqrt(season);
}

/** The slots of the k bars opening from `time` on. */
export function slotsFrom(
  time: number,
  intervalMs: number,
  k: number,
  seasonality: IntradaySeasonality,
): number[] {
  return Array.from({ length: k }, (_, j) => seasonalSlot(time + j * intervalMs, intervalMs, seasonality));
}

/** The rate at one bar: the daily model's rule (`chooseRate`) on the intraday candidates. */
export function intradayRate(
  policy: ThresholdPolicy,
  modelRate: number,
  apcFloorRate: number | undefined,
  stressWorst: number,
  previous: Pick<Threshold, 'initialMarginRate'> | undefined,
  apcStressedFloorRate?: number,
): ChosenRate {
  return chooseRate(policy, { modelRate, stressWorst, apcFloorRate, apcStressedFloorRate }, previous);
}

/** Why a series cannot carry a sub-day MPOR, or undefined when it can. */
export function intradayRefusal(series: CandleSeries, hours: number): string | undefined {
  if (series.intervalMs === DAY_MS) {
    return `${series.instrument}: the policy's margin period of risk is ${hours}h, under a day, and the prices are daily bars: a sub-day MPOR needs intraday bars (1h, 4h …) — daily closes cannot show an hour's move`;
  }
  if (!isIntradayInterval(series.intervalMs)) {
    return `${series.instrument}: bars of ${series.intervalMs} ms; an MPOR of ${hours}h needs intraday bars that divide a day`;
  }
  if (mporBars(hours, series.intervalMs) === undefined) {
    return `${series.instrument}: an MPOR of ${hours}h is not a whole number of ${formatInterval(series.intervalMs)} bars`;
  }
  return undefined;
}

/** Gaps as a note: the returns across them are left out. */
export function gapNote(instrument: string, bars: BarReturns, intervalMs: number): string | undefined {
  if (bars.gaps.length === 0) return undefined;
  const named = bars.gaps
    .slice(0, 5)
    .map((g) => `${g.missing} after ${new Date(g.after).toISOString().slice(0, 16)}Z`);
  const more = bars.gaps.length > 5 ? ` and ${bars.gaps.length - 5} more` : '';
  return `${instrument}: ${bars.gaps.length} gap(s) in the ${formatInterval(intervalMs)} bars (missing bars: ${named.join(', ')}${more}); the returns across them are left out, not counted as one-bar moves`;
}

/**
 * Recalibrate one instrument at a sub-day MPOR of `hours` on intraday bars (`recalibrate` sends it here).
 * Data that cannot carry it (daily bars, a bar length the MPOR is not a multiple of) holds the threshold.
 */
export function recalibrateIntraday(
  policy: ThresholdPolicy,
  series: CandleSeries,
  hours: number,
  previous: Threshold | undefined,
  asOfGiven: number | undefined,
): Threshold {
  const refusal = intradayRefusal(series, hours);
  if (refusal !== undefined) return holdThreshold(policy, series, previous, refusal);
  const intervalMs = series.intervalMs;
  const k = mporBars(hours, intervalMs) as number;
  const last = series.candles[series.candles.length - 1];
  const asOf = asOfGiven ?? (last ? last.time + intervalMs : Number.NaN);
  const report = validateCandles(series, policy.dataQuality, Number.isFinite(asOf) ? asOf : undefined);
  if (!report.usable) {
    const reasons = report.issues.filter((issue) => issue.severity === 'error').map(describeIssue);
    return holdThreshold(
      policy,
      trusted(series, report.issues, asOf),
      previous,
      reasons.slice(0, 3).join('; '),
    );
  }
  const candles = report.candles;
  const { seasonality } = intradaySettings(policy);
  const bars = barReturns(candles, intervalMs, seasonality);
  const perDay = bars.barsPerDay;
  const minimumResiduals = Math.ceil(1 / (1 - policy.confidence) - 1e-9);
  const minimumBars = policy.volatility.seedDays * perDay + minimumResiduals * k + k;
  if (candles.length < minimumBars) {
    return holdThreshold(
      policy,
      series,
      previous,
      `${series.instrument}: ${candles.length} bars of ${formatInterval(intervalMs)}, the ${hours}h model needs at least ${minimumBars}`,
    );
  }
  const fit = fitIntraday(policy, bars, intervalMs, k, candles.length);
  const nextOpen = (candles[candles.length - 1] as Candle).time + intervalMs;
  const season = seasonalHorizon(fit.factors, slotsFrom(nextOpen, intervalMs, k, seasonality));
  const sigma = Math.sqrt(fit.variances[candles.length] as number);
  const modelRate = Math.expm1(fit.multiplier * sigma * season);
  const floor = policy.antiProcyclicality.longLookbackFloor;
  const apcFloorRate = floor
    ? floor.share * Math.expm1(fit.multiplier * fit.longRunSigma * season)
    : undefined;
  const stress = stressRates(policy, series.instrument, candles, asOf, { bars: k, days: hours / 24 });
  const stressedFloor = policy.antiProcyclicality.stressedPeriodFloor;
  const apcStressedFloorRate = stressedFloor
    ? stressedFloor.share * Math.expm1(fit.multiplier * fit.stressedSigma * season)
    : undefined;
  const result = intradayRate(policy, modelRate, apcFloorRate, stress.worst, previous, apcStressedFloorRate);
  const { stressRate } = result;
  // σ per day (de-seasonalised σ per bar × √bars a day: s² averages 1), as a daily threshold reports it, so
  // the shock trigger's σ units hold.
  const dailySigma = sigma * Math.sqrt(perDay);
  const components: ThresholdComponents = {
    volatility: { ewma: dailySigma },
    effectiveVolatility: dailySigma,
    riskMultiplier: fit.multiplier,
    modelRate,
    unboundedRate: result.unboundedRate,
    ...(stressRate !== undefined ? { stressRate } : {}),
    ...(apcFloorRate !== undefined ? { apcFloorRate } : {}),
    ...(apcStressedFloorRate !== undefined ? { apcStressedFloorRate } : {}),
    ...(result.apcBufferRate !== undefined ? { apcBufferRate: result.apcBufferRate } : {}),
    ...(Object.keys(stress.scenarios).length > 0 ? { stressScenarios: stress.scenarios } : {}),
  };
  const notes = [
    `${series.instrument}: MPOR ${hours}h on ${formatInterval(intervalMs)} bars (${k} per MPOR), seasonal factor of the next MPOR ${(season / Math.sqrt(k)).toFixed(3)}`,
    ...[gapNote(series.instrument, bars, intervalMs)].filter((n) => n !== undefined),
  ];
  const threshold = buildThreshold(
    policy,
    series,
    candles,
    result.rate,
    result.activeBound,
    components,
    previous,
    [...notes, ...report.issues.map(describeIssue), ...stress.warnings].slice(0, 20),
  );
  // The liquidity add-on wants a day's volume: sum the bars of the last days, not average bars.
  const window = candles.slice(-policy.liquidity.averageDailyVolumeDays * perDay);
  const days = window.length / perDay;
  const averageDailyVolume = window.reduce((sum, c) => sum + c.volume, 0) / days;
  return {
    ...threshold,
    liquidity: { averageDailyVolume, participationRate: policy.liquidity.participationRate },
  };
}

/** As `model.ts`: without unconfirmed jumps and bars not closed by `asOf`. */
function trusted(series: CandleSeries, issues: readonly CandleIssue[], asOf: number): CandleSeries {
  const jumps = new Set(
    issues.flatMap((issue) =>
      issue.code === 'unconfirmed-jump' && issue.time !== undefined ? [issue.time] : [],
    ),
  );
  const closed = (c: Candle) => c.time + series.intervalMs <= asOf;
  return { ...series, candles: series.candles.filter((c) => closed(c) && !jumps.has(c.time)) };
}

/**
 * Days of intraday bars the model reads for `policy` (the recalibration fetches that many): the lookback
 * with its EWMA seed, or the anti-procyclicality floors' years if longer, plus a day for the MPOR windows.
 * Bars older than this change nothing the intraday model computes, so fetching them is only cost.
 *
 * @example
 * intradayHistoryDays(parseThresholdPolicy({ marginPeriodOfRisk: '1h' })); // 3651 (the 10-year floor)
 */
export function intradayHistoryDays(policy: ThresholdPolicy): number {
  const apc = policy.antiProcyclicality;
  return (
    Math.max(
      policy.lookbackDays + policy.volatility.seedDays,
      (apc.longLookbackFloor?.years ?? 0) * YEAR_DAYS,
      (apc.stressedPeriodFloor?.years ?? 0) * YEAR_DAYS,
    ) + 1
  );
}
