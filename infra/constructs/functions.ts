/**
 * The three functions, the exact permissions each one's adapters need, the sweep queue's event source and
 * the two schedules. Built as functions on the caller's scope, not as a child construct, so every logical
 * ID stays as it was.
 */
import { join } from 'node:path';
import { Duration, RemovalPolicy, TimeZone, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { ScheduleTargetBase, type ScheduleTargetBaseProps } from 'aws-cdk-lib/aws-scheduler-targets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { ACCOUNT_SOURCE_IAM_ACTIONS } from '../../lib/adapters/dynamodb/account-source.ts';
import { BACKTEST_REPORT_STORE_IAM_ACTIONS } from '../../lib/adapters/dynamodb/backtest-report-store.ts';
import { BREACH_INDEX_IAM_ACTIONS } from '../../lib/adapters/dynamodb/breach-index.ts';
import { CANDLE_STORE_IAM_ACTIONS } from '../../lib/adapters/dynamodb/candle-store.ts';
import { MARGIN_STATUS_STORE_IAM_ACTIONS } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { RUN_LEDGER_IAM_ACTIONS } from '../../lib/adapters/dynamodb/run-ledger.ts';
import {
  STRESS_REPORT_STORE_IAM_ACTIONS,
  STRESS_RUN_STORE_IAM_ACTIONS,
} from '../../lib/adapters/dynamodb/stress-run-store.ts';
import {
  BREACH_INDEX_BY_PRICE,
  MARGIN_WATCHLIST_INDEX,
  TABLE_NAME_ENV,
  THRESHOLD_HISTORY_INDEX,
} from '../../lib/adapters/dynamodb/tables.ts';
import { THRESHOLD_STORE_IAM_ACTIONS } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { IDEMPOTENCY_STORE_IAM_ACTIONS } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { TARGETED_INVOKER_IAM_ACTIONS } from '../../lib/adapters/lambda/targeted-invoker.ts';
import { ALERT_PUBLISHER_IAM_ACTIONS } from '../../lib/adapters/sns/alert-publisher.ts';
import { OPS_PUBLISHER_IAM_ACTIONS } from '../../lib/adapters/sns/ops-publisher.ts';
import { STRESS_QUEUE_IAM_ACTIONS, STRESS_QUEUE_URL_ENV } from '../../lib/adapters/sqs/stress-queue.ts';
import { SWEEP_QUEUE_IAM_ACTIONS } from '../../lib/adapters/sqs/sweep-queue.ts';
import { DEFAULT_TARGETED_FAN_OUT } from '../../lib/app/targeted-fan-out.ts';
import { RUNTIME_ENV } from '../../lib/config/runtime.ts';
import { LAMBDA_BUNDLING } from '../bundling.ts';
import { METRICS_NAMESPACE, type QmtFunctionName, REPO_ROOT, SERVICE_NAMES } from './names.ts';
import type { QmtStorage } from './storage.ts';

export interface FunctionsOptions {
  /** Handler file of each function, relative to the repository root or absolute. */
  readonly entries: Readonly<Record<QmtFunctionName, string>>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  readonly tracing: boolean;
  readonly sweepWorkerTimeout: Duration;
  readonly sweepWorkerConcurrency: number;
  /** The customer-managed key of an imported accounts table: the workers get kms:Decrypt on it. */
  readonly accountsTableKey?: kms.IKey;
  /** The daily stress run, when the configuration has a `stress` section. */
  readonly stress?: StressRunOptions;
  /** `discovery.enabled` of the deployed configuration: recalibrate may then Scan for a delisting's holders. */
  readonly discovery?: boolean;
}

export interface StressRunOptions {
  /** Scan segments a step is cut into (`stress.segments`): the queue's consumers, all at once. */
  readonly segments: number;
  readonly timeout: Duration;
}

export interface QmtFunctions {
  readonly recalibrateFunction: NodejsFunction;
  readonly sweepCoordinatorFunction: NodejsFunction;
  readonly sweepWorkerFunction: NodejsFunction;
  readonly marketWatchFunction: NodejsFunction;
  /** With a `stress` configuration: started by its schedule, then one segment step per queue message. */
  readonly stressRunFunction?: NodejsFunction;
}

export interface SchedulesOptions {
  readonly prefix: string;
  readonly recalibrationSchedule: scheduler.ScheduleExpression;
  readonly sweepSchedule: scheduler.ScheduleExpression;
  readonly watchSchedule: scheduler.ScheduleExpression;
  readonly stressSchedule: scheduler.ScheduleExpression;
  readonly enabled: boolean;
}

export interface QmtSchedules {
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly recalibrationSchedule: scheduler.ISchedule;
  readonly sweepSchedule: scheduler.ISchedule;
  readonly watchSchedule: scheduler.ISchedule;
  readonly stressSchedule?: scheduler.ISchedule;
}

interface FunctionSpec {
  readonly name: QmtFunctionName;
  readonly id: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly deadLetterQueue?: sqs.IQueue;
  readonly reservedConcurrentExecutions?: number;
  /** Variables this function alone needs. */
  readonly environment?: Readonly<Record<string, string>>;
}

/** The union of adapters' IAM action lists, sorted: one statement per resource, each action once. */
function actions(...lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())].sort();
}

