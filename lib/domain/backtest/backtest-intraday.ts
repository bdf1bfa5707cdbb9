/**
 * The walk-forward backtest at a margin period of risk under a day, on intraday bars (`backtest` sends it
 * here). Each scored observation is one MPOR: the margin set at the close of bar t−1 against the move to the
 * close of bar t+k−1 (k bars of the MPOR). Observations do not overlap (one per MPOR, back to back), so the
 * Christoffersen test sees independent periods, as a daily backtest at a one-day MPOR does.
 *
 * Cadence: the seasonal profile and the FHS multiplier are refitted once per UTC day on the bars before it
 * (the recalibration's daily run), σ is updated bar by bar; so the first observation of each day has exactly
 * the rate `recalibrate` gives on the bars before it. A window with a missing bar in it is not scored (a gap
 * is never a one-MPOR move) and is counted in the notes.
 */
import { formatInterval } from '../market/aggregate.ts';
import { type Candle, type CandleSeries, DAY_MS } from '../market/candle.ts';
import { describeIssue, validateCandles } from '../market/validate.ts';
import { stressRates } from '../threshold/floors.ts';
import {
  barLambda,
  barReturns,
  fitIntraday,
  gapNote,
  type IntradayFit,
  intradayRate,
  intradayRefusal,
  intradaySettings,
  mporBars,
  seasonalHorizon,
} from '../threshold/intraday.ts';
import type { ThresholdPolicy } from '../threshold/policy.ts';
import type { ActiveBound } from '../threshold/threshold.ts';
import type { BacktestDay, BacktestOptions, BacktestResult } from './backtest.ts';
import { scoreBacktestDays } from './backtest.ts';

/** `2023-03-24T13:00Z`: an observation's time, to the minute. */
export function barLabel(time: number): string {
  return `${new Date(time).toISOString().slice(0, 16)}Z`;
}

/**
 * Run the intraday backtest.
 * @throws RangeError on daily bars (a sub-day MPOR needs intraday bars), an MPOR that is not a whole number
 *   of bars, data that fails validation, or no MPOR to score.
 */
