/**
 * The valuer of one market snapshot: it owns everything valuation prepares or reuses for that snapshot (the
 * scenario grid and its scratch arrays, the prepared-instrument cache, the correlations, the account's groups
 * and sums), so nothing is shared between snapshots and two snapshots valued in turn, or one inside the
 * other, give what each gives alone. `valuerFor(snapshot)` keeps one per snapshot (a WeakMap: it goes when
 * the snapshot does).
 *
 * An account is valued in phases: collateral, each position by its kind's pricer (`pricers.ts`), each
 * group's requirement (closed form for futures only, the scenario grid with options), the offsets, and the
 * totals in exact minor units (`money.ts`).
 */
import type { Account, Position } from '../account/account.ts';
import {
  AccountValuation,
  type GroupRequirement,
  type OffsetCredit,
  type ValuationOptions,
} from './account-valuation.ts';
import { ValuationError } from './errors.ts';
import { notFinite } from './failures.ts';
import { type Group, Groups } from './group.ts';
import { initialRate, liquidityMultiple, maintenanceRate } from './instrument.ts';
import { InstrumentCache } from './instrument-cache.ts';
import {
  amountToNumber,
  compareUnits,
  formatUnits,
  parseUnits,
  ratioUnitsFloor,
  subtractUnits,
  UNITS_PER_QUOTE,
  UnitSum,
  type Units,
  unitsDown,
  unitsUp,
} from './money.ts';
import { correlationsByPair, offsetCredits } from './offsets.ts';
import { shortOptionMinimum } from './option-pricer.ts';
import type { ValuationPolicy } from './policy.ts';
import { type PricingScratch, pricerOf } from './pricers.ts';
import { ScenarioRevaluation } from './scenario-loss.ts';
import { scenarioGrid } from './scenarios.ts';
import type { MarketSnapshot } from './snapshot.ts';

/** Longest text a decimal field of an alert may have (38 digits, sign and point). */
const MAX_DECIMAL_LENGTH = 40;

/** Values accounts against one snapshot. */
export interface AccountValuer {
  readonly snapshot: MarketSnapshot;
  /**
   * Value one account at `asOf` (epoch ms); see `valueAccount`. Throws `ValuationError` naming the account,
   * the position or collateral and the instrument or asset when it cannot be valued.
   */
  value(account: Account, asOf: number, options?: ValuationOptions): AccountValuation;
}

class Valuer implements AccountValuer, PricingScratch {
  readonly policy: ValuationPolicy;
  readonly scenarios: ScenarioRevaluation;
  readonly instruments: InstrumentCache;
  readonly correlations: Map<string, readonly number[]>;
  // Scratch for the account being valued, reset at the start of each `value`.
  readonly equity = new UnitSum();
  readonly initial = new UnitSum();
  readonly maintenance = new UnitSum();
  readonly groups = new Groups();
  /** An option's Black-76 value and delta at the mark. */
  readonly pair = new Float64Array(2);
  /** True while an account is being valued: a nested call gets a valuer of its own. */
  busy = false;

  constructor(readonly snapshot: MarketSnapshot) {
    this.policy = snapshot.policy;
    const grid = scenarioGrid(snapshot.policy.grid);
    this.scenarios = new ScenarioRevaluation(grid, this.policy);
    this.instruments = new InstrumentCache(snapshot, grid, this.policy);
    this.correlations = correlationsByPair(this.policy, snapshot.correlations);
  }

  value(account: Account, asOf: number, options?: ValuationOptions): AccountValuation {
    if (!Number.isFinite(asOf)) throw new RangeError(`asOf must be a time in epoch ms, got ${asOf}`);
    // Re-entered (an account record whose getter values another account against this snapshot): the
    // scratch is in use, so the inner call takes a fresh valuer rather than overwrite it.
    if (this.busy) return new Valuer(this.snapshot).value(account, asOf, options);
    this.busy = true;
    try {
      return valueWith(this, account, asOf, options);
    } finally {
      this.busy = false;
    }
  }
}

/**
 * A valuer of its own for `snapshot`, sharing nothing with any other; for a caller that wants to hold it
 * (`valueAccount` uses the one `valuerFor` keeps).
 *
 * @example
 * const valuer = createValuer(snapshot);
 * for (const account of accounts) valuer.value(account, asOf);
 */
export function createValuer(snapshot: MarketSnapshot): AccountValuer {
  return new Valuer(snapshot);
}