/** The recalibrate function's memory (the exchange-scale bench prices its GB-s with it). */
export const RECALIBRATE_MEMORY_MB = 1024;
/** The recalibrate function's timeout (the exchange-scale bench measures a run of 300 instruments against it). */
export const RECALIBRATE_TIMEOUT = Duration.minutes(10);

export const DEFAULT_RECALIBRATION = scheduler.ScheduleExpression.cron({
  minute: '5',
  hour: '0',
  timeZone: TimeZone.ETC_UTC,
});
export const DEFAULT_SWEEP = scheduler.ScheduleExpression.rate(Duration.minutes(5));
/** The market watch looks once a minute: Scheduler's finest rate. */
export const DEFAULT_WATCH = scheduler.ScheduleExpression.rate(Duration.minutes(1));
/** The market watch runs one look at a time (reserved concurrency). */
export const WATCH_CONCURRENCY = 1;
/**
 * The daily stress run starts at 01:05 UTC: an hour after the recalibration (00:05), whose run takes up to
 * ten minutes, so it stresses the day's new set even after a retry.
 */
export const DEFAULT_STRESS = scheduler.ScheduleExpression.cron({
  minute: '5',
  hour: '1',
  timeZone: TimeZone.ETC_UTC,
});
/** A segment step reads its whole segment and, for the last one in, reduces the step: Lambda's longest. */
export const STRESS_RUN_TIMEOUT = Duration.minutes(15);

