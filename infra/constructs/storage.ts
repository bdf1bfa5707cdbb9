/**
 * What qmt keeps: the six tables, the two topics and their key, the sweep queue and the dead-letter queues.
 * Built as functions on the caller's scope, not as a child construct, so every logical ID stays as it was.
 */
import { ArnFormat, Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  accountsTable as accountsTableDefinition,
  breachIndexTable as breachIndexTableDefinition,
  candlesTable as candlesTableDefinition,
  type IndexProjection,
  type KeyAttribute,
  marginStatusTable as marginStatusTableDefinition,
  runsTable as runsTableDefinition,
  type TableDefinition,
  tableNames,
  thresholdsTable as thresholdsTableDefinition,
} from '../../lib/adapters/dynamodb/tables.ts';

export interface StorageOptions {
  readonly prefix: string;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  /** An imported accounts table; otherwise one is created. */
  readonly accountsTable?: dynamodb.ITableV2;
  /** An imported topic key; otherwise one is created. */
  readonly topicKey?: kms.IKey;
  readonly fifoAlerts: boolean;
  readonly alertSubscriberAccounts: readonly string[];
  readonly sweepWorkerTimeout: Duration;
  readonly maxReceiveCount: number;
  /** The stress run function's timeout, when the configuration has a `stress` section. */
  readonly stressRunTimeout?: Duration;
}

export interface QmtTables {
  readonly thresholdsTable: dynamodb.ITableV2;
  readonly marginStatusTable: dynamodb.ITableV2;
  readonly runsTable: dynamodb.ITableV2;
  readonly accountsTable: dynamodb.ITableV2;
  /** Breach bands per account: written by every full sweep, read and updated by the market watch. */
  readonly breachIndexTable: dynamodb.ITableV2;
  /** Candles per venue and instrument, kept by the recalibration so it fetches only what is new. */
  readonly candlesTable: dynamodb.ITableV2;
}

export interface QmtTopics {
  readonly topicKey: kms.IKey;
  readonly alertsTopic: sns.ITopic;
  readonly opsTopic: sns.ITopic;
}

export interface QmtQueues {
  readonly sweepDeadLetterQueue: sqs.IQueue;
  readonly sweepQueue: sqs.IQueue;
  readonly recalibrationDeadLetterQueue: sqs.IQueue;
  readonly sweepScheduleDeadLetterQueue: sqs.IQueue;
  /** Market watch deliveries and asynchronous invocations that failed for good. */
  readonly watchDeadLetterQueue: sqs.IQueue;
  /** The daily stress run (with a `stress` configuration): one message per segment and step, its DLQs. */
  readonly stress?: StressQueues;
}

export interface StressQueues {
  readonly queue: sqs.IQueue;
  /** Segment steps that failed on every delivery: the run waits on them and never completes. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Scheduler deliveries and asynchronous invocations of the stress run's start that failed for good. */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
}

export type QmtStorage = QmtTables & QmtTopics & QmtQueues;

/** Tables, then topics, then queues, created on `scope` in the order the template has always had. */
export function createStorage(scope: Construct, options: StorageOptions): QmtStorage {
  return {
    ...createTables(scope, options),
    ...createTopics(scope, options),
    ...createQueues(scope, options),
  };
}

/** Tables: keys, indexes and TTL come from the same definitions CreateTable uses locally. */
function createTables(scope: Construct, options: StorageOptions): QmtTables {
  const names = tableNames(options.prefix);
  const table = (id: string, definition: TableDefinition, tableName: string) =>
    new dynamodb.TableV2(scope, id, {
      ...tableKeyProps(definition),
      tableName,
      billing: dynamodb.Billing.onDemand(),
      // AWS managed key: encrypted at rest, every use of the key in CloudTrail, and no key policy to keep in
      // step with the roles. Nothing here needs a key the service could be cut off from.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: options.deletionProtection,
      removalPolicy: options.removalPolicy,
    });
  const thresholdsTable = table('ThresholdsTable', thresholdsTableDefinition, names.thresholds);
  const marginStatusTable = table('MarginStatusTable', marginStatusTableDefinition, names.marginStatus);
  const runsTable = table('RunsTable', runsTableDefinition, names.runs);
  const accountsTable =
    options.accountsTable ?? table('AccountsTable', accountsTableDefinition, names.accounts);
  // Created after the others so their logical IDs and order stay as they were.
  const breachIndexTable = table('BreachIndexTable', breachIndexTableDefinition, names.breachIndex);
  const candlesTable = table('CandlesTable', candlesTableDefinition, names.candles);
  return { thresholdsTable, marginStatusTable, runsTable, accountsTable, breachIndexTable, candlesTable };
}

