/**
 * The account measure: what valuing an account reports (equity, requirements, shortfall, margin ratio, and
 * on request the per-instrument breakdown and the offsets). Produced by `valueAccount` (`valuation.ts`).
 */
import { formatUnits, type Units } from './money.ts';

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
