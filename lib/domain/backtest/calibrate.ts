/**
 * Policy calibration by walk-forward validation: a grid of candidate policies, each walked day by day over
 * every price file exactly as `backtest` walks it, then chosen the way a model validation team would —
 * fitted on earlier years, scored on the next one, never scoring a day the choice has seen.
 *
 * Walk-forward (expanding window, calendar years UTC): for each year P, the choice sees every scored day
 * before 1 January P in every file that has at least `minFitDays` of them, and is scored on the days of
 * year P in every file. The winning policy written out is chosen on all scored days (its out-of-sample
 * evidence is the walk-forward). Scored days start one year after a file's first candle, as in `backtest`.
 *
 * Choice: a candidate is feasible when, on every fitting file, Kupiec and Christoffersen independence
 * p ≥ 0.05 for long and short, peak-to-trough ≤ 4 and largest 5-day increase ≤ 2.5; the winner is the
 * feasible candidate with the lowest average (over files) margin / hindsight fixed rate. When none is
 * feasible: the fewest violated constraints, then the lowest cost (and the result says so).
 *
 * Speed: one walk per candidate and file costs O(days) because everything a day's recalibration needs that
 * does not depend on the candidate's choices is computed once per file and shared: the prefix validations,
 * the EWMA σ series, the FHS multipliers (sorted residual windows) per filter, the long-lookback RMS per
 * window, the stress losses per MPOR. The rates equal `backtest`'s (test/domain/backtest/calibrate.test.ts
 * pins it); σ estimators other than EWMA (GARCH, range) are refused, as a daily GARCH fit would cost minutes.
 */
import { z } from 'zod';
import { PolicyError } from '../errors.ts';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import { describeIssue, validateCandles } from '../market/validate.ts';
import { empiricalExpectedShortfall, empiricalQuantile } from '../math/quantile.ts';
import {
  fitStandardizedTDegreesOfFreedom,
  standardizedTExpectedShortfall,
  standardizedTQuantile,
} from '../math/student-t.ts';
import { applyBounds, bufferedRate, stressRates } from '../threshold/floors.ts';
import { toDailyBars } from '../threshold/model.ts';
import { parseThresholdPolicy, riskMeasureSchema, type ThresholdPolicy } from '../threshold/policy.ts';
import type { ActiveBound } from '../threshold/threshold.ts';
import { ewmaVariances } from '../volatility/ewma.ts';
import { GARCH_MIN_RETURNS } from '../volatility/garch.ts';
import { type BacktestDay, type BacktestScore, MAX_BACKTEST_DAYS, scoreBacktestDays } from './backtest.ts';

const YEAR_DAYS = 365;

// ---------------------------------------------------------------------------------------------------------
// The grid
// ---------------------------------------------------------------------------------------------------------

const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(20);

/**
 * The settings a calibration searches, each a list of candidate values; the candidates are every
 * combination, on top of the base policy. A setting left out keeps the base policy's value.
 */
export const calibrationGridSchema = z.strictObject({
  ewmaLambda: list(z.number().gt(0).lt(1)).optional(),
  filterLambda: list(z.number().gt(0).lt(1)).optional(),
  antiProcyclicality: list(z.record(z.string(), z.unknown())).optional(),
  stressCoveredShare: list(z.number().min(0).max(1)).optional(),
  stepLimits: list(z.record(z.string(), z.unknown())).optional(),
  riskMeasure: list(riskMeasureSchema).optional(),
  marginPeriodOfRiskDays: list(z.number().int().min(1).max(10)).optional(),
  lookbackDays: list(z.number().int().min(365).max(3650)).optional(),
});
export type CalibrationGrid = z.output<typeof calibrationGridSchema>;

/** At most this many candidates: each one is a full walk of every file. */
export const MAX_CANDIDATES = 500;

