/**
 * Alarms and the dashboard, in the cdk-monitoring-constructs style: a metric factory names each metric once,
 * an alarm factory gives every alarm the same defaults and the ops topic as its action, and the alarms and
 * the dashboard are built from both. Everything is created on the caller's scope (no child construct), so
 * every logical ID stays as it was.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { METRIC, type MetricName } from '../../lambdas/shared/observability.ts';
import type { QmtFunctions } from './functions.ts';
import { METRICS_NAMESPACE, type QmtFunctionName, SERVICE_NAMES } from './names.ts';
import type { QmtQueues } from './storage.ts';

/** The functions' Powertools metrics (namespace `qmt`, dimension `service`), each named once. */
export class QmtMetricFactory {
  /**
   * A Powertools metric of one function.
   *
   * @default statistic Sum over 5 minutes
   */
  metric(
    metricName: MetricName,
    source: QmtFunctionName,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAMES[source] },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  instrumentsRecalibrated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.InstrumentsRecalibrated, 'recalibrate', props);
  }

  thresholdsHeld(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.ThresholdsHeld, 'recalibrate', props);
  }

  /** Instruments whose daily backtest left the green zone (yellow, Basel's amber, or red). */
  backtestsOutOfGreen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.BacktestsOutOfGreen, 'recalibrate', props);
  }

  /** Instruments the daily backtest could not run, and reports it could not store. */
  backtestsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.BacktestsFailed, 'recalibrate', props);
  }

  segmentsPlanned(
    source: 'sweepCoordinator' | 'recalibrate',
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.SegmentsPlanned, source, props);
  }

  segmentsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.SegmentsFailed, 'sweepWorker', props);
  }

  accountsValued(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AccountsValued, 'sweepWorker', props);
  }

  accountsRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AccountsRejected, 'sweepWorker', props);
  }

  transitions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.Transitions, 'sweepWorker', props);
  }

  alertsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AlertsPublished, 'sweepWorker', props);
  }

  alertsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AlertsFailed, 'sweepWorker', props);
  }

  /** Instruments the market watch's live marks held for lack of quorum or freshness (by cause). */
  marksHeld(
    cause: 'MarksNoQuorum' | 'MarksStale' | 'MarksUnconfirmedJump' | 'MarksHeld',
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC[cause], 'marketWatch', props);
  }

  /** Market watch looks that failed (marks, index or targeted sweep); Scheduler retries each once. */
  targetedSweepsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.TargetedSweepsFailed, 'marketWatch', props);
  }

  /** Instruments recalibrated at once because the watch saw a shock move. */
  shockRecalibrations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.ShockRecalibrations, 'marketWatch', props);
  }

  /** The bad debt of the daily stress run's shocks (quote currency), one value a completed run: maximum. */
  stressBadDebt(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.StressBadDebt, 'stressRun', { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** Stress runs completed (their report stored and published). */
  stressRunsCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.StressRunsCompleted, 'stressRun', props);
  }

  /** A function's own measure of its run time (`DurationMs`), maximum by default. */
  durationMs(source: QmtFunctionName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.DurationMs, source, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  /** A counted metric labelled with its service, for the dashboard's graphs. */
  counted(name: MetricName, source: QmtFunctionName, period: Duration): cloudwatch.Metric {
    return this.metric(name, source, { period, label: `${name} (${SERVICE_NAMES[source]})` });
  }
}

export type AlarmOptions = Omit<
  cloudwatch.CreateAlarmOptions,
  'alarmName' | 'alarmDescription' | 'evaluationPeriods'
> & {
  readonly evaluationPeriods?: number;
};

/** Count of at least one in the period. */
export const AT_LEAST_ONE: AlarmOptions = {
  threshold: 1,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
};
/** Anything above zero. */
export const ABOVE_ZERO: AlarmOptions = {
  threshold: 0,
  comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
};