/** One valuer per snapshot, held as long as the snapshot is; the last one looked up is checked first. */
class ValuerCache {
  private readonly valuers = new WeakMap<MarketSnapshot, Valuer>();
  // The last snapshot valued against (held until another one is: the WeakMap alone would let it go). A
  // sweep values every account against one snapshot: this skips the WeakMap for a repeat.
  private lastSnapshot: MarketSnapshot | null = null;
  private lastValuer: Valuer | null = null;

  valuerFor(snapshot: MarketSnapshot): Valuer {
    if (snapshot === this.lastSnapshot && this.lastValuer) return this.lastValuer;
    let valuer = this.valuers.get(snapshot);
    if (!valuer) {
      valuer = new Valuer(snapshot);
      this.valuers.set(snapshot, valuer);
    }
    this.lastSnapshot = snapshot;
    this.lastValuer = valuer;
    return valuer;
  }
}

const VALUERS = new ValuerCache();

/** The valuer `valueAccount` uses for `snapshot`: created on first use, kept while the snapshot lives. */
export function valuerFor(snapshot: MarketSnapshot): AccountValuer {
  return VALUERS.valuerFor(snapshot);
}

function valueWith(
  valuer: Valuer,
  account: Account,
  asOf: number,
  options: ValuationOptions | undefined,
): AccountValuation {
  const accountId = account.accountId;
  valuer.equity.reset();
  valuer.groups.count = 0;
  // The phases are separate functions so that V8 compiles each with its own inlining budget: one big body
  // runs out of it and leaves the small money helpers as calls, a measurable share of a linear account.
  if (account.collateral.length > 0) addCollateral(valuer, accountId, account.collateral);
  const positions = account.positions;
  for (let i = 0; i < positions.length; i++) {
    const position = positions[i] as Position;
    const prep = valuer.instruments.instrument(position.instrument);
    if (!prep) {
      throw new ValuationError(accountId, `no market data for instrument ${position.instrument}`, {
        positionIndex: i,
        instrument: position.instrument,
      });
    }
    pricerOf(position).value(valuer, accountId, position, i, prep, asOf);
  }
  const details: GroupRequirement[] | null = options?.detail ? [] : null;
  addRequirements(valuer, accountId, asOf, details);
  return result(valuer, accountId, details);
}

function addCollateral(valuer: Valuer, accountId: string, collateral: Account['collateral']): void {
  const equity = valuer.equity;
  const prices = valuer.snapshot.assetPrices;
  for (let i = 0; i < collateral.length; i++) {
    const c = collateral[i] as (typeof collateral)[number];
    const price = prices.get(c.asset);
    if (price === undefined) {
      throw new ValuationError(accountId, `no price for collateral asset ${c.asset}`, {
        collateralIndex: i,
        asset: c.asset,
      });
    }
    const haircut = c.haircut ?? 0;
    if (price === 1 && haircut === 0) {
      equity.addUnits(exactUnits(accountId, c.amount, i, c.asset)); // quote currency: no float at all
      continue;
    }
    const value = amountToNumber(c.amount) * price * (1 - haircut);
    if (!Number.isFinite(value)) throw notFinite(accountId, value, { collateralIndex: i, asset: c.asset });
    equity.add(unitsDown(value));
  }
}

