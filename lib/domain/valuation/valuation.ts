/**
 * Account valuation: equity, initial and maintenance requirement, margin ratio and the shortfall to initial
 * margin, as exact 8-dp decimal strings. The method is described in `README.md` beside this file; in short:
 *
 * 1. Equity = Σ collateral × price × (1 − haircut) + futures P&L + option marks (long +, short −; expired
 *    options at intrinsic). Inverse futures are linear futures of C·contractSize/entry base units.
 * 2. Positions are grouped by instrument (options name their underlying as instrument). A group's loss L
 *    at the base scan range (the threshold's initial margin rate) is, for futures only, the worst grid move
 *    times the net notional, and with options the worst weighted scenario of a Black-76 revaluation of the
 *    whole group (so covered positions offset), floored by the short option minimum.
 * 3. Size: the group's delta notional N = |net delta| × mark picks the bracket rate (and dYdX open-interest
 *    scaling of IM), applied as rate(N) / base rate; liquidity: × √(days to liquidate / MPOR) beyond the MPOR.
 *    For futures only this is exactly the bracket requirement notional × rate − cum.
 * 4. Opposite-direction groups with a configured correlation earn a credit min(ρ, cap) × the smaller one.
 * 5. Float results become minor units toward safety (requirements up, equity and credits down) and are
 *    summed exactly (`money.ts`).
 */
import type { Account, FuturePosition, OptionPosition } from '../account/account.ts';
import { black76PriceAndDelta, black76ScenarioPrices, YEAR_MS } from './black76.ts';
import { ValuationError, type ValuationErrorLocation } from './errors.ts';
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
import type { ValuationPolicy } from './policy.ts';
import { type ScenarioGrid, scenarioGrid } from './scenarios.ts';
import {
  type BracketTable,
  bracketInitial,
  bracketMaintenance,
  bracketTable,
  openInterestScalingFactor,
} from './size.ts';
import type { InstrumentMarket, MarketSnapshot } from './snapshot.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const SQRT_365 = Math.sqrt(365);
/** Longest text a decimal field of an alert may have (38 digits, sign and point). */
const MAX_DECIMAL_LENGTH = 40;

/** One instrument's share of the requirement, for audit (`valueAccount(…, { detail: true })`). */
export interface GroupRequirement {
  readonly instrument: string;
  readonly markPrice: number;
  /** Futures quantity (base units, inverse converted) plus Σ option quantity × Black-76 delta. */
  readonly netDelta: number;
  /** |netDelta| × mark: the notional that picks the bracket and the liquidity horizon. */
  readonly sizingNotional: number;
  readonly optionCount: number;
  /** Worst weighted scenario loss at the base scan range, before size and liquidity (quote). */
  readonly scenarioLoss: number;
  /** 1-based grid scenario of that loss; null for futures only (closed form) or when nothing loses. */
  readonly worstScenario: number | null;
  /** Short option minimum (quote): rate × mark × max(net short calls, net short puts). */
  readonly shortOptionMinimum: number;
  /** Effective initial / maintenance rate at the sizing notional (brackets, open interest). */
  readonly initialRate: number;
  readonly maintenanceRate: number;
  readonly liquidityFactor: number;
  /** Requirements of the group before offsets (quote, float). */
  readonly initial: number;
  readonly maintenance: number;
}

/** A correlation credit between two groups. */
export interface OffsetCredit {
  readonly a: string;
  readonly b: string;
  /** The hedge strength: −ρ × direction(a) × direction(b) > 0. */
  readonly strength: number;
  readonly initialCredit: number;
  readonly maintenanceCredit: number;
}

/**
 * The valuation of one account. The amounts are exact: integer minor units (10⁻⁸ quote) in the `…Units`
 * fields, and the same as fixed 8-dp decimal strings in `equity`, `initialRequirement`, … The strings are
 * formatted when read (an alert, a report; the sweep's hot path reads only `ratio`), so they are getters:
 * use `toJSON()` (or JSON.stringify) for a plain object, not a spread.
 */
