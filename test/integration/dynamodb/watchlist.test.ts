/**
 * The margin status watchlist on DynamoDB Local: the sparse index holds exactly the accounts not OK or with
 * an alert pending, through real sweeps, and a steady sweep reads only those statuses.
 */
import { describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../../lib/adapters/dynamodb/account-writer.ts';
import { DynamoDbMarginStatusStore } from '../../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { sweepSegment } from '../../../lib/app/sweep.ts';
import { FixedClock, RecordingOps } from '../../app/in-memory-ports.ts';
import { account } from '../../app/sweep-fixtures.ts';
import { countRequests } from '../../bench/support/fixtures.ts';
import { RecordingAlertPublisher, sweepTables } from '../faults/support.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

describe('the watchlist index on DynamoDB Local', () => {
  it('holds the accounts not OK or with an alert pending, and a steady sweep reads only their statuses', async () => {
    // 40 healthy accounts, and three that leave OK on the first sweep.
    const healthy = Array.from({ length: 40 }, (_, i) => account(`ok-${String(i).padStart(2, '0')}`, 10_000));
    const alerting = [account('warn', 2_000), account('call', 1_700), account('liq', 1_000)];
    const tables = await sweepTables(db, [...healthy, ...alerting]);
    const statuses = new DynamoDbMarginStatusStore(db.local.client, tables.statuses);
    const requests = countRequests(db.local.client);
    let run = 0;
    const sweep = () =>
      sweepSegment(
        {
          accounts: new DynamoDbAccountSource(db.local.client, tables.accounts),
          thresholds: new DynamoDbThresholdStore(db.local.client, tables.thresholds),
          statuses,
          alerts: new RecordingAlertPublisher(),
          ops: new RecordingOps(),
          clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5 * ++run)),
        },
        { runId: `sweep-${run}`, segment: { segment: 0, totalSegments: 1 }, pageSize: 50 },
      );

    const first = await sweep();
    expect(first.counts).toMatchObject({ accounts: 43, transitions: 3 });
    expect([...((await statuses.watchlist()) ?? [])].sort()).toEqual(['call', 'liq', 'warn']);

    requests.reset();
    const steady = await sweep();
    expect(steady.counts).toMatchObject({ accounts: 43, transitions: 0 });
    // One page: one BatchGetItem, for the three watched statuses only (not 43).
    expect(requests.sends.get('BatchGetItemCommand')).toBe(1);

    // `warn` recovers: its alert back to OK takes it off the watchlist.
    await writeAccounts(db.local.client, tables.accounts, [account('warn', 10_000)]);
    const recovery = await sweep();
    expect(recovery.counts).toMatchObject({ transitions: 1 });
    expect([...((await statuses.watchlist()) ?? [])].sort()).toEqual(['call', 'liq']);
  }, 60_000);
});
