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
import type { Account } from '../account/account.ts';
import type { AccountValuation, ValuationOptions } from './account-valuation.ts';
import type { MarketSnapshot } from './snapshot.ts';
import { valuerFor } from './valuer.ts';

export {
  AccountValuation,
  type AccountValuationJson,
  type GroupRequirement,
  type OffsetCredit,
  type ValuationOptions,
} from './account-valuation.ts';
export { type AccountValuer, createValuer, valuerFor } from './valuer.ts';

/**
 * Value one account against a snapshot at `asOf` (epoch ms). Throws `ValuationError` (an
 * `AccountRecordError`) naming the account, position or collateral index and instrument or asset when the
 * snapshot lacks a market, an inverse position has no contract size, or an amount is not a finite number.
 * Uses the snapshot's own valuer (`valuerFor`), so valuing against one snapshot never disturbs another.
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
  return valuerFor(snapshot).value(account, asOf, options);
}