export class AccountValuation {
  // Declared, not class fields: fields would be defined (as undefined) before the constructor assigns them,
  // twice the stores on the sweep's hot path. The constructor sets every one, in this order, always.
  declare readonly accountId: string;
  /** Equity, rounded down. */
  declare readonly equityUnits: Units;
  /** Requirements, rounded up. */
  declare readonly initialUnits: Units;
  declare readonly maintenanceUnits: Units;
  /** max(0, initial − equity). */
  declare readonly shortfallUnits: Units;
  /** equity / maintenance in 10⁻⁸, rounded down; null when nothing is required. */
  declare readonly ratioUnits: Units | null;
  /** The margin ratio the state machine reads: exactly `Number(marginRatio)`; null when nothing is required. */
  declare readonly ratio: number | null;
  /** Per-instrument breakdown and offsets; only with `{ detail: true }`. */
  declare readonly groups?: readonly GroupRequirement[];
  declare readonly offsets?: readonly OffsetCredit[];

  constructor(
    accountId: string,
    equityUnits: Units,
    initialUnits: Units,
    maintenanceUnits: Units,
    shortfallUnits: Units,
    ratioUnits: Units | null,
    ratio: number | null,
    detail?: { readonly groups: readonly GroupRequirement[]; readonly offsets: readonly OffsetCredit[] },
  ) {
    this.accountId = accountId;
    this.equityUnits = equityUnits;
    this.initialUnits = initialUnits;
    this.maintenanceUnits = maintenanceUnits;
    this.shortfallUnits = shortfallUnits;
    this.ratioUnits = ratioUnits;
    this.ratio = ratio;
    this.groups = detail?.groups;
    this.offsets = detail?.offsets;
  }

  get equity(): string {
    return formatUnits(this.equityUnits);
  }

  get initialRequirement(): string {
    return formatUnits(this.initialUnits);
  }

  get maintenanceRequirement(): string {
    return formatUnits(this.maintenanceUnits);
  }

  get shortfallToInitial(): string {
    return formatUnits(this.shortfallUnits);
  }

  /** equity / maintenance requirement rounded down to 8 places; null when nothing is required. */
  get marginRatio(): string | null {
    return this.ratioUnits === null ? null : formatUnits(this.ratioUnits);
  }

  toJSON(): AccountValuationJson {
    return {
      accountId: this.accountId,
      equity: this.equity,
      initialRequirement: this.initialRequirement,
      maintenanceRequirement: this.maintenanceRequirement,
      shortfallToInitial: this.shortfallToInitial,
      marginRatio: this.marginRatio,
      ratio: this.ratio,
      ...(this.groups ? { groups: this.groups } : {}),
      ...(this.offsets ? { offsets: this.offsets } : {}),
    };
  }
}

/** `AccountValuation` as plain data. */
export interface AccountValuationJson {
  readonly accountId: string;
  readonly equity: string;
  readonly initialRequirement: string;
  readonly maintenanceRequirement: string;
  readonly shortfallToInitial: string;
  readonly marginRatio: string | null;
  readonly ratio: number | null;
  readonly groups?: readonly GroupRequirement[];
  readonly offsets?: readonly OffsetCredit[];
}

