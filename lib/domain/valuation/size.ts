/**
 * Size- and liquidity-dependent margin: Binance-style notional brackets (margin-methods.md §3.2), dYdX-style
 * open-interest scaling of the initial margin (§3.1), Deribit's linear size add-on (§1.1) and the liquidity
 * horizon add-on (DESIGN.md §4). All are nondecreasing in the notional, so a larger position never needs
 * less margin.
 */
import type { NotionalBracket, OpenInterestScaling } from '../threshold/threshold.ts';

/**
 * A bracket table prepared for lookups: floors, marginal rates and the `cum` amounts that make
 * `requirement = notional × rate − cum` continuous. The maintenance cum is the threshold's; the initial cum
 * is derived the same way: cumₙ = cumₙ₋₁ + floorₙ × (rateₙ − rateₙ₋₁), cum₀ = floor₀ × rate₀ (0 when the
 * first floor is 0).
 */
export interface BracketTable {
  readonly floors: Float64Array;
  readonly initialRates: Float64Array;
  readonly maintenanceRates: Float64Array;
  readonly initialCum: Float64Array;
  readonly maintenanceCum: Float64Array;
}

/** Prepare a threshold's brackets (sorted by floor). An empty table charges the base rates. */
export function bracketTable(brackets: readonly NotionalBracket[]): BracketTable {
  const sorted = [...brackets].sort((x, y) => x.notionalFloor - y.notionalFloor);
  const n = sorted.length;
  const table: BracketTable = {
    floors: new Float64Array(n),
    initialRates: new Float64Array(n),
    maintenanceRates: new Float64Array(n),
    initialCum: new Float64Array(n),
    maintenanceCum: new Float64Array(n),
  };
  let cum = 0;
  let previousRate = 0;
  sorted.forEach((bracket, i) => {
    cum += bracket.notionalFloor * (bracket.initialMarginRate - previousRate);
    previousRate = bracket.initialMarginRate;
    table.floors[i] = bracket.notionalFloor;
    table.initialRates[i] = bracket.initialMarginRate;
    table.maintenanceRates[i] = bracket.maintenanceMarginRate;
    table.initialCum[i] = cum;
    table.maintenanceCum[i] = bracket.cum;
  });
  return table;
}

/** Index of the bracket holding `notional` (the last whose floor is ≤ notional), or −1 for an empty table. */
function bracketIndex(table: BracketTable, notional: number): number {
  const floors = table.floors;
  let k = floors.length - 1;
  while (k > 0 && (floors[k] as number) > notional) k--;
  return k;
}

/**
 * Binance maintenance margin: notional × MMR_k − cum_k in the bracket k holding the notional (|notional|).
 * With no brackets, notional × `baseRate`.
 *
 * @example
 * // BTCUSDT 2021 table: 40k → 160, 100k → 450, 500k → 3,700, 5M → 108,700
 */
export function bracketMaintenance(table: BracketTable, notional: number, baseRate = 0): number {
  const n = Math.abs(notional);
  const k = bracketIndex(table, n);
  if (k < 0) return n * baseRate;
  return n * (table.maintenanceRates[k] as number) - (table.maintenanceCum[k] as number);
}

/** Initial margin by bracket: notional × IMR_k − cumIM_k (cumIM derived as in `bracketTable`). */
export function bracketInitial(table: BracketTable, notional: number, baseRate = 0): number {
  const n = Math.abs(notional);
  const k = bracketIndex(table, n);
  if (k < 0) return n * baseRate;
  return n * (table.initialRates[k] as number) - (table.initialCum[k] as number);
}

/**
 * dYdX's open-interest scaling factor s = clamp((OI − lowerCap) / (upperCap − lowerCap), 0, 1); 0 when the
 * scaling is off (no scaling, no open interest, or upperCap ≤ lowerCap: dYdX disables OIMF with upperCap 0).
 */
export function openInterestScalingFactor(
  scaling: OpenInterestScaling | undefined,
  openInterestNotional: number | undefined,
): number {
  if (!scaling || openInterestNotional === undefined || !(scaling.upperCap > scaling.lowerCap)) return 0;
  const s = (openInterestNotional - scaling.lowerCap) / (scaling.upperCap - scaling.lowerCap);
  return s <= 0 ? 0 : s >= 1 ? 1 : s;
}

