/**
 * Logger and metrics for the functions: Powertools JSON logs (correlated by run id and segment) and
 * CloudWatch metrics in namespace `qmt` (EMF), under each function's service name.
 *
 * What may be logged: run ids, set ids, segments, counts, instrument names, and rejected account records as
 * key + reason (the reason comes from zod paths, not values). Never credentials, message bodies or account
 * balances.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { Environment } from '../../lib/config/runtime.ts';

/** Metric names, in one place so dashboards and alarms (issue 5) can import them. */
export const METRIC = {
  InstrumentsRecalibrated: 'InstrumentsRecalibrated',
  ThresholdsHeld: 'ThresholdsHeld',
  RecalibrationsSkipped: 'RecalibrationsSkipped',
  DuplicateEvents: 'DuplicateEvents',
  SweepStartsFailed: 'SweepStartsFailed',
  SegmentsPlanned: 'SegmentsPlanned',
  SegmentsCompleted: 'SegmentsCompleted',
  SegmentsContinued: 'SegmentsContinued',
  SegmentsSkipped: 'SegmentsSkipped',
  SegmentsFailed: 'SegmentsFailed',
  AccountsValued: 'AccountsValued',
  AccountsRejected: 'AccountsRejected',
  Transitions: 'Transitions',
  StaleTransitions: 'StaleTransitions',
  AlertsPublished: 'AlertsPublished',
  AlertsFailed: 'AlertsFailed',
  AlertsResent: 'AlertsResent',
  AccountsDeferred: 'AccountsDeferred',
  InvocationsFailed: 'InvocationsFailed',
  /** Market watch: instruments with a live mark, and those held by cause (no quorum, stale, unconfirmed jump). */
  InstrumentsMarked: 'InstrumentsMarked',
  MarksHeld: 'MarksHeld',
  MarksNoQuorum: 'MarksNoQuorum',
  MarksStale: 'MarksStale',
  MarksUnconfirmedJump: 'MarksUnconfirmedJump',
  /** Market watch: accounts the move's crossed bands named, and those read and swept. */
  AccountsCrossed: 'AccountsCrossed',
  AccountsRevisited: 'AccountsRevisited',
  /** A crash minute's targeted segments the watch sent to the sweep workers (invoked or queued). */
  TargetedSegmentsQueued: 'TargetedSegmentsQueued',
  /** Of those, segments whose direct invoke failed and that were queued instead (slower to start). */
  TargetedSegmentsNotInvoked: 'TargetedSegmentsNotInvoked',
  TargetedSweepsFailed: 'TargetedSweepsFailed',
  TargetedSweepsEscalated: 'TargetedSweepsEscalated',
  /** Instruments the shock step recalibrated at the watch's marks. */
  ShockRecalibrations: 'ShockRecalibrations',
  ShockStepsFailed: 'ShockStepsFailed',
  /** Shock runs the watch triggered but deferred (the daily run held the lease): the next look retries. */
  ShockRecalibrationsDeferred: 'ShockRecalibrationsDeferred',
  /**
   * The daily backtest (EMIR Art. 49): per instrument (dimension `instrument`) its zone as 0 green, 1 yellow
   * (amber), 2 red, and its breaches (long + short); per run, the instruments out of green and those not
   * backtested (or a report not stored).
   */
  BacktestZone: 'BacktestZone',
  BacktestBreaches: 'BacktestBreaches',
  BacktestsOutOfGreen: 'BacktestsOutOfGreen',
  BacktestsFailed: 'BacktestsFailed',
  /** Daily stress run: segments that reported a step, the runs finished, and a finished run's figures. */
  StressSegmentsReported: 'StressSegmentsReported',
  StressSegmentsFailed: 'StressSegmentsFailed',
  StressRunsCompleted: 'StressRunsCompleted',
  /** Bad debt of the configured shocks, quote currency: the insurance-fund alarm watches it. */
  StressBadDebt: 'StressBadDebt',
  StressAccountsLiquidated: 'StressAccountsLiquidated',
  StressRounds: 'StressRounds',
  /** 1 when the bad debt exceeds the configured insurance fund. */
  StressInsuranceFundExceeded: 'StressInsuranceFundExceeded',
  DurationMs: 'DurationMs',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * A logger and metrics for one function. Its service name (`POWERTOOLS_SERVICE_NAME`, which the stack sets
 * to `recalibrate`, `sweep-coordinator`, `sweep-worker` or `market-watch`; `handlerName` when unset) is on every log line
 * and is the metrics' only dimension, so alarms select a function's metrics by it.
 * `POWERTOOLS_METRICS_NAMESPACE` overrides the `qmt` namespace; `POWERTOOLS_LOG_LEVEL` (or Lambda's log
 * level) sets the level.
 *
 * @example
 * const { logger, metrics } = createObservability('recalibrate');
 */
export function createObservability(handlerName: string, env: Environment = process.env): Observability {
  const serviceName = env.POWERTOOLS_SERVICE_NAME || handlerName;
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: env.POWERTOOLS_METRICS_NAMESPACE || 'qmt', serviceName }),
  };
}

/** Add a count metric. Zeros are recorded too: they keep the series dense, so alarms see data, not gaps. */
export function count(metrics: Metrics, name: MetricName, value: number): void {
  metrics.addMetric(name, MetricUnit.Count, value);
}

/** The property descriptor Powertools' method decorators rewrite (`descriptor.value` is the handler). */
type HandlerDescriptor = Parameters<ReturnType<Logger['injectLambdaContext']>>[2];

/** A Lambda handler as qmt's functions write them: event and context in, a promise out. */
export type LambdaHandler<Event, Result> = (event: Event, context: Context) => Promise<Result>;

/**
 * Wrap a handler in Powertools' `injectLambdaContext` (the Lambda context, request id included, on every log
 * line; keys appended during the invocation reset after it) and `logMetrics` (a `ColdStart` metric on the
 * container's first invocation; the stored metrics flushed whatever happens). Inside them, qmt's own
 * measures: a failure is logged and counted (then rethrown for the caller's retry) and the duration
 * recorded.
 *
 * The two are Powertools' class-method decorators applied to the handler's property descriptor by a plain
 * call: no `@` syntax (which would need `experimentalDecorators` in every compiler and bundler that reads
 * these files) and no @middy/core (which their middleware form needs).
 *
 * @example
 * export const handler = observedHandler(observability, async (event, context) => work(event));
 */
export function observedHandler<Event, Result>(
  { logger, metrics }: Observability,
  handler: LambdaHandler<Event, Result>,
): LambdaHandler<Event, Result> {
  const measured: LambdaHandler<Event, Result> = async (event, context) => {
    const started = Date.now();
    try {
      return await handler(event, context);
    } catch (error) {
      logger.error('invocation failed', error as Error);
      count(metrics, METRIC.InvocationsFailed, 1);
      throw error;
    } finally {
      metrics.addMetric(METRIC.DurationMs, MetricUnit.Milliseconds, Date.now() - started);
    }
  };
  const method: HandlerDescriptor = { value: measured };
  const target = { handler: measured };
  // Innermost first: metrics flush before the logger resets its keys, so a flush warning keeps the run id.
  metrics.logMetrics({ captureColdStartMetric: true, throwOnEmptyMetrics: false })(target, 'handler', method);
  logger.injectLambdaContext({ resetKeys: true })(target, 'handler', method);
  return method.value as LambdaHandler<Event, Result>;
}

/** `Name: message` of an error, for results and logs. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
