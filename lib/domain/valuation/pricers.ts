/**
 * Position kinds and their pricers. A pricer values one position of an account: its mark (or P&L) goes to
 * the account's equity, its risk to its instrument's group (a delta-one quantity, or an option leg that the
 * scenario grid revalues). The valuer looks the pricer up by the position's `kind`; a new kind of position
 * is a new entry here (and its schema in `lib/domain/account/account.ts`).
 */
import type { Position } from '../account/account.ts';
import { futurePricer } from './future-pricer.ts';
import type { Groups } from './group.ts';
import type { PreparedInstrument } from './instrument.ts';
import type { InstrumentCache } from './instrument-cache.ts';
import type { UnitSum } from './money.ts';
import { optionPricer } from './option-pricer.ts';
import type { ValuationPolicy } from './policy.ts';

/** What a pricer writes into and reads from: the scratch of the valuer pricing the account. */
export interface PricingScratch {
  readonly policy: ValuationPolicy;
  readonly instruments: InstrumentCache;
  /** The account's equity so far (minor units, exact). */
  readonly equity: UnitSum;
  /** The account's groups so far. */
  readonly groups: Groups;
  /** Two slots a pricer may use for a value and its delta. */
  readonly pair: Float64Array;
}

export interface PositionPricer<P extends Position = Position> {
  /**
   * Value the account's position `index` (at `asOf`, epoch ms) on its prepared instrument. Throws
   * `ValuationError` naming the account and the position when it cannot be valued.
   */
  value(
    scratch: PricingScratch,
    accountId: string,
    position: P,
    index: number,
    prep: PreparedInstrument,
    asOf: number,
  ): void;
}

type PricerMap = { readonly [K in Position['kind']]: PositionPricer<Extract<Position, { kind: K }>> };

/** The pricer of each position kind. */
export const POSITION_PRICERS: PricerMap = {
  perpetual: futurePricer,
  future: futurePricer,
  option: optionPricer,
};

/** The pricer for `position`'s kind. */
export function pricerOf(position: Position): PositionPricer {
  return POSITION_PRICERS[position.kind] as PositionPricer;
}
