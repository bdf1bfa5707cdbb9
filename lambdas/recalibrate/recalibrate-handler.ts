/**
 * The scheduled recalibration. EventBridge Scheduler invokes it with the target input
 * `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`.
 *
 *  1. Validate the event: the scheduled time (ISO, read as its instant; at most a day ahead) is the run id.
 *  2. Idempotency on the scheduled instant (Powertools; records in the runs table): Scheduler delivers at
 *     least once, and a repeated delivery returns the first one's result without running again.
 *  3. Recalibrate every configured instrument (lease, hold on bad data, one pointer flip, ops summary).
 *  4. After a published set, start a sweep of the accounts against it. Best effort: if queueing fails the
 *     recalibration still stands, and the coordinator's own schedule sweeps soon after.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { DynamoDbIdempotencyStore } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { createConsensusSource } from '../../lib/adapters/market/index.ts';
import { catalogueFromDiscovered, VenueInstrumentLists } from '../../lib/adapters/market/instrument-lists.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { startSweep } from '../../lib/app/start-sweep.ts';
import { type Environment, loadRuntimeConfig } from '../../lib/config/runtime.ts';
import type { DiscoveredCatalogue } from '../../lib/domain/market/instrument-catalogue.ts';
import type { InstrumentListSource } from '../../lib/ports.ts';
import { type Adapters, adapters } from '../shared/adapters.ts';
import { dynamoDbClient } from '../shared/clients.ts';
import { parseEvent, refuseFarFuture, type ScheduledEvent, scheduledEventSchema } from '../shared/events.ts';
import {
  count,
  createObservability,
  describeError,
  METRIC,
  type Observability,
  observedHandler,
} from '../shared/observability.ts';

/** Scheduler retries an event for up to 24 hours; the record outlives that, then TTL removes it. */
export const IDEMPOTENCY_EXPIRY_SECONDS = 7 * 24 * 3_600;

/** What the function returns, and what the idempotency record stores for a repeated delivery. */
export type RecalibrationSummary =
  | { readonly outcome: 'skipped'; readonly runId: string; readonly reason: string }
  | {
      readonly outcome: 'published';
      readonly runId: string;
      readonly setId: string;
      readonly instruments: number;
      readonly held: readonly { readonly instrument: string; readonly reason: string }[];
      readonly sweep: SweepKick;
    };

export type SweepKick =
  | { readonly status: 'started'; readonly runId: string; readonly totalSegments: number }
  | { readonly status: 'failed'; readonly runId: string; readonly reason: string }
  | { readonly status: 'not-configured' };

export interface RecalibrateHandlerOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** Replace any adapter (tests: a fixed market). */
  readonly adapters?: Partial<Adapters>;
  readonly observability?: Observability;
  /** @default DynamoDbIdempotencyStore on the runs table */
  readonly idempotencyStore?: BasePersistenceLayer;
  /** The venues' instrument lists, read when the configuration turns discovery on. @default the venues' public APIs */
  readonly instrumentLists?: InstrumentListSource;
}

export type RecalibrateHandler = (event: unknown, context: Context) => Promise<RecalibrationSummary>;

/**
 * Build the handler. Reads and validates the configuration now (module scope: a bad one fails the
 * container's start); creates no AWS client until the first invocation needs one.
 *
 * @example
 * export const handler = createRecalibrateHandler();
 */
export function createRecalibrateHandler(options: RecalibrateHandlerOptions = {}): RecalibrateHandler {
  const config = loadRuntimeConfig(options.env ?? process.env, { require: ['opsTopicArn', 'instruments'] });
  const observability = options.observability ?? createObservability('recalibrate');
  const { logger, metrics } = observability;
  const ports = adapters(config, options.adapters);

  const runOnce = async (event: ScheduledEvent, context: Context): Promise<RecalibrationSummary> => {
    const runId = event.scheduledTime;
    const discovery = config.discovery;
    const result = await recalibrate(
      {
        market: ports.market,
        thresholds: ports.thresholds,
        ledger: ports.ledger,
        ops: ports.ops,
        clock: ports.clock,
        ...(discovery && {
          discovery: {
            lists: options.instrumentLists ?? new VenueInstrumentLists(),
            accounts: ports.accounts,
            // A market a test put in stays; otherwise the consensus reads the discovered names.
            ...(options.adapters?.market === undefined && {
              marketFor: (catalogue: DiscoveredCatalogue) =>
                createConsensusSource(config.venues, {
                  catalogue: catalogueFromDiscovered(catalogue, config.catalogue),
                  ...(config.consensus.tolerance === undefined
                    ? {}
                    : { tolerance: config.consensus.tolerance }),
                  ...(config.consensus.quorum === undefined ? {} : { quorum: config.consensus.quorum }),
                }),
            }),
          },
        }),
      },
      {
        runId,
        holder: context.awsRequestId,
        instruments: config.instruments,
        ...(discovery && { discovery }),
      },
    );
    if (result.outcome === 'skipped') {
      logger.warn('recalibration skipped', { reason: result.reason });
      count(metrics, METRIC.RecalibrationsSkipped, 1);
      return { outcome: 'skipped', runId, reason: result.reason };
    }
    const held = result.held.map(({ instrument, reason }) => ({ instrument, reason }));
    count(metrics, METRIC.InstrumentsRecalibrated, result.set.thresholds.length - held.length);
    count(metrics, METRIC.ThresholdsHeld, held.length);
    logger.info('threshold set published', {
      setId: result.set.setId,
      instruments: result.set.thresholds.length,
      held,
    });
    const sweep = await kickSweep(runId);
    return {
      outcome: 'published',
      runId,
      setId: result.set.setId,
      instruments: result.set.thresholds.length,
      held,
      sweep,
    };
  };

  const kickSweep = async (recalibrationRunId: string): Promise<SweepKick> => {
    if (config.sweepQueueUrl === undefined) return { status: 'not-configured' };
    const runId = `sweep-${recalibrationRunId}`;
    try {
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
      logger.info('sweep started', { sweepRunId: runId, totalSegments: started.totalSegments });
      return { status: 'started', runId, totalSegments: started.totalSegments };
    } catch (error) {
      // The set is published and stays so; the coordinator's schedule will sweep against it.
      logger.error('could not start the sweep after recalibration', {
        sweepRunId: runId,
        error: describeError(error),
      });
      count(metrics, METRIC.SweepStartsFailed, 1);
      return { status: 'failed', runId, reason: describeError(error) };
    }
  };

  const idempotentRun = makeIdempotent(runOnce, {
    persistenceStore:
      options.idempotencyStore ??
      new DynamoDbIdempotencyStore({ client: dynamoDbClient, tableName: config.tables.runs }),
    keyPrefix: 'qmt.recalibrate',
    config: new IdempotencyConfig({
      eventKeyJmesPath: 'scheduledTime',
      throwOnNoIdempotencyKey: true,
      expiresAfterSeconds: IDEMPOTENCY_EXPIRY_SECONDS,
      responseHook: (response) => {
        logger.info('repeated delivery of a scheduled event: returning the first delivery’s result');
        count(metrics, METRIC.DuplicateEvents, 1);
        return response;
      },
    }),
  });

  return observedHandler(observability, async (event, context) => {
    // Validate before idempotency: a malformed event never touches the idempotency store.
    const scheduled = parseEvent(scheduledEventSchema, event, 'scheduled event');
    refuseFarFuture(scheduled, ports.clock.now(), 'scheduled event');
    logger.appendKeys({ runId: scheduled.scheduledTime });
    return idempotentRun(scheduled, context);
  });
}
