/**
 * The sweep worker's IAM policy allows every DynamoDB call its adapters really make. A sweep runs on
 * DynamoDB Local through a client that records each command and its table (transitions, publish, outbox
 * clear, a failed publish re-sent by the next sweep); the synthesised stack's worker role must allow each
 * (action, table). A call the policy misses fails only in AWS, with AccessDenied, never on DynamoDB Local:
 * this test is what catches it (it caught the outbox clear's UpdateItem missing).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import { createDynamoDbClient } from '../../lib/adapters/dynamodb/client.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { accountsTable, marginStatusTable, thresholdsTable } from '../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { MarginAlert } from '../../lib/domain/account/account.ts';
import type { AlertPublisher, AlertPublishResult } from '../../lib/ports.ts';
import { FixedClock, RecordingOps } from '../app/in-memory-ports.ts';
import { buildStack, grantsOf, logicalId } from '../infra/support.ts';
import { btcSet, seededAccounts } from './faults/support.ts';
import { useDynamoDbLocal } from './support/dynamodb.ts';

const db = useDynamoDbLocal();

/** Fails the first alert it is given once, so the next sweep re-sends it from the outbox. */
class FirstAlertFailsOnce implements AlertPublisher {
  private failed = false;
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    const first = alerts[0];
    if (!this.failed && first) {
      this.failed = true;
      return {
        published: alerts.slice(1).map((a) => a.alertId),
        failed: [{ alertId: first.alertId, reason: 'injected' }],
      };
    }
    return { published: alerts.map((a) => a.alertId), failed: [] };
  }
}

/** A client that records `dynamodb:<Action>` per table name for every command it sends. */
function recordingClient(endpoint: string): { client: DynamoDBClient; calls: Map<string, Set<string>> } {
  const client = createDynamoDbClient({ endpoint });
  const calls = new Map<string, Set<string>>();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; RequestItems?: Record<string, unknown> };
      const tables = input.TableName ? [input.TableName] : Object.keys(input.RequestItems ?? {});
      const action = `dynamodb:${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
      for (const table of tables) {
        const actions = calls.get(table) ?? new Set<string>();
        actions.add(action);
        calls.set(table, actions);
      }
      return next(args);
    },
    { step: 'initialize', name: 'qmtRecordCalls' },
  );
  return { client, calls };
}

describe('IAM against real calls', () => {
  it("the sweep worker's role allows every DynamoDB action its sweep sends, on the table it sends it to", async () => {
    const tables = {
      accounts: await db.freshTable(accountsTable),
      statuses: await db.freshTable(marginStatusTable),
      thresholds: await db.freshTable(thresholdsTable),
    };
    await new DynamoDbThresholdStore(db.local.client, tables.thresholds).publishSet(btcSet, undefined);
    await writeAccounts(
      db.local.client,
      tables.accounts,
      seededAccounts(12).map((s) => s.account),
    );
    const { client, calls } = recordingClient(db.local.endpoint);
    const ports = {
      accounts: new DynamoDbAccountSource(client, tables.accounts),
      thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
      statuses: new DynamoDbMarginStatusStore(client, tables.statuses),
      alerts: new FirstAlertFailsOnce(),
      ops: new RecordingOps(),
      clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
    };
    const segment = { segment: 0, totalSegments: 1 };
    const first = await sweepSegment(ports, { runId: 'sweep-1', segment, pageSize: 5 });
    const second = await sweepSegment(ports, { runId: 'sweep-2', segment, pageSize: 5 });
    client.destroy();
    // The paths the test means to exercise all ran.
    expect(first.counts.transitions).toBe(9);
    expect(first.counts.alertsFailed).toBe(1);
    expect(second.counts.alertsResent).toBe(1);

    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    const role = (qmt.sweepWorkerFunction as NodejsFunction).role;
    if (!role) throw new Error('the sweep worker has no role');
    const granted = grantsOf(template, logicalId(role));
    const tableIds = new Map([
      [tables.accounts, logicalId(qmt.accountsTable as never)],
      [tables.statuses, logicalId(qmt.marginStatusTable)],
      [tables.thresholds, logicalId(qmt.thresholdsTable)],
    ]);
    const used = [...calls].map(([table, actions]) => [table, [...actions].sort()] as const);
    expect(used.map(([table]) => table).sort()).toEqual([...tableIds.keys()].sort());
    for (const [table, actions] of used) {
      const resource = tableIds.get(table) as string;
      for (const action of actions) {
        expect(granted[resource] ?? [], `${action} on ${resource}`).toContain(action);
      }
    }
  }, 60_000);
});
