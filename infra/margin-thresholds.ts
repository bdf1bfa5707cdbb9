/**
 * `MarginThresholds`: the whole qmt service as one construct. Scheduled recalibration, the fanned-out margin
 * sweep, their tables, topics, queues, alarms and dashboard, each function with a role that allows exactly
 * the calls its adapters make on exactly its resources.
 *
 * This file holds the props, their validation and the composition; the parts are in `constructs/`:
 * `storage.ts` (tables, topics, queues), `functions.ts` (functions, permissions, schedules),
 * `monitoring.ts` (metric and alarm factories, alarms, dashboard) and `subscriptions.ts`. They build on
 * this construct's own scope rather than as child constructs, so the logical IDs are those of one construct.
 */
import { Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MetricName } from '../lambdas/shared/observability.ts';
import { THRESHOLD_HISTORY_INDEX } from '../lib/adapters/dynamodb/tables.ts';
import { ConfigError } from '../lib/config/errors.ts';
import { loadRuntimeConfig, RUNTIME_ENV, type RuntimeDocument } from '../lib/config/runtime.ts';
import { createConfiguration, type QmtConfiguration } from './constructs/configuration.ts';
import {
  acknowledgeFindings,
  createFunctions,
  createSchedules,
  DEFAULT_RECALIBRATION,
  DEFAULT_STRESS,
  DEFAULT_SWEEP,
  DEFAULT_WATCH,
  STRESS_RUN_TIMEOUT,
} from './constructs/functions.ts';
import { createAlarms, createDashboard, QmtAlarmFactory, QmtMetricFactory } from './constructs/monitoring.ts';
import { HANDLER_ENTRIES, type QmtFunctionName } from './constructs/names.ts';
import { createStorage } from './constructs/storage.ts';
import { type TopicSubscription, TopicSubscriptions } from './constructs/subscriptions.ts';

export {
  HANDLER_ENTRIES,
  METRICS_NAMESPACE,
  type QmtFunctionName,
  REPO_ROOT,
  SERVICE_NAMES,
} from './constructs/names.ts';
export { tableKeyProps } from './constructs/storage.ts';
export type { TopicSubscription } from './constructs/subscriptions.ts';

export interface MarginThresholdsProps {
  /**
   * The functions' configuration document (instruments, policies, catalogue additions, sweep sizing): the
   * first version of the AppConfig hosted configuration the functions read (`constructs/configuration.ts`),
   * validated here as `lib/config/runtime.ts` will read it. Later versions are AppConfig deployments.
   */
  readonly config: RuntimeDocument;

  /**
   * Prefix of the physical names: tables `<prefix>-thresholds` …, topics `<prefix>-alerts` and
   * `<prefix>-ops`, the schedule group, alarms and dashboard.
   *
   * @default 'qmt' - the names `npm start` and the `qmt` command use
   */
  readonly namePrefix?: string;

  /**
   * The exchange's accounts table, if it already exists (e.g. `TableV2.fromTableName`). qmt only reads it:
   * the coordinator describes it, the workers scan it.
   *
   * @default - a table `<prefix>-accounts` with the key schema of `lib/adapters/dynamodb/tables.ts`
   */
  readonly accountsTable?: dynamodb.ITableV2;

  /**
   * The customer-managed key of an imported accounts table; the workers get kms:Decrypt on it.
   *
   * @default - no key grant: the table is encrypted with an AWS owned or AWS managed key
   */
  readonly accountsTableKey?: kms.IKey;

  /**
   * The key that encrypts both topics. An imported key must already allow CloudWatch
   * (`cloudwatch.amazonaws.com`) kms:Decrypt and kms:GenerateDataKey, or alarm notifications fail; scope
   * that grant with `aws:SourceAccount` and `aws:SourceArn` (this account's alarms) as the default key does.
   *
   * @default - a new customer-managed key with yearly rotation whose policy lets this account's CloudWatch
   * alarms (and nothing else of CloudWatch's) publish
   */
  readonly topicKey?: kms.IKey;

