import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbBacktestReportStore } from '../../../lib/adapters/dynamodb/backtest-report-store.ts';
import { thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { startDynamoDbLocal } from '../../../lib/adapters/local/dynamodb-local.ts';
import {
  type InstrumentBacktestReport,
  type SetBacktestReport,
  setBacktestReport,
} from '../../../lib/domain/backtest/daily-report.ts';
import { walkDailyBacktest } from '../../../lib/domain/backtest/daily-walk.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { sampleSet } from '../../adapters/dynamodb/support.ts';
import { runQmt } from '../../cli/run-qmt.ts';
import { tempDir } from '../../temp-dirs.ts';
import { useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

function instrument(
  name: string,
  long: number,
  short: number,
  zone: 'green' | 'red',
): InstrumentBacktestReport {
  const side = (breaches: number) => ({
    breaches,
    kupiecP: breaches === 10 ? 0.0003189 : 0.7242262576021529,
    christoffersenP: 0.1 + 0.2,
    zone: breaches >= 10 ? ('red' as const) : ('green' as const),
    breachDates: Array.from({ length: breaches }, (_, k) => `2026-0${1 + (k % 9)}-1${k % 10}`),
  });
  return {
    instrument: name,
    policyVersion: 'qmt-default-2026.11',
    confidence: 0.99,
    marginPeriodOfRiskDays: 1,
    from: '2026-03-19',
    to: '2026-11-23',
    observations: 250,
    zone,
    long: side(long),
    short: side(short),
    averageInitialMarginRate: 0.05000000000000017,
    hindsightFixedRate: 0.07,
    cost: 0.05000000000000017 / 0.07,
  };
}

const REPORT: SetBacktestReport = setBacktestReport(
  { setId: 'set-a', runId: '2026-11-24T00:05:00Z', computedAt: Date.UTC(2026, 10, 24, 0, 7) },
  250,
  [instrument('BTC', 0, 2, 'green'), instrument('ETH', 0, 10, 'red')],
  [{ instrument: 'SOL', reason: 'SOL: MarketSourceError: venue unreachable' }],
);

describe('DynamoDbBacktestReportStore on DynamoDB Local', () => {
  it('stores the report beside its set: every number round-trips, and the set still reads whole', async () => {
    // Prepare
    const table = await db.freshTable(thresholdsTable);
    const sets = new DynamoDbThresholdStore(db.local.client, table);
    const reports = new DynamoDbBacktestReportStore(db.local.client, table);
    const set = sampleSet('set-a', ['BTC', 'ETH', 'SOL']);
    await sets.publishSet(set, undefined);
    // Act
    await reports.record(REPORT);
    // Assess
    await expect(reports.get('set-a')).resolves.toEqual(REPORT);
    expect((await reports.get('set-a'))?.instruments[1]?.long.christoffersenP).toBe(0.30000000000000004);
    // The BACKTEST item shares the set's partition without being taken for a threshold
    await expect(sets.currentSet()).resolves.toEqual(set);
    await expect(sets.history('BTC')).resolves.toHaveLength(1);
    await expect(reports.get('no-such-set')).resolves.toBeUndefined();
  });

  it('replaces the report of a set when the backtest runs again (a retried run)', async () => {
    const table = await db.freshTable(thresholdsTable);
    const reports = new DynamoDbBacktestReportStore(db.local.client, table);
    await reports.record(REPORT);
    const again = { ...REPORT, computedAt: '2026-11-24T01:00:00.000Z', failed: [] };
    await reports.record(again);
    await expect(reports.get('set-a')).resolves.toEqual(again);
  });

  it('refuses a report with a non-finite figure rather than store a null p-value', async () => {
    const table = await db.freshTable(thresholdsTable);
    const reports = new DynamoDbBacktestReportStore(db.local.client, table);
    const bad = { ...REPORT, instruments: [{ ...instrument('BTC', 0, 0, 'green'), cost: Number.NaN }] };
    await expect(reports.record(bad)).rejects.toThrow(/set-a: cost is NaN/);
    await expect(reports.get('set-a')).resolves.toBeUndefined();
  });
});

describe('the daily backtest’s kept walks on DynamoDB Local', () => {
  it('keeps one walk per instrument beside the sets, reads it back exactly, and names a corrupt one', async () => {
    // Prepare: a real walk's state (300 generated days, 100 scored)
    const table = await db.freshTable(thresholdsTable);
    const sets = new DynamoDbThresholdStore(db.local.client, table);
    const reports = new DynamoDbBacktestReportStore(db.local.client, table);
    const set = sampleSet('set-a', ['BTC']);
    await sets.publishSet(set, undefined);
    const candles = generateCandles({
      instrument: 'BTC',
      days: 300,
      endTime: Date.UTC(2026, 10, 24),
      startPrice: 100,
      seed: 5,
    });
    const { state } = walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, candles, { scoredDays: 100 });
    // Act
    await reports.recordWalks([
      state,
      { ...state, instrument: 'ETH', previous: { ...state.previous, instrument: 'ETH' } },
    ]);
    await db.local.client.send(
      new PutItemCommand({
        TableName: table,
        Item: { pk: { S: 'WALK#SOL' }, sk: { S: 'BACKTEST' }, walk: { S: '{"instrument":"SOL"' } },
      }),
    );
    const found = await reports.walks(['BTC', 'ETH', 'SOL', 'XRP']);
    // Assess: every number back as written; the corrupt one named; none kept is absent
    expect(found.get('BTC')).toEqual({ state });
    expect(found.get('ETH')).toMatchObject({ state: { instrument: 'ETH', rows: state.rows } });
    expect(found.get('SOL')).toEqual({ unreadable: expect.stringMatching(/JSON/) });
    expect(found.has('XRP')).toBe(false);
    // The walks never show up as thresholds of a set or of an instrument's history
    await expect(sets.currentSet()).resolves.toEqual(set);
    await expect(sets.history('BTC')).resolves.toHaveLength(1);
  });
});

describe('qmt backtest-report', () => {
  it('prints the stored report of a set from the local database, as a table; a set with none is named', async () => {
    // Prepare: a data directory whose database holds the report (as `qmt start --backtest` leaves it)
    const dataDir = tempDir('qmt-backtest-report-');
    await mkdir(join(dataDir, 'dynamodb'));
    const local = await startDynamoDbLocal({ dbPath: join(dataDir, 'dynamodb') });
    try {
      await new DynamoDbBacktestReportStore(local.client, local.tables.thresholds).record(REPORT);
    } finally {
      await local.stop();
    }
    // Act
    const table = await runQmt(['backtest-report', '--set', 'set-a', '--data-dir', dataDir]);
    const missing = await runQmt(['backtest-report', '--set', 'set-b', '--data-dir', dataDir]);
    // Assess
    expect(table.code).toBe(0);
    expect(table.out).toContain('zone RED');
    expect(table.out).toMatch(/ETH\s+red\s+250\s+2026-03-19\s+2026-11-23\s+0\s+10/);
    expect(table.out).toContain('SOL: MarketSourceError: venue unreachable');
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('no backtest report is stored for set set-b');
  });

  it('refuses a data directory with no database (a usage mistake)', async () => {
    const run = await runQmt(['backtest-report', '--set', 'x', '--data-dir', tempDir('qmt-empty-')]);
    expect(run.code).toBe(2);
    expect(run.err).toContain('no local database there');
  });
});
