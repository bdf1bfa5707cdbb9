/**
 * DynamoDB Local runs a TTL job: an item whose TTL lies in the wall clock's past is deleted within about a
 * second. A replay stamps its leases and run records from a simulated clock years back, so with TTL on its
 * midnight recalibration found its own run record gone at completion (a flaky replay test). The replay's
 * tables therefore have TTL off.
 */
import { DescribeTimeToLiveCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbRunLedger } from '../../../lib/adapters/dynamodb/run-ledger.ts';
import { startDynamoDbLocal } from '../../../lib/adapters/local/dynamodb-local.ts';
import { onLocalDynamoDb } from '../../../lib/cli/commands/replay.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';

const SIMULATED_NOW = Date.UTC(2022, 10, 8);
/** Several times the delay DynamoDB Local's TTL job took to delete a past-due item on this machine (~0.5 s). */
const LONGER_THAN_A_TTL_SWEEP_MS = 3_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('TTL under a simulated clock', () => {
  const db = useDynamoDbLocal();

  it('DynamoDB Local deletes an item whose TTL has passed on the wall clock (why the replay turns TTL off)', async () => {
    const local = await startDynamoDbLocal({ tablePrefix: 'ttl-on' });
    try {
      const Key = { pk: { S: 'RUN#simulated' } };
      const ttl = String(Math.ceil(SIMULATED_NOW / 1000));
      await local.client.send(
        new PutItemCommand({ TableName: local.tables.runs, Item: { ...Key, ttl: { N: ttl } } }),
      );
      let gone = false;
      for (let waited = 0; waited < 30_000 && !gone; waited += 250) {
        await sleep(250);
        const { Item } = await local.client.send(new GetItemCommand({ TableName: local.tables.runs, Key }));
        gone = Item === undefined;
      }
      expect(gone).toBe(true);
    } finally {
      await local.stop();
    }
  });

  it("the replay's tables have TTL off, so a run on a 2022 clock completes however long it takes", async () => {
    await onLocalDynamoDb(db.local.client, async (client, tables) => {
      const described = await client.send(new DescribeTimeToLiveCommand({ TableName: tables.runs }));
      expect(described.TimeToLiveDescription?.TimeToLiveStatus).not.toBe('ENABLED');
      const ledger = new DynamoDbRunLedger(client, tables.runs, { clock: { now: () => SIMULATED_NOW } });
      const lease = await ledger.acquire('scheduled#2022-11-08', 'replay', 60_000);
      expect(lease).toBeDefined();
      await sleep(LONGER_THAN_A_TTL_SWEEP_MS);
      await expect(
        ledger.complete(lease as NonNullable<typeof lease>, 'succeeded', { instruments: 1 }),
      ).resolves.toBeUndefined();
    });
  });
});
