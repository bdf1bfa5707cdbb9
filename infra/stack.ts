/**
 * `QmtStack`: one environment of qmt (dev, prod, …) built from its validated configuration.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Tags, TimeZone } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type { Construct } from 'constructs';
import type { EnvironmentConfig, SubscriptionConfig } from './config/environment.ts';
import { MarginThresholds, type TopicSubscription } from './margin-thresholds.ts';

export interface QmtStackProps extends StackProps {
  /** The environment's configuration, validated (`loadEnvironmentConfig`). */
  readonly config: EnvironmentConfig;
}

function schedule(expression: string, timeZone: string): scheduler.ScheduleExpression {
  // A rate has no wall-clock time; only cron expressions take the time zone.
  return expression.startsWith('cron(')
    ? scheduler.ScheduleExpression.expression(expression, TimeZone.of(timeZone))
    : scheduler.ScheduleExpression.expression(expression);
}

function topicSubscription(subscription: SubscriptionConfig): TopicSubscription {
  return {
    protocol: subscription.protocol,
    endpoint: subscription.endpoint,
    ...(subscription.filterPolicy && { filterPolicy: subscription.filterPolicy }),
    ...('rawMessageDelivery' in subscription && { rawMessageDelivery: subscription.rawMessageDelivery }),
  };
}

/**
 * @example
 * const stack = new QmtStack(app, 'qmt-dev', { config: loadEnvironmentConfig('dev') });
 */
export class QmtStack extends Stack {
  public readonly marginThresholds: MarginThresholds;

  constructor(scope: Construct, id: string, props: QmtStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description: `qmt (${config.name}): volatility-adjusted margin thresholds, margin sweeps and alerts`,
      ...((config.account || config.region) && { env: { account: config.account, region: config.region } }),
      ...stackProps,
    });

    const accounts = config.accountsTable;
    const qmt = new MarginThresholds(this, 'Qmt', {
      config: config.qmt,
      namePrefix: config.namePrefix,
      ...(accounts.mode === 'import' && {
        accountsTable: dynamodb.TableV2.fromTableName(this, 'ExchangeAccountsTable', accounts.tableName),
        ...(accounts.encryptionKeyArn && {
          accountsTableKey: kms.Key.fromKeyArn(this, 'ExchangeAccountsKey', accounts.encryptionKeyArn),
        }),
      }),
      fifoAlerts: config.fifoAlerts,
      ...(config.alertSubscriberAccounts && { alertSubscriberAccounts: config.alertSubscriberAccounts }),
      recalibrationSchedule: schedule(config.schedules.recalibration, config.schedules.timeZone),
      sweepSchedule: schedule(config.schedules.sweep, config.schedules.timeZone),
      stressSchedule: schedule(config.schedules.stress, config.schedules.timeZone),
      schedulesEnabled: config.schedules.enabled,
      removalPolicy: config.removalPolicy === 'retain' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      deletionProtection: config.deletionProtection,
      logRetention: config.logRetentionDays as logs.RetentionDays,
      sweepWorkerTimeout: Duration.seconds(config.sweep.workerTimeoutSeconds),
      sweepWorkerConcurrency: config.sweep.workerConcurrency,
      maxReceiveCount: config.sweep.maxReceiveCount,
      maxThresholdAge: Duration.hours(config.maxThresholdAgeHours),
      tracing: config.tracing,
    });
    this.marginThresholds = qmt;

    for (const subscription of config.subscriptions.alerts)
      qmt.subscribeToAlerts(topicSubscription(subscription));
    for (const subscription of config.subscriptions.ops) qmt.subscribeToOps(topicSubscription(subscription));
    if (config.alarmEmail) qmt.subscribeToOps({ protocol: 'email', endpoint: config.alarmEmail });

    Tags.of(this).add('qmt:environment', config.name);
    for (const [key, value] of Object.entries(config.tags)) Tags.of(this).add(key, value);

    const output = (id: string, value: string, description: string) =>
      new CfnOutput(this, id, { value, description });
    output('ThresholdsTableName', qmt.thresholdsTable.tableName, 'QMT_THRESHOLDS_TABLE for the qmt command');
    output('AccountsTableName', qmt.accountsTable.tableName, 'QMT_ACCOUNTS_TABLE');
    output('MarginStatusTableName', qmt.marginStatusTable.tableName, 'QMT_MARGIN_STATUS_TABLE');
    output('RunsTableName', qmt.runsTable.tableName, 'QMT_RUNS_TABLE');
    output('AlertsTopicArn', qmt.alertsTopic.topicArn, 'Subscribe here for margin alerts');
    output('OpsTopicArn', qmt.opsTopic.topicArn, 'Operational events and alarms');
    output('SweepQueueUrl', qmt.sweepQueue.queueUrl, 'One message per Scan segment of a sweep');
    output(
      'RecalibrateFunctionName',
      qmt.recalibrateFunction.functionName,
      'Invoke by hand to recalibrate now',
    );
    output(
      'SweepCoordinatorFunctionName',
      qmt.sweepCoordinatorFunction.functionName,
      'Invoke by hand to sweep now',
    );
    if (qmt.stressRunFunction) {
      output(
        'StressRunFunctionName',
        qmt.stressRunFunction.functionName,
        'Invoke with {"scheduledTime": "<ISO time>"} to run the stress now',
      );
    }
    output('DashboardName', qmt.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
