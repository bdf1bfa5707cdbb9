/**
 * A prepared instrument: what valuation needs of one instrument's market, worked out once per snapshot
 * (bracket table, open-interest factor, liquidity per period, the closed-form futures losses on the grid),
 * and the size functions read from it: effective initial and maintenance rates and the liquidity multiple at
 * a notional. Also `Expiry`, an expiry date parsed once per snapshot.
 */
import type { ValuationPolicy } from './policy.ts';
import type { ScenarioGrid } from './scenarios.ts';
import {
  type BracketTable,
  bracketInitial,
  bracketMaintenance,
  bracketTable,
  openInterestScalingFactor,
} from './size.ts';
import type { InstrumentMarket } from './snapshot.ts';

const SQRT_365 = Math.sqrt(365);

export interface PreparedInstrument {
  readonly market: InstrumentMarket;
  readonly instrument: string;
  readonly mark: number;
  /** Base initial margin rate: the price scan range. */
  readonly scanRange: number;
  readonly table: BracketTable;
  readonly oiFactor: number;
  /** Notional liquidatable within the MPOR (participation × ADV × MPOR); 0 = no liquidity add-on. */
  readonly liquidityPerPeriod: number;
  /** Worst weighted grid loss of a long (short) future per unit of notional, ÷ scan range. */
  readonly longLossMultiple: number;
  readonly shortLossMultiple: number;
  /** Volatility for options without a mark volatility. */
  readonly fallbackVolatility: number;
}

export function prepareInstrument(
  market: InstrumentMarket,
  grid: ScenarioGrid,
  policy: ValuationPolicy,
): PreparedInstrument {
  const threshold = market.threshold;
  const scanRange = threshold.initialMarginRate;
  const { moves, weights } = grid;
  let longLoss = 0;
  let shortLoss = 0;
  for (let j = 0; j < moves.length; j++) {
    const move = (moves[j] as number) * scanRange;
    const weight = weights[j] as number;
    longLoss = Math.max(longLoss, weight * Math.min(Math.max(-move, 0), 1)); // a price cannot fall below 0
    shortLoss = Math.max(shortLoss, weight * Math.max(move, 0));
  }
  const liquidity = threshold.liquidity;
  const perPeriod = liquidity
    ? liquidity.participationRate * liquidity.averageDailyVolume * policy.marginPeriodOfRiskDays
    : 0;
  return {
    market,
    instrument: market.instrument,
    mark: market.markPrice,
    scanRange,
    table: bracketTable(threshold.brackets),
    oiFactor: openInterestScalingFactor(threshold.openInterestScaling, market.openInterestNotional),
    liquidityPerPeriod: perPeriod > 0 && Number.isFinite(perPeriod) ? perPeriod : 0,
    longLossMultiple: longLoss / scanRange,
    shortLossMultiple: shortLoss / scanRange,
    // No σ (a new listing held at the cap): NaN, so an option on it is reported as unvaluable, not priced.
    fallbackVolatility:
      market.impliedVolatility ?? (threshold.components.effectiveVolatility ?? Number.NaN) * SQRT_365,
  };
}

/**
 * An expiry date of the snapshot's positions: its epoch ms, and the Deribit vol-shock factor
 * (shortTermDays / DTE)^power at the last `asOf` it was needed for (a `**` per option otherwise; a sweep
 * values every account at one asOf).
 */
export class Expiry {
  shockAsOf = Number.NaN;
  shockFactor = 0;
  constructor(readonly ms: number) {}
}

// Size: effective rates and amounts at a notional.

function initialAmount(prep: PreparedInstrument, notional: number): number {
  const im =
    prep.table.floors.length === 0
      ? notional * prep.scanRange
      : Math.max(bracketInitial(prep.table, notional), 0);
  return prep.oiFactor === 0 ? im : im + prep.oiFactor * (notional - im);
}

function maintenanceAmount(prep: PreparedInstrument, notional: number): number {
  const threshold = prep.market.threshold;
  return prep.table.floors.length === 0
    ? notional * threshold.maintenanceMarginRate
    : Math.max(bracketMaintenance(prep.table, notional), 0);
}

export function initialRate(prep: PreparedInstrument, notional: number): number {
  if (notional > 0) return initialAmount(prep, notional) / notional;
  const base = prep.table.initialRates[0] ?? prep.scanRange;
  return base + prep.oiFactor * (1 - base);
}

export function maintenanceRate(prep: PreparedInstrument, notional: number): number {
  if (notional > 0) return maintenanceAmount(prep, notional) / notional;
  return prep.table.maintenanceRates[0] ?? prep.market.threshold.maintenanceMarginRate;
}

export function liquidityMultiple(prep: PreparedInstrument, notional: number): number {
  const perPeriod = prep.liquidityPerPeriod;
  return perPeriod > 0 && notional > perPeriod ? Math.sqrt(notional / perPeriod) : 1;
}
