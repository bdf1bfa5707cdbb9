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
  return {
    recalibrate: sorted({
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
    }),
    marketWatch: sorted({
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

  it('attaches every policy to one of the seven roles', () => {
    // Prepare
    const roleIds = Object.keys(resources(created.template, 'AWS::IAM::Role'));

    // Assess
    expect(roleIds).toHaveLength(7);
    for (const policy of Object.values(resources(created.template, 'AWS::IAM::Policy'))) {
      const attached = ((policy.Properties?.Roles as unknown[] | undefined) ?? []).map(describeReference);
      expect(attached.every((roleId) => roleIds.includes(roleId))).toBe(true);
    }
    const statementCount = roleIds.reduce(
      (count, roleId) => count + roleStatements(created.template, roleId).length,
      0,
    );
    expect(statementCount).toBe(allStatements(created.template).length);
  });
});
