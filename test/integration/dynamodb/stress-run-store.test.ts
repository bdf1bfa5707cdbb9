import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  DynamoDbStressReportStore,
  DynamoDbStressRunStore,
  parseStressJson,
} from '../../../lib/adapters/dynamodb/stress-run-store.ts';
import { startStressRun, stressSegment } from '../../../lib/app/stress-run.ts';
import { type Account, accountSchema } from '../../../lib/domain/account/account.ts';
import { runCascade } from '../../../lib/domain/stress/cascade.ts';
import { parseCascadePolicy } from '../../../lib/domain/stress/policy.ts';
import { formatUnits } from '../../../lib/domain/valuation/money.ts';
import type { StoredStressReport } from '../../../lib/ports.ts';
import { InMemoryAccountSource, RecordingOps } from '../../app/in-memory-ports.ts';
import { book, RecordingStressQueue } from '../../app/stress-ports.ts';
import { AS_OF, thresholdFor } from '../../domain/valuation/fixtures.ts';
import { uniqueId, useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

const MARKET = {
  instruments: [
    {
      symbol: 'BTC',
      threshold: thresholdFor('BTC', { maintenanceMarginRate: 0.05, effectiveVolatility: 0.03 }),
      mark: 100,
      dailyVolatility: 0.03,
      averageDailyVolume: 20_000,
    },
    {
      symbol: 'ETH',
      threshold: thresholdFor('ETH', { maintenanceMarginRate: 0.08, effectiveVolatility: 0.05 }),
      mark: 10,
      dailyVolatility: 0.05,
      averageDailyVolume: 20_000,
    },
  ],
  shocks: { BTC: -0.1 },
  levels: { warning: 1.2, marginCall: 1, liquidation: 0.8 },
  policy: parseCascadePolicy({ correlations: [{ a: 'BTC', b: 'ETH', rho: 0.6 }] }),
  asOf: AS_OF,
};

describe('the stress run on DynamoDB Local', () => {
  it('runs 3 segments, each delivered twice, to the one-process result and stores it with the set', async () => {
    const runs = new DynamoDbStressRunStore(db.local.client, db.local.tables.runs);
    const reports = new DynamoDbStressReportStore(db.local.client, db.local.tables.thresholds);
    const queue = new RecordingStressQueue();
    const ports = {
      accounts: new InMemoryAccountSource(book(), 1),
      runs,
      reports,
      queue,
      ops: new RecordingOps(),
    };
    const runId = uniqueId('stress');
    await startStressRun(ports, { runId, setId: 'set-s', totalSegments: 3, market: MARKET });
    expect(await startStressRun(ports, { runId, setId: 'set-s', totalSegments: 3, market: MARKET })).toEqual({
      started: false,
    });
    for (let m = queue.pending.shift(), n = 0; m && n < 500; m = queue.pending.shift(), n += 1) {
      await stressSegment(ports, { insuranceFund: 10 }, m);
      if (m.step === 0) await stressSegment(ports, { insuranceFund: 10 }, m); // a repeated delivery
    }
    const alone = runCascade({ ...MARKET, accounts: book() });
    expect((await runs.get(runId))?.phase).toBe('complete');
    const { Item } = await db.local.client.send(
      new GetItemCommand({
        TableName: db.local.tables.thresholds,
        Key: { pk: { S: 'SET#set-s' }, sk: { S: `STRESS#${runId}` } },
      }),
    );
    const stored = parseStressJson<StoredStressReport>(Item?.report?.S ?? 'null');
    expect(stored.badDebt).toBe(formatUnits(alone.badDebtUnits));
    expect(stored.rounds.map((r) => [...r.liquidatedAccounts].sort())).toEqual(
      alone.rounds.map((r) => [...r.liquidatedAccounts].sort()),
    );
    expect(stored.exceedsInsuranceFund).toBe(true);
  });
});

/** `n` accounts of 10 BTC at 100 on 100 USD: a 10% fall takes each to zero equity, all liquidated in round 0. */
function crowdedLongs(n: number): Account[] {
  return Array.from({ length: n }, (_, i) =>
    accountSchema.parse({
      // 16 characters, as an exchange's ids often are: about 19 bytes an id in a JSON list.
      accountId: `account-${String(i).padStart(8, '0')}`,
      collateral: [{ asset: 'USD', amount: '100' }],
      positions: [{ kind: 'perpetual', instrument: 'BTC', quantity: '10', entryPrice: '100' }],
    }),
  );
}

describe('a stress run whose liquidated ids pass a DynamoDB item (400 KB)', () => {
  it('stores 50,000 liquidated ids in one round, and the report lists them all and the top bad debts', async () => {
    const runs = new DynamoDbStressRunStore(db.local.client, db.local.tables.runs);
    const reports = new DynamoDbStressReportStore(db.local.client, db.local.tables.thresholds);
    const queue = new RecordingStressQueue();
    const accounts = crowdedLongs(50_000);
    const market = {
      ...MARKET,
      instruments: MARKET.instruments.map((i) => ({ ...i, averageDailyVolume: 1e9 })),
    };
    const ports = {
      accounts: new InMemoryAccountSource(accounts),
      runs,
      reports,
      queue,
      ops: new RecordingOps(),
    };
    const runId = uniqueId('stress-big');
    // Two segments of 25,000 ids: each segment's result (~475 KB of ids) passes the item limit on its own.
    await startStressRun(ports, { runId, setId: 'set-big', totalSegments: 2, market });
    let report: StoredStressReport | undefined;
    for (let m = queue.pending.shift(), n = 0; m && n < 20; m = queue.pending.shift(), n += 1) {
      report = (await stressSegment(ports, { insuranceFund: 10 }, m)).report ?? report;
    }
    expect((await runs.get(runId))?.phase).toBe('complete');
    expect(report?.accountsLiquidated).toBe(50_000);
    const stored = await reports.load('set-big', runId);
    expect(stored?.rounds[0]?.liquidatedAccounts.length).toBe(50_000);
    expect(new Set(stored?.rounds.flatMap((r) => r.liquidatedAccounts))).toEqual(
      new Set(accounts.map((a) => a.accountId)),
    );
    expect(stored?.accountsLiquidated).toBe(50_000);
    expect(stored?.contributors.length).toBe(20);
    expect(stored?.badDebt).toBe(report?.badDebt);
    expect(Number(stored?.badDebt)).toBeGreaterThan(0); // the impact took the closed-out longs below zero
  }, 120_000);
});
