/**
 * Scenario grids for revaluing option portfolios: the Deribit portfolio-margin grid (price buckets × vol
 * up/same/down with the vega-power shock, margin-methods.md §1.3) and CME SPAN's 16 risk-array scenarios
 * (§2.1). A grid is expressed in units of the price scan range, so the same grid serves any range; the
 * valuation takes the range from the instrument's threshold.
 */
import type { DeribitGridParameters, ScenarioGridParameters, SpanGridParameters } from './policy.ts';
import { deribitGridSchema, spanGridSchema } from './policy.ts';

/** Which volatility a scenario marks options at. */
export type VolShift = 'same' | 'up' | 'down';

export interface Scenario {
  /** Underlying move as a multiple of the price scan range (−1 is a fall by the full range). */
  readonly move: number;
  readonly vol: VolShift;
  /** Share of the scenario's loss that counts (SPAN extremes: 0.35). */
  readonly weight: number;
  /** An extreme move (SPAN 15/16, the Deribit extended moves): not a scan scenario, so it sizes nothing. */
  readonly extreme?: boolean;
}

/** A grid ready for the scenario loop: parallel arrays, no objects in the hot path. */
export interface ScenarioGrid {
  readonly parameters: ScenarioGridParameters;
  readonly scenarios: readonly Scenario[];
  readonly moves: Float64Array;
  /** 0 same, 1 up, 2 down. */
  readonly volIndex: Uint8Array;
  readonly weights: Float64Array;
  /** 1 for a scan scenario (it sizes the position on the scenario path), 0 for an extreme move. */
  readonly scan: Uint8Array;
}

const VOL_INDEX: Readonly<Record<VolShift, number>> = { same: 0, up: 1, down: 2 };

function gridOf(parameters: ScenarioGridParameters, scenarios: readonly Scenario[]): ScenarioGrid {
  return {
    parameters,
    scenarios,
    moves: Float64Array.from(scenarios, (s) => s.move),
    volIndex: Uint8Array.from(scenarios, (s) => VOL_INDEX[s.vol]),
    weights: Float64Array.from(scenarios, (s) => s.weight),
    scan: Uint8Array.from(scenarios, (s) => (s.extreme ? 0 : 1)),
  };
}

/** Fill in Deribit defaults (priceRangeSteps 4, volRangeUp 0.5, volRangeDown 0.25, …). */
export function deribitParameters(
  overrides: Partial<Omit<DeribitGridParameters, 'method'>> = {},
): DeribitGridParameters {
  return deribitGridSchema.parse({ method: 'deribit', ...overrides });
}

/** Fill in SPAN defaults (volScanRange 0.25, extremeMultiple 3, extremeCover 0.35). */
export function spanParameters(
  overrides: Partial<Omit<SpanGridParameters, 'method'>> = {},
): SpanGridParameters {
  return spanGridSchema.parse({ method: 'span', ...overrides });
}

/**
 * The Deribit price buckets: 2·steps + 1 evenly spaced moves from −priceRange to +priceRange, 0 included.
 *
 * @example
 * deribitPriceMoves(0.16, 4); // [-0.16, -0.12, -0.08, -0.04, 0, 0.04, 0.08, 0.12, 0.16]
 */
export function deribitPriceMoves(priceRange = 0.16, steps = 4): number[] {
  const moves: number[] = [];
  for (let k = -steps; k <= steps; k++) moves.push((priceRange * k) / steps);
  return moves;
}

/**
 * The vega-power multiplier (shortTermDays / DTE)^p, p = shortTermVegaPower when DTE < shortTermDays else
 * longTermVegaPower; DTE is floored at `minDaysToExpiry`.
 *
 * @example
 * deribitVolShockFactor(7); // 1.547416… (margin-methods.md §1.3)
 */
export function deribitVolShockFactor(
  daysToExpiry: number,
  parameters: DeribitGridParameters = deribitParameters(),
): number {
  const days = Math.max(daysToExpiry, parameters.minDaysToExpiry);
  const power =
    days < parameters.shortTermDays ? parameters.shortTermVegaPower : parameters.longTermVegaPower;
  return (parameters.shortTermDays / days) ** power;
}

/** Shocked volatilities of one option. */
export interface VolShocks {
  readonly up: number;
  readonly down: number;
}

/**
 * Deribit's shocked volatilities (margin-methods.md §1.3):
 *
 *   volUp   = max(IV · (1 + volRangeUp   · f), minVolForShockUp)
 *   volDown = max(IV · (1 − volRangeDown · f), 0),   f = deribitVolShockFactor(DTE)
 *
 * @example
 * deribitVolShocks(0.6, 7); // { up: 1.064225…, down: 0.367888… }
 */
export function deribitVolShocks(
  impliedVolatility: number,
  daysToExpiry: number,
  parameters: DeribitGridParameters = deribitParameters(),
): VolShocks {
  const factor = deribitVolShockFactor(daysToExpiry, parameters);
  return {
    up: Math.max(impliedVolatility * (1 + parameters.volRangeUp * factor), parameters.minVolForShockUp),
    down: Math.max(impliedVolatility * (1 - parameters.volRangeDown * factor), 0),
  };
}

