/**
 * The sweep coordinator. EventBridge Scheduler invokes it with `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`
 * (or an operator with `{}`):
 *
 *  1. Validate the event. The run id is the scheduled time, or `sweep-<now>` for a hand-started sweep.
 *  2. Idempotency on the scheduled time, as for recalibration: a repeated delivery queues nothing twice.
 *  3. Size the sweep from the accounts table (DescribeTable), plan the segments, take the sweep's one mark
 *     snapshot (the `marks` source), queue one SQS message per segment carrying it (SendMessageBatch, ten a
 *     call, failed entries retried).
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { DynamoDbIdempotencyStore } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { type SweepStarted, startSweep } from '../../lib/app/start-sweep.ts';
import { type Environment, loadRuntimeConfig, type RuntimeDocumentText } from '../../lib/config/runtime.ts';
import { type Adapters, adapters } from '../shared/adapters.ts';
import { dynamoDbClient } from '../shared/clients.ts';
import {
  type CoordinatorEvent,
  coordinatorEventSchema,
  parseEvent,
  refuseFarFuture,
} from '../shared/events.ts';
import {
  count,
  createObservability,
  METRIC,
  type Observability,
  observedHandler,
} from '../shared/observability.ts';

/** Longer than Scheduler's 24 hours of retries. */
export const IDEMPOTENCY_EXPIRY_SECONDS = 2 * 24 * 3_600;

export interface SweepCoordinatorHandlerOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** The configuration document, when it came from AppConfig (`withLiveConfig`). @default read from `env` */
  readonly document?: RuntimeDocumentText;
  readonly adapters?: Partial<Adapters>;
  readonly observability?: Observability;
  /** @default DynamoDbIdempotencyStore on the runs table */
  readonly idempotencyStore?: BasePersistenceLayer;
}

export type SweepCoordinatorHandler = (event: unknown, context: Context) => Promise<SweepStarted>;

/**
 * Build the handler; the configuration is read and validated now, AWS clients on first use.
 *
 * @example
 * export const handler = createSweepCoordinatorHandler();
 */
export function createSweepCoordinatorHandler(
  options: SweepCoordinatorHandlerOptions = {},
): SweepCoordinatorHandler {
  const config = loadRuntimeConfig(options.env ?? process.env, {
    require: ['sweepQueueUrl'],
    ...(options.document && { document: options.document }),
  });
  const observability = options.observability ?? createObservability('sweep-coordinator');
  const { logger, metrics } = observability;
  const ports = adapters(config, options.adapters);

  const coordinate = async (event: CoordinatorEvent, _context: Context): Promise<SweepStarted> => {
    const runId = event.scheduledTime ?? `sweep-${new Date(ports.clock.now()).toISOString()}`;
    logger.appendKeys({ runId });
    const started = await startSweep(
      {
        accounts: ports.accounts,
        queue: ports.sweepQueue,
        thresholds: ports.thresholds,
        marks: ports.marks,
        clock: ports.clock,
      },
      { runId, sweep: config.sweep },
    );
    count(metrics, METRIC.SegmentsPlanned, started.totalSegments);
    logger.info('sweep started', { ...started });
    return started;
  };

  // Without a scheduledTime (a hand-started sweep) Powertools skips idempotency: each such call is a new sweep.
  const idempotentCoordinate = makeIdempotent(coordinate, {
    persistenceStore:
      options.idempotencyStore ??
      new DynamoDbIdempotencyStore({ client: dynamoDbClient, tableName: config.tables.runs }),
    keyPrefix: 'qmt.sweep-coordinator',
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'scheduledTime',
      expiresAfterSeconds: IDEMPOTENCY_EXPIRY_SECONDS,
      responseHook: (response) => {
        logger.info('repeated delivery of a scheduled event: the sweep was already queued');
        count(metrics, METRIC.DuplicateEvents, 1);
        return response;
      },
    }),
  });

  return observedHandler(observability, async (event, context) => {
    const scheduled = parseEvent(coordinatorEventSchema, event, 'coordinator event');
    refuseFarFuture(scheduled, ports.clock.now(), 'coordinator event');
    return idempotentCoordinate(scheduled, context);
  });
}
