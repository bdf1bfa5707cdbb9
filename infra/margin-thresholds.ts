/**
 * `MarginThresholds`: the whole qmt service as one construct. Scheduled recalibration, the fanned-out margin
 * sweep, their tables, topics, queues, alarms and dashboard, each function with a role that allows exactly
 * the calls its adapters make on exactly its resources.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Arn, ArnFormat, Duration, RemovalPolicy, Stack, TimeZone, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { ScheduleTargetBase, type ScheduleTargetBaseProps } from 'aws-cdk-lib/aws-scheduler-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, type MetricName } from '../lambdas/shared/observability.ts';
import {
  accountsTable as accountsTableDefinition,
  type IndexProjection,
  type KeyAttribute,
  MARGIN_WATCHLIST_INDEX,
  marginStatusTable as marginStatusTableDefinition,
  runsTable as runsTableDefinition,
  TABLE_NAME_ENV,
  type TableDefinition,
  THRESHOLD_HISTORY_INDEX,
  tableNames,
  thresholdsTable as thresholdsTableDefinition,
} from '../lib/adapters/dynamodb/tables.ts';
import { ConfigError } from '../lib/config/errors.ts';
import { loadRuntimeConfig, RUNTIME_ENV, type RuntimeDocument } from '../lib/config/runtime.ts';
import { LAMBDA_BUNDLING } from './bundling.ts';

/** The repository root: handlers, the lock file and the tsconfig esbuild reads live here. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The three functions, by the name the construct uses for them. */
export type QmtFunctionName = 'recalibrate' | 'sweepCoordinator' | 'sweepWorker';

/** Each function's handler, relative to the repository root. */
export const HANDLER_ENTRIES: Readonly<Record<QmtFunctionName, string>> = {
  recalibrate: 'lambdas/recalibrate/handler.ts',
  sweepCoordinator: 'lambdas/sweep-coordinator/handler.ts',
  sweepWorker: 'lambdas/sweep-worker/handler.ts',
};

/**
 * Powertools `service` of each function (`POWERTOOLS_SERVICE_NAME`). Powertools adds it as the `service`
 * dimension of every metric, so the alarms and the dashboard select the metrics by it.
 */
export const SERVICE_NAMES: Readonly<Record<QmtFunctionName, string>> = {
  recalibrate: 'recalibrate',
  sweepCoordinator: 'sweep-coordinator',
  sweepWorker: 'sweep-worker',
};

/** CloudWatch namespace of the Powertools metrics (`POWERTOOLS_METRICS_NAMESPACE`). */
export const METRICS_NAMESPACE = 'qmt';

/** Lambda allows 4 KB of environment variables per function; this much is left for `QMT_CONFIG`. */
export const MAX_CONFIG_BYTES = 3_072;

/** A subscription to the alerts or ops topic, as configuration describes it. */
export interface TopicSubscription {
  readonly protocol: 'email' | 'https' | 'sqs' | 'lambda';
  /** Email address, https URL, SQS queue ARN or Lambda function ARN. */
  readonly endpoint: string;
  /**
   * Allowed values per message attribute (`eventType`, `severity`, `accountId`, `newState`); a message is
   * delivered only if every listed attribute has one of its values.
   *
   * @default - every message is delivered
   */
  readonly filterPolicy?: Readonly<Record<string, readonly string[]>>;
  /**
   * Deliver the message body alone, without the SNS envelope (SQS and HTTPS only).
   *
   * @default false - the body arrives inside SNS's signed JSON envelope, attributes included
   */
  readonly rawMessageDelivery?: boolean;
}

export interface MarginThresholdsProps {
  /**
   * The functions' configuration document (instruments, policies, catalogue additions, sweep sizing), passed
   * to every function as `QMT_CONFIG` and validated here as `lib/config/runtime.ts` will read it. It must fit
   * in 3 KB of JSON.
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

interface FunctionSpec {
  readonly name: QmtFunctionName;
  readonly id: string;
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly deadLetterQueue?: sqs.IQueue;
}

/** Powertools idempotency records (DynamoDbIdempotencyStore) live in the runs table. */
const IDEMPOTENCY_ACTIONS = [
  'dynamodb:DeleteItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
];
/** The run ledger (PutItem and UpdateItem in a transaction, UpdateItem, DeleteItem) plus idempotency records. */
const RUNS_TABLE_ACTIONS = IDEMPOTENCY_ACTIONS;

const DEFAULT_RECALIBRATION = scheduler.ScheduleExpression.cron({
  minute: '5',
  hour: '0',
  timeZone: TimeZone.ETC_UTC,
});
const DEFAULT_SWEEP = scheduler.ScheduleExpression.rate(Duration.minutes(5));

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
  public readonly scheduleGroup: scheduler.IScheduleGroup;
  public readonly recalibrationSchedule: scheduler.ISchedule;
  public readonly sweepSchedule: scheduler.ISchedule;
  public readonly dashboard: cloudwatch.Dashboard;