/** SPAN's ±1 vol scenarios, relative: σ·(1 ± volScanRange), never below 0. */
export function spanVolShocks(
  impliedVolatility: number,
  parameters: SpanGridParameters = spanParameters(),
): VolShocks {
  return {
    up: impliedVolatility * (1 + parameters.volScanRange),
    down: Math.max(impliedVolatility * (1 - parameters.volScanRange), 0),
  };
}

/**
 * The Deribit grid in units of the scan range: moves k/steps for k = −steps…steps, each at vol up, same and
 * down, weight 1 (9 × 3 = 27 scenarios by default); then, when `extremeCover` > 0, the extended moves
 * +extremeMultiple and −extremeMultiple at vol up, `extremeCover` of their loss counted (scenarios 28 and
 * 29). Deribit's extended table likewise takes only the vol-up leg and a fraction of the P&L
 * (margin-methods.md §1.3); with extremeCover × extremeMultiple ≤ 1 a future's requirement is unchanged.
 */
export function deribitGrid(parameters: DeribitGridParameters = deribitParameters()): ScenarioGrid {
  const scenarios: Scenario[] = [];
  for (const move of deribitPriceMoves(1, parameters.priceRangeSteps)) {
    for (const vol of ['up', 'same', 'down'] as const) scenarios.push({ move, vol, weight: 1 });
  }
  if (parameters.extremeCover > 0) {
    const { extremeMultiple: multiple, extremeCover: weight } = parameters;
    scenarios.push(
      { move: multiple, vol: 'up', weight, extreme: true },
      { move: -multiple, vol: 'up', weight, extreme: true },
    );
  }
  return gridOf(parameters, scenarios);
}

/**
 * SPAN's 16 scenarios in CME's order (1/2: unchanged, vol up/down; 3/4: up ⅓; 5/6: down ⅓; 7/8: up ⅔;
 * 9/10: down ⅔; 11/12: up 3/3; 13/14: down 3/3; 15/16: up/down extremeMultiple × range at unchanged vol,
 * extremeCover of the loss counted).
 */
export function spanGrid(parameters: SpanGridParameters = spanParameters()): ScenarioGrid {
  const scenarios: Scenario[] = [];
  for (const move of [0, 1 / 3, -1 / 3, 2 / 3, -2 / 3, 1, -1]) {
    scenarios.push({ move, vol: 'up', weight: 1 }, { move, vol: 'down', weight: 1 });
  }
  scenarios.push(
    { move: parameters.extremeMultiple, vol: 'same', weight: parameters.extremeCover, extreme: true },
    { move: -parameters.extremeMultiple, vol: 'same', weight: parameters.extremeCover, extreme: true },
  );
  return gridOf(parameters, scenarios);
}

/** The grid a policy names. */
export function scenarioGrid(parameters: ScenarioGridParameters): ScenarioGrid {
  return parameters.method === 'deribit' ? deribitGrid(parameters) : spanGrid(parameters);
}

/**
 * A linear position's risk array (P&L per scenario, gains positive, weights applied): quantity × scan range
 * amount × move × weight. With a $10,000 scan range and extremeMultiple 2 this is McMillan's long-future
 * array (0, 0, +3,333, +3,333, −3,333, …, +7,000, −7,000).
 */
export function linearRiskArray(scanRangeAmount: number, quantity: number, grid: ScenarioGrid): number[] {
  return grid.scenarios.map((s) => quantity * scanRangeAmount * s.move * s.weight);
}

/** The worst scenario of summed risk arrays. */
export interface ScanRisk {
  /** Largest loss (positive) across scenarios, 0 if no scenario loses. */
  readonly risk: number;
  /** 1-based scenario number of the largest loss (the first on ties), or null if none loses. */
  readonly scenario: number | null;
}

/**
 * SPAN scan risk: max over scenarios j of −Σᵢ qᵢ·arrayᵢ[j], with arrays as P&L per position (gains
 * positive; negate CME's losses-positive files). The covered write of margin-methods.md §2.1 gives 6,620
 * at scenario 13.
 */
export function scanRisk(arrays: readonly (readonly number[])[], quantities?: readonly number[]): ScanRisk {
  const length = arrays[0]?.length ?? 0;
  let risk = 0;
  let scenario: number | null = null;
  for (let j = 0; j < length; j++) {
    let pnl = 0;
    arrays.forEach((array, i) => {
      const value = array[j];
      if (value === undefined)
        throw new RangeError(`risk array ${i} has ${array.length} scenarios, not ${length}`);
      pnl += (quantities?.[i] ?? 1) * value;
    });
    if (-pnl > risk) {
      risk = -pnl;
      scenario = j + 1;
    }
  }
  return { risk, scenario };
}
