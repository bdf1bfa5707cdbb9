import { PolicyError } from '../errors.ts';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import { describeIssue, validateCandles } from '../market/validate.ts';
import { empiricalExpectedShortfall, empiricalQuantile } from '../math/quantile.ts';
import {
  fitStandardizedTDegreesOfFreedom,
  standardizedTExpectedShortfall,
  standardizedTQuantile,
} from '../math/student-t.ts';
import { chooseRate, stressedPeriodVolatility, stressRates } from '../threshold/floors.ts';
import { toDailyBars } from '../threshold/model.ts';
import type { ThresholdPolicy } from '../threshold/policy.ts';
import type { ActiveBound } from '../threshold/threshold.ts';
import { ewmaVariances } from '../volatility/ewma.ts';
import { GARCH_MIN_RETURNS } from '../volatility/garch.ts';
import { type BacktestDay, MAX_BACKTEST_DAYS } from './backtest.ts';

const YEAR_DAYS = 365;

// ---------------------------------------------------------------------------------------------------------
// The shared per-file precomputation and the fast walk
// ---------------------------------------------------------------------------------------------------------

/** One price file prepared once and shared by every candidate's walk. */
export interface PreparedSeries {
  readonly series: CandleSeries;
  readonly candles: readonly Candle[];
  /** Log returns of consecutive closes; the history before day t has the first t − 1. */
  readonly returns: readonly number[];
  /** usable[t]: the history before day t passes the data checks as of day t's open (else the day holds). */
  readonly usable: Uint8Array;
  /** First day index the walk recalibrates (as in `backtest`). */
  readonly walkFrom: number;
  /** First scored day (ms): one year after the first candle, as in `backtest`. */
  readonly scoreFrom: number;
  readonly notes: readonly string[];
  readonly cache: Map<string, Float64Array>;
}

/** What a candidate may vary and a prepared series must share. */
export function sharedKey(policy: ThresholdPolicy): string {
  return JSON.stringify([
    policy.volatility.seedDays,
    policy.dataQuality,
    policy.stress.scenarios,
    policy.confidence,
  ]);
}

export function requireEwmaOnly(policy: ThresholdPolicy, where: string): void {
  const weights = policy.volatility.combination.weights;
  if (weights.garch > 0 || weights.range > 0) {
    throw new PolicyError(
      `${where}: calibration walks EWMA-σ policies only (GARCH and range weights must be 0; a daily GARCH fit per candidate would take minutes): use qmt backtest for this policy`,
      'policy.volatility.combination.weights',
    );
  }
}

/**
 * Validate and prepare one file: daily bars, every prefix's data check (exactly what each day's
 * recalibration would run; one pass per file, not per candidate). A file the checks reject as a whole, or
 * one whose checks would drop bars, is refused with the reasons.
 */
export function prepareSeries(
  base: ThresholdPolicy,
  bars: CandleSeries,
  onProgress?: (done: number, total: number) => void,
): PreparedSeries {
  const daily = toDailyBars(bars);
  if ('heldReason' in daily) throw new RangeError(daily.heldReason);
  const series = daily.series;
  const candles = series.candles;
  const name = series.instrument;
  if (candles.length > MAX_BACKTEST_DAYS) {
    throw new RangeError(
      `${name}: ${candles.length} daily bars; calibration walks at most ${MAX_BACKTEST_DAYS}`,
    );
  }
  const last = candles[candles.length - 1];
  if (!last || candles.length < 3) throw new RangeError(`${name}: calibration needs price history`);
  const whole = validateCandles(series, base.dataQuality, last.time + series.intervalMs);
  if (!whole.usable || whole.candles.length !== candles.length) {
    const reasons = whole.issues
      .filter((i) => i.severity === 'error' || i.code === 'spike')
      .map(describeIssue);
    throw new RangeError(
      `${name}: calibration needs a clean file: ${reasons.slice(0, 3).join('; ') || 'bars dropped'}`,
    );
  }
  const off = candles.find((c) => c.time % DAY_MS !== 0);
  if (off)
    throw new RangeError(`${name}: daily bars must open at 00:00 UTC (${new Date(off.time).toISOString()})`);

  const returns = new Array<number>(candles.length - 1);
  for (let i = 1; i < candles.length; i++) {
    returns[i - 1] = Math.log((candles[i] as Candle).close / (candles[i - 1] as Candle).close);
  }
  const walkFrom = Math.max(1, base.volatility.seedDays + 2);
  const usable = new Uint8Array(candles.length);
  for (let t = walkFrom; t < candles.length; t++) {
    const history: CandleSeries = { ...series, candles: candles.slice(0, t) };
    const report = validateCandles(history, base.dataQuality, (candles[t] as Candle).time);
    if (report.usable && report.candles.length !== t) {
      throw new RangeError(
        `${name}: the data checks drop bars before ${utcDay((candles[t] as Candle).time)}`,
      );
    }
    usable[t] = report.usable ? 1 : 0;
    onProgress?.(t - walkFrom + 1, candles.length - walkFrom);
  }
  return {
    series,
    candles,
    returns,
    usable,
    walkFrom,
    scoreFrom: (candles[0] as Candle).time + YEAR_DAYS * DAY_MS,
    notes: daily.notes,
    cache: new Map(),
  };
}