/**
 * Alarms on one scope, named `<prefix>-…`, one evaluation period and missing data not breaching unless
 * told otherwise, each notifying the ops topic on ALARM and OK. `alarms` is the live list: the dashboard's
 * status widget reads it at synthesis, so alarms added later (subscription dead-letter queues) show too.
 */
export class QmtAlarmFactory {
  readonly alarms: cloudwatch.IAlarm[] = [];

  constructor(
    private readonly scope: Construct,
    readonly prefix: string,
    private readonly opsTopic: sns.ITopic,
  ) {}

  /** An alarm with construct id `id` and name `<prefix>-<name>`. */
  addAlarm(
    id: string,
    name: string,
    description: string,
    metric: cloudwatch.IMetric,
    options: AlarmOptions,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this.scope, id, {
      metric,
      alarmName: `${this.prefix}-${name}`,
      alarmDescription: description,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...options,
    });
    const action = new SnsAction(this.opsTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarms.push(alarm);
    return alarm;
  }
}

export interface MonitoredResources {
  readonly functions: QmtFunctions;
  readonly queues: QmtQueues;
  readonly scheduleGroup: scheduler.IScheduleGroup;
}

function byName(functions: QmtFunctions): [QmtFunctionName, lambda.IFunction][] {
  const stressRun: [QmtFunctionName, lambda.IFunction][] = functions.stressRunFunction
    ? [['stressRun', functions.stressRunFunction]]
    : [];
  return [
    ['recalibrate', functions.recalibrateFunction],
    ['sweepCoordinator', functions.sweepCoordinatorFunction],
    ['sweepWorker', functions.sweepWorkerFunction],
    ['marketWatch', functions.marketWatchFunction],
    ...stressRun,
  ];
}

function pascal(text: string): string {
  return text.replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
}

/** The depth of a queue, its maximum over five minutes: anything in a dead-letter queue is a failure. */
export function deadLetterDepth(queue: sqs.IQueue): cloudwatch.Metric {
  return queue.metricApproximateNumberOfMessagesVisible({
    statistic: cloudwatch.Stats.MAXIMUM,
    period: Duration.minutes(5),
  });
}

export interface AlarmSettings {
  readonly maxThresholdAge: Duration;
  /** The configured `stress.insuranceFund` (quote currency), with a stress run. */
  readonly insuranceFund?: number;
}

/**
 * The service's alarms: function errors, dead letters, lost deliveries, backlog, held and stale thresholds,
 * and with a stress run its dead letters, a day without a completed run, and bad debt above the insurance
 * fund.
 */