/** Each group's initial and maintenance requirement (and its detail, when asked), summed in minor units. */
function addRequirements(
  valuer: Valuer,
  accountId: string,
  asOf: number,
  details: GroupRequirement[] | null,
): void {
  const initial = valuer.initial.reset();
  const maintenance = valuer.maintenance.reset();
  const groups = valuer.groups.list;
  const count = valuer.groups.count;
  for (let k = 0; k < count; k++) {
    const g = groups[k] as Group;
    const prep = g.prep;
    const mark = prep.mark;
    const netDelta = g.futuresQuantity + g.optionDelta;
    const notional = Math.abs(netDelta) * mark;
    let loss: number;
    let minimum = 0;
    // The notional that picks the bracket and the liquidity horizon: today's delta, or with options and
    // `optionSizing: 'scenario-path'` the largest delta over the scan scenarios (a delta-neutral short
    // straddle is sized on what a move would leave to unwind).
    let sizing = notional;
    if (g.optionCount > 0) {
      loss = valuer.scenarios.groupLoss(g, asOf);
      minimum = shortOptionMinimum(valuer.policy, mark, g.options, g.optionCount);
      if (valuer.policy.optionSizing === 'scenario-path') sizing = Math.abs(g.pathDelta) * mark;
    } else {
      loss = 0;
    }
    const liquidity = liquidityMultiple(prep, sizing);
    const imRate = initialRate(prep, sizing);
    const mmRate = maintenanceRate(prep, sizing);
    // Bound on the float error of the group's sums, scaled by the factors applied after them.
    let scale: number;
    if (g.optionCount === 0) {
      const multiple = netDelta > 0 ? prep.longLossMultiple : prep.shortLossMultiple;
      loss = notional * prep.scanRange * multiple;
      g.initial = notional * imRate * multiple * liquidity;
      g.maintenance = notional * mmRate * multiple * liquidity;
      scale = g.gross * imRate * multiple * liquidity;
    } else {
      const charged = Math.max(loss, minimum) / prep.scanRange;
      g.initial = charged * imRate * liquidity;
      g.maintenance = charged * mmRate * liquidity;
      scale = (g.gross * (1 + g.optionCount / 64) * imRate * liquidity) / prep.scanRange;
    }
    g.direction = notional > g.gross * 1e-12 ? Math.sign(netDelta) : 0;
    if (!Number.isFinite(g.initial) || !Number.isFinite(g.maintenance)) {
      throw notFinite(accountId, g.initial, { instrument: prep.instrument });
    }
    initial.add(unitsUp(g.initial, scale));
    maintenance.add(unitsUp(g.maintenance, scale));
    if (details) {
      details.push({
        instrument: prep.instrument,
        markPrice: mark,
        netDelta,
        sizingNotional: sizing,
        optionCount: g.optionCount,
        scenarioLoss: loss,
        worstScenario: g.worstScenario,
        shortOptionMinimum: minimum,
        initialRate: imRate,
        maintenanceRate: mmRate,
        liquidityFactor: liquidity,
        initial: g.initial,
        maintenance: g.maintenance,
      });
    }
  }
}

/** Offsets, totals, shortfall and ratio of the account valued into the valuer's scratch. */
function result(valuer: Valuer, accountId: string, details: GroupRequirement[] | null): AccountValuation {
  const equity = valuer.equity;
  const initial = valuer.initial;
  const maintenance = valuer.maintenance;
  const groupCount = valuer.groups.count;
  let offsets: OffsetCredit[] | null = null;
  if (groupCount > 1 && valuer.correlations.size > 0) {
    offsets = offsetCredits(
      valuer.groups.list.slice(0, groupCount),
      valuer.correlations,
      valuer.policy.offsetCreditCap,
      valuer.policy,
    );
    for (const credit of offsets) {
      initial.add(-unitsDown(credit.initialCredit));
      maintenance.add(-unitsDown(credit.maintenanceCredit));
    }
  }

  const equityUnits = equity.total();
  const initialUnits = atLeastZero(initial.total());
  const maintenanceUnits = atLeastZero(maintenance.total());
  const shortfall = atLeastZero(subtractUnits(initialUnits, equityUnits));
  let ratioUnits: Units | null = null;
  let ratio: number | null = null;
  if (compareUnits(maintenanceUnits, 0) > 0) {
    ratioUnits = ratioUnitsFloor(equityUnits, maintenanceUnits);
    ratio = typeof ratioUnits === 'number' ? ratioUnits / UNITS_PER_QUOTE : Number(formatUnits(ratioUnits));
  }
  // Only BigInt amounts can outgrow an alert's 38 digits; refuse them now rather than when printed.
  if (
    typeof equityUnits === 'bigint' ||
    typeof initialUnits === 'bigint' ||
    typeof shortfall === 'bigint' ||
    typeof ratioUnits === 'bigint'
  ) {
    for (const units of [equityUnits, initialUnits, shortfall, ratioUnits]) {
      if (typeof units === 'bigint' && formatUnits(units).length > MAX_DECIMAL_LENGTH) {
        throw new ValuationError(accountId, `an amount does not fit in 38 digits: ${formatUnits(units)}`);
      }
    }
  }
  return new AccountValuation(
    accountId,
    equityUnits,
    initialUnits,
    maintenanceUnits,
    shortfall,
    ratioUnits,
    ratio,
    details ? { groups: details, offsets: offsets ?? [] } : undefined,
  );
}

function exactUnits(accountId: string, amount: string, collateralIndex: number, asset: string): Units {
  try {
    return parseUnits(amount);
  } catch (error) {
    throw new ValuationError(
      accountId,
      `amount "${amount}" is not a decimal`,
      { collateralIndex, asset },
      {
        cause: error,
      },
    );
  }
}

function atLeastZero(units: Units): Units {
  return compareUnits(units, 0) < 0 ? 0 : units;
}
