/**
 * Which AWS failures are worth another try, for every adapter that retries AWS calls itself (DynamoDB
 * batches, SNS publishes, SQS sends). The rules are the AWS SDK's own (`@smithy/core/retry`, the
 * service-error classification its standard retry mode uses), so qmt's loops and the SDK's agree on what a
 * throttle or a server fault is, and a new throttling code AWS adds reaches qmt with an SDK upgrade.
 */
import { isServerError, isThrottlingError, isTransientError } from '@smithy/core/retry';

type SdkError = Parameters<typeof isTransientError>[0];

/**
 * Service-side names the SDK classifies by HTTP status alone (so an error built without one, as a mock
 * or a middleware builds it, would be missed) and KMS throttles, which SNS and SQS answer with a 400.
 */
const ALSO_TRANSIENT = new Set([
  'InternalServerError',
  'InternalErrorException',
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSThrottlingException',
  'KmsThrottled',
  'KMS.ThrottlingException',
]);

/**
 * True for throttling, 5xx, timeouts and dropped connections: a later identical call may succeed.
 * Validation, authorisation, missing resources and failed conditions are final.
 *
 * @example
 * isTransientAwsError(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} })); // true
 */
export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const sdkError = error as SdkError & { readonly $fault?: unknown };
  if (ALSO_TRANSIENT.has(sdkError.name) || sdkError.$fault === 'server') return true;
  return isThrottlingError(sdkError) || isTransientError(sdkError) || isServerError(sdkError);
}

/** An AWS error as one short line for a report: its name and message, cut at 300 characters. */
export function errorReason(error: unknown): string {
  const { name, message } =
    typeof error === 'object' && error !== null ? (error as { name?: unknown; message?: unknown }) : {};
  const label = typeof name === 'string' && name ? name : 'Error';
  const text = typeof message === 'string' ? message : String(error);
  const reason = text ? `${label}: ${text}` : label;
  return reason.length > 300 ? `${reason.slice(0, 297)}...` : reason;
}
