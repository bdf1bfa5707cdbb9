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
import { stressSegmentMessageSchema } from '../../lib/adapters/sqs/stress-queue.ts';
import {
  type StressRunPorts,
  startStressRun,
  stressMarketFromSet,
  stressSegment,
} from '../../lib/app/stress-run.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { type Environment, loadRuntimeConfig } from '../../lib/config/runtime.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import { parseUnits, unitsToNumber } from '../../lib/domain/valuation/money.ts';
import type { StoredStressReport } from '../../lib/ports.ts';
import { type Adapters, adapters } from '../shared/adapters.ts';
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
  readonly adapters?: Partial<Adapters>;
  readonly stores: StressStores;
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
export function createStressHandler(options: StressHandlerOptions): StressHandler {
  const config = loadRuntimeConfig(options.env ?? process.env, { require: ['opsTopicArn'] });
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
  const runPorts: StressRunPorts = { ...options.stores, accounts: ports.accounts, ops: ports.ops };
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