/** Topics: one customer-managed key, so CloudWatch alarms can publish to the encrypted ops topic. */
function createTopics(scope: Construct, options: StorageOptions): QmtTopics {
  const { prefix } = options;
  const topicKey =
    options.topicKey ??
    new kms.Key(scope, 'TopicKey', {
      description: `qmt (${prefix}): encrypts the alerts and ops topics`,
      enableKeyRotation: true,
      removalPolicy: options.removalPolicy,
    });
  // Only on behalf of this account's alarms: without the source conditions, the CloudWatch service could
  // be made to use the key for another account's alarm (the confused-deputy problem).
  const thisAccountsAlarms = {
    ArnLike: {
      'aws:SourceArn': Stack.of(scope).formatArn({
        service: 'cloudwatch',
        resource: 'alarm',
        resourceName: '*',
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    },
    StringEquals: { 'aws:SourceAccount': Stack.of(scope).account },
  };
  topicKey.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsToPublishToEncryptedTopics',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: thisAccountsAlarms,
    }),
  );
  const alertsTopic = new sns.Topic(scope, 'AlertsTopic', {
    topicName: options.fifoAlerts ? `${prefix}-alerts.fifo` : `${prefix}-alerts`,
    displayName: 'qmt margin alerts',
    masterKey: topicKey,
    enforceSSL: true,
    signatureVersion: '2',
    ...(options.fifoAlerts && {
      fifo: true,
      contentBasedDeduplication: false,
      // Message groups are accounts: high-throughput mode scales per group, not per topic.
      fifoThroughputScope: sns.FifoThroughputScope.MESSAGE_GROUP,
    }),
  });
  const subscribers = options.alertSubscriberAccounts;
  if (subscribers.length > 0) {
    alertsTopic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowConfiguredAccountsToSubscribe',
        principals: subscribers.map((account) => new iam.AccountPrincipal(account)),
        actions: ['sns:Subscribe'],
        resources: [alertsTopic.topicArn],
        conditions: { Bool: { 'aws:SecureTransport': 'true' } },
      }),
    );
  }
  const opsTopic = new sns.Topic(scope, 'OpsTopic', {
    topicName: `${prefix}-ops`,
    displayName: 'qmt operations',
    masterKey: topicKey,
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
  return { topicKey, alertsTopic, opsTopic };
}

/**
 * A queue with SQS-managed encryption and TLS enforced. The messages hold segment numbers and scheduled
 * times, nothing about accounts, and SSE-SQS needs no key grants for the scheduler, the functions or the
 * event source.
 */
export function encryptedQueue(scope: Construct, id: string, extra: sqs.QueueProps = {}): sqs.Queue {
  return new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    ...extra,
  });
}

function createQueues(scope: Construct, options: StorageOptions): QmtQueues {
  const sweepDeadLetterQueue = encryptedQueue(scope, 'SweepDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
  });
  const sweepQueue = encryptedQueue(scope, 'SweepQueue', {
    visibilityTimeout: Duration.seconds(options.sweepWorkerTimeout.toSeconds() * 6),
    // A segment left for a day has been overtaken by hundreds of newer sweeps.
    retentionPeriod: Duration.days(1),
    deadLetterQueue: { queue: sweepDeadLetterQueue, maxReceiveCount: options.maxReceiveCount },
  });
  const recalibrationDeadLetterQueue = encryptedQueue(scope, 'RecalibrationDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
  });
  const sweepScheduleDeadLetterQueue = encryptedQueue(scope, 'SweepScheduleDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
  });
  const watchDeadLetterQueue = encryptedQueue(scope, 'WatchDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
  });
  return {
    sweepDeadLetterQueue,
    sweepQueue,
    recalibrationDeadLetterQueue,
    sweepScheduleDeadLetterQueue,
    watchDeadLetterQueue,
    ...(options.stressRunTimeout && { stress: createStressQueues(scope, options, options.stressRunTimeout) }),
  };
}

/** Created after the others, so their logical IDs and order stay as they were. */
function createStressQueues(scope: Construct, options: StorageOptions, timeout: Duration): StressQueues {
  const deadLetterQueue = encryptedQueue(scope, 'StressDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
  });
  const queue = encryptedQueue(scope, 'StressQueue', {
    // Six times the function's timeout (AWS's advice for an SQS event source): a step is never handed to a
    // second invocation while the first may still be running, retries included.
    visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
    // The next day's run stresses the next set: a step left for a day is of no use.
    retentionPeriod: Duration.days(1),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount: options.maxReceiveCount },
  });
  const scheduleDeadLetterQueue = encryptedQueue(scope, 'StressScheduleDeadLetterQueue', {
    retentionPeriod: Duration.days(14),
  });
  return { queue, deadLetterQueue, scheduleDeadLetterQueue };
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
