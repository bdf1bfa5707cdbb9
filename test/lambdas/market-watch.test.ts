// The market watch handler over in-memory ports: live marks from fake venues, held instruments to metrics
// and ops, a targeted sweep of the crossed bands, a failed look counted and rethrown for Scheduler's retry.
import { describe, expect, it } from 'vitest';
import { createMarketWatchHandler } from '../../lambdas/market-watch/watch-handler.ts';
import { adapters } from '../../lambdas/shared/adapters.ts';
import { InvalidEventError } from '../../lambdas/shared/events.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { LiveMarkSource } from '../../lib/app/live-marks.ts';
import { ReferenceCloseMarkSource } from '../../lib/app/reference-close-marks.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import { MarketSourceError } from '../../lib/domain/errors.ts';
import { DEFAULT_MARK_CONSENSUS_POLICY } from '../../lib/domain/market/mark-consensus.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';
import type { VenueMarkSource } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { account, btc, PRICE } from '../app/sweep-fixtures.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import { lambdaContext, lambdaEnv, recordedObservability } from './support.ts';

const NOW = Date.UTC(2026, 11, 3, 14, 0);
const SCHEDULED = '2026-12-03T14:00:00Z';
const eth: Threshold = { ...btc, instrument: 'ETH', referencePrice: 2_000 };

/** A venue quoting fixed prices; an instrument it has no price for fails like a venue that is down. */
const venue = (name: string, prices: Record<string, number>): VenueMarkSource => ({
  venue: name,
  async mark(instrument) {
    const price = prices[instrument];
    if (price === undefined)
      throw new MarketSourceError(`${name}: ${instrument} unavailable`, name, instrument);
    return { venue: name, instrument, price, at: NOW - 1_000 };
  },
});

async function setup() {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-12-03T00:00:00Z', thresholds: [btc, eth] },
    undefined,
  );
  const accounts = new InMemoryAccounts([account('near', 2_300), account('far', 20_000)]);
  const ports = {
    accounts,
    accountReader: accounts,
    breachIndex: new InMemoryBreachIndex(),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(NOW),
  };
  await sweepSegment(ports, { runId: 'full-1', segment: { segment: 0, totalSegments: 1 } });
  // BTC down 1% on all three venues; ETH quoted by one venue only: no quorum.
  const marks = new LiveMarkSource({
    venues: [
      venue('deribit', { BTC: PRICE * 0.99, ETH: 1_000 }),
      venue('binance', { BTC: PRICE * 0.99 }),
      venue('coinbase', { BTC: PRICE * 0.99 }),
    ],
    policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
    clock: ports.clock,
  });
  const observability = recordedObservability();
  const handler = createMarketWatchHandler({
    env: lambdaEnv(),
    observability,
    adapters: { ...ports, marks },
  });
  return { handler, observability, ports };
}

describe('market watch handler', () => {
  it('sweeps the crossed band at live marks, holds the instrument without quorum, and counts both', async () => {
    const { handler, observability, ports } = await setup();

    const result = await handler({ scheduledTime: SCHEDULED }, lambdaContext());

    expect(result.runId).toBe(`watch-${SCHEDULED}`);
    expect(result.held).toEqual([expect.objectContaining({ instrument: 'ETH', cause: 'no-quorum' })]);
    expect(result.sweep?.revisited).toEqual(['near']);
    expect(ports.alerts.published.map((a) => [a.accountId, a.newState])).toEqual([['near', 'WARNING']]);
    expect(observability.metric('MarksHeld')).toBe(1);
    expect(observability.metric('MarksNoQuorum')).toBe(1);
    expect(observability.metric('InstrumentsMarked')).toBe(1);
    expect(observability.metric('AccountsRevisited')).toBe(1);
    expect(observability.metric('Transitions')).toBe(1);
    expect(observability.metric('TargetedSweepsFailed')).toBe(0);
    expect(ports.ops.events).toContainEqual(
      expect.objectContaining({ type: 'marks.held', runId: result.runId }),
    );

    // Scheduler delivers the same minute again: nothing new is announced.
    const again = await handler({ scheduledTime: SCHEDULED }, lambdaContext());
    expect(again.sweep?.alerts).toEqual([]);
    expect(ports.alerts.published).toHaveLength(1);
  });

  it('refuses a malformed event, naming the field, and takes no marks', async () => {
    const { handler, ports } = await setup();
    await expect(handler({ scheduledTime: 'yesterday' }, lambdaContext())).rejects.toThrow(InvalidEventError);
    expect(ports.alerts.published).toEqual([]);
  });

  it('counts a failed look and rethrows it for Scheduler to retry', async () => {
    const { handler, observability, ports } = await setup();
    ports.breachIndex.crossed = async () => {
      throw new Error('index unavailable');
    };
    await expect(handler({ scheduledTime: SCHEDULED }, lambdaContext())).rejects.toThrow(/index unavailable/);
    expect(observability.metric('TargetedSweepsFailed')).toBe(1);
  });
});

describe('marks adapter', () => {
  it('is live over the configured venues when marks.live is on, reference closes otherwise', () => {
    const live = loadRuntimeConfig(
      lambdaEnv({
        QMT_CONFIG: JSON.stringify({
          instruments: { BTC: {} },
          marks: { live: true, venues: ['kraken', 'deribit'] },
        }),
      }),
    );
    const source = adapters(live).marks;
    expect(source).toBeInstanceOf(LiveMarkSource);
    expect(source.name).toBe('live(kraken,deribit)');
    expect(adapters(loadRuntimeConfig(lambdaEnv())).marks).toBeInstanceOf(ReferenceCloseMarkSource);
  });
});

describe('sweep worker and the breach index', () => {
  it('indexes every account it sweeps, so the watch can find it', async () => {
    const { createSweepWorkerHandler } = await import('../../lambdas/sweep-worker/worker-handler.ts');
    const { sqsRecord } = await import('./support.ts');
    const thresholds = new InMemoryThresholdStore();
    await thresholds.publishSet(
      { setId: 'set-1', runId: 'run-1', createdAt: '2026-12-03T00:00:00Z', thresholds: [btc] },
      undefined,
    );
    const breachIndex = new InMemoryBreachIndex();
    const handler = createSweepWorkerHandler({
      env: lambdaEnv(),
      observability: recordedObservability(),
      adapters: {
        accounts: new InMemoryAccounts([account('near', 2_300)]),
        breachIndex,
        thresholds,
        statuses: new InMemoryMarginStatusStore(),
        alerts: new RecordingAlerts(),
        ops: new RecordingOps(),
        clock: new FixedClock(NOW),
      },
    });
    await handler(
      { Records: [sqsRecord('m1', { runId: 'sweep-1', segment: 0, totalSegments: 1 })] },
      lambdaContext(),
    );
    expect(breachIndex.band('set-1', 'BTC', 'near')).toBeDefined();
  });
});