export interface ValuationOptions {
  /** Also return the per-instrument breakdown and the offsets (allocates; off on the sweep's hot path). */
  readonly detail?: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Per-snapshot preparation (cached): bracket tables, grid, closed-form futures losses, correlations.

interface PreparedInstrument {
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

interface Prepared {
  readonly policy: ValuationPolicy;
  readonly grid: ScenarioGrid;
  /** The grid's distinct moves (price levels) and each scenario's level: options are priced per level. */
  readonly levelMoves: Float64Array;
  readonly levelOf: Uint8Array;
  /** Scratch per group: forward at each level, option value per scenario. */
  readonly levelPrices: Float64Array;
  readonly values: Float64Array;
  readonly instruments: Map<string, PreparedInstrument | null>;
  /**
   * The last few instruments looked up, checked by string equality before the Map: an account holds few
   * symbols, and comparing a short (usually identical) string beats hashing it for every position.
   */
  readonly recentSymbols: string[];
  readonly recentInstruments: (PreparedInstrument | null)[];
  recentNext: number;
  readonly expiries: Map<string, Expiry>;
  readonly correlations: Map<string, number>;
  readonly pnl: Float64Array;
}

const PREPARED = new WeakMap<MarketSnapshot, Prepared>();
const MAX_CACHED_EXPIRIES = 10_000;

// The last snapshot valued against (held until another one is: the WeakMap alone would let it go).
let lastSnapshot: MarketSnapshot | null = null;
let lastPrepared: Prepared | null = null;

function prepared(snapshot: MarketSnapshot): Prepared {
  // A sweep values every account against one snapshot: skip the WeakMap for a repeat.
  if (snapshot === lastSnapshot && lastPrepared) return lastPrepared;
  let p = PREPARED.get(snapshot);
  if (!p) {
    const grid = scenarioGrid(snapshot.policy.grid);
    const correlations = new Map<string, number>();
    for (const { a, b, rho } of snapshot.policy.correlations) correlations.set(pairKey(a, b), rho);
    const levels = [...new Set(grid.moves)];
    p = {
      policy: snapshot.policy,
      grid,
      levelMoves: Float64Array.from(levels),
      levelOf: Uint8Array.from(grid.moves, (move) => levels.indexOf(move)),
      levelPrices: new Float64Array(levels.length),
      values: new Float64Array(grid.moves.length),
      instruments: new Map(),
      recentSymbols: [],
      recentInstruments: [],
      recentNext: 0,
      expiries: new Map(),
      correlations,
      pnl: new Float64Array(grid.moves.length),
    };
    PREPARED.set(snapshot, p);
  }
  lastSnapshot = snapshot;
  lastPrepared = p;
  return p;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

const RECENT_INSTRUMENTS = 8;

function instrumentOf(p: Prepared, snapshot: MarketSnapshot, instrument: string): PreparedInstrument | null {
  const symbols = p.recentSymbols;
  for (let k = 0; k < symbols.length; k++) {
    if (symbols[k] === instrument) return p.recentInstruments[k] as PreparedInstrument | null;
  }
  let prep = p.instruments.get(instrument);
  if (prep === undefined) {
    const market = snapshot.instruments.get(instrument);
    prep = market ? prepareInstrument(market, p) : null;
    p.instruments.set(instrument, prep);
  }
  const slot = p.recentNext;
  symbols[slot] = instrument;
  p.recentInstruments[slot] = prep;
  p.recentNext = (slot + 1) % RECENT_INSTRUMENTS;
  return prep;
}

function prepareInstrument(market: InstrumentMarket, p: Prepared): PreparedInstrument {
  const threshold = market.threshold;
  const scanRange = threshold.initialMarginRate;
  const { moves, weights } = p.grid;
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
    ? liquidity.participationRate * liquidity.averageDailyVolume * p.policy.marginPeriodOfRiskDays
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
class Expiry {
  shockAsOf = Number.NaN;
  shockFactor = 0;
  constructor(readonly ms: number) {}
}

function expiryOf(p: Prepared, expiry: string): Expiry {
  let cached = p.expiries.get(expiry);
  if (cached === undefined) {
    cached = new Expiry(Date.parse(expiry));
    if (p.expiries.size >= MAX_CACHED_EXPIRIES) p.expiries.clear();
    p.expiries.set(expiry, cached);
  }
  return cached;
}

// ---------------------------------------------------------------------------------------------------------
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

function initialRate(prep: PreparedInstrument, notional: number): number {
  if (notional > 0) return initialAmount(prep, notional) / notional;
  const base = prep.table.initialRates[0] ?? prep.scanRange;
  return base + prep.oiFactor * (1 - base);
}

function maintenanceRate(prep: PreparedInstrument, notional: number): number {
  if (notional > 0) return maintenanceAmount(prep, notional) / notional;
  return prep.table.maintenanceRates[0] ?? prep.market.threshold.maintenanceMarginRate;
}

function liquidityMultiple(prep: PreparedInstrument, notional: number): number {
  const perPeriod = prep.liquidityPerPeriod;
  return perPeriod > 0 && notional > perPeriod ? Math.sqrt(notional / perPeriod) : 1;
}

// ---------------------------------------------------------------------------------------------------------
// Per-account state.

/** One option position of a group; pooled (`Group.addOption` overwrites a leg of an earlier account). */
class OptionLeg {
  isCall = false;
  strike = 0;
  expiry = 0;
  expiryDate: Expiry | null = null;
  years = 0;
  days = 0;
  quantity = 0;
  volatility = 0;
  value = 0;
}

class Group {
  futuresQuantity = 0;
  optionDelta = 0;
  /** Σ |quantity| × (mark + strike or entry): bounds the float error of the group's sums. */
  gross = 0;
  /** Option legs; `optionCount` of them are this account's (the legs are reused). */
  readonly options: OptionLeg[] = [];
  optionCount = 0;
  initial = 0;
  maintenance = 0;
  direction = 0;
  constructor(public prep: PreparedInstrument) {}

  reset(prep: PreparedInstrument): this {
    this.prep = prep;
    this.futuresQuantity = 0;
    this.optionDelta = 0;
    this.gross = 0;
    this.optionCount = 0;
    this.initial = 0;
    this.maintenance = 0;
    this.direction = 0;
    return this;
  }

  /** The next leg, reused from an earlier account when there is one; the caller sets every field. */
  addOption(): OptionLeg {
    let leg = this.options[this.optionCount];
    if (!leg) {
      leg = new OptionLeg();
      this.options.push(leg);
    }
    this.optionCount++;
    return leg;
  }
}

/**
 * Scratch state reused across calls so a linear account allocates almost nothing: valuation is synchronous
 * and never re-entered, and everything is reset at the start of each call.
 */
const GROUPS: Group[] = [];
let groupCount = 0;
const EQUITY = new UnitSum();
const INITIAL = new UnitSum();
const MAINTENANCE = new UnitSum();
/** An option's Black-76 value and delta at the mark. */
const MARK = new Float64Array(2);

function groupFor(prep: PreparedInstrument): Group {
  for (let k = 0; k < groupCount; k++) {
    const g = GROUPS[k] as Group;
    if (g.prep === prep) return g;
  }
  const pooled = GROUPS[groupCount];
  const g = pooled ? pooled.reset(prep) : new Group(prep);
  if (!pooled) GROUPS.push(g);
  groupCount++;
  return g;
}

/**
 * Value one account against a snapshot at `asOf` (epoch ms). Throws `ValuationError` (an
 * `AccountRecordError`) naming the account, position or collateral index and instrument or asset when the
 * snapshot lacks a market, an inverse position has no contract size, or an amount is not a finite number.
 *
 * @example
 * const v = valueAccount(account, snapshot, Date.parse('2026-11-24T00:00:00Z'));
 * v.marginRatio; // '1.35000000'
 */
export function valueAccount(
  account: Account,
  snapshot: MarketSnapshot,
  asOf: number,
  options?: ValuationOptions,
): AccountValuation {
  if (!Number.isFinite(asOf)) throw new RangeError(`asOf must be a time in epoch ms, got ${asOf}`);
  const p = prepared(snapshot);
  const accountId = account.accountId;
  EQUITY.reset();
  groupCount = 0;
  // The phases are separate functions so that V8 compiles each with its own inlining budget: one big body
  // runs out of it and leaves the small money helpers as calls, a measurable share of a linear account.
  if (account.collateral.length > 0) addCollateral(accountId, account.collateral, snapshot);
  const positions = account.positions;
  for (let i = 0; i < positions.length; i++) {
    const position = positions[i] as (typeof positions)[number];
    const prep = instrumentOf(p, snapshot, position.instrument);
    if (!prep) {
      throw new ValuationError(accountId, `no market data for instrument ${position.instrument}`, {
        positionIndex: i,
        instrument: position.instrument,
      });
    }
    if (position.kind !== 'option') addFuture(accountId, position, i, prep, p, asOf);
    else addOption(accountId, position, i, prep, p, asOf);
  }
  const details: GroupRequirement[] | null = options?.detail ? [] : null;
  addRequirements(accountId, p, asOf, details);
  return result(accountId, p, details);
}

function addCollateral(accountId: string, collateral: Account['collateral'], snapshot: MarketSnapshot): void {
  const equity = EQUITY;
  for (let i = 0; i < collateral.length; i++) {
    const c = collateral[i] as (typeof collateral)[number];
    const price = snapshot.assetPrices.get(c.asset);
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

/** A perpetual or dated future: its P&L to equity, its quantity (base units) to its group. */
function addFuture(
  accountId: string,
  position: FuturePosition,
  i: number,
  prep: PreparedInstrument,
  p: Prepared,
  asOf: number,
): void {
  const equity = EQUITY;
  const mark = prep.mark;
  const entry = amountToNumber(position.entryPrice);
  let quantity = amountToNumber(position.quantity);
  if (position.settlement === 'inverse') {
    if (position.contractSize === undefined) {
      throw new ValuationError(accountId, 'an inverse position needs contractSize', {
        positionIndex: i,
        instrument: position.instrument,
      });
    }
    // Quote P&L of C inverse contracts is C·cs·(F/E − 1) = (C·cs/E)·(F − E): linear in F.
    quantity = (quantity * amountToNumber(position.contractSize)) / entry;
  }
  const magnitude = Math.abs(quantity) * (mark + entry);
  const pnl = quantity * (mark - entry);
  if (!Number.isFinite(pnl) || !Number.isFinite(magnitude)) throw notFinite(accountId, pnl, at(i, position));
  equity.add(unitsDown(pnl, magnitude));
  // An expired dated future has settled (at the mark, here): its P&L counts, it carries no risk.
  if (position.expiry !== undefined && expiryOf(p, position.expiry).ms <= asOf) return;
  const g = groupFor(prep);
  g.futuresQuantity += quantity;
  g.gross += magnitude;
}

/** An option: its Black-76 mark (or intrinsic value once expired) to equity, its leg to its group. */
function addOption(
  accountId: string,
  position: OptionPosition,
  i: number,
  prep: PreparedInstrument,
  p: Prepared,
  asOf: number,
): void {
  const equity = EQUITY;
  const rate = p.policy.riskFreeRate;
  const mark = prep.mark;
  const isCall = position.optionType === 'call';
  const strike = amountToNumber(position.strike);
  const quantity = amountToNumber(position.quantity);
  const expiryDate = expiryOf(p, position.expiry);
  const expiry = expiryDate.ms;
  const magnitude = Math.abs(quantity) * (mark + strike);
  if (!Number.isFinite(magnitude) || !Number.isFinite(expiry))
    throw notFinite(accountId, magnitude, at(i, position));
  if (expiry <= asOf) {
    // Expired: settles at intrinsic value against the current mark; no requirement.
    const intrinsic = isCall ? Math.max(mark - strike, 0) : Math.max(strike - mark, 0);
    equity.add(unitsDown(quantity * intrinsic, magnitude));
    return;
  }
  const volatility = position.markVolatility ?? prep.fallbackVolatility;
  if (!(volatility > 0) || !Number.isFinite(volatility)) {
    throw new ValuationError(
      accountId,
      `no usable volatility for options on ${position.instrument}`,
      at(i, position),
    );
  }
  const years = (expiry - asOf) / YEAR_MS;
  black76PriceAndDelta(isCall, mark, strike, years, volatility, rate, MARK);
  const value = MARK[0] as number;
  equity.add(unitsDown(quantity * value, magnitude));
  const g = groupFor(prep);
  g.optionDelta += quantity * (MARK[1] as number);
  g.gross += magnitude;
  const leg = g.addOption();
  leg.isCall = isCall;
  leg.strike = strike;
  leg.expiry = expiry;
  leg.expiryDate = expiryDate;
  leg.years = years;
  leg.days = (expiry - asOf) / DAY_MS;
  leg.quantity = quantity;
  leg.volatility = volatility;
  leg.value = value;
}

/** Each group's initial and maintenance requirement (and its detail, when asked), summed in minor units. */
function addRequirements(
  accountId: string,
  p: Prepared,
  asOf: number,
  details: GroupRequirement[] | null,
): void {
  const initial = INITIAL.reset();
  const maintenance = MAINTENANCE.reset();
  for (let k = 0; k < groupCount; k++) {
    const g = GROUPS[k] as Group;
    const prep = g.prep;
    const mark = prep.mark;
    const netDelta = g.futuresQuantity + g.optionDelta;
    const notional = Math.abs(netDelta) * mark;
    const liquidity = liquidityMultiple(prep, notional);
    const imRate = initialRate(prep, notional);
    const mmRate = maintenanceRate(prep, notional);
    let loss: number;
    let worst: number | null = null;
    let minimum = 0;
    // Bound on the float error of the group's sums, scaled by the factors applied after them.
    let scale: number;
    if (g.optionCount === 0) {
      const multiple = netDelta > 0 ? prep.longLossMultiple : prep.shortLossMultiple;
      loss = notional * prep.scanRange * multiple;
      g.initial = notional * imRate * multiple * liquidity;
      g.maintenance = notional * mmRate * multiple * liquidity;
      scale = g.gross * imRate * multiple * liquidity;
    } else {
      loss = gridLoss(g, p, asOf);
      worst = worstScenario;
      minimum = p.policy.shortOptionMinimum * mark * shortOptionCount(g.options, g.optionCount);
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
        sizingNotional: notional,
        optionCount: g.optionCount,
        scenarioLoss: loss,
        worstScenario: worst,
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

/** Offsets, totals, shortfall and ratio of the account valued into the scratch state. */
function result(accountId: string, p: Prepared, details: GroupRequirement[] | null): AccountValuation {
  const equity = EQUITY;
  const initial = INITIAL;
  const maintenance = MAINTENANCE;
  let offsets: OffsetCredit[] | null = null;
  if (groupCount > 1 && p.correlations.size > 0) {
    offsets = offsetCredits(GROUPS.slice(0, groupCount), p);
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

/** Where a position is, for an error. */
function at(positionIndex: number, position: { readonly instrument: string }): ValuationErrorLocation {
  return { positionIndex, instrument: position.instrument };
}

function notFinite(accountId: string, value: number, location: ValuationErrorLocation): ValuationError {
  return new ValuationError(accountId, `amount is not a finite number (${value})`, location);
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

// ---------------------------------------------------------------------------------------------------------
// Scenario revaluation, short option minimum, offsets.

/** 1-based grid scenario of the last `gridLoss`, null when none loses (returned without an object). */
let worstScenario: number | null = null;
/** Scratch for one option's volatilities: same, up, down (the grid's `volIndex` 0, 1, 2). */
const LEG_VOLATILITIES = new Float64Array(3);

/**
 * Worst weighted loss of the group over the grid at the instrument's scan range; its scenario is left in
 * `worstScenario`. Each option is priced across the grid by `black76ScenarioPrices` (per price level, not
 * per scenario, for the shared logarithms), which returns exactly what `black76Price` would.
 */
function gridLoss(g: Group, p: Prepared, asOf: number): number {
  const { volIndex, weights } = p.grid;
  const parameters = p.grid.parameters;
  const { pnl, levelMoves, levelOf, levelPrices, values } = p;
  const prep = g.prep;
  const mark = prep.mark;
  const rate = p.policy.riskFreeRate;
  const n = pnl.length;
  for (let l = 0; l < levelMoves.length; l++) {
    levelPrices[l] = Math.max(mark * (1 + (levelMoves[l] as number) * prep.scanRange), 0);
  }
  for (let j = 0; j < n; j++) {
    pnl[j] = g.futuresQuantity * ((levelPrices[levelOf[j] as number] as number) - mark);
  }
  const volatilities = LEG_VOLATILITIES;
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
    );
    const quantity = leg.quantity;
    const value = leg.value;
    for (let j = 0; j < n; j++) pnl[j] = (pnl[j] as number) + quantity * ((values[j] as number) - value);
  }
  let loss = 0;
  worstScenario = null;
  for (let j = 0; j < n; j++) {
    const scenarioLoss = -(weights[j] as number) * (pnl[j] as number);
    if (scenarioLoss > loss) {
      loss = scenarioLoss;
      worstScenario = j + 1;
    }
  }
  return loss;
}

/** Above this many legs in a group, series are netted through a Map rather than by comparing every pair. */
const PAIRWISE_NETTING_LEGS = 32;

/**
 * max(Σ net short calls, Σ net short puts), netting each series (type, strike, expiry) first. A group holds
 * a handful of legs, so series are found by comparing legs, with no key strings built; each series is summed
 * in leg order from 0 and the series taken in order of first appearance, exactly as the Map does for large
 * groups.
 */
function shortOptionCount(legs: readonly OptionLeg[], count: number): number {
  if (count === 1) {
    const leg = legs[0] as OptionLeg;
    return leg.quantity < 0 ? -leg.quantity : 0;
  }
  if (count > PAIRWISE_NETTING_LEGS) return shortOptionCountByKey(legs, count);
  let calls = 0;
  let puts = 0;
  outer: for (let o = 0; o < count; o++) {
    const leg = legs[o] as OptionLeg;
    for (let e = 0; e < o; e++) if (sameSeries(legs[e] as OptionLeg, leg)) continue outer; // netted already
    let quantity = 0 + leg.quantity;
    for (let later = o + 1; later < count; later++) {
      const other = legs[later] as OptionLeg;
      if (sameSeries(other, leg)) quantity += other.quantity;
    }
    if (quantity >= 0) continue;
    if (leg.isCall) calls -= quantity;
    else puts -= quantity;
  }
  return Math.max(calls, puts);
}

function shortOptionCountByKey(legs: readonly OptionLeg[], count: number): number {
  const net = new Map<string, number>();
  for (let o = 0; o < count; o++) {
    const leg = legs[o] as OptionLeg;
    const key = `${leg.isCall ? 'C' : 'P'}|${leg.strike}|${leg.expiry}`;
    net.set(key, (net.get(key) ?? 0) + leg.quantity);
  }
  let calls = 0;
  let puts = 0;
  for (const [key, quantity] of net) {
    if (quantity >= 0) continue;
    if (key.startsWith('C')) calls -= quantity;
    else puts -= quantity;
  }
  return Math.max(calls, puts);
}

function sameSeries(a: OptionLeg, b: OptionLeg): boolean {
  return a.isCall === b.isCall && a.strike === b.strike && a.expiry === b.expiry;
}

/**
 * Correlation credits between opposite-direction groups (or same-direction ones with negative ρ). Pairs are
 * taken strongest hedge first; each pair's credit is min(strength, cap) × the smaller of the two remaining
 * requirements, and that smaller amount is then used up on both sides, so no requirement is credited twice
 * and the total never goes below zero.
 */
function offsetCredits(groups: readonly Group[], p: Prepared): OffsetCredit[] {
  const pairs: { i: number; j: number; strength: number }[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i] as Group;
      const b = groups[j] as Group;
      const rho = p.correlations.get(pairKey(a.prep.instrument, b.prep.instrument));
      if (rho === undefined) continue;
      const strength = -rho * a.direction * b.direction;
      if (strength > 0) pairs.push({ i, j, strength });
    }
  }
  const name = (k: number) => (groups[k] as Group).prep.instrument;
  pairs.sort(
    (x, y) =>
      y.strength - x.strength || pairKey(name(x.i), name(x.j)).localeCompare(pairKey(name(y.i), name(y.j))),
  );
  const remainingInitial = groups.map((g) => g.initial);
  const remainingMaintenance = groups.map((g) => g.maintenance);
  const share = (strength: number) => Math.min(strength, p.policy.offsetCreditCap);
  return pairs.map(({ i, j, strength }) => {
    const initial = Math.min(remainingInitial[i] as number, remainingInitial[j] as number);
    const maintenance = Math.min(remainingMaintenance[i] as number, remainingMaintenance[j] as number);
    remainingInitial[i] = (remainingInitial[i] as number) - initial;
    remainingInitial[j] = (remainingInitial[j] as number) - initial;
    remainingMaintenance[i] = (remainingMaintenance[i] as number) - maintenance;
    remainingMaintenance[j] = (remainingMaintenance[j] as number) - maintenance;
    const [a, b] = [name(i), name(j)].sort() as [string, string];
    return {
      a,
      b,
      strength,
      initialCredit: share(strength) * initial,
      maintenanceCredit: share(strength) * maintenance,
    };
  });
}
