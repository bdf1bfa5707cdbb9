/**
 * The scheduled recalibration. EventBridge Scheduler invokes it with the target input
 * `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`.
 *
 *  1. Validate the event: the scheduled time (ISO, read as its instant; at most a day ahead) is the run id.
 *  2. Idempotency on the scheduled instant (Powertools; records in the runs table): Scheduler delivers at
 *     least once, and a repeated delivery returns the first one's result without running again.
 *  3. Recalibrate every configured instrument (lease, hold on bad data, one pointer flip, ops summary), from
 *     candles kept in the candles table (only new bars and a short re-check window are fetched); venues'
 *     revisions of stored bars are reported to ops (`candles.revised`).
 *  4. After a published set, start a sweep of the accounts against it. Best effort: if queueing fails the
 *     recalibration still stands, and the coordinator's own schedule sweeps soon after.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { DynamoDbIdempotencyStore } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { startSweep } from '../../lib/app/start-sweep.ts';
import { type Environment, loadRuntimeConfig } from '../../lib/config/runtime.ts';
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
    // Notes left by an earlier run in this container were reported by it (or belong to a failed run).
    drainCandleNotes();
    const result = await recalibrate(
      {
        // A market given by a test is used as is; otherwise each venue's candles are kept in the store.
        market: options.adapters?.market ?? ports.keptMarket,
        thresholds: ports.thresholds,
        ledger: ports.ledger,
        ops: ports.ops,
        clock: ports.clock,
      },
      { runId, holder: context.awsRequestId, instruments: config.instruments },
    );
    if (result.outcome === 'skipped') {
      logger.warn('recalibration skipped', { reason: result.reason });
      count(metrics, METRIC.RecalibrationsSkipped, 1);
      return { outcome: 'skipped', runId, reason: result.reason };
    }
    await reportCandleNotes(runId);
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

  const drainCandleNotes = () => ({
    revisions: ports.candleNotes.revisions.splice(0),
    warnings: ports.candleNotes.warnings.splice(0),
  });

  /** Venues' revisions of stored candles go to ops; store trouble is logged (the run fetched instead). */
  const reportCandleNotes = async (runId: string) => {
    const { revisions, warnings } = drainCandleNotes();
    for (const warning of warnings) logger.warn('candle store', { warning });
    if (revisions.length === 0) return;
    logger.warn('venues revised stored candles', { revisions: revisions.length });
    try {
      await ports.ops.publish({ type: 'candles.revised', runId, revisions });
    } catch (error) {
      // The set is published from the revised bars; the report is best effort, like the sweep's start.
      logger.error('could not report the revised candles', { error: describeError(error) });
    }
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