  private readonly prefix: string;
  private readonly removalPolicy: RemovalPolicy;
  private readonly logRetention: logs.RetentionDays;
  private readonly tracing: boolean;
  private readonly fifoAlerts: boolean;
  private readonly entries: Readonly<Record<QmtFunctionName, string>>;
  private readonly alarmList: cloudwatch.IAlarm[] = [];
  private readonly subscriptionDlqs = new Map<'standard' | 'fifo', sqs.Queue>();
  private subscriptionCount = 0;

  constructor(scope: Construct, id: string, props: MarginThresholdsProps) {
    super(scope, id);
    validateProps(props);

    this.prefix = props.namePrefix ?? 'qmt';
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    this.tracing = props.tracing ?? false;
    this.fifoAlerts = props.fifoAlerts ?? false;
    this.entries = { ...HANDLER_ENTRIES, ...props.handlerEntries };
    const deletionProtection = props.deletionProtection ?? this.removalPolicy === RemovalPolicy.RETAIN;
    const names = tableNames(this.prefix);
    const workerTimeout = props.sweepWorkerTimeout ?? Duration.minutes(5);

    // Tables: keys, indexes and TTL come from the same definitions CreateTable uses locally.
    const table = (id: string, definition: TableDefinition, tableName: string) =>
      new dynamodb.TableV2(this, id, {
        ...tableKeyProps(definition),
        tableName,
        billing: dynamodb.Billing.onDemand(),
        // AWS managed key: encrypted at rest, every use of the key in CloudTrail, and no key policy to keep in
        // step with the roles. Nothing here needs a key the service could be cut off from.
        encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection,
        removalPolicy: this.removalPolicy,
      });
    this.thresholdsTable = table('ThresholdsTable', thresholdsTableDefinition, names.thresholds);
    this.marginStatusTable = table('MarginStatusTable', marginStatusTableDefinition, names.marginStatus);
    this.runsTable = table('RunsTable', runsTableDefinition, names.runs);
    this.accountsTable =
      props.accountsTable ?? table('AccountsTable', accountsTableDefinition, names.accounts);

    // Topics: one customer-managed key, so CloudWatch alarms can publish to the encrypted ops topic.
    this.topicKey =
      props.topicKey ??
      new kms.Key(this, 'TopicKey', {
        description: `qmt (${this.prefix}): encrypts the alerts and ops topics`,
        enableKeyRotation: true,
        removalPolicy: this.removalPolicy,
      });
    // Only on behalf of this account's alarms: without the source conditions, the CloudWatch service could
    // be made to use the key for another account's alarm (the confused-deputy problem).
    const thisAccountsAlarms = {
      ArnLike: {
        'aws:SourceArn': Stack.of(this).formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: '*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
      StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
    };
    this.topicKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: thisAccountsAlarms,
      }),
    );
    this.alertsTopic = new sns.Topic(this, 'AlertsTopic', {
      topicName: this.fifoAlerts ? `${this.prefix}-alerts.fifo` : `${this.prefix}-alerts`,
      displayName: 'qmt margin alerts',
      masterKey: this.topicKey,
      enforceSSL: true,
      signatureVersion: '2',
      ...(this.fifoAlerts && {
        fifo: true,
        contentBasedDeduplication: false,
        // Message groups are accounts: high-throughput mode scales per group, not per topic.
        fifoThroughputScope: sns.FifoThroughputScope.MESSAGE_GROUP,
      }),
    });
    const subscribers = props.alertSubscriberAccounts ?? [];
    if (subscribers.length > 0) {
      this.alertsTopic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowConfiguredAccountsToSubscribe',
          principals: subscribers.map((account) => new iam.AccountPrincipal(account)),
          actions: ['sns:Subscribe'],
          resources: [this.alertsTopic.topicArn],
          conditions: { Bool: { 'aws:SecureTransport': 'true' } },
        }),
      );
    }
    const opsTopic = new sns.Topic(this, 'OpsTopic', {
      topicName: `${this.prefix}-ops`,
      displayName: 'qmt operations',
      masterKey: this.topicKey,
      enforceSSL: true,
      signatureVersion: '2',
    });
    opsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowThisAccountsAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [opsTopic.topicArn],
        conditions: thisAccountsAlarms,
      }),
    );
    this.opsTopic = opsTopic;

    // Queues: SQS-managed encryption. The messages hold segment numbers and scheduled times, nothing about
    // accounts, and SSE-SQS needs no key grants for the scheduler, the functions or the event source.
    const queue = (id: string, extra: sqs.QueueProps = {}) =>
      new sqs.Queue(this, id, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        ...extra,
      });
    this.sweepDeadLetterQueue = queue('SweepDeadLetterQueue', { retentionPeriod: Duration.days(14) });
    this.sweepQueue = queue('SweepQueue', {
      visibilityTimeout: Duration.seconds(workerTimeout.toSeconds() * 6),
      // A segment left for a day has been overtaken by hundreds of newer sweeps.
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.sweepDeadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });
    this.recalibrationDeadLetterQueue = queue('RecalibrationDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
    });
    this.sweepScheduleDeadLetterQueue = queue('SweepScheduleDeadLetterQueue', {
      retentionPeriod: Duration.days(14),
    });

    // Functions.
    const recalibrate = this.createFunction(
      {
        name: 'recalibrate',
        id: 'Recalibrate',
        description: 'qmt: recalibrate every instrument, publish the threshold set, flip CURRENT',
        // GARCH fits by maximum likelihood over up to ten years of daily candles per instrument.
        memorySize: 1024,
        timeout: Duration.minutes(10),
        deadLetterQueue: this.recalibrationDeadLetterQueue,
      },
      props.config,
    );
    const coordinator = this.createFunction(
      {
        name: 'sweepCoordinator',
        id: 'SweepCoordinator',
        description:
          'qmt: plan a sweep (segments from the accounts table size) and queue one message per segment',
        memorySize: 256,
        timeout: Duration.minutes(1),
        deadLetterQueue: this.sweepScheduleDeadLetterQueue,
      },
      props.config,
    );
    const worker = this.createFunction(
      {
        name: 'sweepWorker',
        id: 'SweepWorker',
        description: 'qmt: sweep one Scan segment, move margin states, publish one alert per change',
        memorySize: 1024,
        timeout: workerTimeout,
      },
      props.config,
    );
    this.recalibrateFunction = recalibrate;
    this.sweepCoordinatorFunction = coordinator;
    this.sweepWorkerFunction = worker;

    // Permissions: exactly the commands each function's adapters send (lib/adapters, lambdas/shared).
    // recalibrate — DynamoDbThresholdStore: GetItem (pointer), Query (set partition), BatchWriteItem (set
    // items; deletes after a lost race), PutItem (pointer flip). DynamoDbRunLedger: TransactWriteItems of a
    // Put and an Update (authorised as PutItem and UpdateItem), UpdateItem, DeleteItem (lease release).
    // DynamoDbIdempotencyStore on the runs table: GetItem, PutItem, UpdateItem, DeleteItem. Ops summary:
    // Publish. Then it starts a sweep: DescribeTable on the accounts table, SendMessageBatch to the queue.
    allow(recalibrate, this.thresholdsTable.tableArn, [
      'dynamodb:BatchWriteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    allow(recalibrate, this.runsTable.tableArn, RUNS_TABLE_ACTIONS);
    allow(recalibrate, this.accountsTable.tableArn, ['dynamodb:DescribeTable']);
    allow(recalibrate, this.sweepQueue.queueArn, ['sqs:SendMessage']);
    this.allowPublish(recalibrate, this.opsTopic);
    // sweep coordinator — DynamoDbAccountSource.approximateCount: DescribeTable; SendMessageBatch (authorised
    // as SendMessage); the idempotency record of each scheduled time in the runs table.
    allow(coordinator, this.accountsTable.tableArn, ['dynamodb:DescribeTable']);
    allow(coordinator, this.sweepQueue.queueArn, ['sqs:SendMessage']);
    allow(coordinator, this.runsTable.tableArn, IDEMPOTENCY_ACTIONS);
    // sweep worker — DynamoDbAccountSource.scanPage: Scan. DynamoDbMarginStatusStore: BatchGetItem (get),
    // PutItem (applyTransition), UpdateItem (markAlertPublished clears the outbox), Query on the watchlist
    // index. DynamoDbThresholdStore.currentSet: GetItem, Query. Alerts with PublishBatch (authorised as
    // Publish), rejected records to ops. A worker near its timeout queues a continuation: SendMessage.
    allow(worker, this.accountsTable.tableArn, ['dynamodb:Scan']);
    allow(worker, this.marginStatusTable.tableArn, [
      'dynamodb:BatchGetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    allow(worker, `${this.marginStatusTable.tableArn}/index/${MARGIN_WATCHLIST_INDEX}`, ['dynamodb:Query']);
    allow(worker, this.thresholdsTable.tableArn, ['dynamodb:GetItem', 'dynamodb:Query']);
    allow(worker, this.sweepQueue.queueArn, ['sqs:SendMessage']);
    if (props.accountsTableKey) allow(worker, props.accountsTableKey.keyArn, ['kms:Decrypt']);
    this.allowPublish(worker, this.alertsTopic);
    this.allowPublish(worker, this.opsTopic);
    worker.addEventSource(
      new SqsEventSource(this.sweepQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: props.sweepWorkerConcurrency ?? 100,
      }),
    );

    // Schedules: retried, then dead-lettered; the scheduled time is each run's idempotency key.
    const scheduleGroup = new scheduler.ScheduleGroup(this, 'ScheduleGroup', {
      scheduleGroupName: this.prefix,
      // Schedules are configuration, not data: nothing to keep.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.scheduleGroup = scheduleGroup;
    const scheduledTimeInput = scheduler.ScheduleTargetInput.fromObject({
      scheduledTime: scheduler.ContextAttribute.scheduledTime,
    });
    this.recalibrationSchedule = new scheduler.Schedule(this, 'RecalibrationSchedule', {
      schedule: props.recalibrationSchedule ?? DEFAULT_RECALIBRATION,
      scheduleGroup,
      description: 'qmt: recalibrate margin thresholds',
      enabled: props.schedulesEnabled ?? true,
      target: new InvokeFunction(recalibrate, {
        input: scheduledTimeInput,
        deadLetterQueue: this.recalibrationDeadLetterQueue,
        retryAttempts: 10,
        // A recalibration hours late is still worth running: the lease and the run id make it safe.
        maxEventAge: Duration.hours(6),
      }),
    });
    this.sweepSchedule = new scheduler.Schedule(this, 'SweepSchedule', {
      schedule: props.sweepSchedule ?? DEFAULT_SWEEP,
      scheduleGroup,
      description: 'qmt: sweep every account against the CURRENT thresholds',
      enabled: props.schedulesEnabled ?? true,
      target: new InvokeFunction(coordinator, {
        input: scheduledTimeInput,
        deadLetterQueue: this.sweepScheduleDeadLetterQueue,
        retryAttempts: 3,
        // A sweep later than this is overtaken by the next one at the default rate.
        maxEventAge: Duration.minutes(5),
      }),
    });

    this.createAlarms(scheduleGroup, props.maxThresholdAge ?? Duration.hours(26));
    this.dashboard = this.createDashboard();
    this.acknowledgeFindings([recalibrate, coordinator, worker]);
  }

  /** Every alarm this construct created; each notifies the ops topic. */
  public get alarms(): readonly cloudwatch.IAlarm[] {
    return [...this.alarmList];
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
    return this.subscribe(this.alertsTopic, subscription, this.fifoAlerts);
  }

  /** Subscribe an endpoint to the ops topic (recalibration summaries, rejected accounts, alarms). */
  public subscribeToOps(subscription: TopicSubscription): sns.Subscription {
    return this.subscribe(this.opsTopic, subscription, false);
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
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAMES[source] },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...props,
    });
  }

  /** Instruments given a fresh threshold by a recalibration. */
  public metricInstrumentsRecalibrated(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.InstrumentsRecalibrated, 'recalibrate', props);
  }

  /** Instruments that kept their previous threshold because their market data was unusable. */
  public metricThresholdsHeld(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.ThresholdsHeld, 'recalibrate', props);
  }

  /** Scan segments queued: by the coordinator on its schedule, by recalibrate after a new set. */
  public metricSegmentsPlanned(
    source: 'sweepCoordinator' | 'recalibrate' = 'sweepCoordinator',
    props?: cloudwatch.MetricOptions,
  ): cloudwatch.Metric {
    return this.metric(METRIC.SegmentsPlanned, source, props);
  }

  /** Segments a worker could not finish (the record fails; SQS redelivers it, then dead-letters it). */
  public metricSegmentsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.SegmentsFailed, 'sweepWorker', props);
  }

  public metricAccountsValued(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AccountsValued, 'sweepWorker', props);
  }

  /** Account records that failed validation (reported to the ops topic with their keys). */
  public metricAccountsRejected(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AccountsRejected, 'sweepWorker', props);
  }

  /** Margin state changes applied. */
  public metricTransitions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.Transitions, 'sweepWorker', props);
  }

  public metricAlertsPublished(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AlertsPublished, 'sweepWorker', props);
  }

  /** Alerts that could not be published after retries. */
  public metricAlertsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.AlertsFailed, 'sweepWorker', props);
  }

  /** A function's own measure of its run time (`DurationMs`). */
  public metricDurationMs(source: QmtFunctionName, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(METRIC.DurationMs, source, { statistic: cloudwatch.Stats.MAXIMUM, ...props });
  }

  private createFunction(spec: FunctionSpec, config: RuntimeDocument): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${spec.id}Logs`, {
      retention: this.logRetention,
      removalPolicy: this.removalPolicy,
    });
    // Its own role, no managed policy: logs to its own group, and the statements added below.
    const role = new iam.Role(this, `${spec.id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `qmt ${SERVICE_NAMES[spec.name]} function`,
    });
    logGroup.grantWrite(role);

    const entry = this.entries[spec.name];
    return new NodejsFunction(this, spec.id, {
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
      ...(this.tracing && { tracing: lambda.Tracing.ACTIVE }),
      ...(spec.deadLetterQueue && { deadLetterQueue: spec.deadLetterQueue }),
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      environment: {
        [TABLE_NAME_ENV.thresholds]: this.thresholdsTable.tableName,
        [TABLE_NAME_ENV.accounts]: this.accountsTable.tableName,
        [TABLE_NAME_ENV.marginStatus]: this.marginStatusTable.tableName,
        [TABLE_NAME_ENV.runs]: this.runsTable.tableName,
        [RUNTIME_ENV.alertsTopicArn]: this.alertsTopic.topicArn,
        [RUNTIME_ENV.opsTopicArn]: this.opsTopic.topicArn,
        [RUNTIME_ENV.sweepQueueUrl]: this.sweepQueue.queueUrl,
        [RUNTIME_ENV.config]: JSON.stringify(config),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAMES[spec.name],
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        // The bundle ships its source map; this makes stack traces point at the TypeScript.
        NODE_OPTIONS: '--enable-source-maps',
      },
      // Local esbuild, ESM, minified, with a source map, the AWS SDK bundled, zod without its locales.
      bundling: LAMBDA_BUNDLING,
    });
  }

  private allowPublish(fn: lambda.IFunction, topic: sns.ITopic): void {
    allow(fn, topic.topicArn, ['sns:Publish']);
    // SNS encrypts with the topic's key on the publisher's behalf.
    allow(fn, this.topicKey.keyArn, ['kms:Decrypt', 'kms:GenerateDataKey']);
  }

  private subscribe(topic: sns.ITopic, subscription: TopicSubscription, fifo: boolean): sns.Subscription {
    const index = this.subscriptionCount++;
    const props = {
      deadLetterQueue: this.subscriptionDeadLetterQueue(fifo),
      ...(subscription.filterPolicy && {
        filterPolicy: Object.fromEntries(
          Object.entries(subscription.filterPolicy).map(([attribute, allowlist]) => [
            attribute,
            sns.SubscriptionFilter.stringFilter({ allowlist: [...allowlist] }),
          ]),
        ),
      }),
    };
    const raw = subscription.rawMessageDelivery ?? false;
    let target: sns.ITopicSubscription;
    switch (subscription.protocol) {
      case 'email':
        target = new subscriptions.EmailSubscription(subscription.endpoint, props);
        break;
      case 'https':
        target = new subscriptions.UrlSubscription(subscription.endpoint, {
          ...props,
          protocol: sns.SubscriptionProtocol.HTTPS,
          rawMessageDelivery: raw,
        });
        break;
      case 'sqs':
        target = new subscriptions.SqsSubscription(
          sqs.Queue.fromQueueArn(this, `Subscriber${index}Queue`, subscription.endpoint),
          { ...props, rawMessageDelivery: raw },
        );
        break;
      case 'lambda': {
        const account = Arn.split(subscription.endpoint, ArnFormat.COLON_RESOURCE_NAME).account;
        const stackAccount = Stack.of(this).account;
        target = new subscriptions.LambdaSubscription(
          lambda.Function.fromFunctionAttributes(this, `Subscriber${index}Function`, {
            functionArn: subscription.endpoint,
            // The invoke permission for SNS can only be added in this account; elsewhere its owner adds it.
            sameEnvironment: Token.isUnresolved(stackAccount) || account === stackAccount,
          }),
          props,
        );
        break;
      }
    }
    return topic.addSubscription(target);
  }

  /** One dead-letter queue for failed subscription deliveries (a FIFO one for a FIFO topic), made on first use. */
  private subscriptionDeadLetterQueue(fifo: boolean): sqs.IQueue {
    const kind = fifo ? 'fifo' : 'standard';
    const existing = this.subscriptionDlqs.get(kind);
    if (existing) return existing;
    const queue = new sqs.Queue(
      this,
      fifo ? 'FifoSubscriptionDeadLetterQueue' : 'SubscriptionDeadLetterQueue',
      {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
        ...(fifo && { fifo: true }),
      },
    );
    this.subscriptionDlqs.set(kind, queue);
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the SNS subscriptions (their RedrivePolicy), which cdk-nag does not recognise; a dead-letter queue of its own would only move the problem.',
    });
    this.addAlarm(
      `${kind === 'fifo' ? 'Fifo' : ''}SubscriptionDlqAlarm`,
      `${this.prefix}-${kind === 'fifo' ? 'fifo-' : ''}subscription-dlq`,
      'SNS could not deliver a message to a subscriber after its retries; the message is in the subscription dead-letter queue.',
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: Duration.minutes(5),
      }),
      { threshold: 0, comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD },
    );
    return queue;
  }

  private addAlarm(
    id: string,
    alarmName: string,
    description: string,
    metric: cloudwatch.IMetric,
    options: Omit<cloudwatch.CreateAlarmOptions, 'alarmName' | 'alarmDescription' | 'evaluationPeriods'> & {
      readonly evaluationPeriods?: number;
    },
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      alarmName,
      alarmDescription: description,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...options,
    });
    const action = new SnsAction(this.opsTopic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    this.alarmList.push(alarm);
    return alarm;
  }

  private createAlarms(group: scheduler.ScheduleGroup, maxThresholdAge: Duration): void {
    const atLeastOne = {
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    };
    const aboveZero = {
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    };
    const fiveMinutes = Duration.minutes(5);

    const functions: [QmtFunctionName, lambda.IFunction][] = [
      ['recalibrate', this.recalibrateFunction],
      ['sweepCoordinator', this.sweepCoordinatorFunction],
      ['sweepWorker', this.sweepWorkerFunction],
    ];
    for (const [name, fn] of functions) {
      const service = SERVICE_NAMES[name];
      this.addAlarm(
        `${pascal(service)}ErrorsAlarm`,
        `${this.prefix}-${service}-errors`,
        `The ${service} function failed (an error or a timeout); see its log group.`,
        fn.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        atLeastOne,
      );
    }

    const depth = (queue: sqs.IQueue) =>
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: fiveMinutes,
      });
    this.addAlarm(
      'SweepDlqAlarm',
      `${this.prefix}-sweep-dlq`,
      'A sweep segment failed on every delivery and is in the sweep dead-letter queue: its accounts were not checked.',
      depth(this.sweepDeadLetterQueue),
      aboveZero,
    );
    this.addAlarm(
      'RecalibrationDlqAlarm',
      `${this.prefix}-recalibration-dlq`,
      'A scheduled recalibration could not be delivered, or failed after its retries: thresholds were not refreshed.',
      depth(this.recalibrationDeadLetterQueue),
      aboveZero,
    );
    this.addAlarm(
      'SweepScheduleDlqAlarm',
      `${this.prefix}-sweep-schedule-dlq`,
      'A scheduled sweep could not be delivered to the coordinator, or the coordinator failed after its retries.',
      depth(this.sweepScheduleDeadLetterQueue),
      aboveZero,
    );
    this.addAlarm(
      'ScheduleDeliveryAlarm',
      `${this.prefix}-schedule-delivery`,
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
      atLeastOne,
    );
    this.addAlarm(
      'SweepBacklogAlarm',
      `${this.prefix}-sweep-backlog`,
      'Sweep segments have waited over 15 minutes: workers are failing, throttled or short of concurrency.',
      this.sweepQueue.metricApproximateAgeOfOldestMessage({
        statistic: cloudwatch.Stats.MAXIMUM,
        period: fiveMinutes,
      }),
      {
        threshold: 900,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
      },
    );
    this.addAlarm(
      'ThresholdsHeldAlarm',
      `${this.prefix}-thresholds-held`,
      'A recalibration held at least one instrument at its previous threshold because its market data was unusable (the ops topic has the reasons).',
      this.metricThresholdsHeld({ period: Duration.hours(1) }),
      aboveZero,
    );
    this.addAlarm(
      'AlertsFailedAlarm',
      `${this.prefix}-alerts-failed`,
      'Margin alerts could not be published after retries: subscribers missed state changes.',
      this.metricAlertsFailed({ period: fiveMinutes }),
      aboveZero,
    );

    const hours = maxThresholdAge.toHours();
    this.addAlarm(
      'StaleThresholdsAlarm',
      `${this.prefix}-thresholds-stale`,
      `No recalibration has succeeded for ${hours} hours: the CURRENT threshold set is older than expected.`,
      new cloudwatch.MathExpression({
        expression: 'FILL(invocations, 0) - FILL(errors, 0)',
        usingMetrics: {
          invocations: this.recalibrateFunction.metricInvocations({
            period: Duration.hours(1),
            statistic: cloudwatch.Stats.SUM,
          }),
          errors: this.recalibrateFunction.metricErrors({
            period: Duration.hours(1),
            statistic: cloudwatch.Stats.SUM,
          }),
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
  }

  private createDashboard(): cloudwatch.Dashboard {
    const hour = Duration.hours(1);
    const fiveMinutes = Duration.minutes(5);
    const functions: [QmtFunctionName, lambda.IFunction][] = [
      ['recalibrate', this.recalibrateFunction],
      ['sweepCoordinator', this.sweepCoordinatorFunction],
      ['sweepWorker', this.sweepWorkerFunction],
    ];
    const graph = (title: string, left: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
    const counted = (name: MetricName, source: QmtFunctionName, period: Duration) =>
      this.metric(name, source, { period, label: `${name} (${SERVICE_NAMES[source]})` });
    const depth = (queue: sqs.IQueue, label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, label });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${this.prefix}-margin-thresholds`,
      defaultInterval: Duration.days(3),
    });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `# qmt (${this.prefix})\nRecalibration, margin sweeps and alerts. Every alarm notifies the ops topic.`,
        width: 24,
        height: 2,
      }),
    );
    // Rows of three 8-wide graphs: what the functions did (Powertools metrics), then how they ran.
    dashboard.addWidgets(
      graph('Recalibration', [
        this.metricInstrumentsRecalibrated({ period: hour }),
        this.metricThresholdsHeld({ period: hour }),
        counted(METRIC.RecalibrationsSkipped, 'recalibrate', hour),
        counted(METRIC.SweepStartsFailed, 'recalibrate', hour),
      ]),
      graph('Sweep: segments', [
        counted(METRIC.SegmentsPlanned, 'sweepCoordinator', fiveMinutes),
        counted(METRIC.SegmentsPlanned, 'recalibrate', fiveMinutes),
        counted(METRIC.SegmentsCompleted, 'sweepWorker', fiveMinutes),
        counted(METRIC.SegmentsContinued, 'sweepWorker', fiveMinutes),
        this.metricSegmentsFailed({ period: fiveMinutes }),
      ]),
      graph('Sweep: accounts', [
        this.metricAccountsValued({ period: fiveMinutes }),
        this.metricAccountsRejected({ period: fiveMinutes }),
      ]),
    );
    dashboard.addWidgets(
      graph('State changes and alerts', [
        this.metricTransitions({ period: fiveMinutes }),
        counted(METRIC.StaleTransitions, 'sweepWorker', fiveMinutes),
        this.metricAlertsPublished({ period: fiveMinutes }),
        this.metricAlertsFailed({ period: fiveMinutes }),
      ]),
      graph(
        'Failed invocations and repeated deliveries',
        functions.flatMap(([name]) => [
          counted(METRIC.InvocationsFailed, name, fiveMinutes),
          ...(name === 'sweepWorker' ? [] : [counted(METRIC.DuplicateEvents, name, fiveMinutes)]),
        ]),
      ),
      graph(
        'Run time reported by the functions (DurationMs, max)',
        functions.map(([name]) =>
          this.metricDurationMs(name, { period: fiveMinutes, label: SERVICE_NAMES[name] }),
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
        functions.map(([name, fn]) =>
          fn.metricThrottles({ period: fiveMinutes, label: SERVICE_NAMES[name] }),
        ),
      ),
    );
    dashboard.addWidgets(
      graph('Sweep queue', [
        depth(this.sweepQueue, 'waiting'),
        this.sweepQueue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, label: 'oldest (s)' }),
      ]),
      graph('Dead-letter queues', [
        depth(this.sweepDeadLetterQueue, 'sweep'),
        depth(this.recalibrationDeadLetterQueue, 'recalibration'),
        depth(this.sweepScheduleDeadLetterQueue, 'sweep schedule'),
      ]),
      graph('Scheduler', [
        this.scheduleGroup.metricAttempts({ period: fiveMinutes, label: 'invocation attempts' }),
        this.scheduleGroup.metricTargetErrors({ period: fiveMinutes, label: 'target errors' }),
        this.scheduleGroup.metricSentToDLQ({ period: fiveMinutes, label: 'sent to dead-letter queue' }),
        this.scheduleGroup.metricDropped({ period: fiveMinutes, label: 'dropped' }),
      ]),
    );
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarmList, width: 24, height: 4 }),
    );
    return dashboard;
  }

  /** cdk-nag findings that are the design, each with its reason. */
  private acknowledgeFindings(functions: readonly NodejsFunction[]): void {
    if (!this.tracing) return;
    for (const fn of functions) {
      if (!fn.role) continue;
      // Acknowledged on the role: its DefaultPolicy holds the statement Lambda adds for active tracing.
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Tracing is switched on, and X-Ray PutTraceSegments and PutTelemetryRecords support no resource-level permissions: AWS documents Resource "*" for them. Every other statement of this role names its resources.',
      });
    }
  }
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

