/**
 * How the SNS adapters read a failed call: whether it is worth retrying, and a short reason to report.
 */
import { isTransientAwsError } from '../aws-errors.ts';

/**
 * Errors about the shape of one batch request: only that batch fails, the next batch may be fine.
 * Any other final error (authorisation, missing topic, KMS key) is about the topic, and every later
 * batch would fail the same way.
 */
const BATCH_SHAPE_NAMES = new Set([
  'BatchRequestTooLongException',
  'TooManyEntriesInBatchRequestException',
  'BatchEntryIdsNotDistinctException',
  'InvalidBatchEntryIdException',
  'EmptyBatchRequestException',
  'InvalidParameterException',
  'InvalidParameterValueException',
  'ValidationException',
]);

interface ErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
}

function shape(error: unknown): ErrorShape {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : {};
}

/**
 * True for throttling, 5xx, timeouts and dropped connections: a later identical call may succeed (FIFO
 * topics dedup a resend). The SDK's classification, see `isTransientAwsError`.
 *
 * @example
 * isTransientSnsError(new ThrottledException({ message: 'Rate exceeded', $metadata: {} })); // true
 */
export function isTransientSnsError(error: unknown): boolean {
  return isTransientAwsError(error);
}

/** True if a final error concerns only the batch request that got it (see `BATCH_SHAPE_NAMES`). */
export function isBatchShapeError(error: unknown): boolean {
  const { name } = shape(error);
  return typeof name === 'string' && BATCH_SHAPE_NAMES.has(name);
}

/**
 * `Name: message`, capped in length, for results and logs. SNS error messages name the topic or the
 * caller's role at most; they never carry credentials or message bodies.
 *
 * @example
 * snsErrorReason(new Error('boom')); // 'Error: boom'
 */
export function snsErrorReason(error: unknown): string {
  const { name, message } = shape(error);
  const label = typeof name === 'string' && name.length > 0 ? name : 'Error';
  const text = typeof message === 'string' ? message : String(error);
  const reason = text.length > 0 ? `${label}: ${text}` : label;
  return reason.length > 300 ? `${reason.slice(0, 297)}...` : reason;
}
