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
 *  5. Then the daily backtest (EMIR Art. 49): each instrument's last 250 scored days with the policy in
 *     force, stored beside the set, a metric per instrument, a summary to the ops topic. Best effort too:
 *     a backtest that fails is reported (log, metric, ops event) and never undoes the set or the sweep.
 */
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { DynamoDbIdempotencyStore } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { createConsensusSource } from '../../lib/adapters/market/index.ts';
import { catalogueFromDiscovered, VenueInstrumentLists } from '../../lib/adapters/market/instrument-lists.ts';
import { runDailyBacktest } from '../../lib/app/daily-backtest.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { startSweep } from '../../lib/app/start-sweep.ts';
import { type Environment, loadRuntimeConfig, type RuntimeDocumentText } from '../../lib/config/runtime.ts';
import { zoneLevel } from '../../lib/domain/backtest/daily-report.ts';
import type { DiscoveredCatalogue } from '../../lib/domain/market/instrument-catalogue.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
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
      readonly backtest: BacktestOutcome;
    };

/** The daily backtest's outcome as the function reports it (the full report is stored with the set). */
export type BacktestOutcome =
  | {
      readonly status: 'completed';
      /** The worst zone: `green`, `yellow` (Basel's amber) or `red`. */
      readonly zone: string;
      readonly instruments: readonly {
        readonly instrument: string;
        readonly zone: string;
        readonly longBreaches: number;
        readonly shortBreaches: number;
        readonly observations: number;
      }[];
      readonly failed: readonly { readonly instrument: string; readonly reason: string }[];
      /** Why the report was not stored, when it was not. */
      readonly notStored?: string;
    }
  | { readonly status: 'failed'; readonly reason: string }
  | { readonly status: 'disabled' };

/**
 * Time kept back from the function's timeout when the backtest starts an instrument: one walk over ten years
 * takes tens of seconds, and a timeout would lose the whole report.
 */
export const BACKTEST_TIME_RESERVE_MS = 120_000;

export type SweepKick =
  | { readonly status: 'started'; readonly runId: string; readonly totalSegments: number }
  | { readonly status: 'failed'; readonly runId: string; readonly reason: string }
  | { readonly status: 'not-configured' };

export interface RecalibrateHandlerOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** The configuration document, when it came from AppConfig (`withLiveConfig`). @default read from `env` */
  readonly document?: RuntimeDocumentText;
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
  const config = loadRuntimeConfig(options.env ?? process.env, {
    require: ['opsTopicArn', 'instruments'],
    ...(options.document && { document: options.document }),
  });
  const observability = options.observability ?? createObservability('recalibrate');
  const { logger, metrics } = observability;
  const ports = adapters(config, options.adapters);

  // Hourly bars for an hourly MPOR, kept beside the daily ones. A test's market alone stands for both (a
  // sub-day MPOR on its daily bars is held), so it never reaches the venues.
  const hourlyMarket = () =>
    options.adapters?.keptHourlyMarket ??
    (options.adapters?.market === undefined ? ports.keptHourlyMarket : undefined);

  const runOnce = async (event: ScheduledEvent, context: Context): Promise<RecalibrationSummary> => {
    const runId = event.scheduledTime;
    const discovery = config.discovery;
    // Notes left by an earlier run in this container were reported by it (or belong to a failed run).
    drainCandleNotes();
    const result = await recalibrate(
      {
        // A market given by a test is used as is; otherwise each venue's candles are kept in the store.
        market: options.adapters?.market ?? ports.keptMarket,
        ...(hourlyMarket() && { intradayMarket: hourlyMarket() }),
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
    const backtest = await backtestSet(result.set, context);
    // The backtest reads the kept candles too: a revision it met is reported like the recalibration's.
    await reportCandleNotes(runId);
    return {
      outcome: 'published',
      runId,
      setId: result.set.setId,
      instruments: result.set.thresholds.length,
      held,
      sweep,
      backtest,
    };
  };

  const backtestSet = async (set: ThresholdSet, context: Context): Promise<BacktestOutcome> => {
    if (!config.backtest.enabled) return { status: 'disabled' };
    try {
      const { report, notStored, notPublished, walks, walksNotKept } = await runDailyBacktest(
        {
          // The candles the recalibration just kept, read from the store. Each venue is still asked again for
          // the store's short re-check window (one request per venue and instrument; see docs/SCALE.md).
          market: options.adapters?.market ?? ports.keptMarket,
          reports: ports.backtestReports,
          ops: ports.ops,
          clock: ports.clock,
        },
        {
          set,
          instruments: config.instruments,
          scoredDays: config.backtest.scoredDays,
          deadline: ports.clock.now() + context.getRemainingTimeInMillis() - BACKTEST_TIME_RESERVE_MS,
        },
      );
      for (const instrument of report.instruments) {
        // One metric per instrument (dimension `instrument`), so a dashboard shows which one left green.
        const single = metrics.singleMetric();
        single.addDimension('instrument', instrument.instrument);
        single.addMetric(METRIC.BacktestZone, MetricUnit.Count, zoneLevel(instrument.zone));
        single.addMetric(
          METRIC.BacktestBreaches,
          MetricUnit.Count,
          instrument.long.breaches + instrument.short.breaches,
        );
      }
      const outOfGreen = report.instruments.filter((i) => i.zone !== 'green');
      count(metrics, METRIC.BacktestsOutOfGreen, outOfGreen.length);
      count(metrics, METRIC.BacktestsFailed, report.failed.length + (notStored === undefined ? 0 : 1));
      const walkedInFull = walks.filter((w) => w.walk === 'full');
      const details = {
        setId: set.setId,
        zone: report.zone,
        continued: walks.length - walkedInFull.length,
        walkedInFull: walkedInFull.map((w) => `${w.instrument}: ${w.walk === 'full' ? w.reason : ''}`),
        ...(walksNotKept === undefined ? {} : { walksNotKept }),
        outOfGreen: outOfGreen.map((i) => `${i.instrument} ${i.zone}`),
        failed: report.failed,
        ...(notStored === undefined ? {} : { notStored }),
        ...(notPublished === undefined ? {} : { notPublished }),
      };
      if (outOfGreen.length > 0 || report.failed.length > 0 || notStored || notPublished || walksNotKept) {
        logger.warn('daily backtest: not all green, or not all run', details);
      } else {
        logger.info('daily backtest: all green', details);
      }
      return {
        status: 'completed',
        zone: report.zone,
        instruments: report.instruments.map((i) => ({
          instrument: i.instrument,
          zone: i.zone,
          longBreaches: i.long.breaches,
          shortBreaches: i.short.breaches,
          observations: i.observations,
        })),
        failed: report.failed,
        ...(notStored === undefined ? {} : { notStored }),
      };
    } catch (error) {
      // The set is published and the sweep started: a failed backtest is reported, never rethrown.
      const reason = describeError(error);
      logger.error('daily backtest failed', { setId: set.setId, error: reason });
      count(metrics, METRIC.BacktestsFailed, 1);
      await ports.ops
        .publish({ type: 'backtest.failed', runId: set.runId, setId: set.setId, reason })
        .catch(() => undefined);
      return { status: 'failed', reason };
    }
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