/** The four functions (five with the stress run) with their roles and log groups, their permissions, and the workers' event source. */
export function createFunctions(
  scope: Construct,
  storage: QmtStorage,
  options: FunctionsOptions,
): QmtFunctions {
  const recalibrate = createFunction(scope, storage, options, {
    name: 'recalibrate',
    id: 'Recalibrate',
    description: 'qmt: recalibrate every instrument, publish the threshold set, flip CURRENT',
    // GARCH fits by maximum likelihood over up to ten years of daily candles per instrument.
    memorySize: RECALIBRATE_MEMORY_MB,
    timeout: RECALIBRATE_TIMEOUT,
    deadLetterQueue: storage.recalibrationDeadLetterQueue,
  });
  const coordinator = createFunction(scope, storage, options, {
    name: 'sweepCoordinator',
    id: 'SweepCoordinator',
    description:
      'qmt: plan a sweep (segments from the accounts table size) and queue one message per segment',
    memorySize: 256,
    timeout: Duration.minutes(1),
    deadLetterQueue: storage.sweepScheduleDeadLetterQueue,
  });
  const worker = createFunction(scope, storage, options, {
    name: 'sweepWorker',
    id: 'SweepWorker',
    description: 'qmt: sweep one Scan segment, move margin states, publish one alert per change',
    memorySize: 1024,
    timeout: options.sweepWorkerTimeout,
  });
  // A crash minute's targeted segments are invoked directly by the watch (asynchronous Invoke). Lambda
  // keeps an event no longer than a worker would act on it (older marks are reported, not swept); a
  // crashed run (timeout, out of memory) is tried once more, the segment being idempotent; what still
  // fails, or expires while throttled, goes with its payload to the sweep dead-letter queue (alarmed).
  // Concurrency is not reserved: see docs/SCALE.md "Direct invokes".
  worker.configureAsyncInvoke({
    maxEventAge: Duration.millis(DEFAULT_TARGETED_FAN_OUT.maxAgeMs),
    retryAttempts: 1,
    onFailure: new SendOnlySqsDestination(storage.sweepDeadLetterQueue),
  });

  const watch = createFunction(scope, storage, options, {
    name: 'marketWatch',
    id: 'MarketWatch',
    description:
      'qmt: take live marks every minute, report held instruments, sweep the accounts whose band the move crossed',
    memorySize: 1024,
    // A look that has not finished within its minute is overtaken by the next one.
    timeout: Duration.seconds(55),
    deadLetterQueue: storage.watchDeadLetterQueue,
    // One look at a time: a look overlapping a shock run would value accounts at the set being replaced
    // while the raised one is published (a change and its reversal on one minute); and a crash's sweep
    // workers can never take the watch's capacity. Scheduler invokes asynchronously: a look that finds the
    // one slot busy is queued and retried by Lambda, and takes fresh marks when it runs.
    reservedConcurrentExecutions: WATCH_CONCURRENCY,
    // A crash minute's segments go straight to the workers (the queue when an invoke fails).
    environment: { [RUNTIME_ENV.sweepWorkerFunction]: worker.functionName },
  });

  const allowPublish = (fn: lambda.IFunction, topic: sns.ITopic, publisher: readonly string[]) => {
    allow(fn, topic.topicArn, actions(publisher));
    // SNS encrypts with the topic's key on the publisher's behalf.
    allow(fn, storage.topicKey.keyArn, ['kms:Decrypt', 'kms:GenerateDataKey']);
  };

  // Permissions: exactly the actions each function's adapters declare next to their code, on exactly the
  // resources they call (test/integration/iam-usage.test.ts runs the code and checks the roles allow it).
  // recalibrate: threshold store (publish) and the daily backtest report beside the set, run ledger and its
  // idempotency record, the ops summary; then it starts a sweep like the coordinator: the accounts table's
  // size and the segment messages.
  allow(
    recalibrate,
    storage.thresholdsTable.tableArn,
    actions(THRESHOLD_STORE_IAM_ACTIONS.publish, BACKTEST_REPORT_STORE_IAM_ACTIONS.record),
  );
  allow(
    recalibrate,
    storage.runsTable.tableArn,
    actions(RUN_LEDGER_IAM_ACTIONS, IDEMPOTENCY_STORE_IAM_ACTIONS),
  );
  // With discovery on, a delisting names the accounts still holding the instrument: one Scan of the table
  // (lib/app/instrument-discovery.ts `holdersOf`). Off (the default), the role cannot read an account.
  const discovery = options.discovery === true;
  allow(
    recalibrate,
    storage.accountsTable.tableArn,
    actions(ACCOUNT_SOURCE_IAM_ACTIONS.count, discovery ? ACCOUNT_SOURCE_IAM_ACTIONS.scan : []),
  );
  if (discovery && options.accountsTableKey) {
    allow(recalibrate, options.accountsTableKey.keyArn, ['kms:Decrypt']);
  }
  // ...and keeps each venue's candles: reads the stored range, writes the new and revised bars.
  allow(recalibrate, storage.candlesTable.tableArn, actions(CANDLE_STORE_IAM_ACTIONS));
  allow(recalibrate, storage.sweepQueue.queueArn, actions(SWEEP_QUEUE_IAM_ACTIONS));
  allowPublish(recalibrate, storage.opsTopic, OPS_PUBLISHER_IAM_ACTIONS);
  // sweep coordinator: the accounts table's size, the CURRENT thresholds (the instruments it marks once for
  // the whole sweep, and their reference closes), the segment messages, the idempotency record of each
  // scheduled time in the runs table.
  allow(coordinator, storage.accountsTable.tableArn, actions(ACCOUNT_SOURCE_IAM_ACTIONS.count));
  allow(coordinator, storage.thresholdsTable.tableArn, actions(THRESHOLD_STORE_IAM_ACTIONS.read));
  allow(coordinator, storage.sweepQueue.queueArn, actions(SWEEP_QUEUE_IAM_ACTIONS));
  allow(coordinator, storage.runsTable.tableArn, actions(IDEMPOTENCY_STORE_IAM_ACTIONS));
  // sweep worker: scans its segment, reads and moves margin states (watchlist on its index), reads the
  // CURRENT thresholds, queues a continuation near its timeout, publishes alerts and rejected records.
  // ...and a crash minute's targeted segments from the market watch: their accounts by id (BatchGetItem).
  allow(
    worker,
    storage.accountsTable.tableArn,
    actions(ACCOUNT_SOURCE_IAM_ACTIONS.scan, ACCOUNT_SOURCE_IAM_ACTIONS.get),
  );
  allow(worker, storage.marginStatusTable.tableArn, actions(MARGIN_STATUS_STORE_IAM_ACTIONS.table));
  allow(
    worker,
    `${storage.marginStatusTable.tableArn}/index/${MARGIN_WATCHLIST_INDEX}`,
    actions(MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex),
  );
  allow(worker, storage.thresholdsTable.tableArn, actions(THRESHOLD_STORE_IAM_ACTIONS.read));
  allow(worker, storage.sweepQueue.queueArn, actions(SWEEP_QUEUE_IAM_ACTIONS));
  // An imported accounts table under a customer-managed key: Scan reads through the key.
  if (options.accountsTableKey) allow(worker, options.accountsTableKey.keyArn, ['kms:Decrypt']);
  allowPublish(worker, storage.alertsTopic, ALERT_PUBLISHER_IAM_ACTIONS);
  allowPublish(worker, storage.opsTopic, OPS_PUBLISHER_IAM_ACTIONS);
  // ...and keeps the breach index: every account it values gets its band (BatchWriteItem).
  // ...reading the page's stamps first, to rewrite only the bands that changed (BatchGetItem).
  allow(
    worker,
    storage.breachIndexTable.tableArn,
    actions(BREACH_INDEX_IAM_ACTIONS.record, BREACH_INDEX_IAM_ACTIONS.stamps),
  );
  // ...and, before its first page, the accounts marked for every sweep (a Query on the price index): the
  // indexer starts with it on both full and targeted segments.
  allow(
    worker,
    `${storage.breachIndexTable.tableArn}/index/${BREACH_INDEX_BY_PRICE}`,
    actions(BREACH_INDEX_IAM_ACTIONS.crossed),
  );
  // market watch: the CURRENT thresholds, the crossed bands (Query on the price index) and their re-index,
  // the named accounts by id, their margin states, alerts and ops events. Its marks and a shock run's
  // candles come from the venues' public endpoints over HTTPS: no AWS permission. Shock recalibration:
  // publishes a set (and counts the day's shock runs on the history index) under the run ledger's lease,
  // then starts a full sweep like the recalibration does (the table's size, the segment messages). A crash
  // minute's targeted segments go to the same queue (SendMessageBatch, authorised as SendMessage).
  allow(watch, storage.thresholdsTable.tableArn, actions(THRESHOLD_STORE_IAM_ACTIONS.publish));
  allow(
    watch,
    `${storage.thresholdsTable.tableArn}/index/${THRESHOLD_HISTORY_INDEX}`,
    actions(THRESHOLD_STORE_IAM_ACTIONS.history),
  );
  allow(watch, storage.runsTable.tableArn, actions(RUN_LEDGER_IAM_ACTIONS));
  allow(watch, storage.sweepQueue.queueArn, actions(SWEEP_QUEUE_IAM_ACTIONS));
  allow(watch, storage.breachIndexTable.tableArn, actions(BREACH_INDEX_IAM_ACTIONS.record));
  allow(
    watch,
    `${storage.breachIndexTable.tableArn}/index/${BREACH_INDEX_BY_PRICE}`,
    actions(BREACH_INDEX_IAM_ACTIONS.crossed),
  );
  allow(
    watch,
    storage.accountsTable.tableArn,
    actions(ACCOUNT_SOURCE_IAM_ACTIONS.get, ACCOUNT_SOURCE_IAM_ACTIONS.count),
  );
  if (options.accountsTableKey) allow(watch, options.accountsTableKey.keyArn, ['kms:Decrypt']);
  allow(watch, storage.marginStatusTable.tableArn, actions(MARGIN_STATUS_STORE_IAM_ACTIONS.table));
  // ...reading statuses through the watchlist, as the worker does.
  allow(
    watch,
    `${storage.marginStatusTable.tableArn}/index/${MARGIN_WATCHLIST_INDEX}`,
    actions(MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex),
  );
  allowPublish(watch, storage.alertsTopic, ALERT_PUBLISHER_IAM_ACTIONS);
  allowPublish(watch, storage.opsTopic, OPS_PUBLISHER_IAM_ACTIONS);
  // ...and invokes the sweep worker with them (the unqualified function: no version or alias).
  allow(watch, worker.functionArn, actions(TARGETED_INVOKER_IAM_ACTIONS));
  const stressRun = createStressRun(scope, storage, options, allowPublish);
  worker.addEventSource(
    new SqsEventSource(storage.sweepQueue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      maxConcurrency: options.sweepWorkerConcurrency,
    }),
  );

  return {
    recalibrateFunction: recalibrate,
    sweepCoordinatorFunction: coordinator,
    sweepWorkerFunction: worker,
    marketWatchFunction: watch,
    ...(stressRun && { stressRunFunction: stressRun }),
  };
}

