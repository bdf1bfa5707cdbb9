/**
 * Perpetuals and dated futures, linear or inverse: the P&L at the mark to equity, the quantity (base units)
 * to the instrument's group, whose loss is then closed form on the grid (or part of the grid revaluation
 * when the group holds options).
 */
import type { FuturePosition } from '../account/account.ts';
import { ValuationError } from './errors.ts';
import { at, notFinite } from './failures.ts';
import type { PreparedInstrument } from './instrument.ts';
import { amountToNumber, unitsDown } from './money.ts';
import type { PositionPricer, PricingScratch } from './pricers.ts';

/** A perpetual or dated future: its P&L to equity, its quantity (base units) to its group. */
function valueFuture(
  scratch: PricingScratch,
  accountId: string,
  position: FuturePosition,
  i: number,
  prep: PreparedInstrument,
  asOf: number,
): void {
  const equity = scratch.equity;
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
  if (position.expiry !== undefined && scratch.instruments.expiry(position.expiry).ms <= asOf) return;
  const g = scratch.groups.groupFor(prep);
  g.futuresQuantity += quantity;
  g.gross += magnitude;
}

export const futurePricer: PositionPricer<FuturePosition> = { value: valueFuture };