  /**
   * Make the alerts topic FIFO: alerts reach subscribers in order per account, and SNS drops a re-sent alert
   * (the publisher sets the deduplication id, so content-based deduplication stays off). FIFO topics deliver
   * to SQS queues only.
   *
   * @default false - a standard topic, which delivers to every protocol
   */
  readonly fifoAlerts?: boolean;

  /**
   * Other AWS accounts (12-digit ids) allowed to subscribe to the alerts topic, for example a risk engine in
   * its own account. The topic policy grants them `sns:Subscribe` over TLS and nothing else.
   *
   * @default - no other account: only this account's principals with IAM permission can subscribe
   */
  readonly alertSubscriberAccounts?: readonly string[];

  /**
   * When to recalibrate. Each run's id is its scheduled time, so a repeated delivery does not run twice.
   *
   * @default - daily at 00:05 UTC, just after the exchanges close the daily candle
   */
  readonly recalibrationSchedule?: scheduler.ScheduleExpression;

  /**
   * When to sweep every account against the CURRENT thresholds (recalibration also starts one).
   *
   * @default - every 5 minutes
   */
  readonly sweepSchedule?: scheduler.ScheduleExpression;

  /**
   * When the market watch looks at live marks and sweeps the accounts whose band the move crossed.
   *
   * @default - every minute (Scheduler's finest rate)
   */
  readonly watchSchedule?: scheduler.ScheduleExpression;

  /**
   * When the daily stress run starts (only with a `stress` section in `config`: its shocks, insurance fund
   * and segments). It stresses the CURRENT set, so it runs after the recalibration.
   *
   * @default - daily at 01:05 UTC, an hour after the default recalibration
   */
  readonly stressSchedule?: scheduler.ScheduleExpression;

  /**
   * Whether the schedules run. Disabled, the functions still deploy and can be invoked by hand.
   *
   * @default true - both schedules run
   */
  readonly schedulesEnabled?: boolean;

  /**
   * What happens to the tables, the topic key and the log groups when they leave the stack.
   *
   * @default RemovalPolicy.RETAIN - thresholds history, margin state and run records outlive the stack
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * DynamoDB deletion protection on the tables this construct creates.
   *
   * @default - true when `removalPolicy` is RETAIN, false otherwise
   */
  readonly deletionProtection?: boolean;

  /**
   * How long the functions' logs are kept.
   *
   * @default RetentionDays.THREE_MONTHS - a quarter of recalibrations and sweeps to look back over
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * A sweep worker's timeout. The sweep queue's visibility timeout is six times this, so a message is not
   * handed to a second worker while the first may still be running, retries included.
   *
   * @default Duration.minutes(5) - a worker nearing it hands its segment's cursor to a continuation message
   */
  readonly sweepWorkerTimeout?: Duration;

  /**
   * Most sweep workers running at once (the SQS event source's maximum concurrency, 2–1000). Keep the
   * configuration's `sweep.maxSegments` near it, or segments wait for a free worker.
   *
   * @default 100 - a hundred 100,000-account segments (ten million accounts) all at once (docs/SCALE.md)
   */
  readonly sweepWorkerConcurrency?: number;

  /**
   * Deliveries of a sweep message before it moves to the dead-letter queue.
   *
   * @default 5 - a segment that fails five times in a row is broken, not unlucky
   */
  readonly maxReceiveCount?: number;

  /**
   * Alarm when no recalibration has succeeded for this long (whole hours, 2–168). Set it above the
   * recalibration interval.
   *
   * @default Duration.hours(26) - a daily run plus two hours of slack
   */
  readonly maxThresholdAge?: Duration;

  /**
   * X-Ray active tracing on the functions. X-Ray's write actions do not support resource-level
   * permissions, so this adds a `Resource: *` statement to each role.
   *
   * @default false - no tracing; logs and metrics carry the run id instead
   */
  readonly tracing?: boolean;

  /**
   * Handler files, relative to the repository root or absolute; they must lie inside the repository (the
   * bundling project root).
   *
   * @default - `lambdas/recalibrate/handler.ts`, `lambdas/sweep-coordinator/handler.ts` and
   * `lambdas/sweep-worker/handler.ts`
   */
  readonly handlerEntries?: Partial<Readonly<Record<QmtFunctionName, string>>>;
}

