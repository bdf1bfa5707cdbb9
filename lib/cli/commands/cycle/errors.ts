/** How a local cycle fails: the errors `qmt start` exits 1 with, each naming its cause. */
import { QmtError } from '../../../domain/errors.ts';

export interface FailedSegment {
  readonly runId: string;
  readonly segment: number;
  readonly reason: string;
}

/** A local run that did not complete (exit code 1): the cause is in the message. */
export class LocalRunError extends QmtError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalRunError';
  }
}

/** One or more sweep segments failed; each is named with its cause, and recorded in the ops outbox. */
export class SweepFailedError extends LocalRunError {
  constructor(
    readonly failed: readonly FailedSegment[],
    opsFile: string,
  ) {
    super(
      `${failed.length} sweep segment(s) failed: ` +
        failed.map((f) => `segment ${f.segment} of ${f.runId}: ${f.reason}`).join('; ') +
        `; recorded in ${opsFile}`,
    );
    this.name = 'SweepFailedError';
  }
}

/** An error's name and message as one line for the terminal, without a bare `Error:` prefix. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
}
