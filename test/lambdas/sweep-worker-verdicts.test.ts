// The sweep worker end to end over in-memory ports (the real sweep use case, no module mocks): the
// verdicts a liquidation engine acts on, across consecutive sweeps.
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createSweepWorkerHandler } from '../../lambdas/sweep-worker/worker-handler.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { btc, PRICE } from '../app/sweep-fixtures.ts';
import { lambdaContext, lambdaEnv, recordedObservability, sqsRecord } from './support.ts';

const FIRST_SWEEP = Date.parse('2026-11-24T00:05:00Z');
const EXPIRY = '2026-11-24T01:00:00Z';
const SECOND_SWEEP = Date.parse('2026-11-24T01:05:00Z');

/** A short BTC call struck 5,000 under the mark (30,000), expiring between the two sweeps. */
function shortInTheMoneyCall(accountId: string, collateral: string): Account {
  return {
    accountId,
    collateral: [{ asset: 'USD', amount: collateral }],
    positions: [
      {
        kind: 'option',
        instrument: 'BTC',
        optionType: 'call',
        strike: String(PRICE - 5_000),
        expiry: EXPIRY,
        quantity: '-1',
        entryPrice: '100',
      },
    ],
  };
}

function segmentEvent(runId: string): SQSEvent {
  return { Records: [sqsRecord(runId, { runId, segment: 0, totalSegments: 1 })] };
}

describe('sweep worker verdicts across sweeps', () => {
  it('keeps an account LIQUIDATION after its short in-the-money option expires with negative equity', async () => {
    // Prepare: settled at expiry the call costs 5,000. 'underwater' holds 4,000 (equity −1,000 once
    // expired, nothing required); 'covered' holds 6,000 (equity +1,000 once expired: a real recovery).
    const thresholds = new InMemoryThresholdStore();
    await thresholds.publishSet(
      { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
      undefined,
    );
    const statuses = new InMemoryMarginStatusStore();
    const alerts = new RecordingAlerts();
    const clock = new FixedClock(FIRST_SWEEP);
    const observability = recordedObservability();
    const handler = createSweepWorkerHandler({
      env: lambdaEnv({ QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} } }) }),
      observability,
      adapters: {
        accounts: new InMemoryAccountSource([
          shortInTheMoneyCall('underwater', '4000'),
          shortInTheMoneyCall('covered', '6000'),
        ]),
        thresholds,
        breachIndex: new InMemoryBreachIndex(),
        statuses,
        alerts,
        ops: new RecordingOps(),
        clock,
      },
    });

    // Act 1: the option is alive, an hour from expiry; both accounts are far below maintenance.
    const first = await handler(segmentEvent('sweep-1'), lambdaContext());
    // Assess 1
    expect(first).toEqual({ batchItemFailures: [] });
    expect(alerts.published.map((a) => [a.accountId, a.previousState, a.newState])).toEqual([
      ['underwater', 'OK', 'LIQUIDATION'],
      ['covered', 'OK', 'LIQUIDATION'],
    ]);
    expect(alerts.published.every((a) => a.marginRatio !== null && Number(a.marginRatio) < 0.8)).toBe(true);

    // Act 2: the option has expired; nothing is required any more.
    clock.time = SECOND_SWEEP;
    const second = await handler(segmentEvent('sweep-2'), lambdaContext());
    // Assess 2: the insolvent account stays in LIQUIDATION (no alert); the solvent one recovers to OK.
    expect(second).toEqual({ batchItemFailures: [] });
    const afterExpiry = alerts.published.slice(2);
    expect(afterExpiry.filter((a) => a.accountId === 'underwater')).toEqual([]);
    expect(afterExpiry).toHaveLength(1);
    expect(afterExpiry[0]).toMatchObject({
      accountId: 'covered',
      previousState: 'LIQUIDATION',
      newState: 'OK',
      severity: 'info',
      equity: '1000.00000000',
      maintenanceRequirement: '0.00000000',
      marginRatio: null,
    });
    expect(statuses.items.get('underwater')).toMatchObject({ state: 'LIQUIDATION', sequence: 1 });
    expect(statuses.items.get('covered')).toMatchObject({ state: 'OK', sequence: 2 });
    expect(observability.metric('AccountsValued')).toBe(4);
    expect(observability.metric('AccountsRejected')).toBe(0);
  });
});
