import { AccountRecordError } from '../errors.ts';

/** Where in the record the problem is. */
export interface ValuationErrorLocation {
  /** Index into `account.positions`. */
  readonly positionIndex?: number;
  /** Index into `account.collateral`. */
  readonly collateralIndex?: number;
  readonly instrument?: string;
  readonly asset?: string;
}

/**
 * An account that cannot be valued against a snapshot: an instrument or collateral asset the snapshot has
 * no market for, an inverse position without a contract size, an amount that overflows. Names the account,
 * the position (or collateral) index and the instrument (or asset); the sweep reports it and goes on.
 */
export class ValuationError extends AccountRecordError {
  readonly positionIndex?: number;
  readonly collateralIndex?: number;
  readonly instrument?: string;
  readonly asset?: string;

  constructor(
    accountId: string,
    reason: string,
    location: ValuationErrorLocation = {},
    options?: ErrorOptions,
  ) {
    super(`account ${accountId}${describe(location)}: ${reason}`, accountId, reason, options);
    this.name = 'ValuationError';
    if (location.positionIndex !== undefined) this.positionIndex = location.positionIndex;
    if (location.collateralIndex !== undefined) this.collateralIndex = location.collateralIndex;
    if (location.instrument !== undefined) this.instrument = location.instrument;
    if (location.asset !== undefined) this.asset = location.asset;
  }
}

function describe(location: ValuationErrorLocation): string {
  if (location.positionIndex !== undefined) {
    return `, position ${location.positionIndex}${location.instrument ? ` (${location.instrument})` : ''}`;
  }
  if (location.collateralIndex !== undefined) {
    return `, collateral ${location.collateralIndex}${location.asset ? ` (${location.asset})` : ''}`;
  }
  return location.instrument ? `, instrument ${location.instrument}` : '';
}
