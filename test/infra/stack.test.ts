import { Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AccountRootPrincipal, Role } from 'aws-cdk-lib/aws-iam';
import { describe, expect, it } from 'vitest';
import {
  MarginThresholds,
  type MarginThresholdsProps,
  MarginThresholdsPropsError,
} from '../../infra/margin-thresholds.ts';
import {
  accountsTable,
  candlesTable,
  marginStatusTable,
  runsTable,
  type TableDefinition,
  thresholdsTable,
  toCreateTableInput,
} from '../../lib/adapters/dynamodb/tables.ts';
import { runtimeConfigValidatorText } from '../../lib/schemas/runtime-config.ts';
import { buildStack, logicalId, MINIMAL_DOCUMENT, resources, testApp } from './support.ts';

const POWERTOOLS_METRICS = [
  'InstrumentsRecalibrated',
  'ThresholdsHeld',
  'AccountsValued',
  'Transitions',
  'AlertsPublished',
  'AlertsFailed',
  'AccountsRejected',
  'SegmentsPlanned',
  'DurationMs',
];

const standard = buildStack(MINIMAL_DOCUMENT, 'test');
const qmt = standard.stack.marginThresholds;
const template = standard.template;

function functionProps(fn: { node: { defaultChild?: unknown } } & object) {
  const id = logicalId(fn as never);
  const resource = resources(template, 'AWS::Lambda::Function')[id];
  if (!resource) throw new Error(`no function ${id}`);
  return resource.Properties as Record<string, unknown>;
}

