/**
 * Who may use the topics and their key: CloudWatch only on behalf of this account's alarms, and the
 * accounts configuration names allowed to subscribe to the alerts topic, and to do nothing else.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnvironmentConfig } from '../../infra/config/environment.ts';
import { buildStack, type CfnResource, logicalId, MINIMAL_DOCUMENT, resources } from './support.ts';

const RISK_ENGINE = '111122223333';
const AUDITOR = '444455556666';

interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: string;
  readonly Principal?: unknown;
  readonly Action: string | string[];
  readonly Resource?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

function statementsOf(resource: CfnResource | undefined, property: string): PolicyStatement[] {
  const document = resource?.Properties?.[property] as { Statement?: PolicyStatement[] } | undefined;
  return document?.Statement ?? [];
}

/** The topic policy attached to `topicId`. */
function topicPolicy(
  template: ReturnType<typeof buildStack>['template'],
  topicId: string,
): PolicyStatement[] {
  const policy = Object.values(resources(template, 'AWS::SNS::TopicPolicy')).find((p) =>
    JSON.stringify(p.Properties?.Topics).includes(`"${topicId}"`),
  );
  if (!policy) throw new Error(`no topic policy for ${topicId}`);
  return statementsOf(policy, 'PolicyDocument');
}

const mentions = (statement: PolicyStatement, account: string) =>
  JSON.stringify(statement.Principal ?? {}).includes(`:iam::${account}:root`);

describe('topic key and topic policies', { timeout: 60_000 }, () => {
  it('lets CloudWatch use the topic key only for this account’s alarms (aws:SourceAccount, aws:SourceArn)', () => {
    // Prepare
    const { stack, template } = buildStack(MINIMAL_DOCUMENT);
    const key = resources(template, 'AWS::KMS::Key')[logicalId(stack.marginThresholds.topicKey)];
    // Act
    const cloudWatch = statementsOf(key, 'KeyPolicy').filter(
      (s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
    );
    // Assess
    expect(cloudWatch).toHaveLength(1);
    expect(cloudWatch[0]?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
    expect(cloudWatch[0]?.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: {
        'aws:SourceArn': {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':cloudwatch:',
              { Ref: 'AWS::Region' },
              ':',
              { Ref: 'AWS::AccountId' },
              ':alarm:*',
            ],
          ],
        },
      },
    });
  });

  it('grants the configured accounts sns:Subscribe on the alerts topic over TLS, and nothing else', () => {
    // Prepare
    const { stack, template } = buildStack({
      ...MINIMAL_DOCUMENT,
      alertSubscriberAccounts: [RISK_ENGINE, AUDITOR],
    });
    const qmt = stack.marginThresholds;
    // Act
    const alerts = topicPolicy(template, logicalId(qmt.alertsTopic));
    const ops = topicPolicy(template, logicalId(qmt.opsTopic));
    const keyPolicy = statementsOf(
      resources(template, 'AWS::KMS::Key')[logicalId(qmt.topicKey)],
      'KeyPolicy',
    );
    // Assess: one Allow naming both accounts, for Subscribe alone, on the alerts topic alone, over TLS.
    const granted = alerts.filter((s) => mentions(s, RISK_ENGINE) || mentions(s, AUDITOR));
    expect(granted).toHaveLength(1);
    const [statement] = granted;
    expect(statement?.Effect).toBe('Allow');
    expect(statement?.Action).toBe('sns:Subscribe');
    expect(mentions(statement as PolicyStatement, RISK_ENGINE)).toBe(true);
    expect(mentions(statement as PolicyStatement, AUDITOR)).toBe(true);
    expect(statement?.Resource).toEqual({ Ref: logicalId(qmt.alertsTopic) });
    expect(statement?.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'true' } });
    // The topic's own TLS guard still stands, and neither the ops topic nor the key names them.
    expect(alerts).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    for (const s of [...ops, ...keyPolicy]) {
      expect(mentions(s, RISK_ENGINE) || mentions(s, AUDITOR)).toBe(false);
    }
    expect(JSON.stringify(template.toJSON())).not.toMatch(new RegExp(`${AUDITOR}(?!:root)`));
  });

  it('grants no other account anything on the alerts topic when configuration names none', () => {
    const { stack, template } = buildStack(MINIMAL_DOCUMENT);
    const alerts = topicPolicy(template, logicalId(stack.marginThresholds.alertsTopic));
    expect(alerts.filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('AWS'))).toEqual(
      [],
    );
  });

  it.each([
    [['12345'], 'alertSubscriberAccounts[0]: a 12-digit AWS account id'],
    [[RISK_ENGINE, '1111-2222-3333'], 'alertSubscriberAccounts[1]: a 12-digit AWS account id'],
    [[' 111122223333'], 'alertSubscriberAccounts[0]: a 12-digit AWS account id'],
    [[RISK_ENGINE, RISK_ENGINE], 'alertSubscriberAccounts: each account once'],
  ])('refuses alertSubscriberAccounts %j, naming the entry', (accounts, message) => {
    const parse = () =>
      parseEnvironmentConfig('test', { ...MINIMAL_DOCUMENT, alertSubscriberAccounts: accounts });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(`test.json: ${message}`);
  });
});
