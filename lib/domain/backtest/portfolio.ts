/**
 * Walk-forward backtest of a portfolio's margin with correlation offsets: each leg's initial margin rate is
 * its own instrument's walk (`backtest`), the offsets are the valuation's (`offsetCredits`) with each pair's
 * correlations estimated as the recalibration does, on the candles before the day only (no look-ahead).
 * Scored like an instrument: the portfolio as given is the "long" side, its mirror (every weight negated,
 * the same margin) the "short" side.
 */
import type { CandleSeries } from '../market/candle.ts';
import {
  type CorrelationSettings,
  estimatePairCorrelation,
  type PairCorrelation,
} from '../threshold/correlation.ts';
import { correlationsByPair, type OffsetGroup, offsetCredits } from '../valuation/offsets.ts';
import { DEFAULT_VALUATION_POLICY, type ValuationPolicy } from '../valuation/policy.ts';
import { type BacktestDay, type BacktestResult, type BacktestScore, scoreBacktestDays } from './backtest.ts';

/** A leg: notional weight (quote currency per unit of the portfolio); the sign is the direction. */
export interface PortfolioLeg {
  readonly instrument: string;
  readonly weight: number;
}

export interface PortfolioLegInput extends PortfolioLeg {
  /** The leg's own walk-forward backtest (its per-day rates and losses are read). */
  readonly result: BacktestResult;
  /** The candles the walk read: correlations are estimated on them, day by day. */
  readonly series: CandleSeries;
}

export interface PortfolioBacktestOptions {
  /** How a pair is credited (the valuation policy's `offsetMethod`); default: the policy default. */
  readonly offsetMethod?: ValuationPolicy['offsetMethod'];
  /** smaller-leg: largest credit as a share of the smaller requirement (the policy's `offsetCreditCap`). */
  readonly offsetCreditCap?: number;
  /** correlation-aggregated: largest credit as a share of the pair's summed requirement (`spreadCreditCap`). */
  readonly spreadCreditCap?: number;
  /** What each pair's correlations are estimated over (the recalibration's `correlationSettingsFor`). */
  readonly settingsFor: (a: string, b: string) => CorrelationSettings;
  readonly confidence: number;
}

export interface PortfolioBacktestResult extends BacktestScore {
  readonly legs: readonly PortfolioLeg[];
  readonly offsetMethod: ValuationPolicy['offsetMethod'];
  readonly from: string;
  readonly to: string;
  /** Mean margin without offsets (the sum of the legs' margins), per unit of gross notional. */
  readonly averageMarginWithoutOffsets: number;
  /** Days with a credit, and the offset correlation's range on them. */
  readonly offsetDays: number;
  readonly offsetRho?: { readonly min: number; readonly max: number; readonly last: number };
  /** Days a pair was refused (no offset), and the last reason. */
  readonly refusedDays: number;
  readonly lastRefusal?: string;
  /** Days a pair's stress windows were too thin for a stressed ρ (taken as 1 by the aggregated method). */
  readonly thinStressDays: number;
  readonly lastThinStress?: string;
}

/**
 * @example
 * portfolioBacktest([{ instrument: 'BTC', weight: 1, result: btcRun, series: btc }, …], { settingsFor, confidence: 0.99 });
 */