describe('QmtStack resources', { timeout: 60_000 }, () => {
  it('has what the service needs, and nothing more', () => {
    // Assess
    template.resourceCountIs('AWS::Lambda::Function', 4);
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', 6);
    template.resourceCountIs('AWS::SNS::Topic', 2);
    template.resourceCountIs('AWS::KMS::Key', 1);
    template.resourceCountIs('AWS::SQS::Queue', 5);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.resourceCountIs('AWS::Scheduler::ScheduleGroup', 1);
    template.resourceCountIs('AWS::Scheduler::Schedule', 3);
    template.resourceCountIs('AWS::Logs::LogGroup', 4);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 18);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('runs four functions on Node.js 24 / arm64, each logging JSON to its own log group', () => {
    // Assess
    const functions = Object.values(resources(template, 'AWS::Lambda::Function'));
    const logGroups = new Set<string>();
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        LoggingConfig: { LogFormat: 'JSON', ApplicationLogLevel: 'INFO', SystemLogLevel: 'WARN' },
      });
      const logging = fn.Properties?.LoggingConfig as { LogGroup: { Ref: string } } | undefined;
      logGroups.add(String(logging?.LogGroup.Ref));
    }
    expect(logGroups.size).toBe(4);
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('sizes the functions: recalibrate 1024 MB / 10 min, coordinator 256 MB / 1 min, worker 1024 MB / 5 min', () => {
    // Assess
    expect(functionProps(qmt.recalibrateFunction)).toMatchObject({ MemorySize: 1024, Timeout: 600 });
    expect(functionProps(qmt.sweepCoordinatorFunction)).toMatchObject({ MemorySize: 256, Timeout: 60 });
    expect(functionProps(qmt.sweepWorkerFunction)).toMatchObject({ MemorySize: 1024, Timeout: 300 });
  });

  it('gives every function the environment lib/config/runtime.ts reads', () => {
    // Assess
    for (const fn of [
      qmt.recalibrateFunction,
      qmt.sweepCoordinatorFunction,
      qmt.sweepWorkerFunction,
      qmt.marketWatchFunction,
    ]) {
      const variables = (functionProps(fn) as { Environment: { Variables: Record<string, unknown> } })
        .Environment.Variables;
      expect(variables).toMatchObject({
        QMT_THRESHOLDS_TABLE: { Ref: logicalId(qmt.thresholdsTable) },
        QMT_ACCOUNTS_TABLE: { Ref: logicalId(qmt.accountsTable) },
        QMT_MARGIN_STATUS_TABLE: { Ref: logicalId(qmt.marginStatusTable) },
        QMT_RUNS_TABLE: { Ref: logicalId(qmt.runsTable) },
        QMT_BREACH_INDEX_TABLE: { Ref: logicalId(qmt.breachIndexTable) },
        QMT_ALERTS_TOPIC_ARN: { Ref: logicalId(qmt.alertsTopic) },
        QMT_OPS_TOPIC_ARN: { Ref: logicalId(qmt.opsTopic) },
        QMT_SWEEP_QUEUE_URL: { Ref: logicalId(qmt.sweepQueue) },
        // The document is in AppConfig; the environment names it.
        QMT_APPCONFIG_APPLICATION: 'qmt-test',
        QMT_APPCONFIG_ENVIRONMENT: 'qmt-test',
        QMT_APPCONFIG_PROFILE: 'runtime',
        POWERTOOLS_METRICS_NAMESPACE: 'qmt',
        POWERTOOLS_SERVICE_NAME: expect.stringMatching(
          /^(recalibrate|sweep-coordinator|sweep-worker|market-watch)$/,
        ),
        NODE_OPTIONS: '--enable-source-maps',
      });
      expect(variables).not.toHaveProperty('QMT_CONFIG');
    }
  });

  it('puts the document in AppConfig: validator, deployment strategy, rollback on the alarms, deployed by cdk deploy', () => {
    // Deployed, the functions value at live marks unless the document says otherwise.
    const document = { ...MINIMAL_DOCUMENT.qmt, marks: { live: true } };
    template.hasResourceProperties('AWS::AppConfig::Application', { Name: 'qmt-test' });
    template.hasResourceProperties('AWS::AppConfig::ConfigurationProfile', {
      Name: 'runtime',
      LocationUri: 'hosted',
      Validators: [{ Type: 'JSON_SCHEMA', Content: runtimeConfigValidatorText() }],
    });
    template.hasResourceProperties('AWS::AppConfig::HostedConfigurationVersion', {
      Content: JSON.stringify(document),
      ContentType: 'application/json',
    });
    template.hasResourceProperties('AWS::AppConfig::DeploymentStrategy', {
      GrowthType: 'LINEAR',
      GrowthFactor: 50,
      DeploymentDurationInMinutes: 2,
      FinalBakeTimeInMinutes: 10,
    });
    template.resourceCountIs('AWS::AppConfig::Deployment', 1);
    // The one monitor is a composite alarm over every alarm of the stack.
    const composite = Object.values(resources(template, 'AWS::CloudWatch::CompositeAlarm'));
    expect(composite).toHaveLength(1);
    const rule = JSON.stringify(composite[0]?.Properties?.AlarmRule);
    for (const alarm of Object.keys(resources(template, 'AWS::CloudWatch::Alarm')))
      expect(rule).toContain(alarm);
    const environment = Object.values(resources(template, 'AWS::AppConfig::Environment'));
    expect(environment).toHaveLength(1);
    expect(environment[0]?.Properties?.Monitors).toEqual([
      {
        AlarmArn: { 'Fn::GetAtt': [logicalId(qmt.configuration.rollbackAlarm), 'Arn'] },
        AlarmRoleArn: expect.anything(),
      },
    ]);
  });

  it.each([
    ['thresholds', thresholdsTable, 'qmt-test-thresholds'],
    ['accounts', accountsTable, 'qmt-test-accounts'],
    ['margin status', marginStatusTable, 'qmt-test-margin-status'],
    ['runs', runsTable, 'qmt-test-runs'],
    ['candles', candlesTable, 'qmt-test-candles'],
  ])(
    'creates the %s table with the keys, indexes and TTL of tables.ts',
    (_, definition: TableDefinition, name) => {
      // Prepare
      const expected = toCreateTableInput(definition, name);

      // Assess
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: expected.KeySchema,
        AttributeDefinitions: expected.AttributeDefinitions,
        GlobalSecondaryIndexes: expected.GlobalSecondaryIndexes ?? Match.absent(),
        LocalSecondaryIndexes: expected.LocalSecondaryIndexes ?? Match.absent(),
        TimeToLiveSpecification: definition.timeToLiveAttribute
          ? { AttributeName: definition.timeToLiveAttribute, Enabled: true }
          : Match.absent(),
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            DeletionProtectionEnabled: true,
          }),
        ],
      });
    },
  );

  it('retains data by default and deletes it where the environment says destroy', () => {
    // Prepare
    const dev = buildStack({ ...MINIMAL_DOCUMENT, removalPolicy: 'destroy' }, 'dev').template;

    // Assess
    for (const type of ['AWS::DynamoDB::GlobalTable', 'AWS::KMS::Key', 'AWS::Logs::LogGroup']) {
      for (const resource of Object.values(resources(template, type))) {
        expect(resource.DeletionPolicy, type).toBe('Retain');
      }
      for (const resource of Object.values(resources(dev, type))) {
        expect(resource.DeletionPolicy, type).toBe('Delete');
      }
    }
    dev.allResourcesProperties('AWS::DynamoDB::GlobalTable', {
      Replicas: [Match.objectLike({ DeletionProtectionEnabled: false })],
    });
  });

  it('encrypts both topics with the rotating customer-managed key and refuses plain HTTP', () => {
    // Assess
    const keyId = logicalId(qmt.topicKey);
    template.allResourcesProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
          }),
        ]),
      },
    });
    template.resourceCountIs('AWS::SNS::TopicPolicy', 2);
    template.allResourcesProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'qmt-test-alerts',
      FifoTopic: Match.absent(),
    });
  });

  it('lets only this account’s CloudWatch alarms publish to the ops topic', () => {
    // Assess
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalId(qmt.opsTopic) }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Condition: {
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
            },
          }),
        ]),
      },
    });
  });

  it('encrypts and TLS-guards every queue; the sweep queue outlasts six worker timeouts and dead-letters after 5', () => {
    // Assess
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.resourceCountIs('AWS::SQS::QueuePolicy', 5);
    template.allResourcesProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(qmt.sweepDeadLetterQueue), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(qmt.sweepWorkerFunction) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(qmt.sweepQueue), 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 100 },
    });
  });

  it('schedules recalibration daily at 00:05 UTC and a sweep every 5 minutes, retried and dead-lettered', () => {
    // Assess
    const input = JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      GroupName: 'qmt-test',
      ScheduleExpression: 'cron(5 0 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(qmt.recalibrateFunction), 'Arn'] },
        Input: input,
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 21600 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(qmt.recalibrationDeadLetterQueue), 'Arn'] } },
        RoleArn: Match.anyValue(),
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(5 minutes)',
      ScheduleExpressionTimezone: 'Etc/UTC',
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(qmt.sweepCoordinatorFunction), 'Arn'] },
        Input: input,
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(qmt.sweepScheduleDeadLetterQueue), 'Arn'] } },
        RoleArn: Match.anyValue(),
      },
    });
  });

  it('sends failed asynchronous invocations of the scheduled functions to their schedule’s dead-letter queue', () => {
    // Assess
    expect(functionProps(qmt.recalibrateFunction)).toMatchObject({
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalId(qmt.recalibrationDeadLetterQueue), 'Arn'] } },
    });
    expect(functionProps(qmt.sweepCoordinatorFunction)).toMatchObject({
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [logicalId(qmt.sweepScheduleDeadLetterQueue), 'Arn'] } },
    });
  });

  it('takes the schedules and time zone from configuration', () => {
    // Prepare
    const { template: custom } = buildStack({
      ...MINIMAL_DOCUMENT,
      schedules: {
        timeZone: 'Asia/Singapore',
        recalibration: 'cron(30 8 * * ? *)',
        sweep: 'rate(1 minute)',
        enabled: false,
      },
    });

    // Assess
    custom.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(30 8 * * ? *)',
      ScheduleExpressionTimezone: 'Asia/Singapore',
      State: 'DISABLED',
    });
    custom.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(1 minute)' });
  });
});

