import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  DynamoDbStressReportStore,
  DynamoDbStressRunStore,
  parseStressJson,
} from '../../../lib/adapters/dynamodb/stress-run-store.ts';
import { startStressRun, stressSegment } from '../../../lib/app/stress-run.ts';
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
