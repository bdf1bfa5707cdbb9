/**
 * The scenario grid applied to a group with options: every leg and the group's futures revalued under each
 * scenario at the instrument's scan range, the loss being the worst weighted scenario. One per valuer: it
 * owns the grid's price levels and the scratch arrays the revaluation writes into.
 */
import { black76ScenarioPrices } from './black76.ts';
import type { Group, OptionLeg } from './group.ts';
import type { Expiry } from './instrument.ts';
import type { ValuationPolicy } from './policy.ts';
import type { ScenarioGrid } from './scenarios.ts';

export class ScenarioRevaluation {
  /** The grid's distinct moves (price levels) and each scenario's level: options are priced per level. */
  private readonly levelMoves: Float64Array;
  private readonly levelOf: Uint8Array;
  /** Scratch per group: forward at each level, option value per scenario, group P&L per scenario. */
  private readonly levelPrices: Float64Array;
  private readonly values: Float64Array;
  private readonly pnl: Float64Array;
  /** Scratch for sizing on the scenario path: one option's delta, the group's delta, per scenario. */
  private readonly legDeltas: Float64Array;
  private readonly deltas: Float64Array;
  private readonly onPath: boolean;
  /** One option's volatilities: same, up, down (the grid's `volIndex` 0, 1, 2). */
  private readonly legVolatilities = new Float64Array(3);

  constructor(
    readonly grid: ScenarioGrid,
    private readonly policy: ValuationPolicy,
  ) {
    const levels = [...new Set(grid.moves)];
    this.levelMoves = Float64Array.from(levels);
    this.levelOf = Uint8Array.from(grid.moves, (move) => levels.indexOf(move));
    this.levelPrices = new Float64Array(levels.length);
    this.values = new Float64Array(grid.moves.length);
    this.pnl = new Float64Array(grid.moves.length);
    this.legDeltas = new Float64Array(grid.moves.length);
    this.deltas = new Float64Array(grid.moves.length);
    this.onPath = policy.optionSizing === 'scenario-path';
  }

  /**
   * Worst weighted loss of the group over the grid at the instrument's scan range; its scenario goes to
   * `g.worstScenario`. Each option is priced across the grid by `black76ScenarioPrices` (per price level,
   * not per scenario, for the shared logarithms), which returns exactly what `black76Price` would.
   *
   * With `optionSizing: 'scenario-path'` it also writes `g.pathDelta`: the group's delta (futures + Σ option
   * quantity × Black-76 delta at the scenario's price and volatility) of largest magnitude over the scan
   * scenarios and today, the position a liquidation would have to unwind if the market moved there.
   */
  groupLoss(g: Group, asOf: number): number {
    const { volIndex, weights } = this.grid;
    const parameters = this.grid.parameters;
    const { pnl, levelMoves, levelOf, levelPrices, values } = this;
    const prep = g.prep;
    const mark = prep.mark;
    const rate = this.policy.riskFreeRate;
    const n = pnl.length;
    for (let l = 0; l < levelMoves.length; l++) {
      levelPrices[l] = Math.max(mark * (1 + (levelMoves[l] as number) * prep.scanRange), 0);
    }
    for (let j = 0; j < n; j++) {
      pnl[j] = g.futuresQuantity * ((levelPrices[levelOf[j] as number] as number) - mark);
    }
    const onPath = this.onPath;
    const { deltas, legDeltas } = this;
    if (onPath) deltas.fill(g.futuresQuantity);
    const volatilities = this.legVolatilities;
    for (let o = 0; o < g.optionCount; o++) {
      const leg = g.options[o] as OptionLeg;
      let up: number;
      let down: number;
      if (parameters.method === 'deribit') {
        const expiry = leg.expiryDate as Expiry;
        if (expiry.shockAsOf !== asOf) {
          const days = Math.max(leg.days, parameters.minDaysToExpiry);
          const power =
            days < parameters.shortTermDays ? parameters.shortTermVegaPower : parameters.longTermVegaPower;
          expiry.shockFactor = (parameters.shortTermDays / days) ** power;
          expiry.shockAsOf = asOf;
        }
        const factor = expiry.shockFactor;
        up = Math.max(leg.volatility * (1 + parameters.volRangeUp * factor), parameters.minVolForShockUp);
        down = Math.max(leg.volatility * (1 - parameters.volRangeDown * factor), 0);
      } else {
        up = leg.volatility * (1 + parameters.volScanRange);
        down = Math.max(leg.volatility * (1 - parameters.volScanRange), 0);
      }
      volatilities[0] = leg.volatility;
      volatilities[1] = up;
      volatilities[2] = down;
      black76ScenarioPrices(
        leg.isCall,
        leg.strike,
        leg.years,
        volatilities,
        rate,
        levelPrices,
        levelOf,
        volIndex,
        values,
        onPath ? legDeltas : undefined,
      );
      const quantity = leg.quantity;
      const value = leg.value;
      for (let j = 0; j < n; j++) pnl[j] = (pnl[j] as number) + quantity * ((values[j] as number) - value);
      if (onPath)
        for (let j = 0; j < n; j++) deltas[j] = (deltas[j] as number) + quantity * (legDeltas[j] as number);
    }
    if (onPath) {
      const scan = this.grid.scan;
      let pathDelta = g.futuresQuantity + g.optionDelta;
      for (let j = 0; j < n; j++) {
        const delta = deltas[j] as number;
        if (scan[j] === 1 && Math.abs(delta) > Math.abs(pathDelta)) pathDelta = delta;
      }
      g.pathDelta = pathDelta;
    }
    let loss = 0;
    let worst: number | null = null;
    for (let j = 0; j < n; j++) {
      const scenarioLoss = -(weights[j] as number) * (pnl[j] as number);
      if (scenarioLoss > loss) {
        loss = scenarioLoss;
        worst = j + 1;
      }
    }
    g.worstScenario = worst;
    return loss;
  }
}