describe('QmtStack alarms and dashboard', { timeout: 60_000 }, () => {
  const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
  const alarmNamed = (name: string) => {
    const alarm = alarms.find((candidate) => candidate.Properties?.AlarmName === name);
    if (!alarm) throw new Error(`no alarm ${name}`);
    return alarm.Properties as Record<string, unknown>;
  };

  it('notifies the ops topic of every alarm and its recovery', () => {
    // Assess
    const opsTopic = { Ref: logicalId(qmt.opsTopic) };
    for (const alarm of alarms) {
      expect(alarm.Properties).toMatchObject({ AlarmActions: [opsTopic], OKActions: [opsTopic] });
    }
    expect(alarms.map((alarm) => alarm.Properties?.AlarmName).sort()).toEqual([
      'qmt-test-alerts-failed',
      'qmt-test-backtest-failed',
      'qmt-test-backtest-zone',
      'qmt-test-market-watch-errors',
      'qmt-test-marks-held',
      'qmt-test-recalibrate-errors',
      'qmt-test-recalibration-dlq',
      'qmt-test-schedule-delivery',
      'qmt-test-shock-recalibration',
      'qmt-test-sweep-backlog',
      'qmt-test-sweep-coordinator-errors',
      'qmt-test-sweep-dlq',
      'qmt-test-sweep-schedule-dlq',
      'qmt-test-sweep-worker-errors',
      'qmt-test-targeted-sweeps-failed',
      'qmt-test-thresholds-held',
      'qmt-test-thresholds-stale',
      'qmt-test-watch-dlq',
    ]);
  });

  it('alarms on any error of each function', () => {
    // Assess
    expect(alarmNamed('qmt-test-sweep-worker-errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(qmt.sweepWorkerFunction) } }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('alarms on any message in a dead-letter queue', () => {
    // Assess
    for (const [name, queue] of [
      ['qmt-test-sweep-dlq', qmt.sweepDeadLetterQueue],
      ['qmt-test-recalibration-dlq', qmt.recalibrationDeadLetterQueue],
      ['qmt-test-sweep-schedule-dlq', qmt.sweepScheduleDeadLetterQueue],
    ] as const) {
      expect(alarmNamed(name)).toMatchObject({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue), 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it('alarms when Scheduler drops an invocation or cannot dead-letter it', () => {
    // Assess
    const metrics = alarmNamed('qmt-test-schedule-delivery').Metrics as {
      MetricStat?: { Metric: unknown };
    }[];
    const names = metrics.flatMap((metric) =>
      metric.MetricStat ? [(metric.MetricStat.Metric as { MetricName: string }).MetricName] : [],
    );
    expect(names.sort()).toEqual(['InvocationDroppedCount', 'InvocationsFailedToBeSentToDeadLetterCount']);
  });

  it('alarms on held thresholds and failed alerts from the Powertools metrics', () => {
    // Assess
    expect(alarmNamed('qmt-test-thresholds-held')).toMatchObject({
      Namespace: 'qmt',
      MetricName: 'ThresholdsHeld',
      Dimensions: [{ Name: 'service', Value: 'recalibrate' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarmNamed('qmt-test-alerts-failed')).toMatchObject({
      Namespace: 'qmt',
      MetricName: 'AlertsFailed',
      Dimensions: [{ Name: 'service', Value: 'sweep-worker' }],
    });
  });

  it('alarms when no recalibration has succeeded for 26 hours, counting silence as a breach', () => {
    // Assess
    expect(alarmNamed('qmt-test-thresholds-stale')).toMatchObject({
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      Metrics: expect.arrayContaining([
        expect.objectContaining({ Expression: 'FILL(invocations, 0) - FILL(errors, 0)' }),
      ]),
    });
  });

  it('charts every Powertools metric and the functions’ errors and durations', () => {
    // Prepare
    const dashboard = Object.values(resources(template, 'AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dashboard?.Properties?.DashboardBody);

    // Assess
    expect(dashboard?.Properties?.DashboardName).toBe('qmt-test-margin-thresholds');
    for (const metric of [...POWERTOOLS_METRICS, 'Errors', 'Duration', 'Throttles']) {
      expect(body, metric).toContain(`\\"${metric}\\"`);
    }
    expect(body).toContain('\\"qmt\\"');
  });
});

describe('QmtStack variants', { timeout: 60_000 }, () => {
  it('imports the exchange’s accounts table instead of creating it', () => {
    // Prepare
    const { stack, template: imported } = buildStack({
      ...MINIMAL_DOCUMENT,
      accountsTable: {
        mode: 'import',
        tableName: 'exchange-accounts',
        encryptionKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b9a4c0e-5e1f-4d8e-9a35-2f4b9d6e7c11',
      },
    });

    // Assess
    imported.resourceCountIs('AWS::DynamoDB::GlobalTable', 5);
    expect(JSON.stringify(imported.toJSON())).not.toContain('test-accounts');
    const worker = resources(imported, 'AWS::Lambda::Function')[
      logicalId(stack.marginThresholds.sweepWorkerFunction)
    ];
    expect(worker?.Properties).toMatchObject({
      Environment: { Variables: { QMT_ACCOUNTS_TABLE: 'exchange-accounts' } },
    });
    imported.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'kms:Decrypt',
            Resource: 'arn:aws:kms:eu-west-1:123456789012:key/0b9a4c0e-5e1f-4d8e-9a35-2f4b9d6e7c11',
          }),
        ]),
      },
    });
  });

  it('makes the alerts topic FIFO, with deduplication left to the publisher and a FIFO dead-letter queue', () => {
    // Prepare
    const { template: fifo } = buildStack({
      ...MINIMAL_DOCUMENT,
      fifoAlerts: true,
      subscriptions: {
        alerts: [{ protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:risk-engine.fifo' }],
      },
    });

    // Assess
    fifo.hasResourceProperties('AWS::SNS::Topic', {
      TopicName: 'qmt-test-alerts.fifo',
      FifoTopic: true,
      ContentBasedDeduplication: false,
      FifoThroughputScope: 'MessageGroup',
      KmsMasterKeyId: Match.anyValue(),
    });
    fifo.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, SqsManagedSseEnabled: true });
    fifo.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      Endpoint: 'arn:aws:sqs:eu-west-1:123456789012:risk-engine.fifo',
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
  });

  it('subscribes endpoints from configuration, with filter policies on the alert attributes', () => {
    // Prepare
    const { stack, template: subscribed } = buildStack({
      ...MINIMAL_DOCUMENT,
      alarmEmail: 'oncall@example.com',
      subscriptions: {
        alerts: [
          { protocol: 'email', endpoint: 'risk@example.com', filterPolicy: { severity: ['critical'] } },
          {
            protocol: 'sqs',
            endpoint: 'arn:aws:sqs:eu-west-1:123456789012:liquidations',
            rawMessageDelivery: true,
            filterPolicy: {
              eventType: ['margin.state_changed'],
              newState: ['LIQUIDATION'],
              accountId: ['acc-1'],
            },
          },
          { protocol: 'lambda', endpoint: 'arn:aws:lambda:eu-west-1:123456789012:function:risk-engine' },
        ],
        ops: [
          {
            protocol: 'https',
            endpoint: 'https://hooks.example.com/qmt',
            filterPolicy: { severity: ['critical'] },
          },
        ],
      },
    });
    const qmtConstruct = stack.marginThresholds;
    const alerts = { Ref: logicalId(qmtConstruct.alertsTopic) };
    const ops = { Ref: logicalId(qmtConstruct.opsTopic) };

    // Assess
    subscribed.resourceCountIs('AWS::SNS::Subscription', 5);
    subscribed.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: alerts,
      Protocol: 'email',
      Endpoint: 'risk@example.com',
      FilterPolicy: { severity: ['critical'] },
    });
    subscribed.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: alerts,
      Protocol: 'sqs',
      RawMessageDelivery: true,
      FilterPolicy: { eventType: ['margin.state_changed'], newState: ['LIQUIDATION'], accountId: ['acc-1'] },
    });
    subscribed.hasResourceProperties('AWS::SNS::Subscription', { TopicArn: alerts, Protocol: 'lambda' });
    subscribed.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'sns.amazonaws.com',
      SourceArn: alerts,
    });
    subscribed.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ops,
      Protocol: 'https',
      FilterPolicy: { severity: ['critical'] },
    });
    subscribed.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ops,
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      FilterPolicy: Match.absent(),
    });
    // Failed deliveries land in one dead-letter queue, watched by an alarm.
    subscribed.allResourcesProperties('AWS::SNS::Subscription', {
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue() },
    });
    subscribed.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'qmt-test-subscription-dlq' });
  });

  it('adds X-Ray tracing when configured', () => {
    // Prepare
    const { template: traced } = buildStack({ ...MINIMAL_DOCUMENT, tracing: true });

    // Assess
    traced.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: { Mode: 'Active' } });
    template.allResourcesProperties('AWS::Lambda::Function', { TracingConfig: Match.absent() });
  });
});

