/**
 * Creates qmt's tables from `tables.ts` with CreateTable (DynamoDB Local, `npm start`, integration tests).
 * Deployed tables come from the CDK stack instead, built from the same definitions.
 */
import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { TABLES, type TableNames, toCreateTableInput } from './tables.ts';

export interface CreateTablesOptions {
  readonly maxWaitSeconds?: number;
  /**
   * Switch on TTL where the definition has one (default true). Turn it off when the items are stamped from a
   * simulated clock (a replay, a test at a fixed date): their expiry times lie in the past of the wall clock,
   * and DynamoDB Local's TTL job deletes such items within about a second, live leases and run records
   * included. TTL is housekeeping only; no qmt decision depends on it.
   */
  readonly timeToLive?: boolean;
}

/**
 * Create every table (skipping any that already exist, e.g. a persisted local database), wait until each is
 * ACTIVE, and switch on TTL where the definition has one (unless `timeToLive` is false).
 */
export async function createTables(
  client: DynamoDBClient,
  names: TableNames,
  options: CreateTablesOptions = {},
): Promise<void> {
  await Promise.all(
    TABLES.map(async (table) => {
      const tableName = names[table.id];
      let created = true;
      try {
        await client.send(new CreateTableCommand(toCreateTableInput(table, tableName)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) throw error;
        created = false;
      }
      await waitUntilTableExists(
        { client, maxWaitTime: options.maxWaitSeconds ?? 60, minDelay: 1, maxDelay: 2 },
        { TableName: tableName },
      );
      if (created && table.timeToLiveAttribute && (options.timeToLive ?? true)) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: table.timeToLiveAttribute, Enabled: true },
          }),
        );
      }
    }),
  );
}
