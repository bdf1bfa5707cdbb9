import { DescribeTimeToLiveCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { TABLES } from '../../../lib/adapters/dynamodb/tables.ts';
import { startDynamoDbLocal } from '../../../lib/adapters/local/dynamodb-local.ts';
import { QmtError } from '../../../lib/domain/errors.ts';
import { isAlive } from '../support/dynamodb.ts';

describe('DynamoDB Local harness', () => {
  it('starts on a free port with every table from tables.ts, and stop() leaves no JVM behind', async () => {
    const local = await startDynamoDbLocal({ tablePrefix: 'harness' });
    try {
      expect(local.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { TableNames } = await local.client.send(new ListTablesCommand({}));
      expect(TableNames?.sort()).toEqual(TABLES.map((t) => local.tables[t.id]).sort());
      const ttl = await local.client.send(new DescribeTimeToLiveCommand({ TableName: local.tables.runs }));
      expect(ttl.TimeToLiveDescription).toMatchObject({ AttributeName: 'ttl', TimeToLiveStatus: 'ENABLED' });
      expect(isAlive(local.pid)).toBe(true);
    } finally {
      await local.stop();
    }
    expect(isAlive(local.pid)).toBe(false);
    // A second stop is harmless.
    await local.stop();
  });

  it('says plainly that Java is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const error = await startDynamoDbLocal({ startTimeoutMs: 5_000 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(QmtError);
      expect((error as Error).message).toMatch(/needs Java 17.*`java` was not found on PATH/);
    } finally {
      process.env.PATH = path;
    }
  });
});
