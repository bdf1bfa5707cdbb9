/**
 * Each function may do exactly what its adapters do, on exactly its resources. The expected grants below
 * are the commands the adapters send (lib/adapters, lambdas/shared): a new call in an adapter
 * needs a new line here, and a grant nobody uses fails the test.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import type { MarginThresholds } from '../../infra/margin-thresholds.ts';
import {
  buildStack,
  describeReference,
  grantsOf,
  logicalId,
  MINIMAL_DOCUMENT,
  resources,
  roleStatements,
  type Statement,
} from './support.ts';

const LOGS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
const PUBLISH = ['sns:Publish'];
const TOPIC_KEY = ['kms:Decrypt', 'kms:GenerateDataKey'];
const RUNS = ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
const CONSUME = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

const created = buildStack(MINIMAL_DOCUMENT);
const imported = buildStack({
  ...MINIMAL_DOCUMENT,
  accountsTable: { mode: 'import', tableName: 'exchange-accounts' },
});

function id(construct: unknown): string {
  return logicalId(construct as never);
}

function roleOf(fn: unknown): string {
  const role = (fn as NodejsFunction).role;
  if (!role) throw new Error('function without a role');
  return id(role);
}

function logGroupOf(fn: unknown): string {
  return id((fn as NodejsFunction).logGroup);
}

function expectedGrants(qmt: MarginThresholds, accountsTable: string) {
  const recalibrate = qmt.recalibrateFunction;
  const coordinator = qmt.sweepCoordinatorFunction;
  const worker = qmt.sweepWorkerFunction;
  const watch = qmt.marketWatchFunction;
  const sorted = (grants: Record<string, string[]>) =>
    Object.fromEntries(Object.entries(grants).sort(([a], [b]) => a.localeCompare(b)));
  // Each function reads its configuration profile, in the ARN form of its environment, and nothing else of AppConfig.
  const c = qmt.configuration;
  const profile = `arn:\${AWS::Partition}:appconfig:\${AWS::Region}:\${AWS::AccountId}:application/\${${id(c.application)}}/environment/\${${id(c.environment)}}/configuration/\${${id(c.profile.node.findChild('ConfigurationProfile'))}}`;
  // …and in the form its environment names it (names), since a call by names may be authorised on either.
  const byName = `arn:\${AWS::Partition}:appconfig:\${AWS::Region}:\${AWS::AccountId}:application/${c.application.name}/environment/${c.environment.name}/configuration/${c.profile.name}`;
  const appConfig = {
    [profile]: ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession'],
    [byName]: ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession'],
  };
  return {
    recalibrate: sorted({
      ...appConfig,
      [logGroupOf(recalibrate)]: LOGS,
      [id(qmt.thresholdsTable)]: [
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
      // The run ledger and the idempotency records.
      [id(qmt.runsTable)]: RUNS,
      // After a new set it starts a sweep: sizes it, queues the segments.
      [accountsTable]: ['dynamodb:DescribeTable'],
      // Each venue's candles kept: the stored range read, the new and revised bars written.
      [id(qmt.candlesTable)]: ['dynamodb:BatchWriteItem', 'dynamodb:Query'],
      [id(qmt.sweepQueue)]: ['sqs:SendMessage'],
      [id(qmt.opsTopic)]: PUBLISH,
      [id(qmt.topicKey)]: TOPIC_KEY,
      [id(qmt.recalibrationDeadLetterQueue)]: ['sqs:SendMessage'],
    }),
    sweepCoordinator: sorted({
      ...appConfig,
      [logGroupOf(coordinator)]: LOGS,
      [accountsTable]: ['dynamodb:DescribeTable'],
      // The CURRENT set: the instruments it marks once for the whole sweep.
      [id(qmt.thresholdsTable)]: ['dynamodb:GetItem', 'dynamodb:Query'],
      [id(qmt.sweepQueue)]: ['sqs:SendMessage'],
      // Idempotency records of each scheduled time.
      [id(qmt.runsTable)]: RUNS,
      [id(qmt.sweepScheduleDeadLetterQueue)]: ['sqs:SendMessage'],
    }),
    sweepWorker: sorted({
      ...appConfig,
      [logGroupOf(worker)]: LOGS,
      // Scans its segment; reads a crash minute's targeted segment's accounts by id.
      [accountsTable]: ['dynamodb:BatchGetItem', 'dynamodb:Scan'],
      [id(qmt.marginStatusTable)]: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // The statuses a sweep must read (not OK, or an alert pending).
      [`\${${id(qmt.marginStatusTable)}}/index/watchlist`]: ['dynamodb:Query'],
      [id(qmt.thresholdsTable)]: ['dynamodb:GetItem', 'dynamodb:Query'],
      [id(qmt.alertsTopic)]: PUBLISH,
      [id(qmt.opsTopic)]: PUBLISH,
      [id(qmt.topicKey)]: TOPIC_KEY,
      // Consumes segments; queues a continuation with its cursor when near its timeout.
      [id(qmt.sweepQueue)]: [...CONSUME, 'sqs:SendMessage'].sort(),
      // Every full sweep keeps the breach index: reads each page's stamps, writes the bands that changed.
      [id(qmt.breachIndexTable)]: ['dynamodb:BatchGetItem', 'dynamodb:BatchWriteItem'],
      // ...starting from the accounts marked for every sweep (a Query on the price index).
      [`\${${id(qmt.breachIndexTable)}}/index/byPrice`]: ['dynamodb:Query'],
      // A directly invoked segment that still fails goes to the dead-letter queue (on-failure destination).
      [id(qmt.sweepDeadLetterQueue)]: ['sqs:SendMessage'],
    }),
    marketWatch: sorted({
      ...appConfig,
      [logGroupOf(watch)]: LOGS,
      // Shock recalibration publishes a set, counting the day's shock runs on the history index, under
      // the run ledger's lease; then it starts a full sweep: sizes it, queues the segments.
      [id(qmt.thresholdsTable)]: [
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
      [`\${${id(qmt.thresholdsTable)}}/index/byInstrument`]: ['dynamodb:Query'],
      [id(qmt.runsTable)]: ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [id(qmt.sweepQueue)]: ['sqs:SendMessage'],
      // Re-indexes what it revisits; finds the crossed bands on the price index.
      [id(qmt.breachIndexTable)]: ['dynamodb:BatchWriteItem'],
      [`\${${id(qmt.breachIndexTable)}}/index/byPrice`]: ['dynamodb:Query'],
      // Reads the named accounts by id: no Scan.
      [accountsTable]: ['dynamodb:BatchGetItem', 'dynamodb:DescribeTable'],
      [id(qmt.marginStatusTable)]: ['dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      // The statuses its targeted sweep must read, as the full sweep's.
      [`\${${id(qmt.marginStatusTable)}}/index/watchlist`]: ['dynamodb:Query'],
      [id(qmt.alertsTopic)]: PUBLISH,
      [id(qmt.opsTopic)]: PUBLISH,
      [id(qmt.topicKey)]: TOPIC_KEY,
      [id(qmt.watchDeadLetterQueue)]: ['sqs:SendMessage'],
      // A crash minute's segments invoked on the sweep worker, and on nothing else.
      [id(worker)]: ['lambda:InvokeFunction'],
    }),
  };
}

function allStatements(template: Template): Statement[] {
  return Object.values(resources(template, 'AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy.Properties?.PolicyDocument as { Statement: Statement[] } | undefined)?.Statement ?? [],
  );
}

describe('IAM: least privilege per function', { timeout: 60_000 }, () => {
  it.each([
    ['created', created],
    ['imported', imported],
  ])('grants each function exactly what its adapters call (accounts table %s)', (variant, built) => {
    // Prepare
    const qmt = built.stack.marginThresholds;
    const accountsTable =
      variant === 'created'
        ? id(qmt.accountsTable)
        : // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Join references, as describeReference writes them
          'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/exchange-accounts';
    const expected = expectedGrants(qmt, accountsTable);

    // Act
    const actual = {
      recalibrate: grantsOf(built.template, roleOf(qmt.recalibrateFunction)),
      sweepCoordinator: grantsOf(built.template, roleOf(qmt.sweepCoordinatorFunction)),
      sweepWorker: grantsOf(built.template, roleOf(qmt.sweepWorkerFunction)),
      marketWatch: grantsOf(built.template, roleOf(qmt.marketWatchFunction)),
    };

    // Assess
    expect(actual).toEqual(expected);
  });

  it.each([
    ['off (the default)', false, ['dynamodb:DescribeTable'], undefined],
    ['on', true, ['dynamodb:DescribeTable', 'dynamodb:Scan'], ['kms:Decrypt']],
  ])(
    'with discovery %s, recalibrate may Scan the accounts (the holders of a delisting) and read through their key only then',
    (_setting, enabled, accountActions, keyActions) => {
      // Prepare: an imported accounts table under a customer-managed key, discovery set as given.
      const key = 'arn:aws:kms:eu-west-1:123456789012:key/0b9a4c0e-5e1f-4d8e-9a35-2f4b9d6e7c11';
      const built = buildStack({
        qmt: {
          ...MINIMAL_DOCUMENT.qmt,
          discovery: { enabled, filter: { quotes: ['USDT'] } },
        },
        accountsTable: { mode: 'import', tableName: 'exchange-accounts', encryptionKeyArn: key },
      });
      const qmt = built.stack.marginThresholds;

      // Act
      const grants = grantsOf(built.template, roleOf(qmt.recalibrateFunction));

      // Assess: the accounts table's actions exactly; the key only when it Scans.
      expect(
        grants[
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Join references, as describeReference writes them
          'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/exchange-accounts'
        ],
      ).toEqual(accountActions);
      expect(grants[key]).toEqual(keyActions);
      // The sweep's roles are the same either way.
      expect(grantsOf(built.template, roleOf(qmt.sweepCoordinatorFunction))).toEqual(
        grantsOf(imported.template, roleOf(imported.stack.marginThresholds.sweepCoordinatorFunction)),
      );
    },
  );

  it('uses no wildcard action and no wildcard or unscoped resource anywhere', () => {
    // Assess
    for (const { template } of [created, imported]) {
      for (const statement of allStatements(template)) {
        for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
        const targets = Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource];
        for (const target of targets) {
          expect(target).not.toBe('*');
          expect(describeReference(target)).not.toContain('*');
        }
      }
    }
  });

  it('gives each function its own role, trusted by Lambda only, with no managed policy', () => {
    // Prepare
    const qmt = created.stack.marginThresholds;
    const roles = resources(created.template, 'AWS::IAM::Role');
    const functionRoles = [
      qmt.recalibrateFunction,
      qmt.sweepCoordinatorFunction,
      qmt.sweepWorkerFunction,
    ].map(roleOf);

    // Assess
    expect(new Set(functionRoles).size).toBe(3);
    for (const roleId of functionRoles) {
      expect(roles[roleId]?.Properties).toMatchObject({
        AssumeRolePolicyDocument: {
          Statement: [
            { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
          ],
        },
      });
    }
    for (const role of Object.values(roles)) expect(role.Properties?.ManagedPolicyArns).toBeUndefined();
  });

  it('lets each schedule invoke only its own function (not its versions) and write only its own dead-letter queue', () => {
    // Prepare
    const qmt = created.stack.marginThresholds;
    const roles = resources(created.template, 'AWS::IAM::Role');
    const schedulerRoles = Object.entries(roles).filter(([, role]) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );

    // Act
    const grants = schedulerRoles.map(([roleId]) => grantsOf(created.template, roleId));

    // Assess
    expect(grants).toHaveLength(3);
    expect(grants).toContainEqual({
      [id(qmt.recalibrateFunction)]: ['lambda:InvokeFunction'],
      [id(qmt.recalibrationDeadLetterQueue)]: ['sqs:SendMessage'],
    });
    expect(grants).toContainEqual({
      [id(qmt.sweepCoordinatorFunction)]: ['lambda:InvokeFunction'],
      [id(qmt.sweepScheduleDeadLetterQueue)]: ['sqs:SendMessage'],
    });
    expect(grants).toContainEqual({
      [id(qmt.marketWatchFunction)]: ['lambda:InvokeFunction'],
      [id(qmt.watchDeadLetterQueue)]: ['sqs:SendMessage'],
    });
    for (const [, role] of schedulerRoles) {
      expect(role.Properties?.AssumeRolePolicyDocument).toMatchObject({
        Statement: [{ Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } }],
      });
    }
  });

  it('attaches every policy to one of the eight roles (the eighth: AppConfig reading the rollback alarm)', () => {
    // Prepare
    const roleIds = Object.keys(resources(created.template, 'AWS::IAM::Role'));

    // Assess
    expect(roleIds).toHaveLength(8);
    for (const policy of Object.values(resources(created.template, 'AWS::IAM::Policy'))) {
      const attached = ((policy.Properties?.Roles as unknown[] | undefined) ?? []).map(describeReference);
      expect(attached.every((roleId) => roleIds.includes(roleId))).toBe(true);
    }
    const statementCount = roleIds.reduce(
      (count, roleId) => count + roleStatements(created.template, roleId).length,
      0,
    );
    // The AppConfig read policy is one statement attached to the four function roles: counted once per role.
    expect(statementCount).toBe(allStatements(created.template).length + 3);
  });
});

describe('IAM: the daily stress run', { timeout: 60_000 }, () => {
  const stress = { shocks: { BTC: -0.3 }, insuranceFund: 1_000_000 };
  it.each([
    ['created', buildStack({ qmt: { ...MINIMAL_DOCUMENT.qmt, stress } }, 'stress')],
    [
      'imported under a customer-managed key',
      buildStack(
        {
          qmt: { ...MINIMAL_DOCUMENT.qmt, stress },
          accountsTable: {
            mode: 'import',
            tableName: 'exchange-accounts',
            encryptionKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b9a4c0e-5e1f-4d8e-9a35-2f4b9d6e7c11',
          },
        },
        'stress-imported',
      ),
    ],
  ])('grants the stress run exactly what its code calls (accounts table %s)', (variant, built) => {
    // Prepare
    const qmt = built.stack.marginThresholds;
    const run = qmt.stressRunFunction;
    if (!run || !qmt.stressQueue || !qmt.stressScheduleDeadLetterQueue) throw new Error('no stress run');
    const imported = variant !== 'created';
    const accountsTable = imported
      ? // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Join references, as describeReference writes them
        'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/exchange-accounts'
      : id(qmt.accountsTable);

    // Act
    const actual = grantsOf(built.template, roleOf(run));

    // Assess
    const c = qmt.configuration;
    const profile = `arn:\${AWS::Partition}:appconfig:\${AWS::Region}:\${AWS::AccountId}:application/\${${id(c.application)}}/environment/\${${id(c.environment)}}/configuration/\${${id(c.profile.node.findChild('ConfigurationProfile'))}}`;
    expect(actual).toEqual({
      // Its shocks and insurance fund: the configuration profile, read only.
      [profile]: ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession'],
      [`arn:\${AWS::Partition}:appconfig:\${AWS::Region}:\${AWS::AccountId}:application/${c.application.name}/environment/${c.environment.name}/configuration/${c.profile.name}`]:
        ['appconfig:GetLatestConfiguration', 'appconfig:StartConfigurationSession'],
      [logGroupOf(run)]: LOGS,
      // Scans its segment each step; nothing else on the exchange's table.
      [accountsTable]: ['dynamodb:Scan'],
      ...(imported && {
        'arn:aws:kms:eu-west-1:123456789012:key/0b9a4c0e-5e1f-4d8e-9a35-2f4b9d6e7c11': ['kms:Decrypt'],
      }),
      // The CURRENT set (start), and the report saved beside it.
      [id(qmt.thresholdsTable)]: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'],
      // The run, the segments' results (read consistently in batches), the reported-segment counters.
      [id(qmt.runsTable)]: [
        'dynamodb:BatchGetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
      ],
      // Consumes its steps and queues the next one.
      [id(qmt.stressQueue)]: [...CONSUME, 'sqs:SendMessage'].sort(),
      [id(qmt.opsTopic)]: PUBLISH,
      [id(qmt.topicKey)]: TOPIC_KEY,
      [id(qmt.stressScheduleDeadLetterQueue)]: ['sqs:SendMessage'],
    });
    // Its schedule may invoke it and write its own dead-letter queue, nothing more.
    const schedulerRoles = Object.entries(resources(built.template, 'AWS::IAM::Role')).filter(([, role]) =>
      JSON.stringify(role.Properties?.AssumeRolePolicyDocument).includes('scheduler.amazonaws.com'),
    );
    expect(schedulerRoles.map(([roleId]) => grantsOf(built.template, roleId))).toContainEqual({
      [id(run)]: ['lambda:InvokeFunction'],
      [id(qmt.stressScheduleDeadLetterQueue)]: ['sqs:SendMessage'],
    });
    expect(schedulerRoles).toHaveLength(4);
  });
});
