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
  DurationMs: 'DurationMs',
} as const;

export type MetricName = (typeof METRIC)[keyof typeof METRIC];

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * A logger and metrics for one function. Its service name (`POWERTOOLS_SERVICE_NAME`, which the stack sets
 * to `recalibrate`, `sweep-coordinator` or `sweep-worker`; `handlerName` when unset) is on every log line
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

/**
 * Run one invocation with the Lambda context on every log line; log and count a failure (then rethrow it
 * for the caller's retry); record the duration and flush the metrics whatever happens.
 *
 * @example
 * export const handler = (event, context) => observeInvocation(observability, context, () => work(event));
 */
export async function observeInvocation<T>(
  { logger, metrics }: Observability,
  context: Context,
  work: () => Promise<T>,
): Promise<T> {
  logger.addContext(context);
  const started = Date.now();
  try {
    return await work();
  } catch (error) {
    logger.error('invocation failed', error as Error);
    count(metrics, METRIC.InvocationsFailed, 1);
    throw error;
  } finally {
    metrics.addMetric(METRIC.DurationMs, MetricUnit.Milliseconds, Date.now() - started);
    metrics.publishStoredMetrics();
    logger.resetKeys();
  }
}

/** `Name: message` of an error, for results and logs. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
