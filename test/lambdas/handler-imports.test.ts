import { AppConfigDataClient } from '@aws-sdk/client-appconfigdata';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { lambdaEnv } from './support.ts';

// Every client factory, watched: importing a handler module must create no AWS client.
vi.mock('../../lambdas/shared/clients.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../../lambdas/shared/clients.ts')>();
  return {
    ...actual,
    dynamoDbClient: vi.fn(actual.dynamoDbClient),
    snsTopicClient: vi.fn(actual.snsTopicClient),
    sqsClient: vi.fn(actual.sqsClient),
  };
});
// The worker's use case is written elsewhere; its import must not matter here.
vi.mock('../../lib/app/sweep.ts', () => ({ sweepSegment: vi.fn() }));

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
const appConfig = mockClient(AppConfigDataClient);

const ENTRY_POINTS = [
  '../../lambdas/recalibrate/handler.ts',
  '../../lambdas/sweep-coordinator/handler.ts',
  '../../lambdas/sweep-worker/handler.ts',
] as const;

function stubEnv(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value ?? '');
}

describe('handler entry points', () => {
  beforeEach(() => {
    vi.resetModules();
    vi.clearAllMocks();
    vi.unstubAllEnvs();
    dynamo.reset();
    sns.reset();
    sqs.reset();
    appConfig.reset();
  });
  afterAll(() => vi.unstubAllEnvs());

  it.each(ENTRY_POINTS)('%s imports without creating an AWS client or calling AWS', async (entry) => {
    // Prepare
    stubEnv(lambdaEnv());
    // Act
    const module = (await import(entry)) as { handler: unknown };
    const clients = await import('../../lambdas/shared/clients.ts');
    // Assess
    expect(typeof module.handler).toBe('function');
    expect(clients.dynamoDbClient).not.toHaveBeenCalled();
    expect(clients.snsTopicClient).not.toHaveBeenCalled();
    expect(clients.sqsClient).not.toHaveBeenCalled();
    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(sns).not.toHaveReceivedAnyCommand();
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it.each(ENTRY_POINTS)('%s fails at start on a bad configuration, naming the field', async (entry) => {
    stubEnv(
      lambdaEnv({ QMT_CONFIG: JSON.stringify({ instruments: { BTC: { policy: { confidence: 2 } } } }) }),
    );
    // By name: vi.resetModules gives each import its own copy of the ConfigError class.
    await expect(import(entry)).rejects.toMatchObject({
      name: 'ConfigError',
      path: 'instruments.BTC.policy.confidence',
    });
  });

  it.each(ENTRY_POINTS)(
    '%s, deployed (an AppConfig location, no QMT_CONFIG), imports without calling AppConfig',
    async (entry) => {
      stubEnv(
        lambdaEnv({
          QMT_CONFIG: undefined,
          QMT_APPCONFIG_APPLICATION: 'app1',
          QMT_APPCONFIG_ENVIRONMENT: 'env1',
          QMT_APPCONFIG_PROFILE: 'prof1',
        }),
      );
      const module = (await import(entry)) as { handler: unknown };
      expect(typeof module.handler).toBe('function');
      expect(appConfig).not.toHaveReceivedAnyCommand();
    },
  );

  it.each([
    ['../../lambdas/recalibrate/handler.ts', 'QMT_OPS_TOPIC_ARN'],
    ['../../lambdas/sweep-coordinator/handler.ts', 'QMT_SWEEP_QUEUE_URL'],
    ['../../lambdas/sweep-worker/handler.ts', 'QMT_ALERTS_TOPIC_ARN'],
  ])('%s fails at start without %s', async (entry, variable) => {
    stubEnv(lambdaEnv({ [variable]: '' }));
    await expect(import(entry)).rejects.toMatchObject({ name: 'ConfigError', path: variable });
  });
});