function cached(prepared: PreparedSeries, key: string, compute: () => Float64Array): Float64Array {
  const hit = prepared.cache.get(key);
  if (hit) return hit;
  const value = compute();
  prepared.cache.set(key, value);
  return value;
}

function minimumReturnsOf(policy: ThresholdPolicy): number {
  const minimumResiduals = Math.ceil(1 / (1 - policy.confidence) - 1e-9);
  return Math.max(GARCH_MIN_RETURNS, policy.volatility.seedDays + minimumResiduals);
}

/** σ² series: element n is the EWMA forecast after the first n returns (the model's σ for day n + 1). */
function ewmaSeries(prepared: PreparedSeries, lambda: number, seedDays: number): Float64Array {
  return cached(prepared, `ewma:${lambda}:${seedDays}`, () =>
    ewmaVariances(prepared.returns, { lambda, seed: 'mean-squared', seedWindow: seedDays }),
  );
}

/**
 * The risk multiplier per day t (NaN before the model runs): the FHS quantile or tail mean of the residual
 * window, or the Student-t figure, exactly as `recalibrate` computes it on the history before day t.
 */
function multiplierSeries(prepared: PreparedSeries, policy: ThresholdPolicy): Float64Array {
  const v = policy.volatility;
  const measure = policy.riskMeasure;
  const key = `mult:${v.filterLambda}:${v.seedDays}:${policy.lookbackDays}:${policy.confidence}:${JSON.stringify(measure)}`;
  return cached(prepared, key, () => {
    const filter = ewmaSeries(prepared, v.filterLambda, v.seedDays);
    const residual = (i: number) => (prepared.returns[i] as number) / Math.sqrt(filter[i] as number);
    const out = new Float64Array(prepared.candles.length).fill(Number.NaN);
    const p = policy.confidence;
    const minimum = minimumReturnsOf(policy);
    for (let t = prepared.walkFrom; t < prepared.candles.length; t++) {
      const n = t - 1;
      if (n < minimum) continue;
      const start = Math.max(v.seedDays, n - policy.lookbackDays);
      const residuals: number[] = [];
      for (let i = start; i < n; i++) residuals.push(residual(i));
      if (measure.method === 'student-t') {
        const nu =
          measure.degreesOfFreedom === 'fit'
            ? fitStandardizedTDegreesOfFreedom(residuals).nu
            : measure.degreesOfFreedom;
        out[t] =
          measure.measure === 'es' ? standardizedTExpectedShortfall(p, nu) : standardizedTQuantile(p, nu);
        continue;
      }
      const upper = measure.measure === 'es' ? empiricalExpectedShortfall : empiricalQuantile;
      if (measure.symmetric) {
        const pooled = new Float64Array(residuals.length * 2);
        residuals.forEach((r, i) => {
          pooled[2 * i] = r;
          pooled[2 * i + 1] = -r;
        });
        out[t] = upper(pooled, p);
      } else {
        out[t] = Math.max(
          upper(residuals, p),
          upper(
            residuals.map((r) => -r),
            p,
          ),
        );
      }
    }
    return out;
  });
}

/** Root mean square of the last `years` of returns before day t (the long-lookback floor's σ). */
function rmsSeries(prepared: PreparedSeries, years: number): Float64Array {
  return cached(prepared, `rms:${years}`, () => {
    const window = years * YEAR_DAYS;
    const out = new Float64Array(prepared.candles.length).fill(Number.NaN);
    for (let t = prepared.walkFrom; t < prepared.candles.length; t++) {
      const n = t - 1;
      const start = Math.max(0, n - window);
      let sum = 0;
      for (let i = start; i < n; i++) sum += (prepared.returns[i] as number) ** 2;
      out[t] = Math.sqrt(sum / (n - start));
    }
    return out;
  });
}