describe('MarginThresholds props', { timeout: 60_000 }, () => {
  function construct(props: Partial<MarginThresholdsProps>): MarginThresholds {
    return new MarginThresholds(new Stack(testApp(), 'Props'), 'Qmt', {
      config: { instruments: { BTC: {} } },
      ...props,
    });
  }

  function propsError(props: Partial<MarginThresholdsProps>): MarginThresholdsPropsError {
    try {
      construct(props);
    } catch (error) {
      if (error instanceof MarginThresholdsPropsError) return error;
      throw error;
    }
    throw new Error('expected a MarginThresholdsPropsError');
  }

  it.each([
    [{ namePrefix: 'qmt prod' }, 'namePrefix'],
    [{ sweepWorkerConcurrency: 1 }, 'sweepWorkerConcurrency'],
    [{ sweepWorkerConcurrency: 2.5 }, 'sweepWorkerConcurrency'],
    [{ maxReceiveCount: 0 }, 'maxReceiveCount'],
    [{ sweepWorkerTimeout: Duration.minutes(20) }, 'sweepWorkerTimeout'],
    [{ maxThresholdAge: Duration.minutes(90) }, 'maxThresholdAge'],
    [{ maxThresholdAge: Duration.days(8) }, 'maxThresholdAge'],
    [{ alertSubscriberAccounts: ['111122223333', 'arn:aws:iam::1:root'] }, 'alertSubscriberAccounts'],
    [{ config: { instruments: {} } }, 'config.instruments'],
    [
      { config: { instruments: { BTC: { policy: { confidence: 2 } } } } },
      'config.instruments.BTC.policy.confidence',
    ],
  ])('rejects %j, naming props.%s', (props, prop) => {
    // Act
    const error = propsError(props as Partial<MarginThresholdsProps>);

    // Assess
    expect(error.prop).toBe(prop);
    expect(error.message).toMatch(new RegExp(`^MarginThresholds: props\\.${prop.replace(/\./g, '\\.')}: `));
  });

  it('synthesises a 300-instrument configuration: the document goes to AppConfig, the environment stays small', () => {
    // Prepare: 300 instruments, each with a policy of its own (once refused: it overflowed Lambda's 4 KB).
    const instruments = Object.fromEntries(
      Array.from({ length: 300 }, (_, i) => [
        `X${i}`,
        { policy: { version: `house-policy-${'v'.repeat(30)}` } },
      ]),
    );
    const catalogue = Object.fromEntries(
      Object.keys(instruments).map((symbol) => [symbol, { binance: { symbol: `${symbol}USDT` } }]),
    );
    const config = { instruments, catalogue };

    // Act
    const stack = new Stack(testApp(), 'Wide');
    new MarginThresholds(stack, 'Qmt', { config });
    const wide = Template.fromStack(stack);

    // Assess
    const documentBytes = Buffer.byteLength(JSON.stringify(config));
    expect(documentBytes).toBeGreaterThan(4_096 * 5);
    const versions = Object.values(resources(wide, 'AWS::AppConfig::HostedConfigurationVersion'));
    const content = JSON.parse(String(versions[0]?.Properties?.Content)) as { instruments: object };
    expect(Object.keys(content.instruments)).toHaveLength(300);
    for (const fn of Object.values(resources(wide, 'AWS::Lambda::Function'))) {
      const variables = (fn.Properties as { Environment: { Variables: Record<string, unknown> } }).Environment
        .Variables;
      expect(variables).not.toHaveProperty('QMT_CONFIG');
      // Names and references only: far under Lambda's 4 KB once CloudFormation resolves them.
      expect(Buffer.byteLength(JSON.stringify(variables))).toBeLessThan(1_500);
    }
  });

  it('refuses a non-SQS subscription on a FIFO alerts topic', () => {
    // Prepare
    const qmtConstruct = construct({ fifoAlerts: true });

    // Act + Assess
    expect(() => qmtConstruct.subscribeToAlerts({ protocol: 'email', endpoint: 'risk@example.com' })).toThrow(
      /props\.fifoAlerts: a FIFO alerts topic delivers to SQS queues only/,
    );
  });

  it('grants read access to thresholds (with the history index) and margin status by exact ARN', () => {
    // Prepare
    const qmtConstruct = construct({});
    const stack = Stack.of(qmtConstruct);
    const reader = new Role(stack, 'Reader', { assumedBy: new AccountRootPrincipal() });

    // Act
    qmtConstruct.grantReadThresholds(reader);
    qmtConstruct.grantReadMarginStatus(reader);

    // Assess
    const statements = JSON.stringify(Template.fromStack(stack).findResources('AWS::IAM::Policy'));
    expect(statements).toContain('/index/byInstrument');
    expect(statements).not.toContain('/index/*');
  });
});