function allow(fn: lambda.IFunction, resource: string, actions: string[]): void {
  const role = fn.role;
  if (!role) throw new Error(`${fn.node.path} has no role`);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions, resources: [resource] }));
}

function attribute(key: KeyAttribute): dynamodb.Attribute {
  const types: Record<KeyAttribute['type'], dynamodb.AttributeType> = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  };
  return { name: key.name, type: types[key.type] };
}

function projection(index: { readonly projection: IndexProjection }) {
  switch (index.projection.type) {
    case 'ALL':
      return { projectionType: dynamodb.ProjectionType.ALL };
    case 'KEYS_ONLY':
      return { projectionType: dynamodb.ProjectionType.KEYS_ONLY };
    case 'INCLUDE':
      return {
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...index.projection.nonKeyAttributes],
      };
  }
}

/** Keys, indexes and TTL of a table definition, as `TableV2` props. */
export function tableKeyProps(
  definition: TableDefinition,
): Pick<
  dynamodb.TablePropsV2,
  'partitionKey' | 'sortKey' | 'globalSecondaryIndexes' | 'localSecondaryIndexes' | 'timeToLiveAttribute'
> {
  return {
    partitionKey: attribute(definition.partitionKey),
    ...(definition.sortKey && { sortKey: attribute(definition.sortKey) }),
    ...(definition.globalSecondaryIndexes.length > 0 && {
      globalSecondaryIndexes: definition.globalSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        ...(index.sortKey && { sortKey: attribute(index.sortKey) }),
        ...projection(index),
      })),
    }),
    ...(definition.localSecondaryIndexes.length > 0 && {
      localSecondaryIndexes: definition.localSecondaryIndexes.map((index) => ({
        indexName: index.indexName,
        sortKey: attribute(index.sortKey),
        ...projection(index),
      })),
    }),
    ...(definition.timeToLiveAttribute && { timeToLiveAttribute: definition.timeToLiveAttribute }),
  };
}

function pascal(text: string): string {
  return text.replace(/(^|-)([a-z])/g, (_, __, letter: string) => letter.toUpperCase());
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
  const configBytes = Buffer.byteLength(JSON.stringify(props.config), 'utf8');
  if (configBytes > MAX_CONFIG_BYTES) {
    fail(
      'config',
      `is ${configBytes} bytes as JSON; Lambda allows 4 KB of environment variables per function, which leaves ${MAX_CONFIG_BYTES} bytes for QMT_CONFIG (move shared policy fields into policies.default)`,
    );
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
