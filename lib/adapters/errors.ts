/**
 * Errors only adapters raise, kept out of `lib/domain/errors.ts`: the domain and the use cases never see
 * them, the handlers that call the adapters do (a failed record, a redelivery).
 */
import { QmtError } from '../domain/errors.ts';

/** A batch write or publish that still failed after its retries and deadline: lists what was not done. */
export class IncompleteBatchError extends QmtError {
  constructor(
    message: string,
    readonly failedKeys: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'IncompleteBatchError';
  }
}