describe('QmtStack market watch', { timeout: 60_000 }, () => {
  const { stack, template } = standard;
  const qmt = stack.marginThresholds;

  it('keeps the breach index in an encrypted, recoverable table with the price index and a TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'qmt-test-breach-index',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'accountId', KeyType: 'RANGE' },
      ],
      LocalSecondaryIndexes: [Match.objectLike({ IndexName: 'byPrice' })],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      Replicas: [
        Match.objectLike({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } }),
      ],
    });
  });

  it('invokes the market watch every minute, retried once, dead-lettered', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId(qmt.marketWatchFunction), 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 60, MaximumRetryAttempts: 1 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [logicalId(qmt.watchDeadLetterQueue), 'Arn'] } },
      }),
    });
  });

  it('runs one market watch look at a time (reserved concurrency 1), and reserves nothing for the others', () => {
    expect(functionProps(qmt.marketWatchFunction).ReservedConcurrentExecutions).toBe(1);
    for (const fn of [qmt.recalibrateFunction, qmt.sweepCoordinatorFunction, qmt.sweepWorkerFunction]) {
      expect(functionProps(fn).ReservedConcurrentExecutions).toBeUndefined();
    }
  });
});

describe('QmtStack daily stress run', { timeout: 60_000 }, () => {
  const STRESS_DOCUMENT = {
    qmt: {
      ...MINIMAL_DOCUMENT.qmt,
      stress: { shocks: { BTC: -0.3 }, insuranceFund: 25_000_000, segments: 40 },
    },
  };
  const { stack, template } = buildStack(STRESS_DOCUMENT, 'stress');
  const qmt = stack.marginThresholds;
  const fn = () => {
    if (!qmt.stressRunFunction || !qmt.stressQueue || !qmt.stressDeadLetterQueue) {
      throw new Error('no stress run in a stack whose configuration has stress');
    }
    return { run: qmt.stressRunFunction, queue: qmt.stressQueue, dlq: qmt.stressDeadLetterQueue };
  };
  const props = (id: string, type: string) => {
    const resource = resources(template, type)[id];
    if (!resource) throw new Error(`no ${type} ${id}`);
    return resource.Properties as Record<string, unknown>;
  };
  const alarm = (name: string) => {
    const found = Object.values(resources(template, 'AWS::CloudWatch::Alarm')).find(
      (candidate) => candidate.Properties?.AlarmName === name,
    );
    if (!found) throw new Error(`no alarm ${name}`);
    return found.Properties as Record<string, unknown>;
  };

  it('is built only when the configuration has a stress section', () => {
    expect(qmt.stressRunFunction).toBeDefined();
    expect(standard.stack.marginThresholds.stressRunFunction).toBeUndefined();
    // The minimal stack keeps its four functions and five queues; stress adds one function, three queues,
    // one event source, one schedule, one log group and four alarms.
    template.resourceCountIs('AWS::Lambda::Function', 5);
    template.resourceCountIs('AWS::SQS::Queue', 8);
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    template.resourceCountIs('AWS::Scheduler::Schedule', 4);
    template.resourceCountIs('AWS::Logs::LogGroup', 5);
    template.resourceCountIs('AWS::CloudWatch::Alarm', 18 + 5);
  });

  it('bundles lambdas/stress-run/handler.ts on Node.js 24 / arm64, 2048 MB / 15 min, with its queue URL (only it)', () => {
    const { run, queue } = fn();
    const fnProps = props(logicalId(run), 'AWS::Lambda::Function');
    expect(fnProps).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 2048,
      Timeout: 900,
      Handler: 'index.handler',
      Environment: {
        Variables: expect.objectContaining({
          QMT_STRESS_QUEUE_URL: { Ref: logicalId(queue) },
          POWERTOOLS_SERVICE_NAME: 'stress-run',
        }),
      },
    });
    // Its shocks and fund come from the AppConfig document the stack publishes, as every function's settings.
    const versions = Object.values(resources(template, 'AWS::AppConfig::HostedConfigurationVersion'));
    expect(versions).toHaveLength(1);
    expect(JSON.parse(String(versions[0]?.Properties?.Content))).toMatchObject({
      stress: STRESS_DOCUMENT.qmt.stress,
    });
    for (const other of [qmt.recalibrateFunction, qmt.sweepWorkerFunction, qmt.marketWatchFunction]) {
      const variables = (
        props(logicalId(other), 'AWS::Lambda::Function').Environment as {
          Variables: Record<string, unknown>;
        }
      ).Variables;
      expect(variables.QMT_STRESS_QUEUE_URL).toBeUndefined();
    }
  });

  it('feeds it one segment step a message: encrypted, TLS-only, visible again after six timeouts, dead-lettered after 5', () => {
    const { run, queue, dlq } = fn();
    expect(props(logicalId(queue), 'AWS::SQS::Queue')).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 5400,
      MessageRetentionPeriod: 86_400,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(dlq), 'Arn'] }, maxReceiveCount: 5 },
    });
    template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
    template.resourceCountIs('AWS::SQS::QueuePolicy', 8);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: logicalId(run) },
      EventSourceArn: { 'Fn::GetAtt': [logicalId(queue), 'Arn'] },
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      // Every segment of a step at once.
      ScalingConfig: { MaximumConcurrency: 40 },
    });
  });

  it('starts daily at 01:05 UTC, after the recalibration, retried and dead-lettered', () => {
    const { run } = fn();
    if (!qmt.stressScheduleDeadLetterQueue) throw new Error('no stress schedule dead-letter queue');
    const dlqArn = { 'Fn::GetAtt': [logicalId(qmt.stressScheduleDeadLetterQueue), 'Arn'] };
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(5 1 * * ? *)',
      ScheduleExpressionTimezone: 'UTC',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [logicalId(run), 'Arn'] },
        Input: JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: { MaximumEventAgeInSeconds: 21_600, MaximumRetryAttempts: 3 },
        DeadLetterConfig: { Arn: dlqArn },
      }),
    });
    expect(props(logicalId(run), 'AWS::Lambda::Function').DeadLetterConfig).toEqual({ TargetArn: dlqArn });
  });

  it('alarms when the bad debt exceeds the configured insurance fund (strictly), keeping the verdict between runs', () => {
    const opsTopic = { Ref: logicalId(qmt.opsTopic) };
    expect(alarm('qmt-stress-stress-insurance-fund')).toMatchObject({
      Namespace: 'qmt',
      MetricName: 'StressBadDebt',
      Dimensions: [{ Name: 'service', Value: 'stress-run' }],
      Statistic: 'Maximum',
      Threshold: 25_000_000,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'ignore',
      AlarmActions: [opsTopic],
      OKActions: [opsTopic],
    });
    expect(qmt.insuranceFundAlarm).toBeDefined();
  });

  it('alarms on a failed run: its errors, a dead-lettered step or start, and a day with no completed run', () => {
    const { run, dlq } = fn();
    expect(alarm('qmt-stress-stress-run-errors')).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(run) } }],
    });
    expect(alarm('qmt-stress-stress-dlq')).toMatchObject({
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(dlq), 'QueueName'] } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(alarm('qmt-stress-stress-schedule-dlq')).toMatchObject({ Threshold: 0 });
    expect(alarm('qmt-stress-stress-run-missing')).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: 26,
      DatapointsToAlarm: 26,
      TreatMissingData: 'breaching',
      Metrics: expect.arrayContaining([
        expect.objectContaining({
          MetricStat: expect.objectContaining({
            Metric: expect.objectContaining({ MetricName: 'StressRunsCompleted', Namespace: 'qmt' }),
            Period: 3600,
          }),
        }),
      ]),
    });
  });

  it('charts the bad debt against the insurance fund, the cascade and the segments', () => {
    const body = JSON.stringify(Object.values(resources(template, 'AWS::CloudWatch::Dashboard'))[0]);
    for (const text of [
      'Stress run: bad debt against the insurance fund',
      'StressBadDebt',
      'insurance fund',
      '25000000',
      'StressAccountsLiquidated',
      'StressSegmentsFailed',
    ]) {
      expect(body).toContain(text);
    }
  });

  it('leaves the stress run out of a configuration without stress', () => {
    const names = Object.values(resources(standard.template, 'AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties?.AlarmName,
    );
    expect(names.filter((name) => String(name).includes('stress'))).toEqual([]);
    expect(JSON.stringify(standard.template.toJSON())).not.toContain('StressBadDebt');
  });
});