/**
 * The deployed functions value at live marks unless the document says otherwise (`marks.live: false`):
 * local runs and tests, which have no network, default to the reference closes.
 */
export function withLiveMarks(config: RuntimeDocument): RuntimeDocument {
  if (config.marks?.live !== undefined) return config;
  return { ...config, marks: { ...config.marks, live: true } };
}

/** A prop that cannot work: names the prop and says why. */
export class MarginThresholdsPropsError extends Error {
  constructor(
    readonly prop: string,
    message: string,
  ) {
    super(`MarginThresholds: props.${prop}: ${message}`);
    this.name = 'MarginThresholdsPropsError';
  }
}

/**
 * The qmt service: recalibration on a schedule, margin sweeps fanned out over SQS, alerts on SNS.
 *
 * @example
 * const qmt = new MarginThresholds(stack, 'Qmt', {
 *   config: { instruments: { BTC: {}, ETH: {} } },
 *   namePrefix: 'qmt-prod',
 *   accountsTable: TableV2.fromTableName(stack, 'Accounts', 'exchange-accounts'),
 * });
 * qmt.subscribeToAlerts({ protocol: 'sqs', endpoint: queueArn, filterPolicy: { severity: ['critical'] } });
 */
export class MarginThresholds extends Construct {
  public readonly thresholdsTable: dynamodb.ITableV2;
  public readonly accountsTable: dynamodb.ITableV2;
  public readonly marginStatusTable: dynamodb.ITableV2;
  public readonly runsTable: dynamodb.ITableV2;
  /** Margin alerts: one message per state change, with `eventType`, `severity`, `accountId`, `newState`. */
  public readonly alertsTopic: sns.ITopic;
  /** Operational events (recalibration summaries, rejected accounts) and every alarm. */
  public readonly opsTopic: sns.ITopic;
  public readonly topicKey: kms.IKey;
  /** One message per Scan segment of a sweep. */
  public readonly sweepQueue: sqs.IQueue;
  public readonly sweepDeadLetterQueue: sqs.IQueue;
  /** Scheduler deliveries and asynchronous invocations of the recalibrate function that failed for good. */
  public readonly recalibrationDeadLetterQueue: sqs.IQueue;
  /** Scheduler deliveries and asynchronous invocations of the sweep coordinator that failed for good. */
  public readonly sweepScheduleDeadLetterQueue: sqs.IQueue;
  public readonly recalibrateFunction: lambda.IFunction;
  public readonly sweepCoordinatorFunction: lambda.IFunction;
  public readonly sweepWorkerFunction: lambda.IFunction;
  /** Live marks every minute; a targeted sweep of the accounts whose breach band the move crossed. */
  public readonly marketWatchFunction: lambda.IFunction;
  /** Breach bands per threshold set, instrument and account (kept by every full sweep). */
  public readonly breachIndexTable: dynamodb.ITableV2;
  public readonly candlesTable: dynamodb.ITableV2;
  public readonly watchDeadLetterQueue: sqs.IQueue;
  public readonly watchSchedule: scheduler.ISchedule;
  /**
   * The daily stress run, its queue (one message per segment and step), their dead-letter queues, schedule
   * and the insurance-fund alarm: present when `config` has a `stress` section.
   */
  public readonly stressRunFunction?: lambda.IFunction;
  public readonly stressQueue?: sqs.IQueue;
  public readonly stressDeadLetterQueue?: sqs.IQueue;
  public readonly stressScheduleDeadLetterQueue?: sqs.IQueue;
  public readonly stressSchedule?: scheduler.ISchedule;
  /** ALARM when a stress run's bad debt (`StressBadDebt`) exceeds the configured `stress.insuranceFund`. */
  public readonly insuranceFundAlarm?: cloudwatch.IAlarm;
  public readonly scheduleGroup: scheduler.IScheduleGroup;
  public readonly recalibrationSchedule: scheduler.ISchedule;
  public readonly sweepSchedule: scheduler.ISchedule;
  public readonly dashboard: cloudwatch.Dashboard;
  /** The configuration document in AppConfig: application, environment, profile, deployment strategy. */
  public readonly configuration: QmtConfiguration;

