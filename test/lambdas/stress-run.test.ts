import { describe, expect, it } from 'vitest';
import { createStressHandler } from '../../lambdas/stress-run/stress-handler.ts';
import { stressMarketFromSet } from '../../lib/app/stress-run.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import { runCascade } from '../../lib/domain/stress/cascade.ts';
import { formatUnits } from '../../lib/domain/valuation/money.ts';
import type { AccountPage, ScanSegment } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryThresholdStore,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import {
  book,
  InMemoryStressReports,
  InMemoryStressRuns,
  RecordingStressQueue,
} from '../app/stress-ports.ts';
import { AS_OF, thresholdFor } from '../domain/valuation/fixtures.ts';
import { lambdaContext, lambdaEnv, recordedObservability, sqsRecord } from './support.ts';

const SET = {
  setId: 'set-1',
  runId: 'run-1',
  createdAt: '2026-11-24T00:00:00.000Z',
  thresholds: [
    thresholdFor('BTC', {
      maintenanceMarginRate: 0.05,
      effectiveVolatility: 0.03,
      liquidity: { averageDailyVolume: 20_000, participationRate: 0.1 },
    }),
    thresholdFor('ETH', {
      referencePrice: 10,
      maintenanceMarginRate: 0.08,
      effectiveVolatility: 0.05,
      liquidity: { averageDailyVolume: 20_000, participationRate: 0.1 },
    }),
  ],
};

const DOCUMENT = {
  instruments: { BTC: {}, ETH: {} },
  levels: { warning: 1.2, marginCall: 1, liquidation: 0.8 },
  stress: {
    shocks: { BTC: -0.1 },
    insuranceFund: 50,
    segments: 3,
    cascade: { correlations: [{ a: 'BTC', b: 'ETH', rho: 0.6 }] },
  },
};

function setup(accounts: InMemoryAccountSource = new InMemoryAccountSource(book(), 1)) {
  const thresholds = new InMemoryThresholdStore();
  thresholds.sets.set(SET.setId, SET);
  thresholds.current = SET.setId;
  const stores = {
    runs: new InMemoryStressRuns(),
    queue: new RecordingStressQueue(),
    reports: new InMemoryStressReports(),
  };
  const ops = new RecordingOps();
  const observability = recordedObservability();
  const handler = createStressHandler({
    env: lambdaEnv({ QMT_CONFIG: JSON.stringify(DOCUMENT) }),
    adapters: { accounts, thresholds, ops, clock: new FixedClock(AS_OF) },
    stores,
    observability,
  });
  /** Deliver what the queue holds, a batch of records at a time, as the SQS event source would. */
  const deliver = async () => {
    const failed: string[] = [];
    for (let round = 0; stores.queue.pending.length > 0 && round < 50; round += 1) {
      const batch = stores.queue.pending.splice(0);
      const response = (await handler(
        { Records: batch.map((m, i) => sqsRecord(`m${round}-${i}`, m)) },
        lambdaContext(),
      )) as { batchItemFailures: { itemIdentifier: string }[] };
      for (const f of response.batchItemFailures) {
        failed.push(f.itemIdentifier);
        const index = Number(f.itemIdentifier.split('-')[1]);
        stores.queue.pending.push(batch[index] as (typeof batch)[number]); // redelivered
      }
    }
    return failed;
  };
  return { handler, stores, ops, observability, deliver };
}

function expected() {
  const config = loadRuntimeConfig(lambdaEnv({ QMT_CONFIG: JSON.stringify(DOCUMENT) }));
  const stress = config.stress as NonNullable<typeof config.stress>;
  const { market } = stressMarketFromSet(SET, stress, DOCUMENT.levels, AS_OF);
  return runCascade({ ...market, accounts: book() });
}

describe('the stress run handler', () => {
  it('starts on its schedule, runs the segments off its queue and stores, publishes and measures the report', async () => {
    const { handler, stores, ops, observability, deliver } = setup();
    const started = await handler({ scheduledTime: '2026-11-24T01:00:00Z' }, lambdaContext());
    expect(started).toEqual({ runId: 'stress-2026-11-24T01:00:00Z', setId: 'set-1', started: true });
    expect(stores.queue.pending).toHaveLength(3);
    expect(await deliver()).toEqual([]);
    const alone = expected();
    expect(alone.rounds.length).toBeGreaterThanOrEqual(3);
    const report = stores.reports.saved.get('set-1#stress-2026-11-24T01:00:00Z');
    expect(report?.badDebt).toBe(formatUnits(alone.badDebtUnits));
    expect(report?.rounds.map((r) => r.liquidatedAccounts.length)).toEqual(
      alone.rounds.map((r) => r.liquidatedAccounts.length),
    );
    const exceeds = Number(report?.badDebt) > 50;
    expect(report?.exceedsInsuranceFund).toBe(exceeds);
    expect(ops.events.filter((e) => e.type === 'stress.completed')).toHaveLength(1);
    expect(observability.metric('StressRunsCompleted')).toBe(1);
    expect(observability.metric('StressBadDebt')).toBeCloseTo(Number(report?.badDebt), 6);
    expect(observability.metric('StressInsuranceFundExceeded')).toBe(exceeds ? 1 : 0);
    expect(observability.metric('StressAccountsLiquidated')).toBe(alone.accountsLiquidated);
    // A repeated schedule delivery starts nothing.
    const again = await handler({ scheduledTime: '2026-11-24T01:00:00Z' }, lambdaContext());
    expect(again).toMatchObject({ started: false });
    expect(stores.queue.pending).toEqual([]);
  });

  it('fails a segment record whose read fails, so SQS redelivers it, and completes only when it succeeds', async () => {
    const source = new InMemoryAccountSource(book(), 1);
    let failuresLeft = 1;
    const flaky = {
      approximateCount: () => source.approximateCount(),
      scanPage: async (segment: ScanSegment, cursor?: string, size?: number): Promise<AccountPage> => {
        if (segment.segment === 2 && failuresLeft > 0) {
          failuresLeft -= 1;
          throw new Error('ThrottlingException');
        }
        return source.scanPage(segment, cursor, size);
      },
    };
    const { handler, stores, observability, deliver } = setup(flaky as InMemoryAccountSource);
    await handler({ scheduledTime: '2026-11-24T01:00:00Z' }, lambdaContext());
    const failed = await deliver();
    expect(failed).toEqual(['m0-2']);
    expect(observability.metric('StressSegmentsFailed')).toBe(1);
    expect(stores.reports.saved.get('set-1#stress-2026-11-24T01:00:00Z')?.badDebt).toBe(
      formatUnits(expected().badDebtUnits),
    );
  });

  it('refuses to start without the stress settings, naming them', () => {
    expect(() =>
      createStressHandler({
        env: lambdaEnv(),
        stores: {
          runs: new InMemoryStressRuns(),
          queue: new RecordingStressQueue(),
          reports: new InMemoryStressReports(),
        },
        observability: recordedObservability(),
      }),
    ).toThrow(ConfigError);
  });

  it('without stores given, needs its queue URL at start, naming the variable', () => {
    const env = lambdaEnv({ QMT_CONFIG: JSON.stringify(DOCUMENT) });
    let error: unknown;
    try {
      createStressHandler({ env, observability: recordedObservability() });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('QMT_STRESS_QUEUE_URL');
    expect(() =>
      createStressHandler({
        env: {
          ...env,
          QMT_STRESS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/qmt-test-stress',
        },
        observability: recordedObservability(),
      }),
    ).not.toThrow();
  });
});
