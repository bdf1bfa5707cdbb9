/**
 * One DynamoDB Local per test file: started before the file's tests (qmt's tables created once), stopped
 * after, and checked gone. Tests keep apart with unique ids, or a fresh table where a test needs a table of
 * its own (the threshold pointer is one item per table).
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import type { TableDefinition } from '../../../lib/adapters/dynamodb/tables.ts';
import { toCreateTableInput } from '../../../lib/adapters/dynamodb/tables.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../../lib/adapters/local/dynamodb-local.ts';

export interface DynamoDbLocalFixture {
  /** The running instance; only valid inside tests and hooks. */
  readonly local: DynamoDbLocal;
  /** A new, empty table built from `definition`, named uniquely. */
  freshTable(definition: TableDefinition): Promise<string>;
}

export function useDynamoDbLocal(): DynamoDbLocalFixture {
  let local: DynamoDbLocal | undefined;
  beforeAll(async () => {
    // Tests run at fixed dates: with TTL on, DynamoDB Local would delete their leases once those dates pass.
    local = await startDynamoDbLocal({ timeToLive: false });
  });
  afterAll(async () => {
    if (!local) return;
    const { pid } = local;
    await local.stop();
    if (isAlive(pid)) throw new Error(`DynamoDB Local (pid ${pid}) is still running after stop()`);
  });
  const fixture: DynamoDbLocalFixture = {
    get local() {
      if (!local) throw new Error('DynamoDB Local is not running (use it inside a test or hook)');
      return local;
    },
    async freshTable(definition) {
      const name = uniqueId(definition.suffix);
      // DynamoDB Local creates tables ACTIVE at once: no waiter needed.
      await fixture.local.client.send(new CreateTableCommand(toCreateTableInput(definition, name)));
      return name;
    },
  };
  return fixture;
}

/** A readable id no other test shares. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