/**
 * dYdX effective initial margin fraction: min(base + max(s, 0)·(1 − base), 1) (liquidity_tier.go).
 *
 * @example
 * openInterestScaledRate(0.2, 1.5e12, { lowerCap: 1e12, upperCap: 2e12 }); // 0.6
 */
export function openInterestScaledRate(
  baseRate: number,
  openInterestNotional: number | undefined,
  scaling: OpenInterestScaling | undefined,
): number {
  const s = openInterestScalingFactor(scaling, openInterestNotional);
  return Math.min(baseRate + s * (1 - baseRate), 1);
}

/**
 * Initial margin with open-interest scaling applied to a bracketed requirement: the effective rate
 * r = IM/notional moves toward 100% by s, i.e. IM' = IM + s·(notional − IM). For one bracket this is
 * exactly dYdX's rule; it stays continuous and nondecreasing in the notional.
 */
export function scaleInitialForOpenInterest(initial: number, notional: number, factor: number): number {
  return factor === 0 ? initial : initial + factor * (Math.abs(notional) - initial);
}

/**
 * Liquidity horizon multiplier. Days to liquidate d = notional / (participationRate × ADV); beyond the
 * margin period of risk the requirement scales with √(d / MPOR) (square-root-of-time), else 1. Without
 * usable volume data (ADV or participation not positive) there is no add-on.
 *
 * @example
 * liquidityFactor(4e6, 1e7, 0.1, 1); // 2 (4 days to liquidate at 10% of a $10M ADV: √4)
 */
export function liquidityFactor(
  notional: number,
  averageDailyVolume: number,
  participationRate: number,
  marginPeriodOfRiskDays = 1,
): number {
  const perPeriod = participationRate * averageDailyVolume * marginPeriodOfRiskDays;
  if (!(perPeriod > 0) || !Number.isFinite(perPeriod)) return 1;
  const n = Math.abs(notional);
  return n > perPeriod ? Math.sqrt(n / perPeriod) : 1;
}

/**
 * Deribit's standard-margin rate for a position of `size` base units: baseRate + size × perUnitRate
 * (margin-methods.md §1.1: BTC IM 2% + size × 0.005%, MM 1% + size × 0.005%), capped at 100%.
 *
 * @example
 * deribitSizeRate(0.02, 0.00005, 25); // 0.02125
 */
export function deribitSizeRate(baseRate: number, perUnitRate: number, size: number): number {
  return Math.min(baseRate + Math.abs(size) * perUnitRate, 1);
}

export interface SizeAddOnBracketOptions {
  /** Price the sizes are turned into notionals at. */
  readonly price: number;
  readonly initialBaseRate: number;
  readonly maintenanceBaseRate: number;
  /** Added rate per base unit of size (Deribit BTC: 0.005% = 0.00005). */
  readonly perUnitRate: number;
  /** Bracket width in base units. */
  readonly stepSize: number;
  /** Number of finite brackets; the last, unbounded bracket charges 100% at the margin. */
  readonly steps: number;
}

/**
 * Deribit's size add-on as a Binance bracket table. The requirement notional × (a + b·size) is convex in
 * size; each bracket's marginal rate is the chord between its bounds, so the bracket requirement equals
 * Deribit's exactly at every bound and lies above it in between (never under-margins inside the table).
 */
export function sizeAddOnBrackets(options: SizeAddOnBracketOptions): NotionalBracket[] {
  const { price, initialBaseRate, maintenanceBaseRate, perUnitRate, stepSize, steps } = options;
  const requirement = (base: number, size: number) => size * price * deribitSizeRate(base, perUnitRate, size);
  const brackets: NotionalBracket[] = [];
  let cum = 0;
  let previousMaintenance = 0;
  for (let k = 0; k <= steps; k++) {
    const lower = k * stepSize;
    const last = k === steps;
    const upper = (k + 1) * stepSize;
    const width = (upper - lower) * price;
    const chord = (base: number) =>
      last ? 1 : Math.min((requirement(base, upper) - requirement(base, lower)) / width, 1);
    const maintenanceRate = chord(maintenanceBaseRate);
    cum += lower * price * (maintenanceRate - previousMaintenance);
    previousMaintenance = maintenanceRate;
    brackets.push({
      notionalFloor: lower * price,
      notionalCap: last ? null : upper * price,
      initialMarginRate: chord(initialBaseRate),
      maintenanceMarginRate: maintenanceRate,
      cum,
    });
  }
  return brackets;
}
