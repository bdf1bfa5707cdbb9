/**
 * The daily stress run (`lib/app/stress-run.ts`) in one function, invoked two ways:
 *
 *  - by its schedule (`{ "scheduledTime": … }`, or `{}` by hand): stress the CURRENT threshold set with the
 *    configured shocks (`stress` in the configuration) and queue round 0 for every segment;
 *  - by its SQS queue: one message per segment and step. A record that fails (the table throttled, say) is
 *    reported as a batch item failure: SQS redelivers it, then moves it to the dead-letter queue, and the
 *    run waits for it — it never reduces, nor reports, part of the book.
 *
 * One function for both: they need the same table, queue and topic, so one role is as narrow as two.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  DynamoDbStressReportStore,
  DynamoDbStressRunStore,
} from '../../lib/adapters/dynamodb/stress-run-store.ts';
import {
  SqsStressQueue,
  STRESS_QUEUE_URL_ENV,
  stressSegmentMessageSchema,
} from '../../lib/adapters/sqs/stress-queue.ts';
import {
  type StressRunPorts,
  startStressRun,
  stressMarketFromSet,
  stressSegment,
} from '../../lib/app/stress-run.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { type Environment, loadRuntimeConfig, type RuntimeDocumentText } from '../../lib/config/runtime.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import { parseUnits, unitsToNumber } from '../../lib/domain/valuation/money.ts';
import type { StoredStressReport } from '../../lib/ports.ts';
import { type Adapters, adapters } from '../shared/adapters.ts';
import { dynamoDbClient, sqsClient } from '../shared/clients.ts';
import { coordinatorEventSchema, parseEvent, parseJsonEvent, refuseFarFuture } from '../shared/events.ts';
import {
  count,
  createObservability,
  describeError,
  METRIC,
  type Observability,
  observedHandler,
} from '../shared/observability.ts';

/** The run's own stores and queue (the rest comes from the shared adapters). */
export type StressStores = Pick<StressRunPorts, 'runs' | 'queue' | 'reports'>;

export interface StressHandlerOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** The configuration document, when it came from AppConfig (`withLiveConfig`). @default read from `env` */
  readonly document?: RuntimeDocumentText;
  readonly adapters?: Partial<Adapters>;
  /** @default the DynamoDB stores on the runs and thresholds tables, the SQS queue at `QMT_STRESS_QUEUE_URL` */
  readonly stores?: StressStores;
  readonly observability?: Observability;
}

export type StressStarted = { readonly runId: string; readonly setId: string; readonly started: boolean };
export type StressHandler = (event: unknown, context: Context) => Promise<SQSBatchResponse | StressStarted>;

/**
 * Build the handler; the configuration (with its `stress` section) is read and validated now.
 *
 * @example
 * export const handler = createStressHandler({ stores });
 */
