import { describe, expect, it } from 'vitest';
import { NoThresholdSetError, type SweepPorts, sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { notionalBrackets } from '../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';

const PRICE = 30_000;
const IM = 0.1;
const MM = 0.06;

/** A BTC threshold at fixed rates, with volume so large that no liquidity add-on applies. */
const btc: Threshold = {
  instrument: 'BTC',
  asOf: '2026-11-23',
  referencePrice: PRICE,
  initialMarginRate: IM,
  maintenanceMarginRate: MM,
  warningMarginRate: MM * 1.2,
  liquidationMarginRate: MM * 0.8,
  status: 'computed',
  activeBound: 'model',
  components: {
    volatility: { ewma: 0.03 },
    effectiveVolatility: 0.03,
    riskMultiplier: 2.6,
    modelRate: IM,
    unboundedRate: IM,
  },
  brackets: notionalBrackets(DEFAULT_THRESHOLD_POLICY, IM, MM),
  liquidity: { averageDailyVolume: 1e13, participationRate: 0.1 },
  inputs: {
    policyVersion: 'test',
    policyHash: 'h',
    pricesHash: 'p',
    source: 'test',
    firstCandle: '2020-01-01',
    lastCandle: '2026-11-23',
    candleCount: 2000,
  },
};

/** One BTC perpetual at the mark (no P&L): margin ratio = collateral / (notional × MM). */
const account = (accountId: string, collateral: number, quantity = 1): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
  positions: [
    {
      kind: 'perpetual',
      instrument: 'BTC',
      quantity: String(quantity),
      entryPrice: String(PRICE),
      settlement: 'linear',
    },
  ],
});

async function setup(records: ConstructorParameters<typeof InMemoryAccountSource>[0]) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const ports = {
    accounts: new InMemoryAccountSource(records),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
  } satisfies SweepPorts;
  return ports;
}

describe('sweepSegment', () => {
  const segment = { segment: 0, totalSegments: 1 };

  it('announces one alert per state change, with the ratio computed independently', async () => {
    // Prepare: maintenance requirement is 30,000 × 0.06 = 1,800 for one BTC.
    const ports = await setup([
      account('healthy', 10_000), // 5.56 → OK
      account('warning', 2_000), // 1.111 → WARNING
      account('call', 1_700), // 0.944 → MARGIN_CALL
      account('liquidate', 1_000), // 0.556 → LIQUIDATION
    ]);
    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment });
    // Assess
    expect(result.done).toBe(true);
    expect(result.counts).toMatchObject({ accounts: 4, transitions: 3, alertsPublished: 3, rejected: 0 });
    const byAccount = new Map(ports.alerts.published.map((a) => [a.accountId, a]));
    expect(byAccount.has('healthy')).toBe(false);
    expect(byAccount.get('warning')).toMatchObject({
      previousState: 'OK',
      newState: 'WARNING',
      severity: 'warning',
      sequence: 1,
    });
    expect(byAccount.get('call')).toMatchObject({ newState: 'MARGIN_CALL', severity: 'critical' });
    expect(byAccount.get('liquidate')).toMatchObject({
      newState: 'LIQUIDATION',
      thresholdSetId: 'set-1',
      runId: 'sweep-1',
    });
    expect(Number(byAccount.get('warning')?.marginRatio)).toBeCloseTo(2_000 / 1_800, 6);
    expect(Number(byAccount.get('warning')?.maintenanceRequirement)).toBeCloseTo(1_800, 6);
    // Shortfall to initial margin: 3,000 − 2,000.
    expect(Number(byAccount.get('warning')?.shortfallToInitial)).toBeCloseTo(1_000, 6);
    expect(ports.ops.events.at(-1)).toMatchObject({ type: 'sweep.completed', counts: { transitions: 3 } });
  });

  it('publishes nothing the second time over unchanged accounts', async () => {
    const ports = await setup([account('warning', 2_000), account('healthy', 10_000)]);
    await sweepSegment(ports, { runId: 'sweep-1', segment });
    const again = await sweepSegment(ports, { runId: 'sweep-2', segment });
    expect(again.counts.transitions).toBe(0);
    expect(ports.alerts.published).toHaveLength(1);
  });

  it('reports a bad record and an unvaluable account by key and reason, and sweeps the rest', async () => {
    const unknown: Account = {
      accountId: 'doge-holder',
      collateral: [{ asset: 'USD', amount: '100.00' }],
      positions: [
        { kind: 'perpetual', instrument: 'DOGE', quantity: '10', entryPrice: '0.1', settlement: 'linear' },
      ],
    };
    const ports = await setup([
      { accountKey: 'broken', reason: 'collateral[0].amount: must be a decimal string' },
      unknown,
      account('warning', 2_000),
    ]);
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment });
    expect(result.rejected.map((r) => r.accountKey)).toEqual(['broken', 'doge-holder']);
    expect(result.rejected[1]?.reason).toContain('DOGE');
    expect(result.counts).toMatchObject({ accounts: 1, rejected: 2, transitions: 1 });
    expect(ports.ops.events.find((e) => e.type === 'accounts.rejected')).toBeDefined();
  });

  it('stops when asked and resumes from its cursor, valuing every account exactly once', async () => {
    const records = Array.from({ length: 25 }, (_, i) => account(`a${i}`, 2_000));
    const ports = await setup(records);
    let pages = 0;
    const first = await sweepSegment(ports, {
      runId: 's',
      segment,
      pageSize: 10,
      shouldStop: () => ++pages >= 1,
    });
    expect(first).toMatchObject({ done: false, cursor: '10' });
    const second = await sweepSegment(ports, {
      runId: 's',
      segment,
      pageSize: 10,
      ...(first.cursor ? { cursor: first.cursor } : {}),
    });
    expect(second.done).toBe(true);
    expect(first.counts.accounts + second.counts.accounts).toBe(25);
    expect(new Set(ports.alerts.published.map((a) => a.accountId)).size).toBe(25);
    expect(ports.alerts.published).toHaveLength(25);
  });

  it('does not announce a transition another worker already applied', async () => {
    const ports = await setup([account('warning', 2_000)]);
    // Prepare: a concurrent worker moved the account first.
    await sweepSegment(ports, { runId: 'other', segment });
    ports.alerts.published.length = 0;
    ports.statuses.get = async () => new Map(); // this worker read before the other wrote
    const result = await sweepSegment(ports, { runId: 'late', segment });
    expect(result.counts).toMatchObject({ transitions: 0, stale: 1, alertsPublished: 0 });
    expect(ports.alerts.published).toHaveLength(0);
  });

  it('refuses to sweep without a CURRENT threshold set', async () => {
    const ports = await setup([]);
    ports.thresholds.current = undefined;
    await expect(sweepSegment(ports, { runId: 'x', segment })).rejects.toBeInstanceOf(NoThresholdSetError);
  });
});