/** The stressed-period floor's σ before day t (`stressedPeriodVolatility` on the history, as the model takes it). */
function stressedPeriodSeries(prepared: PreparedSeries, windowDays: number, years: number): Float64Array {
  return cached(prepared, `stressed:${windowDays}:${years}`, () => {
    const out = new Float64Array(prepared.candles.length).fill(Number.NaN);
    for (let t = prepared.walkFrom; t < prepared.candles.length; t++) {
      out[t] = stressedPeriodVolatility(prepared.returns, windowDays, years * YEAR_DAYS, t - 1);
    }
    return out;
  });
}

/** The worst stress-scenario loss over the MPOR known on day t (0 when none counts). */
function stressSeries(prepared: PreparedSeries, policy: ThresholdPolicy): Float64Array {
  const h = policy.marginPeriodOfRiskDays;
  return cached(prepared, `stress:${h}`, () => {
    const out = new Float64Array(prepared.candles.length);
    for (let t = prepared.walkFrom; t < prepared.candles.length; t++) {
      const history = prepared.candles.slice(0, t);
      const asOf = (prepared.candles[t] as Candle).time;
      out[t] = stressRates(policy, prepared.series.instrument, history, asOf).worst;
    }
    return out;
  });
}

/**
 * One candidate's walk over one prepared file: the scored days `backtest` would give, rate for rate. The
 * previous day's rate carries the buffer and step limits, as in production.
 */
export function walkCandidate(policy: ThresholdPolicy, prepared: PreparedSeries): BacktestDay[] {
  requireEwmaOnly(policy, `policy ${policy.version}`);
  const { candles } = prepared;
  const h = policy.marginPeriodOfRiskDays;
  const minimum = minimumReturnsOf(policy);
  const sigma2 = ewmaSeries(prepared, policy.volatility.ewmaLambda, policy.volatility.seedDays);
  const multipliers = multiplierSeries(prepared, policy);
  const stress = stressSeries(prepared, policy);
  const apc = policy.antiProcyclicality;
  const rms = apc.longLookbackFloor ? rmsSeries(prepared, apc.longLookbackFloor.years) : undefined;
  const stressedFloor = apc.stressedPeriodFloor;
  const stressed = stressedFloor
    ? stressedPeriodSeries(prepared, stressedFloor.windowDays, stressedFloor.years)
    : undefined;
  const rootH = Math.sqrt(h);
  const days: BacktestDay[] = [];
  let previous: { initialMarginRate: number } | undefined;
  let previousSigma = Number.NaN;
  for (let t = prepared.walkFrom; t + h - 1 < candles.length; t++) {
    const n = t - 1;
    let rate: number;
    let bound: ActiveBound;
    let sigma: number;
    if (!prepared.usable[t] || n < minimum) {
      // Held: the previous threshold is kept, or the policy's cap with none (as `holdThreshold`).
      rate = previous?.initialMarginRate ?? policy.bounds.maxInitialMarginRate;
      bound = 'held';
      sigma = previousSigma;
    } else {
      sigma = Math.sqrt(sigma2[n] as number);
      const multiplier = multipliers[t] as number;
      const modelRate = Math.expm1(multiplier * (sigma * rootH));
      const worst = stress[t] as number;
      const apcFloorRate =
        apc.longLookbackFloor && rms
          ? apc.longLookbackFloor.share * Math.expm1(multiplier * ((rms[t] as number) * rootH))
          : undefined;
      const apcStressedFloorRate =
        stressedFloor && stressed
          ? stressedFloor.share * Math.expm1(multiplier * ((stressed[t] as number) * rootH))
          : undefined;
      const bounded = chooseRate(
        policy,
        { modelRate, stressWorst: worst, apcFloorRate, apcStressedFloorRate },
        previous,
      );
      rate = bounded.rate;
      bound = bounded.activeBound;
    }
    previous = { initialMarginRate: rate };
    previousSigma = sigma;
    const today = candles[t] as Candle;
    if (today.time < prepared.scoreFrom) continue;
    const start = (candles[t - 1] as Candle).close;
    const end = (candles[t + h - 1] as Candle).close;
    const longLoss = 1 - end / start;
    const shortLoss = end / start - 1;
    days.push({
      date: utcDay(today.time),
      close: today.close,
      initialMarginRate: rate,
      effectiveVolatility: sigma,
      activeBound: bound,
      longLoss,
      shortLoss,
      longBreach: longLoss > rate,
      shortBreach: shortLoss > rate,
    });
  }
  return days;
}