export function createStressHandler(options: StressHandlerOptions = {}): StressHandler {
  const config = loadRuntimeConfig(options.env ?? process.env, {
    require: ['opsTopicArn'],
    ...(options.document && { document: options.document }),
  });
  if (options.stores === undefined) stressQueueUrl(options.env ?? process.env); // fail the start, naming it
  const stress = config.stress;
  if (stress === undefined) {
    throw new ConfigError(
      'stress: the stress run needs "stress": { "shocks", "insuranceFund" } in the configuration',
      'stress',
    );
  }
  const observability = options.observability ?? createObservability('stress-run');
  const { logger, metrics } = observability;
  const ports = adapters(config, options.adapters);
  const env = options.env ?? process.env;
  const stores = options.stores ?? awsStores(config.tables, env);
  const runPorts: StressRunPorts = { ...stores, accounts: ports.accounts, ops: ports.ops };
  const settings = {
    insuranceFund: stress.insuranceFund,
    ...(config.sweep.pageSize === undefined ? {} : { pageSize: config.sweep.pageSize }),
  };
  const processor = new BatchProcessor(EventType.SQS);

  const start = async (event: unknown): Promise<StressStarted> => {
    const scheduled = parseEvent(coordinatorEventSchema, event, 'stress run event');
    refuseFarFuture(scheduled, ports.clock.now(), 'stress run event');
    const now = ports.clock.now();
    // The scheduled time names the run: a repeated delivery of the same schedule starts nothing twice.
    const runId = `stress-${scheduled.scheduledTime ?? new Date(now).toISOString()}`;
    logger.appendKeys({ runId });
    const set = await ports.thresholds.currentSet();
    if (set === undefined) throw new Error(`stress run ${runId}: no CURRENT threshold set to stress`);
    const { market, errors } = stressMarketFromSet(
      set,
      stress,
      config.levels ?? DEFAULT_THRESHOLD_POLICY.levels,
      now,
      config.valuation,
    );
    const { started } = await startStressRun(runPorts, {
      runId,
      setId: set.setId,
      totalSegments: stress.segments,
      market,
      errors,
    });
    logger.info(started ? 'stress run started' : 'stress run already started', { setId: set.setId });
    return { runId, setId: set.setId, started };
  };

  const segmentRecord = async (record: SQSRecord): Promise<void> => {
    const message = parseJsonEvent(stressSegmentMessageSchema, record.body, 'stress segment message');
    try {
      const { report } = await stressSegment(runPorts, settings, message);
      count(metrics, METRIC.StressSegmentsReported, 1);
      if (report !== undefined) completed(report);
    } catch (error) {
      count(metrics, METRIC.StressSegmentsFailed, 1);
      logger.error('stress segment failed; SQS redelivers it and the run waits', {
        runId: message.runId,
        step: message.step,
        segment: message.segment,
        reason: describeError(error),
      });
      throw error;
    }
  };

  const completed = (report: StoredStressReport): void => {
    count(metrics, METRIC.StressRunsCompleted, 1);
    metrics.addMetric(METRIC.StressBadDebt, MetricUnit.NoUnit, unitsToNumber(parseUnits(report.badDebt)));
    count(metrics, METRIC.StressAccountsLiquidated, report.accountsLiquidated);
    count(metrics, METRIC.StressRounds, report.rounds.length);
    count(metrics, METRIC.StressInsuranceFundExceeded, report.exceedsInsuranceFund ? 1 : 0);
    const log = report.exceedsInsuranceFund ? logger.error.bind(logger) : logger.info.bind(logger);
    log('stress run completed', {
      runId: report.runId,
      setId: report.setId,
      badDebt: report.badDebt,
      insuranceFund: report.insuranceFund,
      accountsLiquidated: report.accountsLiquidated,
    });
  };

  return observedHandler(observability, async (event, context) => {
    if (typeof event === 'object' && event !== null && 'Records' in event) {
      return processPartialResponse(event as SQSEvent, segmentRecord, processor, {
        context,
        throwOnFullBatchFailure: false,
      });
    }
    return start(event);
  });
}

/** The stress run's queue URL, from `QMT_STRESS_QUEUE_URL` (set by the stack). */
export function stressQueueUrl(env: Environment): string {
  const url = env[STRESS_QUEUE_URL_ENV]?.trim();
  if (!url || !/^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com(\.cn)?\/\d{12}\/[A-Za-z0-9_-]{1,80}$/.test(url)) {
    throw new ConfigError(
      `QMT_STRESS_QUEUE_URL: the stress run needs its standard SQS queue URL, got ${url ? `"${url}"` : 'nothing'}`,
      STRESS_QUEUE_URL_ENV,
    );
  }
  return url;
}

/** The AWS stores, each client created on first use (importing the handler creates none). */
function awsStores(
  tables: { readonly runs: string; readonly thresholds: string },
  env: Environment,
): StressStores {
  let runs: DynamoDbStressRunStore | undefined;
  let reports: DynamoDbStressReportStore | undefined;
  let queue: SqsStressQueue | undefined;
  const runStore = () => {
    runs ??= new DynamoDbStressRunStore(dynamoDbClient(), tables.runs);
    return runs;
  };
  return {
    runs: {
      create: (state) => runStore().create(state),
      get: (runId) => runStore().get(runId),
      recordSegment: (runId, result) => runStore().recordSegment(runId, result),
      segmentResults: (runId, step) => runStore().segmentResults(runId, step),
      segmentHistory: (runId, segment) => runStore().segmentHistory(runId, segment),
      advance: (next, fromStep) => runStore().advance(next, fromStep),
    },
    reports: {
      save: (setId, runId, report) => {
        reports ??= new DynamoDbStressReportStore(dynamoDbClient(), tables.thresholds);
        return reports.save(setId, runId, report);
      },
    },
    queue: {
      enqueue: (messages) => {
        queue ??= new SqsStressQueue({ client: sqsClient, queueUrl: stressQueueUrl(env) });
        return queue.enqueue(messages);
      },
    },
  };
}
