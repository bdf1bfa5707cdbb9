import { QmtError } from '../errors.ts';

/** A stress run that cannot start: a shock on an instrument with no prices, a move of −100% or worse. */
export class StressInputError extends QmtError {
  constructor(
    message: string,
    /** The instrument (or `shocks`) at fault. */
    readonly subject: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StressInputError';
  }
}
