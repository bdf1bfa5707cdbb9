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

/**
 * Create every table (skipping any that already exist, e.g. a persisted local database), wait until each is
 * ACTIVE, and switch on TTL where the definition has one.
 */
export async function createTables(
  client: DynamoDBClient,
  names: TableNames,
  options: { readonly maxWaitSeconds?: number } = {},
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
      if (created && table.timeToLiveAttribute) {
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