/**
 * The stress run (`lambdas/stress-run/`): one function, started by its schedule (it stores the run and
 * queues round 0) and fed by its queue, one message per segment and step (`lib/app/stress-run.ts`).
 */
function createStressRun(
  scope: Construct,
  storage: QmtStorage,
  options: FunctionsOptions,
  allowPublish: (fn: lambda.IFunction, topic: sns.ITopic, publisher: readonly string[]) => void,
): NodejsFunction | undefined {
  const queues = storage.stress;
  if (!options.stress || !queues) return undefined;
  const fn = createFunction(scope, storage, options, {
    name: 'stressRun',
    id: 'StressRun',
    description:
      'qmt: the daily liquidation-cascade stress run, one Scan segment and step a message; reports bad debt against the insurance fund',
    // A segment's accounts are all held for the step (each round re-reads them): 10M accounts in 100
    // segments is 100,000 a step.
    memorySize: 2048,
    timeout: options.stress.timeout,
    deadLetterQueue: queues.scheduleDeadLetterQueue,
    environment: { [STRESS_QUEUE_URL_ENV]: queues.queue.queueUrl },
  });
  // Scans its segment, reads the CURRENT set (start) and saves the report beside it, keeps the run and
  // the segments' results in the runs table, queues the next step, publishes `stress.completed`.
  allow(fn, storage.accountsTable.tableArn, actions(ACCOUNT_SOURCE_IAM_ACTIONS.scan));
  if (options.accountsTableKey) allow(fn, options.accountsTableKey.keyArn, ['kms:Decrypt']);
  allow(
    fn,
    storage.thresholdsTable.tableArn,
    actions(THRESHOLD_STORE_IAM_ACTIONS.read, STRESS_REPORT_STORE_IAM_ACTIONS.save),
  );
  allow(fn, storage.runsTable.tableArn, actions(STRESS_RUN_STORE_IAM_ACTIONS));
  allow(fn, queues.queue.queueArn, actions(STRESS_QUEUE_IAM_ACTIONS));
  allowPublish(fn, storage.opsTopic, OPS_PUBLISHER_IAM_ACTIONS);
  fn.addEventSource(
    new SqsEventSource(queues.queue, {
      batchSize: 1,
      reportBatchItemFailures: true,
      // Every segment of a step at once (the event source's range is 2–1000).
      maxConcurrency: Math.min(1000, Math.max(2, options.stress.segments)),
    }),
  );
  return fn;
}