export function createAlarms(
  alarms: QmtAlarmFactory,
  metrics: QmtMetricFactory,
  resources: MonitoredResources,
  settings: AlarmSettings,
): { insuranceFundAlarm?: cloudwatch.Alarm } {
  const { maxThresholdAge } = settings;
  const fiveMinutes = Duration.minutes(5);
  const { queues, scheduleGroup: group } = resources;

  for (const [name, fn] of byName(resources.functions)) {
    const service = SERVICE_NAMES[name];
    alarms.addAlarm(
      `${pascal(service)}ErrorsAlarm`,
      `${service}-errors`,
      `The ${service} function failed (an error or a timeout); see its log group.`,
      fn.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      AT_LEAST_ONE,
    );
  }

  alarms.addAlarm(
    'SweepDlqAlarm',
    'sweep-dlq',
    'A sweep segment failed on every delivery and is in the sweep dead-letter queue: its accounts were not checked.',
    deadLetterDepth(queues.sweepDeadLetterQueue),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'RecalibrationDlqAlarm',
    'recalibration-dlq',
    'A scheduled recalibration could not be delivered, or failed after its retries: thresholds were not refreshed.',
    deadLetterDepth(queues.recalibrationDeadLetterQueue),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'SweepScheduleDlqAlarm',
    'sweep-schedule-dlq',
    'A scheduled sweep could not be delivered to the coordinator, or the coordinator failed after its retries.',
    deadLetterDepth(queues.sweepScheduleDeadLetterQueue),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'WatchDlqAlarm',
    'watch-dlq',
    'A market watch look could not be delivered, or failed after its retry: that minute was not watched (the next one and the full sweep still run).',
    deadLetterDepth(queues.watchDeadLetterQueue),
    ABOVE_ZERO,
  );
  const minute = Duration.minutes(1);
  alarms.addAlarm(
    'MarksHeldAlarm',
    'marks-held',
    'Live marks held an instrument (no quorum of venues, or only stale prices) for five minutes running: its accounts are neither worsened nor recovered until the venues agree again (the ops topic has the reasons).',
    new cloudwatch.MathExpression({
      expression: 'FILL(noQuorum, 0) + FILL(stale, 0)',
      usingMetrics: {
        noQuorum: metrics.marksHeld('MarksNoQuorum', { period: minute }),
        stale: metrics.marksHeld('MarksStale', { period: minute }),
      },
      period: minute,
      label: 'Instruments held: no quorum or stale',
    }),
    { ...AT_LEAST_ONE, evaluationPeriods: 5, datapointsToAlarm: 5 },
  );
  alarms.addAlarm(
    'TargetedSweepsFailedAlarm',
    'targeted-sweeps-failed',
    'Market watch looks failed three times in five minutes: moves are caught only by the full sweep until it recovers.',
    metrics.targetedSweepsFailed({ period: fiveMinutes }),
    { threshold: 3, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD },
  );
  alarms.addAlarm(
    'ShockRecalibrationAlarm',
    'shock-recalibration',
    'The market watch recalibrated an instrument at once after a shock move: margins were raised intraday (the ops topic has the trigger).',
    metrics.shockRecalibrations({ period: fiveMinutes }),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'ScheduleDeliveryAlarm',
    'schedule-delivery',
    'EventBridge Scheduler dropped an invocation or could not put it in the dead-letter queue.',
    new cloudwatch.MathExpression({
      expression: 'FILL(dropped, 0) + FILL(failedToDlq, 0)',
      usingMetrics: {
        dropped: group.metricDropped({ period: fiveMinutes }),
        failedToDlq: group.metricFailedToBeSentToDLQ(undefined, { period: fiveMinutes }),
      },
      period: fiveMinutes,
      label: 'Scheduler invocations lost',
    }),
    AT_LEAST_ONE,
  );
  alarms.addAlarm(
    'SweepBacklogAlarm',
    'sweep-backlog',
    'Sweep segments have waited over 15 minutes: workers are failing, throttled or short of concurrency.',
    queues.sweepQueue.metricApproximateAgeOfOldestMessage({
      statistic: cloudwatch.Stats.MAXIMUM,
      period: fiveMinutes,
    }),
    {
      threshold: 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
    },
  );
  alarms.addAlarm(
    'ThresholdsHeldAlarm',
    'thresholds-held',
    'A recalibration held at least one instrument at its previous threshold because its market data was unusable (the ops topic has the reasons).',
    metrics.thresholdsHeld({ period: Duration.hours(1) }),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'BacktestZoneAlarm',
    'backtest-zone',
    'The daily backtest (EMIR Art. 49) put an instrument in the yellow (amber) or red zone of the Basel traffic light: its margins breached more often than 99% coverage allows over the last 250 days; review the model (qmt backtest-report --set, the ops topic has the figures).',
    metrics.backtestsOutOfGreen({ period: Duration.hours(1) }),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'BacktestFailedAlarm',
    'backtest-failed',
    'The daily backtest could not run for an instrument, or its report could not be stored (the set stays published; the ops topic has the reasons).',
    metrics.backtestsFailed({ period: Duration.hours(1) }),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'AlertsFailedAlarm',
    'alerts-failed',
    'Margin alerts could not be published after retries: subscribers missed state changes.',
    metrics.alertsFailed({ period: fiveMinutes }),
    ABOVE_ZERO,
  );

  const hours = maxThresholdAge.toHours();
  const recalibrate = resources.functions.recalibrateFunction;
  alarms.addAlarm(
    'StaleThresholdsAlarm',
    'thresholds-stale',
    `No recalibration has succeeded for ${hours} hours: the CURRENT threshold set is older than expected.`,
    new cloudwatch.MathExpression({
      expression: 'FILL(invocations, 0) - FILL(errors, 0)',
      usingMetrics: {
        invocations: recalibrate.metricInvocations({
          period: Duration.hours(1),
          statistic: cloudwatch.Stats.SUM,
        }),
        errors: recalibrate.metricErrors({ period: Duration.hours(1), statistic: cloudwatch.Stats.SUM }),
      },
      period: Duration.hours(1),
      label: 'Successful recalibrations',
    }),
    {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: hours,
      datapointsToAlarm: hours,
      // No data at all means no run at all: that is the case to catch.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    },
  );
  return createStressAlarms(alarms, metrics, queues, settings.insuranceFund);
}

/** The stress run's alarms, when the stack has one. */
function createStressAlarms(
  alarms: QmtAlarmFactory,
  metrics: QmtMetricFactory,
  queues: QmtQueues,
  insuranceFund: number | undefined,
): { insuranceFundAlarm?: cloudwatch.Alarm } {
  const stress = queues.stress;
  if (!stress || insuranceFund === undefined) return {};
  alarms.addAlarm(
    'StressDlqAlarm',
    'stress-dlq',
    'A stress run segment step failed on every delivery and is in the stress dead-letter queue: the run waits on it and will not report (its log names the segment and the reason).',
    deadLetterDepth(stress.deadLetterQueue),
    ABOVE_ZERO,
  );
  alarms.addAlarm(
    'StressScheduleDlqAlarm',
    'stress-schedule-dlq',
    'The daily stress run could not be delivered to its function, or its start failed after its retries (no CURRENT set, a refused shock): no run today.',
    deadLetterDepth(stress.scheduleDeadLetterQueue),
    ABOVE_ZERO,
  );
  const hour = Duration.hours(1);
  alarms.addAlarm(
    'StressRunMissingAlarm',
    'stress-run-missing',
    'No stress run has completed for 26 hours: the daily bad-debt figure against the insurance fund is missing (see the stress-run errors and dead-letter alarms).',
    new cloudwatch.MathExpression({
      expression: 'FILL(completed, 0)',
      usingMetrics: { completed: metrics.stressRunsCompleted({ period: hour }) },
      period: hour,
      label: 'Stress runs completed',
    }),
    {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 26,
      datapointsToAlarm: 26,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    },
  );
  const insuranceFundAlarm = alarms.addAlarm(
    'InsuranceFundAlarm',
    'stress-insurance-fund',
    `The daily stress run's bad debt under the configured shocks exceeds the insurance fund (${insuranceFund}): the report (thresholds table, SET#<setId> / STRESS#<runId>) and the stress.completed event name the accounts that cause most of it.`,
    metrics.stressBadDebt({ period: Duration.minutes(5) }),
    {
      // Strictly above, as the run's own exceedsInsuranceFund: a fund that exactly covers it does not alarm.
      threshold: insuranceFund,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      // One value a day: the alarm keeps the last run's verdict until the next run reports.
      treatMissingData: cloudwatch.TreatMissingData.IGNORE,
    },
  );
  return { insuranceFundAlarm };
}

/** The `<prefix>-margin-thresholds` dashboard: what the functions did, how they ran, the queues, the alarms. */
export function createDashboard(
  scope: Construct,
  prefix: string,
  metrics: QmtMetricFactory,
  resources: MonitoredResources,
  /** The alarm factory's live list, not a copy: the widget reads it at synthesis, later alarms included. */
  alarms: cloudwatch.IAlarm[],
  /** With a stress run: the insurance fund, drawn on its bad-debt graph. */
  insuranceFund?: number,
): cloudwatch.Dashboard {
  const hour = Duration.hours(1);
  const fiveMinutes = Duration.minutes(5);
  const { queues, scheduleGroup } = resources;
  const functions = byName(resources.functions);
  const graph = (title: string, left: cloudwatch.IMetric[]) =>
    new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
  const counted = (name: MetricName, source: QmtFunctionName, period: Duration) =>
    metrics.counted(name, source, period);
  const depth = (queue: sqs.IQueue, label: string) =>
    queue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, label });

  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', {
    dashboardName: `${prefix}-margin-thresholds`,
    defaultInterval: Duration.days(3),
  });
  dashboard.addWidgets(
    new cloudwatch.TextWidget({
      markdown: `# qmt (${prefix})\nRecalibration, margin sweeps and alerts. Every alarm notifies the ops topic.`,
      width: 24,
      height: 2,
    }),
  );
  // Rows of three 8-wide graphs: what the functions did (Powertools metrics), then how they ran.
  dashboard.addWidgets(
    graph('Recalibration', [
      metrics.instrumentsRecalibrated({ period: hour }),
      metrics.thresholdsHeld({ period: hour }),
      counted(METRIC.RecalibrationsSkipped, 'recalibrate', hour),
      counted(METRIC.SweepStartsFailed, 'recalibrate', hour),
      metrics.backtestsOutOfGreen({ period: hour }),
      metrics.backtestsFailed({ period: hour }),
    ]),
    graph('Sweep: segments', [
      counted(METRIC.SegmentsPlanned, 'sweepCoordinator', fiveMinutes),
      counted(METRIC.SegmentsPlanned, 'recalibrate', fiveMinutes),
      counted(METRIC.SegmentsCompleted, 'sweepWorker', fiveMinutes),
      counted(METRIC.SegmentsContinued, 'sweepWorker', fiveMinutes),
      metrics.segmentsFailed({ period: fiveMinutes }),
    ]),
    graph('Sweep: accounts', [
      metrics.accountsValued({ period: fiveMinutes }),
      metrics.accountsRejected({ period: fiveMinutes }),
    ]),
  );
  dashboard.addWidgets(
    graph('State changes and alerts', [
      metrics.transitions({ period: fiveMinutes }),
      counted(METRIC.StaleTransitions, 'sweepWorker', fiveMinutes),
      metrics.alertsPublished({ period: fiveMinutes }),
      metrics.alertsFailed({ period: fiveMinutes }),
    ]),
    graph(
      'Failed invocations and repeated deliveries',
      functions.flatMap(([name]) => [
        counted(METRIC.InvocationsFailed, name, fiveMinutes),
        // Only the scheduled functions answer a repeated event from an idempotency record.
        ...(name === 'sweepWorker' || name === 'stressRun'
          ? []
          : [counted(METRIC.DuplicateEvents, name, fiveMinutes)]),
      ]),
    ),
    graph(
      'Run time reported by the functions (DurationMs, max)',
      functions.map(([name]) =>
        metrics.durationMs(name, { period: fiveMinutes, label: SERVICE_NAMES[name] }),
      ),
    ),
  );
  dashboard.addWidgets(
    graph(
      'Function errors',
      functions.map(([name, fn]) => fn.metricErrors({ period: fiveMinutes, label: SERVICE_NAMES[name] })),
    ),
    graph(
      'Function duration (p99)',
      functions.map(([name, fn]) =>
        fn.metricDuration({
          period: fiveMinutes,
          statistic: cloudwatch.Stats.p(99),
          label: SERVICE_NAMES[name],
        }),
      ),
    ),
    graph(
      'Function throttles',
      functions.map(([name, fn]) => fn.metricThrottles({ period: fiveMinutes, label: SERVICE_NAMES[name] })),
    ),
  );
  dashboard.addWidgets(
    graph('Sweep queue', [
      depth(queues.sweepQueue, 'waiting'),
      queues.sweepQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, label: 'oldest (s)' }),
    ]),
    graph('Dead-letter queues', [
      depth(queues.sweepDeadLetterQueue, 'sweep'),
      depth(queues.recalibrationDeadLetterQueue, 'recalibration'),
      depth(queues.sweepScheduleDeadLetterQueue, 'sweep schedule'),
      depth(queues.watchDeadLetterQueue, 'market watch'),
    ]),
    graph('Scheduler', [
      scheduleGroup.metricAttempts({ period: fiveMinutes, label: 'invocation attempts' }),
      scheduleGroup.metricTargetErrors({ period: fiveMinutes, label: 'target errors' }),
      scheduleGroup.metricSentToDLQ({ period: fiveMinutes, label: 'sent to dead-letter queue' }),
      scheduleGroup.metricDropped({ period: fiveMinutes, label: 'dropped' }),
    ]),
  );
  // The market watch, per minute: what the venues gave, what the move crossed, what it cost.
  const minute = Duration.minutes(1);
  dashboard.addWidgets(
    graph('Market watch: marks', [
      counted(METRIC.InstrumentsMarked, 'marketWatch', minute),
      counted(METRIC.MarksNoQuorum, 'marketWatch', minute),
      counted(METRIC.MarksStale, 'marketWatch', minute),
      counted(METRIC.MarksUnconfirmedJump, 'marketWatch', minute),
    ]),
    graph('Market watch: targeted sweeps', [
      counted(METRIC.AccountsCrossed, 'marketWatch', minute),
      counted(METRIC.AccountsRevisited, 'marketWatch', minute),
      counted(METRIC.Transitions, 'marketWatch', minute),
      counted(METRIC.AlertsPublished, 'marketWatch', minute),
      counted(METRIC.TargetedSweepsFailed, 'marketWatch', minute),
      counted(METRIC.TargetedSweepsEscalated, 'marketWatch', minute),
      // A crash minute fanned out: segments sent to the workers, and those queued because an invoke failed.
      counted(METRIC.TargetedSegmentsQueued, 'marketWatch', minute),
      counted(METRIC.TargetedSegmentsNotInvoked, 'marketWatch', minute),
    ]),
    graph('Shock recalibrations', [
      counted(METRIC.ShockRecalibrations, 'marketWatch', fiveMinutes),
      counted(METRIC.ShockStepsFailed, 'marketWatch', fiveMinutes),
    ]),
  );
  if (resources.functions.stressRunFunction && queues.stress) {
    const day = Duration.days(1);
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Stress run: bad debt against the insurance fund',
        left: [metrics.stressBadDebt({ period: day, label: 'bad debt (max of the day)' })],
        leftAnnotations:
          insuranceFund === undefined ? [] : [{ value: insuranceFund, label: 'insurance fund' }],
        width: 8,
        height: 6,
      }),
      graph('Stress run: cascade', [
        counted(METRIC.StressAccountsLiquidated, 'stressRun', day),
        counted(METRIC.StressRounds, 'stressRun', day),
        counted(METRIC.StressRunsCompleted, 'stressRun', day),
      ]),
      graph('Stress run: segments and queue', [
        counted(METRIC.StressSegmentsReported, 'stressRun', fiveMinutes),
        counted(METRIC.StressSegmentsFailed, 'stressRun', fiveMinutes),
        depth(queues.stress.queue, 'waiting'),
        depth(queues.stress.deadLetterQueue, 'dead-lettered'),
        depth(queues.stress.scheduleDeadLetterQueue, 'schedule dead-lettered'),
      ]),
    );
  }
  dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 }));
  return dashboard;
}
