/**
 * Shock recalibration on DynamoDB Local, through the real threshold store and runs ledger: a shock run while
 * the daily run holds the lease, and the daily cap counted across "containers" (a fresh client, store and
 * ledger for every call), from what the stored thresholds say.
 */
import { describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../../lib/adapters/dynamodb/client.ts';
import { DynamoDbRunLedger } from '../../../lib/adapters/dynamodb/run-ledger.ts';
import { runsTable, thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../lib/adapters/dynamodb/threshold-store.ts';
import { recalibrate } from '../../../lib/app/recalibrate.ts';
import { recalibrateOnShock, type ShockRecalibrationPorts } from '../../../lib/app/shock-recalibration.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import type { MarkSnapshot } from '../../../lib/domain/market/mark.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../../lib/domain/threshold/threshold.ts';
import { FixedClock, PreparedMarket, RecordingOps } from '../../app/in-memory-ports.ts';
import { uniqueId, useDynamoDbLocal } from '../support/dynamodb.ts';

const db = useDynamoDbLocal();

const today = Date.UTC(2026, 10, 24);
const at = (hours: number) => today + hours * 3_600_000;
const instruments = ['BTC', 'ETH'].map((instrument) => ({ instrument, policy: DEFAULT_THRESHOLD_POLICY }));

function crash(price: number, takenAt: number): MarkSnapshot {
  return {
    takenAt,
    marks: new Map([
      [
        'BTC',
        { instrument: 'BTC', price, at: takenAt, source: 'live', venues: ['deribit', 'binance', 'kraken'] },
      ],
    ]),
    held: new Map(),
  };
}

describe('shock recalibration on DynamoDB Local', () => {
  async function setup() {
    const thresholdsTableName = await db.freshTable(thresholdsTable);
    const runsTableName = await db.freshTable(runsTable);
    const leaseName = uniqueId('lease');
    const market = new PreparedMarket({
      BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 100, seed: 1 }),
      ETH: generateCandles({ instrument: 'ETH', days: 1000, endTime: today, startPrice: 100, seed: 2 }),
    });
    const clock = new FixedClock(today + 60_000);
    const ops = new RecordingOps();
    // Each call is its own Lambda container: its own client, store and ledger.
    const ports = (): ShockRecalibrationPorts => {
      const client = createDynamoDbClient({ endpoint: db.local.endpoint });
      return {
        market,
        thresholds: new DynamoDbThresholdStore(client, thresholdsTableName, { clock }),
        ledger: new DynamoDbRunLedger(client, runsTableName, { clock, leaseName }),
        ops,
        clock,
      };
    };
    await recalibrate(ports(), { runId: 'daily-2026-11-24', holder: 'daily', instruments });
    const btc = (await ports().thresholds.currentSet())?.thresholds.find((t) => t.instrument === 'BTC');
    return { ports, clock, ops, btc: btc as Threshold };
  }

  it('defers while the daily run holds the lease, then publishes the raise once it is free', async () => {
    const { ports, clock, btc } = await setup();
    clock.time = at(14);
    const daily = ports().ledger;
    const lease = await daily.acquire('daily-2026-11-25', 'daily', 15 * 60_000);
    if (!lease) throw new Error('the daily run should hold the lease');
    const before = await ports().thresholds.currentSet();
    // Act: the watch sees a 30% crash while the daily run holds the lease.
    const held = await recalibrateOnShock(ports(), {
      snapshot: crash((btc.referencePrice as number) * 0.7, at(14)),
      instruments,
      holder: 'watch-1',
    });
    // Assess
    expect(held.outcome).toBe('deferred');
    expect((await ports().thresholds.currentSet())?.setId).toBe(before?.setId);
    await daily.complete(lease, 'succeeded', {});
    clock.time = at(14) + 60_000;
    const next = await recalibrateOnShock(ports(), {
      snapshot: crash((btc.referencePrice as number) * 0.7, at(14) + 60_000),
      instruments,
      holder: 'watch-2',
    });
    expect(next.outcome).toBe('published');
    const stored = (await ports().thresholds.currentSet())?.thresholds.find((t) => t.instrument === 'BTC');
    expect(stored?.initialMarginRate).toBeGreaterThan(btc.initialMarginRate);
    expect(stored?.shock).toEqual(
      expect.objectContaining({ trigger: 'shock', runOfDay: 1, day: '2026-11-24' }),
    );
  });

  it('counts the daily cap from the stored thresholds, whatever container runs', async () => {
    const { ports, clock, btc } = await setup();
    let reference = btc.referencePrice as number;
    const outcomes: string[] = [];
    for (const hour of [10, 12, 14, 16]) {
      clock.time = at(hour);
      const result = await recalibrateOnShock(ports(), {
        snapshot: crash(reference * 0.7, at(hour)),
        instruments,
        holder: `watch-${hour}`,
      });
      outcomes.push(result.outcome);
      const stored = (await ports().thresholds.currentSet())?.thresholds.find((t) => t.instrument === 'BTC');
      reference = stored?.referencePrice as number;
    }
    expect(outcomes).toEqual(['published', 'published', 'published', 'quiet']);
  });
});
