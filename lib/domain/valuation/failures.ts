/** The `ValuationError`s the pricers and the valuer raise, built in one place so they read alike. */
import { ValuationError, type ValuationErrorLocation } from './errors.ts';

/** Where a position is, for an error. */
export function at(positionIndex: number, position: { readonly instrument: string }): ValuationErrorLocation {
  return { positionIndex, instrument: position.instrument };
}

export function notFinite(
  accountId: string,
  value: number,
  location: ValuationErrorLocation,
): ValuationError {
  return new ValuationError(accountId, `amount is not a finite number (${value})`, location);
}