/** Schedules: retried, then dead-lettered; the scheduled time is each run's idempotency key. */
export function createSchedules(
  scope: Construct,
  functions: QmtFunctions,
  storage: QmtStorage,
  options: SchedulesOptions,
): QmtSchedules {
  const scheduleGroup = new scheduler.ScheduleGroup(scope, 'ScheduleGroup', {
    scheduleGroupName: options.prefix,
    // Schedules are configuration, not data: nothing to keep.
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const scheduledTimeInput = scheduler.ScheduleTargetInput.fromObject({
    scheduledTime: scheduler.ContextAttribute.scheduledTime,
  });
  const recalibrationSchedule = new scheduler.Schedule(scope, 'RecalibrationSchedule', {
    schedule: options.recalibrationSchedule,
    scheduleGroup,
    description: 'qmt: recalibrate margin thresholds',
    enabled: options.enabled,
    target: new InvokeFunction(functions.recalibrateFunction, {
      input: scheduledTimeInput,
      deadLetterQueue: storage.recalibrationDeadLetterQueue,
      retryAttempts: 10,
      // A recalibration hours late is still worth running: the lease and the run id make it safe.
      maxEventAge: Duration.hours(6),
    }),
  });
  const sweepSchedule = new scheduler.Schedule(scope, 'SweepSchedule', {
    schedule: options.sweepSchedule,
    scheduleGroup,
    description: 'qmt: sweep every account against the CURRENT thresholds',
    enabled: options.enabled,
    target: new InvokeFunction(functions.sweepCoordinatorFunction, {
      input: scheduledTimeInput,
      deadLetterQueue: storage.sweepScheduleDeadLetterQueue,
      retryAttempts: 3,
      // A sweep later than this is overtaken by the next one at the default rate.
      maxEventAge: Duration.minutes(5),
    }),
  });
  const watchSchedule = new scheduler.Schedule(scope, 'WatchSchedule', {
    schedule: options.watchSchedule,
    scheduleGroup,
    description: 'qmt: watch the market: live marks, then a targeted sweep of the crossed bands',
    enabled: options.enabled,
    target: new InvokeFunction(functions.marketWatchFunction, {
      input: scheduledTimeInput,
      deadLetterQueue: storage.watchDeadLetterQueue,
      retryAttempts: 1,
      // Scheduler's shortest age: a minute later the next look has newer marks.
      maxEventAge: Duration.minutes(1),
    }),
  });
  const stressRun = functions.stressRunFunction;
  const stressQueues = storage.stress;
  const stressSchedule =
    stressRun &&
    stressQueues &&
    new scheduler.Schedule(scope, 'StressSchedule', {
      schedule: options.stressSchedule,
      scheduleGroup,
      description:
        'qmt: the daily stress run: the configured shocks, the cascade, bad debt against the insurance fund',
      enabled: options.enabled,
      target: new InvokeFunction(stressRun, {
        input: scheduledTimeInput,
        deadLetterQueue: stressQueues.scheduleDeadLetterQueue,
        retryAttempts: 3,
        // The scheduled time names the run, so a late or repeated start stresses once; later than this,
        // the next day's run is nearer.
        maxEventAge: Duration.hours(6),
      }),
    });
  return {
    scheduleGroup,
    recalibrationSchedule,
    sweepSchedule,
    watchSchedule,
    ...(stressSchedule && { stressSchedule }),
  };
}

/** cdk-nag findings that are the design, each with its reason. */
export function acknowledgeFindings(functions: QmtFunctions, tracing: boolean): void {
  if (!tracing) return;
  const all = [
    functions.recalibrateFunction,
    functions.sweepCoordinatorFunction,
    functions.sweepWorkerFunction,
    functions.marketWatchFunction,
    ...(functions.stressRunFunction ? [functions.stressRunFunction] : []),
  ];
  for (const fn of all) {
    if (!fn.role) continue;
    // Acknowledged on the role: its DefaultPolicy holds the statement Lambda adds for active tracing.
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Tracing is switched on, and X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions: AWS documents Resource "*" for them. Every other statement of this role names its resources.',
    });
  }
}

