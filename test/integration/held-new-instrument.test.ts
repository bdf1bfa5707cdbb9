/**
 * Issue 11, item 5: a new instrument with unusable data and no earlier threshold must not block the others.
 * The recalibrate handler runs on DynamoDB Local (the real threshold store refuses NaN) with BTC and ETH
 * good and SOL, newly added, in one of the unusable shapes. The set is published with SOL held at the
 * policy cap, and a sweep on that set values the BTC account and reports the SOL one when SOL has no price.
 */
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { createRecalibrateHandler } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../lib/adapters/dynamodb/run-ledger.ts';
import { TABLES, tableNames, toCreateTableInput } from '../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { DynamoDbIdempotencyStore } from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';
import { FixedClock, PreparedMarket, RecordingOps } from '../app/in-memory-ports.ts';
import { UNUSABLE_SHAPES } from '../domain/threshold/unusable-shapes.ts';
import { lambdaContext, lambdaEnv, recordedObservability } from '../lambdas/support.ts';
import { RecordingAlertPublisher } from './faults/support.ts';
import { uniqueId, useDynamoDbLocal } from './support/dynamodb.ts';

const db = useDynamoDbLocal();

const SCHEDULED_TIME = '2026-11-24T00:05:00Z';
const TODAY = Date.UTC(2026, 10, 24);

function perpetual(accountId: string, instrument: string, price: number): Account {
  return {
    accountId,
    collateral: [{ asset: 'USD', amount: '100000.00' }],
    positions: [
      { kind: 'perpetual', instrument, quantity: '1', entryPrice: price.toFixed(2), settlement: 'linear' },
    ],
  };
}

/** Every number anywhere in `value` that is not finite, with its path. */
function nonFinite(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path} = ${value}`];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => nonFinite(inner, `${path}.${key}`));
}

describe('a new instrument with unusable data, on DynamoDB Local', () => {
  it.each(UNUSABLE_SHAPES)(
    '$name: SOL is published held at the policy cap, BTC and ETH are computed, the sweep goes on',
    async ({ series }) => {
      // Prepare: fresh tables under their own prefix, as the handler's configuration names them.
      const prefix = uniqueId('held');
      const names = tableNames(prefix);
      for (const table of TABLES) {
        await db.local.client.send(new CreateTableCommand(toCreateTableInput(table, names[table.id])));
      }
      const market = new PreparedMarket({
        BTC: generateCandles({ instrument: 'BTC', days: 800, endTime: TODAY, startPrice: 30_000, seed: 1 }),
        ETH: generateCandles({ instrument: 'ETH', days: 800, endTime: TODAY, startPrice: 2_000, seed: 2 }),
        SOL: series,
      });
      const client = db.local.client;
      const thresholds = new DynamoDbThresholdStore(client, names.thresholds);
      const ops = new RecordingOps();
      const clock = new FixedClock(TODAY + 5 * 60_000);
      const handler = createRecalibrateHandler({
        env: lambdaEnv({
          QMT_TABLE_PREFIX: prefix,
          QMT_SWEEP_QUEUE_URL: undefined,
          QMT_CONFIG: JSON.stringify({ instruments: { BTC: {}, ETH: {}, SOL: {} } }),
        }),
        observability: recordedObservability(),
        adapters: { market, clock, thresholds, ledger: new DynamoDbRunLedger(client, names.runs), ops },
        idempotencyStore: new DynamoDbIdempotencyStore({ client, tableName: names.runs }),
      });

      // Act
      const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());

      // Assess: published, SOL the only hold.
      expect(summary).toMatchObject({ outcome: 'published', setId: SCHEDULED_TIME, instruments: 3 });
      if (summary.outcome !== 'published') throw new Error('expected a published set');
      expect(summary.held.map((h) => h.instrument)).toEqual(['SOL']);
      const set = await thresholds.currentSet();
      expect(set?.setId).toBe(SCHEDULED_TIME);
      const byInstrument = new Map(set?.thresholds.map((t) => [t.instrument, t]));
      expect(byInstrument.get('BTC')?.status).toBe('computed');
      expect(byInstrument.get('ETH')?.status).toBe('computed');
      const sol = byInstrument.get('SOL') as Threshold;
      const cap = DEFAULT_THRESHOLD_POLICY.bounds.maxInitialMarginRate;
      expect(sol).toMatchObject({
        status: 'held',
        initialMarginRate: cap,
        maintenanceMarginRate: cap * DEFAULT_THRESHOLD_POLICY.maintenanceFraction,
      });
      expect(nonFinite(sol)).toEqual([]);
      const lastClose = series.candles.at(-1)?.close;
      expect(sol.referencePrice).toBe(lastClose);

      // A sweep on the published set: the BTC account is valued; the SOL one only if SOL has a price.
      await writeAccounts(client, names.accounts, [
        perpetual('holds-btc', 'BTC', byInstrument.get('BTC')?.referencePrice as number),
        perpetual('holds-sol', 'SOL', lastClose ?? 20),
      ]);
      const swept = await sweepSegment(
        {
          accounts: new DynamoDbAccountSource(client, names.accounts),
          thresholds,
          statuses: new DynamoDbMarginStatusStore(client, names.marginStatus),
          alerts: new RecordingAlertPublisher(),
          ops: new RecordingOps(),
          clock,
        },
        { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } },
      );
      if (lastClose === undefined) {
        // No price: never valued at a made-up mark, reported by key and reason instead.
        expect(swept.counts.accounts).toBe(1);
        expect(swept.rejected).toEqual([
          { accountKey: 'holds-sol', reason: expect.stringMatching(/no market data for instrument SOL$/) },
        ]);
      } else {
        expect(swept.counts.accounts).toBe(2);
        expect(swept.rejected).toEqual([]);
      }
    },
    60_000,
  );
});