export function backtestIntraday(
  policy: ThresholdPolicy,
  series: CandleSeries,
  hours: number,
  options: BacktestOptions = {},
): BacktestResult {
  const refusal = intradayRefusal(series, hours);
  if (refusal !== undefined) throw new RangeError(refusal);
  const intervalMs = series.intervalMs;
  const k = mporBars(hours, intervalMs) as number;
  const report = validateCandles(series, policy.dataQuality);
  if (!report.usable) {
    const reasons = report.issues.filter((i) => i.severity === 'error').map(describeIssue);
    throw new RangeError(
      `${series.instrument}: the bars cannot be backtested: ${reasons.slice(0, 3).join('; ')}`,
    );
  }
  const candles = report.candles;
  const first = candles[0] as Candle | undefined;
  if (!first || candles.length < 3) {
    throw new RangeError(`${series.instrument}: a backtest needs price history, got ${candles.length} bars`);
  }
  const { seasonality, fastEwmaLambda } = intradaySettings(policy);
  const bars = barReturns(candles, intervalMs, seasonality);
  const scoreFrom = options.scoreFrom ?? first.time + 365 * DAY_MS;
  const scoreTo = options.scoreTo ?? Number.POSITIVE_INFINITY;
  const minimumStart = policy.volatility.seedDays * bars.barsPerDay + 1;

  const starts: number[] = [];
  let skippedForGaps = 0;
  for (let t = Math.max(1, minimumStart); t + k - 1 < candles.length; ) {
    const time = (candles[t] as Candle).time;
    if (time < scoreFrom) {
      t++;
      continue;
    }
    if (time > scoreTo) break;
    let whole = true;
    for (let j = 0; j < k; j++) if (Number.isNaN(bars.returns[t + j] as number)) whole = false;
    if (whole) starts.push(t);
    else skippedForGaps++;
    t += k;
  }
  if (starts.length === 0) {
    throw new RangeError(`${series.instrument}: no ${hours}h MPOR in the scored period has all its bars`);
  }

  const lambda = barLambda(policy.volatility.ewmaLambda, intervalMs);
  const fastLambda = fastEwmaLambda === null ? undefined : barLambda(fastEwmaLambda, intervalMs);
  const floor = policy.antiProcyclicality.longLookbackFloor;
  const stressedFloor = policy.antiProcyclicality.stressedPeriodFloor;
  const days: BacktestDay[] = [];
  const activeBounds: Partial<Record<ActiveBound, number>> = {};
  let fit: IntradayFit | undefined;
  let fitDay = Number.NaN;
  let stressWorst = 0;
  let variance = Number.NaN;
  let fastVariance = Number.NaN;
  let cursor = 0;
  let previous: { initialMarginRate: number } | undefined;
  const lastDay = Math.floor((candles[starts[starts.length - 1] as number] as Candle).time / DAY_MS);
  const firstDay = Math.floor((candles[starts[0] as number] as Candle).time / DAY_MS);
  for (const t of starts) {
    const open = (candles[t] as Candle).time;
    const day = Math.floor(open / DAY_MS);
    if (day !== fitDay) {
      // The daily run: refit on the bars before this day's first bar.
      let dayStart = t;
      while (dayStart > 0 && (candles[dayStart - 1] as Candle).time >= day * DAY_MS) dayStart--;
      fit = fitIntraday(policy, bars, intervalMs, k, dayStart, lambda);
      variance = fit.slowVariances[dayStart] as number;
      fastVariance = fit.fastVariances ? (fit.fastVariances[dayStart] as number) : Number.NaN;
      cursor = dayStart;
      fitDay = day;
      const history = candles.slice(0, dayStart);
      stressWorst =
        history.length > 0
          ? stressRates(policy, series.instrument, history, day * DAY_MS, { bars: k, days: hours / 24 }).worst
          : 0;
      options.onProgress?.(day - firstDay + 1, lastDay - firstDay + 1);
    }
    const current = fit as IntradayFit;
    // σ bar by bar up to the close of bar t−1, with today's profile.
    for (; cursor < t; cursor++) {
      const r = bars.returns[cursor] as number;
      if (Number.isNaN(r)) continue;
      const d = r / (current.factors[bars.slots[cursor] as number] as number);
      variance = lambda * variance + (1 - lambda) * d * d;
      if (fastLambda !== undefined) fastVariance = fastLambda * fastVariance + (1 - fastLambda) * d * d;
    }
    const season = seasonalHorizon(current.factors, bars.slots.subarray(t, t + k));
    const sigma = Math.sqrt(fastLambda === undefined ? variance : Math.max(variance, fastVariance));
    const modelRate = Math.expm1(current.multiplier * sigma * season);
    const apcFloorRate = floor
      ? floor.share * Math.expm1(current.multiplier * current.longRunSigma * season)
      : undefined;
    const apcStressedFloorRate = stressedFloor
      ? stressedFloor.share * Math.expm1(current.multiplier * current.stressedSigma * season)
      : undefined;
    const { rate, activeBound } = intradayRate(
      policy,
      modelRate,
      apcFloorRate,
      stressWorst,
      previous,
      apcStressedFloorRate,
    );
    previous = { initialMarginRate: rate };
    activeBounds[activeBound] = (activeBounds[activeBound] ?? 0) + 1;
    const start = (candles[t - 1] as Candle).close;
    const end = (candles[t + k - 1] as Candle).close;
    const longLoss = 1 - end / start;
    const shortLoss = end / start - 1;
    days.push({
      date: barLabel(open),
      close: (candles[t] as Candle).close,
      initialMarginRate: rate,
      effectiveVolatility: sigma * Math.sqrt(bars.barsPerDay),
      activeBound,
      longLoss,
      shortLoss,
      longBreach: longLoss > rate,
      shortBreach: shortLoss > rate,
    });
  }

  const notes = [
    `${series.instrument}: MPOR ${hours}h scored on ${formatInterval(intervalMs)} bars, one observation per MPOR (${k} bar${k === 1 ? '' : 's'}); profile (${seasonality}) and multiplier refitted daily, σ bar by bar${fastEwmaLambda === null ? '' : ` (the larger of a slow and a fast EWMA, λ ${fastEwmaLambda} a day)`}`,
    ...[gapNote(series.instrument, bars, intervalMs)].filter((n) => n !== undefined),
    ...(skippedForGaps > 0
      ? [`${series.instrument}: ${skippedForGaps} MPOR window(s) with a missing bar not scored`]
      : []),
  ];
  return {
    instrument: series.instrument,
    source: series.source,
    policyVersion: policy.version,
    confidence: policy.confidence,
    marginPeriodOfRiskDays: policy.marginPeriodOfRiskDays,
    from: (days[0] as BacktestDay).date,
    to: (days[days.length - 1] as BacktestDay).date,
    ...scoreBacktestDays(days, policy.confidence),
    heldDays: 0,
    activeBounds,
    notes,
    days,
  };
}