function createFunction(
  scope: Construct,
  storage: QmtStorage,
  options: FunctionsOptions,
  spec: FunctionSpec,
): NodejsFunction {
  const logGroup = new logs.LogGroup(scope, `${spec.id}Logs`, {
    retention: options.logRetention,
    removalPolicy: options.removalPolicy,
  });
  // Its own role, no managed policy: logs to its own group, and the statements added below.
  const role = new iam.Role(scope, `${spec.id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `qmt ${SERVICE_NAMES[spec.name]} function`,
  });
  logGroup.grantWrite(role);

  const entry = options.entries[spec.name];
  return new NodejsFunction(scope, spec.id, {
    entry: entry.startsWith('/') ? entry : join(REPO_ROOT, entry),
    handler: 'handler',
    description: spec.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: spec.memorySize,
    timeout: spec.timeout,
    role,
    logGroup,
    loggingFormat: lambda.LoggingFormat.JSON,
    applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
    systemLogLevelV2: lambda.SystemLogLevel.WARN,
    ...(options.tracing && { tracing: lambda.Tracing.ACTIVE }),
    ...(spec.deadLetterQueue && { deadLetterQueue: spec.deadLetterQueue }),
    ...(spec.reservedConcurrentExecutions !== undefined && {
      reservedConcurrentExecutions: spec.reservedConcurrentExecutions,
    }),
    projectRoot: REPO_ROOT,
    depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
    environment: {
      [TABLE_NAME_ENV.thresholds]: storage.thresholdsTable.tableName,
      [TABLE_NAME_ENV.accounts]: storage.accountsTable.tableName,
      [TABLE_NAME_ENV.marginStatus]: storage.marginStatusTable.tableName,
      [TABLE_NAME_ENV.runs]: storage.runsTable.tableName,
      [TABLE_NAME_ENV.breachIndex]: storage.breachIndexTable.tableName,
      [TABLE_NAME_ENV.candles]: storage.candlesTable.tableName,
      [RUNTIME_ENV.alertsTopicArn]: storage.alertsTopic.topicArn,
      [RUNTIME_ENV.opsTopicArn]: storage.opsTopic.topicArn,
      [RUNTIME_ENV.sweepQueueUrl]: storage.sweepQueue.queueUrl,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAMES[spec.name],
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      // The bundle ships its source map; this makes stack traces point at the TypeScript.
      NODE_OPTIONS: '--enable-source-maps',
      ...spec.environment,
    },
    // Local esbuild, ESM, minified, with a source map, the AWS SDK bundled, zod without its locales.
    bundling: LAMBDA_BUNDLING,
  });
}

/**
 * EventBridge Scheduler invoking a Lambda function. Unlike `LambdaInvoke`, whose `grantInvoke` also allows
 * `<function ARN>:*` (every version and alias), the schedule's role may invoke the unqualified function only:
 * the one thing the schedule calls.
 */
class InvokeFunction extends ScheduleTargetBase implements scheduler.IScheduleTarget {
  private readonly fn: lambda.IFunction;

  constructor(fn: lambda.IFunction, props: ScheduleTargetBaseProps) {
    super(props, fn.functionArn);
    this.fn = fn;
  }

  protected addTargetActionToRole(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.fn.functionArn] }),
    );
  }
}

/**
 * An SQS on-failure destination granting the function's role SendMessage only (CDK's `SqsDestination`
 * also grants GetQueueAttributes and GetQueueUrl, which Lambda does not need to deliver a record).
 */
class SendOnlySqsDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    allow(fn, this.queue.queueArn, ['sqs:SendMessage']);
    return { destination: this.queue.queueArn };
  }
}

function allow(fn: lambda.IFunction, resource: string, actions: string[]): void {
  const role = fn.role;
  if (!role) throw new Error(`${fn.node.path} has no role`);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [resource] }));
}