  private readonly fifoAlerts: boolean;
  private readonly metrics = new QmtMetricFactory();
  private readonly alarmFactory: QmtAlarmFactory;
  private readonly subscriptions: TopicSubscriptions;

  constructor(scope: Construct, id: string, props: MarginThresholdsProps) {
    super(scope, id);
    validateProps(props);

    const prefix = props.namePrefix ?? 'qmt';
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const tracing = props.tracing ?? false;
    const sweepWorkerTimeout = props.sweepWorkerTimeout ?? Duration.minutes(5);
    this.fifoAlerts = props.fifoAlerts ?? false;

    // Everything is created on this construct's scope, in the order the template has always had.
    const storage = createStorage(this, {
      prefix,
      removalPolicy,
      deletionProtection: props.deletionProtection ?? removalPolicy === RemovalPolicy.RETAIN,
      ...(props.accountsTable && { accountsTable: props.accountsTable }),
      ...(props.topicKey && { topicKey: props.topicKey }),
      fifoAlerts: this.fifoAlerts,
      alertSubscriberAccounts: props.alertSubscriberAccounts ?? [],
      sweepWorkerTimeout,
      maxReceiveCount: props.maxReceiveCount ?? 5,
      ...(props.config.stress && { stressRunTimeout: STRESS_RUN_TIMEOUT }),
    });
    this.thresholdsTable = storage.thresholdsTable;
    this.marginStatusTable = storage.marginStatusTable;
    this.runsTable = storage.runsTable;
    this.accountsTable = storage.accountsTable;
    this.breachIndexTable = storage.breachIndexTable;
    this.candlesTable = storage.candlesTable;
    this.watchDeadLetterQueue = storage.watchDeadLetterQueue;
    this.topicKey = storage.topicKey;
    this.alertsTopic = storage.alertsTopic;
    this.opsTopic = storage.opsTopic;
    this.sweepDeadLetterQueue = storage.sweepDeadLetterQueue;
    this.sweepQueue = storage.sweepQueue;
    this.recalibrationDeadLetterQueue = storage.recalibrationDeadLetterQueue;
    this.sweepScheduleDeadLetterQueue = storage.sweepScheduleDeadLetterQueue;
    if (storage.stress) {
      this.stressQueue = storage.stress.queue;
      this.stressDeadLetterQueue = storage.stress.deadLetterQueue;
      this.stressScheduleDeadLetterQueue = storage.stress.scheduleDeadLetterQueue;
    }

    const functions = createFunctions(this, storage, {
      entries: { ...HANDLER_ENTRIES, ...props.handlerEntries },
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy,
      tracing,
      sweepWorkerTimeout,
      sweepWorkerConcurrency: props.sweepWorkerConcurrency ?? 100,
      ...(props.accountsTableKey && { accountsTableKey: props.accountsTableKey }),
      discovery: props.config.discovery?.enabled === true,
      ...(props.config.stress && {
        stress: { segments: props.config.stress.segments ?? 8, timeout: STRESS_RUN_TIMEOUT },
      }),
    });
    this.recalibrateFunction = functions.recalibrateFunction;
    this.sweepCoordinatorFunction = functions.sweepCoordinatorFunction;
    this.sweepWorkerFunction = functions.sweepWorkerFunction;
    this.marketWatchFunction = functions.marketWatchFunction;
    if (functions.stressRunFunction) this.stressRunFunction = functions.stressRunFunction;

    const schedules = createSchedules(this, functions, storage, {
      prefix,
      recalibrationSchedule: props.recalibrationSchedule ?? DEFAULT_RECALIBRATION,
      sweepSchedule: props.sweepSchedule ?? DEFAULT_SWEEP,
      watchSchedule: props.watchSchedule ?? DEFAULT_WATCH,
      stressSchedule: props.stressSchedule ?? DEFAULT_STRESS,
      enabled: props.schedulesEnabled ?? true,
    });
    this.scheduleGroup = schedules.scheduleGroup;
    this.recalibrationSchedule = schedules.recalibrationSchedule;
    this.sweepSchedule = schedules.sweepSchedule;
    this.watchSchedule = schedules.watchSchedule;
    if (schedules.stressSchedule) this.stressSchedule = schedules.stressSchedule;

    this.alarmFactory = new QmtAlarmFactory(this, prefix, storage.opsTopic);
    const monitored = { functions, queues: storage, scheduleGroup: schedules.scheduleGroup };
    const insuranceFund = props.config.stress?.insuranceFund;
    const created = createAlarms(this.alarmFactory, this.metrics, monitored, {
      maxThresholdAge: props.maxThresholdAge ?? Duration.hours(26),
      ...(insuranceFund !== undefined && { insuranceFund }),
    });
    if (created.insuranceFundAlarm) this.insuranceFundAlarm = created.insuranceFundAlarm;
    this.dashboard = createDashboard(
      this,
      prefix,
      this.metrics,
      monitored,
      this.alarmFactory.alarms,
      insuranceFund,
    );
    // After the alarms: the configuration's deployments roll back on any of them.
    this.configuration = createConfiguration(this, {
      prefix,
      document: withLiveMarks(props.config),
      alarms: this.alarmFactory.alarms,
      functions: [
        functions.recalibrateFunction,
        functions.sweepCoordinatorFunction,
        functions.sweepWorkerFunction,
        functions.marketWatchFunction,
        ...(functions.stressRunFunction ? [functions.stressRunFunction] : []),
      ],
    });
    this.subscriptions = new TopicSubscriptions(this, this.alarmFactory);
    acknowledgeFindings(functions, tracing);
  }

