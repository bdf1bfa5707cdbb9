/** Fixtures shared by the fault-injection tests: a fixed BTC threshold set, accounts around its levels, ports. */

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { writeAccounts } from '../../../lib/adapters/dynamodb/account-writer.ts';
import type { Item } from '../../../lib/adapters/dynamodb/attributes.ts';
import { accountsTable, marginStatusTable, thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import type { Account, MarginAlert, MarginState, MarginStatus } from '../../../lib/domain/account/account.ts';
import type { Threshold, ThresholdSet } from '../../../lib/domain/threshold/threshold.ts';
import type { AlertPublisher, AlertPublishResult, MarginStatusStore } from '../../../lib/ports.ts';
import { btc, PRICE } from '../../app/sweep-fixtures.ts';
import type { DynamoDbLocalFixture } from '../support/dynamodb.ts';

export { PRICE };

/** A BTC threshold at fixed rates (maintenance 1,800 for one BTC), volume so large no liquidity add-on applies. */
export const btcThreshold: Threshold = btc;

export const btcSet: ThresholdSet = {
  setId: 'set-1',
  runId: 'run-1',
  createdAt: '2026-11-24T00:00:00.000Z',
  thresholds: [btcThreshold],
};

/** Collateral for one BTC perpetual at the mark, and the state it leads to from OK. */
const PROFILES: readonly { readonly collateral: string; readonly state: MarginState }[] = [
  { collateral: '10000.00', state: 'OK' }, // ratio 5.56
  { collateral: '2000.00', state: 'WARNING' }, // 1.111
  { collateral: '1700.00', state: 'MARGIN_CALL' }, // 0.944
  { collateral: '1000.00', state: 'LIQUIDATION' }, // 0.556
];

export interface SeededAccount {
  readonly account: Account;
  /** The state one sweep moves it to; `OK` means no transition and no alert. */
  readonly expectedState: MarginState;
}

/** `count` accounts cycling through the four profiles; ids are zero-padded so they sort. */
export function seededAccounts(count: number, prefix = 'acc'): SeededAccount[] {
  return Array.from({ length: count }, (_, i) => {
    const profile = PROFILES[i % PROFILES.length] as (typeof PROFILES)[number];
    return {
      expectedState: profile.state,
      account: {
        accountId: `${prefix}-${String(i).padStart(4, '0')}`,
        collateral: [{ asset: 'USD', amount: profile.collateral }],
        positions: [
          {
            kind: 'perpetual',
            instrument: 'BTC',
            quantity: '1',
            entryPrice: String(PRICE),
            settlement: 'linear',
          },
        ],
      },
    };
  });
}

/** Records every alert it is given, across workers and restarts; never fails. */
export class RecordingAlertPublisher implements AlertPublisher {
  readonly published: MarginAlert[] = [];
  constructor(private readonly beforePublish?: () => Promise<void>) {}
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    await this.beforePublish?.();
    this.published.push(...alerts);
    return { published: alerts.map((a) => a.alertId), failed: [] };
  }
}

/** Every item of a table (a test-sized one), read with consistent Scans. */
export async function scanAll(client: DynamoDBClient, tableName: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await client.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...((out.Items ?? []) as Item[]));
    start = out.LastEvaluatedKey as Item | undefined;
  } while (start !== undefined);
  return items;
}

/** The attributes every margin-status item must carry: a missing one means a half-written status. */
export const STATUS_ITEM_ATTRIBUTES = [
  'accountId',
  'state',
  'previousState',
  'sequence',
  'marginRatio',
  'runId',
  'thresholdSetId',
  'updatedAt',
  'alertId',
  'writeToken',
] as const;

/** Looks along an error's cause chain for a refused or dropped connection. */
export function connectionFailure(error: unknown): string | undefined {
  for (let e: unknown = error; e !== undefined && e !== null; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE)$/.test(code)) return code;
    if (typeof e !== 'object') return undefined;
  }
  return undefined;
}

/**
 * `store` with `get` replaced; every other method (whatever the port grows) goes to `store` unchanged.
 */
export function withStatusReads(
  store: MarginStatusStore,
  get: (accountIds: readonly string[]) => Promise<Map<string, MarginStatus>>,
): MarginStatusStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'get') return get;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/**
 * Fresh accounts, status and thresholds tables on `db`, `btcSet` published as CURRENT and `accounts`
 * written: what a sweep on DynamoDB Local starts from.
 */
export async function sweepTables(
  db: DynamoDbLocalFixture,
  accounts: readonly Account[],
): Promise<{ accounts: string; statuses: string; thresholds: string }> {
  const tables = {
    accounts: await db.freshTable(accountsTable),
    statuses: await db.freshTable(marginStatusTable),
    thresholds: await db.freshTable(thresholdsTable),
  };
  await new DynamoDbThresholdStore(db.local.client, tables.thresholds).publishSet(btcSet, undefined);
  await writeAccounts(db.local.client, tables.accounts, accounts);
  return tables;
}
