import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import { batchWriteAll } from '../../lib/adapters/dynamodb/batch.ts';
import { DynamoDbBreachIndex, decimalText, shardOf } from '../../lib/adapters/dynamodb/breach-index.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { accountsTable, breachIndexTableDefinition } from '../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { sweepMoved } from '../../lib/app/targeted-sweep.ts';
import { EVERY_SWEEP } from '../../lib/domain/account/breach.ts';
import { FixedClock, RecordingOps } from '../app/in-memory-ports.ts';
import { liveMarks } from '../app/marks.ts';
import { account, PRICE } from '../app/sweep-fixtures.ts';
import { btcSet, RecordingAlertPublisher } from './faults/support.ts';
import { useDynamoDbLocal } from './support/dynamodb.ts';

const db = useDynamoDbLocal();

describe('DynamoDbBreachIndex on DynamoDB Local', () => {
  let index: DynamoDbBreachIndex;

  beforeAll(async () => {
    index = new DynamoDbBreachIndex(db.local.client, await db.freshTable(breachIndexTableDefinition()));
  });

  it('answers the accounts whose band a mark crosses, edges included, per set', async () => {
    await index.record('set-a', [
      { accountId: 'near', instrument: 'BTC', below: 29_100, above: 30_900 },
      { accountId: 'far', instrument: 'BTC', below: 15_000, above: 45_000 },
      { accountId: 'eth', instrument: 'ETH', below: 1_900, above: 2_100 },
    ]);
    await index.record('set-b', [
      { accountId: 'other-set', instrument: 'BTC', below: 29_999, above: 30_001 },
    ]);
    expect(await index.crossed('set-a', 'BTC', 30_000)).toEqual([]);
    expect(await index.crossed('set-a', 'BTC', 29_100)).toEqual(['near']); // mark = below edge
    expect(await index.crossed('set-a', 'BTC', 30_900)).toEqual(['near']); // mark = above edge
    expect([...(await index.crossed('set-a', 'BTC', 10_000))].sort()).toEqual(['far', 'near']);
    expect(await index.crossed('set-a', 'ETH', 2_100.5)).toEqual(['eth']);
    expect(await index.crossed('set-b', 'BTC', 30_001)).toEqual(['other-set']);
  });

  it('replaces an account band and removes an every-sweep entry', async () => {
    await index.record('set-c', [
      { accountId: 'a', instrument: 'BTC', below: 29_000, above: 31_000 },
      { accountId: 'a', instrument: EVERY_SWEEP, below: 1, above: 1 },
    ]);
    expect(await index.crossed('set-c', EVERY_SWEEP, 1)).toEqual(['a']);
    await index.record(
      'set-c',
      [{ accountId: 'a', instrument: 'BTC', below: 20_000, above: 40_000 }],
      [{ accountId: 'a', instrument: EVERY_SWEEP }],
    );
    expect(await index.crossed('set-c', EVERY_SWEEP, 1)).toEqual([]);
    expect(await index.crossed('set-c', 'BTC', 29_000)).toEqual([]);
    expect(await index.crossed('set-c', 'BTC', 19_999)).toEqual(['a']);
  });

  it('stores tiny and huge prices exactly and spreads accounts over shards', async () => {
    expect(decimalText(1e-7)).toBe('0.0000001');
    expect(decimalText(1.5e21)).toBe('1500000000000000000000');
    await index.record('set-d', [{ accountId: 'pepe', instrument: 'PEPE', below: 1e-7, above: 3e-7 }]);
    expect(await index.crossed('set-d', 'PEPE', 1e-7)).toEqual(['pepe']);
    expect(await index.crossed('set-d', 'PEPE', 2e-7)).toEqual([]);
    const many = Array.from({ length: 600 }, (_, i) => ({
      accountId: `acct-${i}`,
      instrument: 'SOL',
      below: 90,
      above: 110,
    }));
    await index.record('set-d', many);
    expect(new Set(many.map((e) => shardOf(e.accountId, 16))).size).toBe(16);
    expect(await index.crossed('set-d', 'SOL', 80)).toHaveLength(600);
  });
});

