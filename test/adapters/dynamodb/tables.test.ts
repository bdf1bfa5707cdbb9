import { describe, expect, it } from 'vitest';
import { clientOptionsFromEnv, createDynamoDbClient } from '../../../lib/adapters/dynamodb/client.ts';
import { isRetryableDynamoDbError } from '../../../lib/adapters/dynamodb/retryable.ts';
import {
  runsTable,
  TABLES,
  tableNames,
  tableNamesFromEnv,
  thresholdsTable,
  toCreateTableInput,
} from '../../../lib/adapters/dynamodb/tables.ts';

describe('table definitions', () => {
  it('turn into CreateTable requests with every key attribute declared once', () => {
    const input = toCreateTableInput(thresholdsTable, 'qmt-thresholds');
    expect(input).toEqual({
      TableName: 'qmt-thresholds',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
        { AttributeName: 'instrument', AttributeType: 'S' },
        { AttributeName: 'historyKey', AttributeType: 'S' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byInstrument',
          KeySchema: [
            { AttributeName: 'instrument', KeyType: 'HASH' },
            { AttributeName: 'historyKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['threshold'] },
        },
      ],
    });
    expect(runsTable.timeToLiveAttribute).toBe('ttl');
    expect(TABLES.map((t) => t.id)).toEqual([
      'thresholds',
      'accounts',
      'marginStatus',
      'runs',
      'breachIndex',
      'candles',
    ]);
  });

  it('are named from a prefix, each overridable from the environment', () => {
    expect(tableNames('dev')).toEqual({
      thresholds: 'dev-thresholds',
      accounts: 'dev-accounts',
      marginStatus: 'dev-margin-status',
      runs: 'dev-runs',
      breachIndex: 'dev-breach-index',
      candles: 'dev-candles',
    });
    expect(tableNamesFromEnv({ QMT_TABLE_PREFIX: 'prod', QMT_ACCOUNTS_TABLE: 'exchange-accounts' })).toEqual({
      thresholds: 'prod-thresholds',
      accounts: 'exchange-accounts',
      marginStatus: 'prod-margin-status',
      runs: 'prod-runs',
      breachIndex: 'prod-breach-index',
      candles: 'prod-candles',
    });
  });
});

describe('client', () => {
  it('takes its endpoint from QMT_DYNAMODB_ENDPOINT', async () => {
    expect(
      clientOptionsFromEnv({ QMT_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000', AWS_REGION: 'eu-west-1' }),
    ).toEqual({
      endpoint: 'http://127.0.0.1:8000',
      region: 'eu-west-1',
    });
    expect(clientOptionsFromEnv({})).toEqual({});
    const client = createDynamoDbClient({ endpoint: 'http://127.0.0.1:8000', maxAttempts: 2 });
    expect(await client.config.maxAttempts()).toBe(2);
    const endpoint = await client.config.endpoint?.();
    expect(endpoint?.hostname).toBe('127.0.0.1');
    client.destroy();
  });
});

describe('isRetryableDynamoDbError', () => {
  it('retries throttling, 5xx and dropped connections, nothing else', () => {
    const named = (name: string, extra: object = {}) => Object.assign(new Error(name), { name, ...extra });
    expect(isRetryableDynamoDbError(named('ProvisionedThroughputExceededException'))).toBe(true);
    expect(isRetryableDynamoDbError(named('ThrottlingException'))).toBe(true);
    expect(isRetryableDynamoDbError(named('RequestLimitExceeded'))).toBe(true);
    expect(isRetryableDynamoDbError(named('InternalServerError'))).toBe(true);
    expect(isRetryableDynamoDbError(named('Whatever', { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isRetryableDynamoDbError(named('Error', { code: 'ECONNRESET' }))).toBe(true);
    expect(
      isRetryableDynamoDbError(named('ValidationException', { $metadata: { httpStatusCode: 400 } })),
    ).toBe(false);
    expect(isRetryableDynamoDbError(named('ConditionalCheckFailedException'))).toBe(false);
    expect(isRetryableDynamoDbError(named('ResourceNotFoundException'))).toBe(false);
    expect(isRetryableDynamoDbError('nope')).toBe(false);
  });
});
