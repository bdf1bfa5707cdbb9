import { PolicyError } from '../errors.ts';
import { type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import { parseThresholdPolicy, type ThresholdPolicy } from '../threshold/policy.ts';
import { type BacktestDay, type BacktestScore, scoreBacktestDays } from './backtest.ts';

import {
  type CalibrationCandidate,
  type CalibrationGrid,
  calibrationGridSchema,
  DEFAULT_CALIBRATION_GRID,
  expandGrid,
  MAX_CANDIDATES,
  parseCalibrationGrid,
} from './calibration-grid.ts';
import {
  type PreparedSeries,
  prepareSeries,
  requireEwmaOnly,
  sharedKey,
  walkCandidate,
} from './calibration-walk.ts';

export {
  type CalibrationCandidate,
  type CalibrationGrid,
  calibrationGridSchema,
  DEFAULT_CALIBRATION_GRID,
  expandGrid,
  MAX_CANDIDATES,
  type PreparedSeries,
  parseCalibrationGrid,
  prepareSeries,
  walkCandidate,
};

const YEAR_DAYS = 365;

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

/**
 * How each period's choice is fitted: on the years before it (walk-forward), or on every other year
 * (leave-one-period-out). Neither ever scores a day its choice has seen.
 */
export type CalibrationValidation = 'walk-forward' | 'leave-one-period-out';

export interface CalibrationPeriod {
  /** The scored calendar year. */
  readonly period: string;
  /**
   * Walk-forward: the choice saw scored days up to and including this day. Leave-one-period-out: the last
   * day it saw (it also saw the days before the period).
   */
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
  readonly validation: CalibrationValidation;
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
  /** Default walk-forward. */
  readonly validation?: CalibrationValidation;
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
  const validation = options.validation ?? 'walk-forward';

  // `fits(day)`: whether the choice may see that day.
  const choose = (fits: (date: string) => boolean) => {
    const fitDays = (days: readonly BacktestDay[]) => days.filter((d) => fits(d.date));
    const eligible = prepared
      .map((p, fi) => ({ fi, instrument: p.series.instrument }))
      .filter(({ fi }) => fitDays(walks[0]?.[fi] ?? []).length >= minFitDays);
    if (eligible.length === 0) return undefined;
    const scores = candidates.map((c, ci) => ({
      id: c.id,
      files: eligible.map(({ fi, instrument }) => ({
        instrument,
        fi,
        days: fitDays(walks[ci]?.[fi] ?? []),
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
    const choice = choose(
      validation === 'walk-forward' ? (date) => date < fitBefore : (date) => !date.startsWith(year),
    );
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
    const lastFitDay = choice.inSample.reduce((m, f) => {
      const last = f.days[f.days.length - 1]?.date ?? '';
      return last > m ? last : m;
    }, '');
    periods.push({
      period: year,
      fittedThrough:
        validation === 'walk-forward' ? utcDay(Date.parse(`${fitBefore}T00:00:00Z`) - DAY_MS) : lastFitDay,
      chosen: choice.best.id,
      feasible: choice.best.violations.length === 0,
      files: periodFiles,
    });
  });

  const final = choose(() => true);
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
    validation,
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