export function portfolioBacktest(
  legs: readonly PortfolioLegInput[],
  options: PortfolioBacktestOptions,
): PortfolioBacktestResult {
  if (legs.length < 2) throw new RangeError('a portfolio backtest needs at least two legs');
  for (const leg of legs) {
    if (!Number.isFinite(leg.weight) || leg.weight === 0) {
      throw new RangeError(`${leg.instrument}: weight must be a non-zero number, got ${leg.weight}`);
    }
  }
  const gross = legs.reduce((sum, leg) => sum + Math.abs(leg.weight), 0);
  const byDay = legs.map((leg) => new Map(leg.result.days.map((d) => [d.date, d])));
  const dates = [...(byDay[0] as Map<string, BacktestDay>).keys()].filter((date) =>
    byDay.every((days) => days.has(date)),
  );
  if (dates.length === 0) throw new RangeError('the legs have no scored day in common');
  const policy = {
    ...DEFAULT_VALUATION_POLICY,
    correlations: [],
    estimatedCorrelations: true,
    offsetCreditCap: options.offsetCreditCap ?? DEFAULT_VALUATION_POLICY.offsetCreditCap,
    offsetMethod: options.offsetMethod ?? DEFAULT_VALUATION_POLICY.offsetMethod,
    spreadCreditCap: options.spreadCreditCap ?? DEFAULT_VALUATION_POLICY.spreadCreditCap,
  };

  const days: BacktestDay[] = [];
  let withoutOffsets = 0;
  let offsetDays = 0;
  let refusedDays = 0;
  let lastRefusal: string | undefined;
  let thinStressDays = 0;
  let lastThinStress: string | undefined;
  let rhoMin = Number.POSITIVE_INFINITY;
  let rhoMax = Number.NEGATIVE_INFINITY;
  let rhoLast = Number.NaN;
  for (const date of dates) {
    const cut = Date.parse(`${date}T00:00:00Z`);
    const before = legs.map((leg) => ({
      ...leg.series,
      candles: leg.series.candles.filter((c) => c.time < cut),
    }));
    const pairs: PairCorrelation[] = [];
    for (let i = 0; i < legs.length; i++) {
      for (let j = i + 1; j < legs.length; j++) {
        const a = (legs[i] as PortfolioLeg).instrument;
        const b = (legs[j] as PortfolioLeg).instrument;
        const pair = estimatePairCorrelation(before[i] as CandleSeries, before[j] as CandleSeries, {
          ...options.settingsFor(a, b),
        });
        pairs.push(pair);
        if (pair.refused !== undefined) {
          refusedDays++;
          lastRefusal = pair.refused;
        }
        if (pair.stressedThin !== undefined) {
          thinStressDays++;
          lastThinStress = pair.stressedThin;
        }
      }
    }
    const today = byDay.map((m) => m.get(date) as BacktestDay);
    const groups: OffsetGroup[] = legs.map((leg, k) => {
      const initial = Math.abs(leg.weight) * (today[k] as BacktestDay).initialMarginRate;
      return {
        prep: { instrument: leg.instrument },
        direction: Math.sign(leg.weight),
        initial,
        maintenance: initial,
      };
    });
    const sum = groups.reduce((total, g) => total + g.initial, 0);
    const credits = offsetCredits(groups, correlationsByPair(policy, pairs), policy.offsetCreditCap, policy);
    const credit = credits.reduce((total, c) => total + c.initialCredit, 0);
    if (credit > 0) {
      offsetDays++;
      for (const c of credits) {
        rhoMin = Math.min(rhoMin, c.strength);
        rhoMax = Math.max(rhoMax, c.strength);
        rhoLast = c.strength;
      }
    }
    const margin = Math.max(0, sum - credit) / gross;
    withoutOffsets += sum / gross;
    // The portfolio's loss over the MPOR, per unit of gross notional: each leg's long loss times its weight.
    const loss =
      legs.reduce((total, leg, k) => total + leg.weight * (today[k] as BacktestDay).longLoss, 0) / gross;
    days.push({
      date,
      close: Number.NaN,
      initialMarginRate: margin,
      effectiveVolatility: Number.NaN,
      activeBound: 'model',
      longLoss: loss,
      shortLoss: -loss,
      longBreach: loss > margin,
      shortBreach: -loss > margin,
    });
  }
  return {
    legs: legs.map(({ instrument, weight }) => ({ instrument, weight })),
    offsetMethod: policy.offsetMethod,
    from: date0(days),
    to: (days[days.length - 1] as BacktestDay).date,
    ...scoreBacktestDays(days, options.confidence),
    averageMarginWithoutOffsets: withoutOffsets / days.length,
    offsetDays,
    ...(offsetDays > 0 ? { offsetRho: { min: rhoMin, max: rhoMax, last: rhoLast } } : {}),
    refusedDays,
    ...(lastRefusal === undefined ? {} : { lastRefusal }),
    thinStressDays,
    ...(lastThinStress === undefined ? {} : { lastThinStress }),
  };
}

function date0(days: readonly BacktestDay[]): string {
  return (days[0] as BacktestDay).date;
}

/** Parse `BTC=1,ETH=-1` into legs; a malformed leg is a RangeError naming it. */
export function parsePortfolio(text: string): PortfolioLeg[] {
  const legs = text.split(',').map((part) => {
    const match = /^\s*([A-Z0-9][A-Z0-9_.-]*)\s*=\s*(-?[0-9]*\.?[0-9]+)\s*$/.exec(part);
    if (!match) throw new RangeError(`portfolio leg "${part}": expected SYMBOL=WEIGHT, e.g. BTC=1 or ETH=-1`);
    const weight = Number(match[2]);
    if (weight === 0) throw new RangeError(`portfolio leg "${part}": a weight of 0 is no position`);
    return { instrument: match[1] as string, weight };
  });
  const seen = new Set<string>();
  for (const leg of legs) {
    if (seen.has(leg.instrument)) throw new RangeError(`portfolio: ${leg.instrument} is given twice`);
    seen.add(leg.instrument);
  }
  return legs;
}
