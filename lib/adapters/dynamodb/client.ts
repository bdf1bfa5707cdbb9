/**
 * The DynamoDB client: one per container (Lambda reuses it across invocations, keeping its TLS connections
 * warm), with bounded timeouts so a stuck socket cannot eat a function's whole time budget.
 *
 * One retry layer per call, never two stacked (4 SDK attempts under 12 adapter attempts would be 48):
 * - single-item calls (GetItem, PutItem, Query, UpdateItem, the lease transaction): the SDK's standard
 *   retry, `DEFAULT_CLIENT_OPTIONS.maxAttempts` attempts. It resends with the same idempotency token, so a
 *   lost answer to a transaction that went through is not mistaken for a held lease.
 * - BatchWriteItem and BatchGetItem: the adapter's loop in `batch.ts` only, since the SDK never resends
 *   the UnprocessedItems/UnprocessedKeys a batch hands back, and the loop keeps throttles and unprocessed
 *   entries under one deadline and names what was not done. Those commands go through
 *   `withoutSdkRetries`.
 */
import {
  type BatchGetItemCommand,
  type BatchWriteItemCommand,
  DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** Environment variable that points every DynamoDB client at another endpoint (DynamoDB Local). */
export const DYNAMODB_ENDPOINT_ENV = 'QMT_DYNAMODB_ENDPOINT';

export interface DynamoDbClientOptions {
  /** Endpoint override, e.g. `http://127.0.0.1:8000` for DynamoDB Local. */
  readonly endpoint?: string;
  readonly region?: string;
  /** SDK attempts per call, the first included (standard retry mode: backoff with jitter on throttles/5xx). */
  readonly maxAttempts?: number;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
}

export const DEFAULT_CLIENT_OPTIONS = {
  maxAttempts: 4,
  // Connecting to a regional endpoint takes milliseconds; a second means the network is broken.
  connectionTimeoutMs: 1_000,
  // A 1 MB Scan or Query page comes back well within this; longer means retry on a fresh connection.
  requestTimeoutMs: 5_000,
} as const;

/**
 * DynamoDB Local is a JVM on the same machine: on a loaded laptop or CI box it can take seconds to accept a
 * connection, which says nothing about a broken network, so a loopback endpoint gets longer to connect.
 */
const LOOPBACK_CONNECTION_TIMEOUT_MS = 5_000;

/** A new client. Prefer `sharedDynamoDbClient()` in handlers. */
export function createDynamoDbClient(options: DynamoDbClientOptions = {}): DynamoDBClient {
  const endpoint = options.endpoint;
  return new DynamoDBClient({
    ...(endpoint && { endpoint }),
    // DynamoDB Local accepts any credentials; without these the default chain fails on a laptop with none.
    ...(endpoint && !process.env.AWS_ACCESS_KEY_ID && isLoopback(endpoint)
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
    region: options.region ?? process.env.AWS_REGION ?? 'us-east-1',
    maxAttempts: options.maxAttempts ?? DEFAULT_CLIENT_OPTIONS.maxAttempts,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout:
        options.connectionTimeoutMs ??
        (endpoint && isLoopback(endpoint)
          ? LOOPBACK_CONNECTION_TIMEOUT_MS
          : DEFAULT_CLIENT_OPTIONS.connectionTimeoutMs),
      requestTimeout: options.requestTimeoutMs ?? DEFAULT_CLIENT_OPTIONS.requestTimeoutMs,
      // Without this a request timeout only logs a warning and the call hangs on.
      throwOnRequestTimeout: true,
    },
  });
}

/** Client options from the environment (`QMT_DYNAMODB_ENDPOINT`, `AWS_REGION`). */
export function clientOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DynamoDbClientOptions {
  const endpoint = env[DYNAMODB_ENDPOINT_ENV];
  const region = env.AWS_REGION;
  return { ...(endpoint && { endpoint }), ...(region && { region }) };
}

let shared: DynamoDBClient | undefined;

/** The container's client, created on first use from the environment. */
export function sharedDynamoDbClient(): DynamoDBClient {
  shared ??= createDynamoDbClient(clientOptionsFromEnv());
  return shared;
}

function isLoopback(endpoint: string): boolean {
  try {
    const host = new URL(endpoint).hostname;
    return host === 'localhost' || host === '127.0.0.1' || host === '[::1]' || host === '::1';
  } catch {
    return false;
  }
}

/**
 * `command`, with the client's retry loop replaced by a single attempt for this command only (the SDK's
 * `override` of its `retryMiddleware`), for the batch calls the adapter retries itself. Other commands on
 * the same client keep the SDK's retries.
 *
 * @example
 * await client.send(withoutSdkRetries(new BatchWriteItemCommand(input)));
 */
export function withoutSdkRetries<C extends BatchWriteItemCommand | BatchGetItemCommand>(command: C): C {
  // The stand-in passes any request through untouched, so the client's wider stack type fits it.
  const stack = command.middlewareStack as unknown as DynamoDBClient['middlewareStack'];
  stack.add((next) => (args) => next(args), {
    name: 'retryMiddleware',
    tags: ['RETRY'],
    step: 'finalizeRequest',
    priority: 'high',
    override: true,
  });
  return command;
}
