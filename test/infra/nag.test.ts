/**
 * cdk-nag's AWS Solutions rules find nothing unacknowledged, in every shape of the stack, and every
 * acknowledgment says why.
 */
import { type App, Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildApp, buildStack, MINIMAL_DOCUMENT } from './support.ts';

function violations(app: App): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(app);
  return report.violations.map(
    (violation) =>
      `${violation.severity} ${violation.ruleName} at ${violation.violatingResources.map((r) => r.constructPath).join(', ')}: ${violation.description}`,
  );
}

/** Every acknowledgment in the app: construct path, rule id and reason. */
function acknowledgments(app: App): { path: string; id: string; reason: string }[] {
  return app.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

const everything = buildStack(
  {
    ...MINIMAL_DOCUMENT,
    qmt: { ...MINIMAL_DOCUMENT.qmt, stress: { shocks: { BTC: -0.3 }, insuranceFund: 1_000_000 } },
    tracing: true,
    alarmEmail: 'oncall@example.com',
    alertSubscriberAccounts: ['111122223333'],
    accountsTable: {
      mode: 'import',
      tableName: 'exchange-accounts',
      encryptionKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/0b9a4c0e-5e1f-4d8e-9a35-2f4b9d6e7c11',
    },
    subscriptions: {
      alerts: [
        { protocol: 'email', endpoint: 'risk@example.com', filterPolicy: { severity: ['critical'] } },
        { protocol: 'https', endpoint: 'https://hooks.example.com/qmt' },
        { protocol: 'lambda', endpoint: 'arn:aws:lambda:eu-west-1:123456789012:function:risk-engine' },
      ],
      ops: [{ protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:ops-events' }],
    },
  },
  'everything',
);
const fifo = buildStack(
  {
    ...MINIMAL_DOCUMENT,
    fifoAlerts: true,
    subscriptions: {
      alerts: [{ protocol: 'sqs', endpoint: 'arn:aws:sqs:eu-west-1:123456789012:engine.fifo' }],
    },
  },
  'fifo',
);

describe('cdk-nag AwsSolutions', { timeout: 60_000 }, () => {
  it.each([
    ['dev', () => buildApp('dev')],
    ['prod', () => buildApp('prod')],
    ['every option and subscription protocol', () => everything],
    ['FIFO alerts', () => fifo],
  ])('finds no unacknowledged error or warning: %s', (_, build) => {
    // Act
    const { app } = build();

    // Assess
    expect(violations(app)).toEqual([]);
  });

  it('runs at synth through Validations, and the app synthesises clean', () => {
    // Prepare
    const { app } = buildApp('dev');

    // Act + Assess: a violation would make synth throw ValidationFailed.
    expect(() => app.synth()).not.toThrow();
  });

  it('needs no acknowledgment for the default deployment', () => {
    // Act
    const { app } = buildApp('dev');

    // Assess
    expect(acknowledgments(app)).toEqual([]);
  });

  it('acknowledges only what the options bring, each with a written reason', () => {
    // Act
    const acknowledged = [...acknowledgments(everything.app), ...acknowledgments(fifo.app)];

    // Assess
    expect(acknowledged.map(({ path, id }) => `${path} ${id}`).sort()).toEqual([
      'qmt-everything/Qmt/MarketWatchRole AwsSolutions-IAM5[Resource::*]',
      'qmt-everything/Qmt/RecalibrateRole AwsSolutions-IAM5[Resource::*]',
      'qmt-everything/Qmt/StressRunRole AwsSolutions-IAM5[Resource::*]',
      'qmt-everything/Qmt/SubscriptionDeadLetterQueue AwsSolutions-SQS3',
      'qmt-everything/Qmt/SweepCoordinatorRole AwsSolutions-IAM5[Resource::*]',
      'qmt-everything/Qmt/SweepWorkerRole AwsSolutions-IAM5[Resource::*]',
      'qmt-fifo/Qmt/FifoSubscriptionDeadLetterQueue AwsSolutions-SQS3',
    ]);
    for (const { reason } of acknowledged) {
      expect(reason.length).toBeGreaterThan(80);
      expect(reason).toMatch(/\.$/);
    }
  });

  it('leaves no CDK warning or error annotation', () => {
    // Assess
    for (const { stack } of [everything, fifo, buildApp('prod')]) {
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });
});