describe('targeted sweep on DynamoDB Local', () => {
  it('reads accounts by id, and a full then a targeted sweep alert the account a move pushes over', async () => {
    const tables = db.local.tables;
    await new DynamoDbThresholdStore(db.local.client, tables.thresholds).publishSet(btcSet, undefined);
    const accountsTableName = await db.freshTable(accountsTable);
    await writeAccounts(db.local.client, accountsTableName, [account('near', 2_300), account('far', 20_000)]);
    await batchWriteAll(
      db.local.client,
      accountsTableName,
      [{ PutRequest: { Item: { accountId: { S: 'bad' }, collateral: { S: 'x' } } } }],
      ['accountId'],
    );
    const source = new DynamoDbAccountSource(db.local.client, accountsTableName);
    const lookup = await source.getAccounts(['near', 'bad', 'gone']);
    expect(lookup.accounts.map((a) => a.accountId)).toEqual(['near']);
    expect(lookup.rejected.map((r) => r.accountKey)).toEqual(['bad']);
    expect(lookup.missing).toEqual(['gone']);

    const alerts = new RecordingAlertPublisher();
    const ports = {
      accounts: source,
      breachIndex: new DynamoDbBreachIndex(
        db.local.client,
        await db.freshTable(breachIndexTableDefinition()),
      ),
      thresholds: new DynamoDbThresholdStore(db.local.client, tables.thresholds),
      statuses: new DynamoDbMarginStatusStore(db.local.client, tables.marginStatus),
      alerts,
      ops: new RecordingOps(),
      clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
    };
    const full = await sweepSegment(ports, { runId: 'full-1', segment: { segment: 0, totalSegments: 1 } });
    expect(full.counts).toMatchObject({ accounts: 2, rejected: 1, indexed: 2 });
    const moved = await sweepMoved(ports, { runId: 'moved-1', marks: liveMarks({ BTC: PRICE * 0.99 }) });
    expect(moved.revisited).toEqual(['near']);
    expect(moved.alerts.map((a) => [a.accountId, a.newState])).toEqual([['near', 'WARNING']]);
    const quiet = await sweepMoved(ports, { runId: 'moved-2', marks: liveMarks({ BTC: PRICE * 0.99 }) });
    expect(quiet.counts.revisited).toBe(0);
    // The next full sweep at the same marks finds both stamps current: it writes nothing to the index.
    const again = await sweepSegment(ports, {
      runId: 'full-2',
      segment: { segment: 0, totalSegments: 1 },
      marks: liveMarks({ BTC: PRICE * 0.99 }),
    });
    expect(again.counts).toMatchObject({ accounts: 2, indexed: 0, indexUnchanged: 2 });
  });
});

describe('band stamps on DynamoDB Local', () => {
  it('reads back what was stamped, per set, only after the entries were written; a bad stamp is none', async () => {
    const table = await db.freshTable(breachIndexTableDefinition());
    const index = new DynamoDbBreachIndex(db.local.client, table);
    const entry = { accountId: 'a', instrument: 'BTC', below: 29_100.5, above: 30_900.25 };
    await index.record(
      'set-s',
      [entry],
      [],
      [
        { accountId: 'a', fingerprint: 'fp-a', entries: [entry], writtenAt: 1_700_000_000_000 },
        { accountId: 'flat', fingerprint: 'fp-flat', entries: [], writtenAt: 1_700_000_000_000 },
      ],
    );
    const stamps = await index.stamps('set-s', ['a', 'flat', 'never']);
    expect(stamps.get('a')).toEqual({
      accountId: 'a',
      fingerprint: 'fp-a',
      entries: [entry],
      writtenAt: 1_700_000_000_000,
    });
    expect(stamps.get('flat')?.entries).toEqual([]);
    expect(stamps.has('never')).toBe(false);
    expect((await index.stamps('set-t', ['a'])).size).toBe(0);
    // A stamp is not a band: no Query of the price index ever returns it.
    expect(await index.crossed('set-s', 'BTC', 1)).toEqual(['a']);
    await batchWriteAll(
      db.local.client,
      table,
      [
        {
          PutRequest: {
            Item: {
              pk: { S: `set-s#stamp#${shardOf('a', 16)}` },
              accountId: { S: 'a' },
              fingerprint: { S: 'fp-a' },
              entries: { S: 'not json' },
              writtenAt: { N: '1' },
            },
          },
        },
      ],
      ['pk', 'accountId'],
    );
    expect((await index.stamps('set-s', ['a'])).has('a')).toBe(false);
  });
});