  /** Every alarm this construct created; each notifies the ops topic. */
  public get alarms(): readonly cloudwatch.IAlarm[] {
    return [...this.alarmFactory.alarms];
  }

  /**
   * Subscribe an endpoint to the alerts topic. Deliveries that fail for good land in a dead-letter queue
   * watched by an alarm.
   *
   * @example
   * qmt.subscribeToAlerts({ protocol: 'email', endpoint: 'risk@example.com', filterPolicy: { severity: ['critical'] } });
   */
  public subscribeToAlerts(subscription: TopicSubscription): sns.Subscription {
    if (this.fifoAlerts && subscription.protocol !== 'sqs') {
      throw new MarginThresholdsPropsError(
        'fifoAlerts',
        `a FIFO alerts topic delivers to SQS queues only, not ${subscription.protocol}`,
      );
    }
    return this.subscriptions.subscribe(this.alertsTopic, subscription, this.fifoAlerts);
  }

  /** Subscribe an endpoint to the ops topic (recalibration summaries, rejected accounts, alarms). */
  public subscribeToOps(subscription: TopicSubscription): sns.Subscription {
    return this.subscriptions.subscribe(this.opsTopic, subscription, false);
  }

  /** Read access to the thresholds: the CURRENT set and each instrument's history (audit, dashboards, CLI). */
  public grantReadThresholds(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:GetItem', 'dynamodb:Query'],
      resourceArns: [
        this.thresholdsTable.tableArn,
        `${this.thresholdsTable.tableArn}/index/${THRESHOLD_HISTORY_INDEX}`,
      ],
    });
  }

  /** Read access to each account's margin state. */
  public grantReadMarginStatus(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'],
      resourceArns: [this.marginStatusTable.tableArn],
    });
  }

  /** Subscribe from another principal (for example a risk engine's account) to the alerts topic. */
  public grantSubscribeAlerts(grantee: iam.IGrantable): iam.Grant {
    return this.alertsTopic.grantSubscribe(grantee);
  }

  /**
   * A Powertools metric of one function (namespace `qmt`, dimension `service`).
   *
   * @default statistic Sum over 5 minutes
   */
  public metric(
    metricName: MetricName,
    source: QmtFunctionName,
    props: cloudwatch.MetricOptions = {},
  ): cloudwatch.Metric {
    return this.metrics.metric(metricName, source, props);
  }

  /** Instruments given a fresh threshold by a recalibration. */
  public metricInstrumentsRecalibrated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.instrumentsRecalibrated(props);
  }

  /** Instruments that kept their previous threshold because their market data was unusable. */
  public metricThresholdsHeld(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.thresholdsHeld(props);
  }

  /** Scan segments queued: by the coordinator on its schedule, by recalibrate after a new set. */
  public metricSegmentsPlanned(
    source: 'sweepCoordinator' | 'recalibrate' = 'sweepCoordinator',
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metrics.segmentsPlanned(source, props);
  }

  /** Segments a worker could not finish (the record fails; SQS redelivers it, then dead-letters it). */
  public metricSegmentsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.segmentsFailed(props);
  }

  public metricAccountsValued(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.accountsValued(props);
  }

  /** Account records that failed validation (reported to the ops topic with their keys). */
  public metricAccountsRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.accountsRejected(props);
  }

  /** Margin state changes applied. */
  public metricTransitions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.transitions(props);
  }

  public metricAlertsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.alertsPublished(props);
  }

  /** Alerts that could not be published after retries. */
  public metricAlertsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.alertsFailed(props);
  }

  /** A function's own measure of its run time (`DurationMs`). */
  public metricDurationMs(source: QmtFunctionName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metrics.durationMs(source, props);
  }
}

