/**
 * The SNS client, created once per Lambda container (or process) and reused by every invocation, so
 * connections and credentials are kept warm between invocations.
 */
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';

/**
 * Time limits for one SNS call. Publish is small and SNS answers in tens of milliseconds, so a call that
 * takes seconds is stuck: abandon it and let the adapter's retry (with backoff and a deadline) try again.
 */
export const SNS_TIMEOUTS = { connectionTimeoutMs: 1_000, requestTimeoutMs: 5_000 } as const;

let shared: SNSClient | undefined;

/**
 * The shared SNS client. The SDK's own retries are off (`maxAttempts: 1`): the SNS adapters retry with
 * the project's backoff, jitter and deadline, and two stacked retry loops would multiply attempts and blow
 * past the deadline. Region and credentials come from the environment (Lambda sets them); a local
 * endpoint can be set with the SDK's standard `AWS_ENDPOINT_URL_SNS`.
 *
 * @example
 * const publisher = new SnsAlertPublisher({ client: snsClient(), topicArn: process.env.ALERTS_TOPIC_ARN ?? '' });
 */
export function snsClient(overrides: SNSClientConfig = {}): SNSClient {
  shared ??= createSnsClient(overrides);
  return shared;
}

/**
 * A new SNS client with qmt's timeouts; prefer `snsClient()` in handlers so the client is reused.
 *
 * @example
 * const client = createSnsClient({ region: 'eu-west-1' });
 */
export function createSnsClient(overrides: SNSClientConfig = {}): SNSClient {
  return new SNSClient({
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: SNS_TIMEOUTS.connectionTimeoutMs,
      requestTimeout: SNS_TIMEOUTS.requestTimeoutMs,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
      httpsAgent: { keepAlive: true, maxSockets: 50 },
    },
    ...overrides,
  });
}

/** Forget the shared client (tests only). */
export function resetSnsClientForTests(): void {
  shared?.destroy();
  shared = undefined;
}