/**
 * The default search: 2 EWMA decays × 5 anti-procyclicality designs × 2 stress shares = 20 candidates. The
 * designs: the ten-year floor at 85% (today's default), 70% and 50%; the 25% buffer (no floor); the 25%
 * stressed weight (no floor).
 */
export const DEFAULT_CALIBRATION_GRID: CalibrationGrid = {
  ewmaLambda: [0.97, 0.99],
  antiProcyclicality: [
    { longLookbackFloor: { years: 10, share: 0.85 }, buffer: 0, stressedWeight: 0 },
    { longLookbackFloor: { years: 10, share: 0.7 }, buffer: 0, stressedWeight: 0 },
    { longLookbackFloor: { years: 10, share: 0.5 }, buffer: 0, stressedWeight: 0 },
    { longLookbackFloor: null, buffer: 0.25, stressedWeight: 0 },
    { longLookbackFloor: null, buffer: 0, stressedWeight: 0.25 },
  ],
  stressCoveredShare: [0.25, 0],
};

/** Validate a grid document; a bad value throws `PolicyError` naming its path (`grid.ewmaLambda.1`). */
export function parseCalibrationGrid(input: unknown, where = 'grid'): CalibrationGrid {
  const result = calibrationGridSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const path = i.code === 'unrecognized_keys' ? [...i.path, ...i.keys.slice(0, 1)] : i.path;
    return { path: [where, ...path].join('.'), message: i.message };
  });
  throw new PolicyError(
    `invalid calibration grid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues[0]?.path ?? where,
    { cause: result.error },
  );
}

export interface CalibrationCandidate {
  /** `c01`, `c02`, … in grid order. */
  readonly id: string;
  /** The settings that vary, in words. */
  readonly label: string;
  readonly policy: ThresholdPolicy;
}

type Override = { readonly key: keyof CalibrationGrid; readonly value: unknown; readonly index: number };

function applyOverride(policy: Record<string, unknown>, { key, value }: Override): void {
  const volatility = policy.volatility as Record<string, unknown>;
  switch (key) {
    case 'ewmaLambda':
      volatility.ewmaLambda = value;
      break;
    case 'filterLambda':
      volatility.filterLambda = value;
      break;
    case 'antiProcyclicality':
      policy.antiProcyclicality = { ...(policy.antiProcyclicality as object), ...(value as object) };
      break;
    case 'stressCoveredShare':
      policy.stress = { ...(policy.stress as object), coveredShare: value };
      break;
    case 'stepLimits':
      policy.stepLimits = { ...(policy.stepLimits as object), ...(value as object) };
      break;
    default:
      policy[key] = value;
  }
}

function describeOverride({ key, value }: Override): string {
  if (key === 'ewmaLambda') return `λ ${value}`;
  if (key === 'filterLambda') return `filter λ ${value}`;
  if (key === 'stressCoveredShare') return `stress ${value}`;
  if (key === 'marginPeriodOfRiskDays') return `MPOR ${value}d`;
  if (key === 'lookbackDays') return `lookback ${value}d`;
  if (key === 'antiProcyclicality') {
    const apc = value as { longLookbackFloor?: { years?: number; share?: number } | null; buffer?: number };
    const parts: string[] = [];
    const floor = apc.longLookbackFloor;
    if (floor) parts.push(`floor ${floor.years ?? 10}y×${floor.share ?? 0.85}`);
    if (floor === null) parts.push('no floor');
    if (apc.buffer) parts.push(`buffer ${apc.buffer}`);
    const weight = (value as { stressedWeight?: number }).stressedWeight;
    if (weight) parts.push(`stressed ${weight}`);
    return parts.join(' ');
  }
  return `${key} ${JSON.stringify(value)}`;
}

/**
 * Every combination of the grid's values on top of `base`, each a validated policy. A value the policy
 * refuses throws `PolicyError` naming the grid entry; a combination the policy refuses (EMIR Art. 28 wants
 * a floor, a buffer or a stressed weight) names the candidate.
 */
export function expandGrid(base: ThresholdPolicy, grid: CalibrationGrid): CalibrationCandidate[] {
  const keys = (Object.keys(grid) as (keyof CalibrationGrid)[]).filter((k) => grid[k] !== undefined);
  const lists: Override[][] = keys.map((key) =>
    (grid[key] as readonly unknown[]).map((value, index) => ({ key, value, index })),
  );
  const count = lists.reduce((n, l) => n * l.length, 1);
  if (count > MAX_CANDIDATES) {
    throw new PolicyError(
      `the grid makes ${count} candidates; at most ${MAX_CANDIDATES}: give fewer values`,
      'grid',
    );
  }
  // Each value alone first, so an error names the grid entry rather than a whole combination.
  for (const overrides of lists) {
    for (const override of overrides) {
      const alone = structuredClone(base) as unknown as Record<string, unknown>;
      applyOverride(alone, override);
      try {
        parseThresholdPolicy(alone);
      } catch (error) {
        if (!(error instanceof PolicyError) || !error.path.startsWith('policy.antiProcyclicality')) {
          const where = `grid.${override.key}.${override.index}`;
          throw new PolicyError(`${where}: ${(error as Error).message}`, where, { cause: error });
        }
      }
    }
  }
  const combinations: Override[][] = [[]];
  for (const overrides of lists) {
    const next: Override[][] = [];
    for (const prefix of combinations) for (const o of overrides) next.push([...prefix, o]);
    combinations.splice(0, combinations.length, ...next);
  }
  return combinations.map((overrides, i) => {
    const id = `c${String(i + 1).padStart(2, '0')}`;
    const label = overrides.map(describeOverride).join(', ') || 'base policy';
    const input = structuredClone(base) as unknown as Record<string, unknown>;
    for (const o of overrides) applyOverride(input, o);
    input.version = `${base.version.slice(0, 50)}/${id}`;
    try {
      return { id, label, policy: parseThresholdPolicy(input, `candidate ${id} (${label})`) };
    } catch (error) {
      throw new PolicyError(
        `grid candidate ${id} (${label}): ${(error as Error).message}`,
        `grid candidate ${id}`,
        { cause: error },
      );
    }
  });
}

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
function sharedKey(policy: ThresholdPolicy): string {
  return JSON.stringify([
    policy.volatility.seedDays,
    policy.dataQuality,
    policy.stress.scenarios,
    policy.confidence,
  ]);
}

function requireEwmaOnly(policy: ThresholdPolicy, where: string): void {
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
      const stressRate = worst > 0 ? policy.stress.coveredShare * worst : undefined;
      const apcFloorRate =
        apc.longLookbackFloor && rms
          ? apc.longLookbackFloor.share * Math.expm1(multiplier * ((rms[t] as number) * rootH))
          : undefined;
      const blendedModel =
        apc.stressedWeight > 0 && worst > 0
          ? (1 - apc.stressedWeight) * modelRate + apc.stressedWeight * worst
          : modelRate;
      const apcBufferRate = apc.buffer > 0 ? bufferedRate(blendedModel, apc.buffer, previous) : undefined;
      const candidates: [ActiveBound, number | undefined][] = [
        ['model', blendedModel],
        ['apc-buffer', apcBufferRate],
        ['stress-floor', stressRate],
        ['apc-floor', apcFloorRate],
      ];
      let unbounded = blendedModel;
      let activeBound: ActiveBound = 'model';
      for (const [name, value] of candidates) {
        if (value !== undefined && value > unbounded) {
          unbounded = value;
          activeBound = name;
        }
      }
      const bounded = applyBounds(policy, unbounded, activeBound, previous);
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

// ---------------------------------------------------------------------------------------------------------
// The choice
// ---------------------------------------------------------------------------------------------------------

export interface CalibrationConstraints {
  /** Kupiec and Christoffersen independence p-values, long and short, at least this. */
  readonly minPValue: number;
  readonly maxPeakToTrough: number;
  readonly maxIncrease5d: number;
}

export const DEFAULT_CALIBRATION_CONSTRAINTS: CalibrationConstraints = {
  minPValue: 0.05,
  maxPeakToTrough: 4,
  maxIncrease5d: 2.5,
};

/** The constraints a score breaks, in words (empty: feasible). */
export function violations(score: BacktestScore, constraints: CalibrationConstraints): string[] {
  const out: string[] = [];
  for (const side of ['long', 'short'] as const) {
    if (!(score[side].kupiecP >= constraints.minPValue)) out.push(`Kupiec ${side}`);
    if (!(score[side].christoffersenP >= constraints.minPValue)) out.push(`Christoffersen ${side}`);
  }
  if (!(score.peakToTrough <= constraints.maxPeakToTrough)) out.push('peak-to-trough');
  if (!(score.maxIncrease5d <= constraints.maxIncrease5d)) out.push('5-day increase');
  return out;
}

export interface CandidateFit {
  readonly id: string;
  /** Mean over the fitting files of average margin / hindsight fixed rate. */
  readonly cost: number;
  /** Constraints broken, as `BTC: Kupiec long`. */
  readonly violations: readonly string[];
}

/**
 * Rank candidates on their in-sample scores (one per fitting file): feasible first, then the fewest
 * violations, then the lowest cost, then grid order. The first is the choice.
 */
export function rankCandidates(
  scores: readonly {
    readonly id: string;
    readonly files: readonly { instrument: string; score: BacktestScore }[];
  }[],
  constraints: CalibrationConstraints = DEFAULT_CALIBRATION_CONSTRAINTS,
): CandidateFit[] {
  const fits = scores.map(({ id, files }, order) => ({
    id,
    order,
    cost: files.reduce((sum, f) => sum + f.score.efficiency, 0) / files.length,
    violations: files.flatMap((f) => violations(f.score, constraints).map((v) => `${f.instrument}: ${v}`)),
  }));
  fits.sort((a, b) => a.violations.length - b.violations.length || a.cost - b.cost || a.order - b.order);
  return fits.map(({ id, cost, violations: v }) => ({ id, cost, violations: v }));
}

// ---------------------------------------------------------------------------------------------------------
// The walk-forward
// ---------------------------------------------------------------------------------------------------------

/** The figures printed per file and period. */
export interface ScoreSummary {
  readonly from: string;
  readonly to: string;
  readonly observations: number;
  readonly averageInitialMarginRate: number;
  readonly hindsightFixedRate: number;
  readonly efficiency: number;
  readonly long: SideSummary;
  readonly short: SideSummary;
  readonly peakToTrough: number;
  readonly maxIncrease5d: number;
}
export interface SideSummary {
  readonly breaches: number;
  readonly kupiecP: number;
  readonly christoffersenP: number;
}

function summarise(days: readonly BacktestDay[], score: BacktestScore): ScoreSummary {
  const side = (s: BacktestScore['long']): SideSummary => ({
    breaches: s.breaches,
    kupiecP: s.kupiecP,
    christoffersenP: s.christoffersenP,
  });
  return {
    from: (days[0] as BacktestDay).date,
    to: (days[days.length - 1] as BacktestDay).date,
    observations: score.observations,
    averageInitialMarginRate: score.averageInitialMarginRate,
    hindsightFixedRate: score.hindsightFixedRate,
    efficiency: score.efficiency,
    long: side(score.long),
    short: side(score.short),
    peakToTrough: score.peakToTrough,
    maxIncrease5d: score.maxIncrease5d,
  };
}

export interface CalibrationPeriod {
  /** The scored calendar year. */
  readonly period: string;
  /** The choice saw scored days up to and including this day. */
  readonly fittedThrough: string;
  readonly chosen: string;
  readonly feasible: boolean;
  /** Per file: the chosen candidate's in-sample figures (absent for a file too short to fit on) and its out-of-sample figures on the period. */
  readonly files: readonly {
    readonly instrument: string;
    readonly inSample?: ScoreSummary;
    readonly outOfSample: ScoreSummary;
  }[];
}

export interface CalibrationResult {
  readonly candidates: readonly { readonly id: string; readonly label: string }[];
  readonly constraints: CalibrationConstraints;
  readonly minFitDays: number;
  readonly periods: readonly CalibrationPeriod[];
  /** Per file, every walk-forward period's out-of-sample days together (each scored by that period's choice). */
  readonly outOfSample: readonly {
    readonly instrument: string;
    readonly score: ScoreSummary;
    readonly violations: readonly string[];
  }[];
  /** The choice on all scored days: the policy written out. */
  readonly winner: {
    readonly id: string;
    readonly label: string;
    readonly feasible: boolean;
    readonly violations: readonly string[];
    readonly cost: number;
    readonly policy: ThresholdPolicy;
    readonly inSample: readonly { readonly instrument: string; readonly score: ScoreSummary }[];
  };
  /** Every candidate on all scored days, best first. */
  readonly ranking: readonly CandidateFit[];
  /** Per file, the out-of-sample days (for charts); not in the JSON. */
  readonly outOfSampleDays: readonly {
    readonly instrument: string;
    readonly source: string;
    readonly days: readonly BacktestDay[];
  }[];
}

export interface CalibrationOptions {
  readonly constraints?: CalibrationConstraints;
  /** A file votes in a period's choice once it has this many scored days before the period. Default 365. */
  readonly minFitDays?: number;
  /** Stage name and progress within it (for a progress bar). */
  readonly onProgress?: (stage: string, done: number, total: number) => void;
}

/**
 * Calibrate: walk every candidate over every file, choose per year on the years before it, and choose the
 * winner on everything.
 *
 * @example
 * const result = calibrate(DEFAULT_THRESHOLD_POLICY, [btc, eth, sol], expandGrid(base, DEFAULT_CALIBRATION_GRID));
 * result.winner.policy; // the policy to write out
 */
export function calibrate(
  base: ThresholdPolicy,
  files: readonly CandleSeries[],
  candidates: readonly CalibrationCandidate[],
  options: CalibrationOptions = {},
): CalibrationResult {
  if (files.length === 0) throw new RangeError('calibration needs at least one price file');
  if (candidates.length === 0) throw new RangeError('calibration needs at least one candidate');
  const constraints = options.constraints ?? DEFAULT_CALIBRATION_CONSTRAINTS;
  const minFitDays = options.minFitDays ?? YEAR_DAYS;
  const shared = sharedKey(base);
  for (const c of candidates) {
    requireEwmaOnly(c.policy, `candidate ${c.id}`);
    if (sharedKey(c.policy) !== shared) {
      throw new PolicyError(
        `candidate ${c.id}: seed days, data rules, stress scenarios and confidence must be the base policy's`,
        `candidate ${c.id}`,
      );
    }
  }
  const names = new Set<string>();
  for (const f of files) {
    if (names.has(f.instrument)) throw new RangeError(`${f.instrument}: given twice; name each file once`);
    names.add(f.instrument);
  }

  const prepared = files.map((f) =>
    prepareSeries(base, f, (done, total) => options.onProgress?.(`checking ${f.instrument}`, done, total)),
  );
  // walks[c][f]: candidate c's scored days on file f.
  const walks: BacktestDay[][][] = [];
  const total = candidates.length * prepared.length;
  for (const c of candidates) {
    walks.push(
      prepared.map((p, fi) => {
        const days = walkCandidate(c.policy, p);
        options.onProgress?.('walking candidates', walks.length * prepared.length + fi + 1, total);
        if (days.length === 0)
          throw new RangeError(`${p.series.instrument}: no scored day (under a year of data?)`);
        return days;
      }),
    );
  }
  const confidence = base.confidence;
  const score = (days: readonly BacktestDay[]) => scoreBacktestDays(days, confidence);
  const before = (days: readonly BacktestDay[], day: string) => days.filter((d) => d.date < day);

  const choose = (fitBefore: string) => {
    const eligible = prepared
      .map((p, fi) => ({ fi, instrument: p.series.instrument }))
      .filter(({ fi }) => before(walks[0]?.[fi] ?? [], fitBefore).length >= minFitDays);
    if (eligible.length === 0) return undefined;
    const scores = candidates.map((c, ci) => ({
      id: c.id,
      files: eligible.map(({ fi, instrument }) => ({
        instrument,
        fi,
        days: before(walks[ci]?.[fi] ?? [], fitBefore),
      })),
    }));
    const scored = scores.map((s) => ({
      id: s.id,
      files: s.files.map((f) => ({ instrument: f.instrument, fi: f.fi, days: f.days, score: score(f.days) })),
    }));
    const ranking = rankCandidates(scored, constraints);
    const best = ranking[0] as CandidateFit;
    const ci = candidates.findIndex((c) => c.id === best.id);
    return { ranking, best, ci, inSample: (scored[ci] as (typeof scored)[number]).files };
  };

  const years = [...new Set(walks.flat(2).map((d) => d.date.slice(0, 4)))].sort();
  const periods: CalibrationPeriod[] = [];
  const oosDays: BacktestDay[][] = prepared.map(() => []);
  years.forEach((year, yi) => {
    options.onProgress?.('walk-forward', yi + 1, years.length);
    const fitBefore = `${year}-01-01`;
    const choice = choose(fitBefore);
    if (!choice) return;
    const periodFiles: CalibrationPeriod['files'][number][] = [];
    prepared.forEach((p, fi) => {
      const days = (walks[choice.ci]?.[fi] ?? []).filter((d) => d.date.startsWith(year));
      if (days.length === 0) return;
      oosDays[fi]?.push(...days);
      const inSample = choice.inSample.find((f) => f.fi === fi);
      periodFiles.push({
        instrument: p.series.instrument,
        ...(inSample ? { inSample: summarise(inSample.days, inSample.score) } : {}),
        outOfSample: summarise(days, score(days)),
      });
    });
    periods.push({
      period: year,
      fittedThrough: utcDay(Date.parse(`${fitBefore}T00:00:00Z`) - DAY_MS),
      chosen: choice.best.id,
      feasible: choice.best.violations.length === 0,
      files: periodFiles,
    });
  });

  const final = choose('9999-12-31');
  if (!final) {
    throw new RangeError(`no file has ${minFitDays} scored days: calibration needs more history`);
  }
  const winner = candidates[final.ci] as CalibrationCandidate;
  const lastDay = walks.flat(2).reduce((m, d) => (d.date > m ? d.date : m), '');
  const outOfSample = prepared.flatMap((p, fi) => {
    const days = oosDays[fi] ?? [];
    if (days.length === 0) return [];
    const s = score(days);
    return [
      { instrument: p.series.instrument, score: summarise(days, s), violations: violations(s, constraints) },
    ];
  });
  return {
    candidates: candidates.map(({ id, label }) => ({ id, label })),
    constraints,
    minFitDays,
    periods,
    outOfSample,
    winner: {
      id: winner.id,
      label: winner.label,
      feasible: final.best.violations.length === 0,
      violations: final.best.violations,
      cost: final.best.cost,
      policy: parseThresholdPolicy({ ...winner.policy, version: `calibrated-${lastDay}` }),
      inSample: final.inSample.map((f) => ({ instrument: f.instrument, score: summarise(f.days, f.score) })),
    },
    ranking: final.ranking,
    outOfSampleDays: prepared.flatMap((p, fi) =>
      (oosDays[fi] ?? []).length > 0
        ? [{ instrument: p.series.instrument, source: p.series.source, days: oosDays[fi] ?? [] }]
        : [],
    ),
  };
}