function validateProps(props: MarginThresholdsProps): void {
  const fail = (prop: string, message: string): never => {
    throw new MarginThresholdsPropsError(prop, message);
  };
  if (props.namePrefix !== undefined && !/^[A-Za-z0-9_-]{1,40}$/.test(props.namePrefix)) {
    fail(
      'namePrefix',
      `"${props.namePrefix}" must be 1–40 letters, digits, "-" or "_" (it names tables and topics)`,
    );
  }
  try {
    loadRuntimeConfig({ [RUNTIME_ENV.config]: JSON.stringify(props.config) }, { require: ['instruments'] });
  } catch (error) {
    if (error instanceof ConfigError) fail(`config.${error.path}`, error.message);
    throw error;
  }
  const workerTimeout = props.sweepWorkerTimeout;
  if (workerTimeout && !Token.isUnresolved(workerTimeout)) {
    const seconds = workerTimeout.toSeconds();
    if (seconds < 30 || seconds > 900)
      fail('sweepWorkerTimeout', `must be 30 seconds to 15 minutes, got ${seconds} s`);
  }
  const concurrency = props.sweepWorkerConcurrency;
  if (
    concurrency !== undefined &&
    !(Number.isInteger(concurrency) && concurrency >= 2 && concurrency <= 1000)
  ) {
    fail(
      'sweepWorkerConcurrency',
      `must be an integer from 2 to 1000 (the SQS event source's limits), got ${concurrency}`,
    );
  }
  const receives = props.maxReceiveCount;
  if (receives !== undefined && !(Number.isInteger(receives) && receives >= 1 && receives <= 1000)) {
    fail('maxReceiveCount', `must be an integer from 1 to 1000, got ${receives}`);
  }
  const age = props.maxThresholdAge;
  if (age) {
    const hours = age.toHours({ integral: false });
    if (!Number.isInteger(hours) || hours < 2 || hours > 168) {
      fail(
        'maxThresholdAge',
        `must be whole hours from 2 to 168 (CloudWatch evaluates at most 7 days), got ${hours} h`,
      );
    }
  }
  for (const [index, account] of (props.alertSubscriberAccounts ?? []).entries()) {
    if (!Token.isUnresolved(account) && !/^\d{12}$/.test(account))
      fail('alertSubscriberAccounts', `entry ${index} must be a 12-digit AWS account id, got "${account}"`);
  }
  if (props.accountsTableKey && !props.accountsTable) {
    fail(
      'accountsTableKey',
      'applies to an imported accountsTable only; the table this construct creates uses an AWS managed key',
    );
  }
}
