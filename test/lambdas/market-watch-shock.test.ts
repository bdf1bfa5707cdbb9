// Shock recalibration in the deployed market watch: the handler over in-memory stores and a mocked SQS
// client. A crash beyond the trigger is recalibrated before any account is valued, announced once, and swept
// in full at the same marks by the workers; a daily run holding the lease defers it; a repeated minute
// recalibrates once.
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMarketWatchHandler } from '../../lambdas/market-watch/watch-handler.ts';
import { createSweepWorkerHandler } from '../../lambdas/sweep-worker/worker-handler.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { LiveMarkSource } from '../../lib/app/live-marks.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_MARK_CONSENSUS_POLICY } from '../../lib/domain/market/mark-consensus.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type { VenueMarkSource } from '../../lib/ports.ts';
import { opsEventSchema } from '../../lib/schemas/ops-message.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import {
  acceptAllMessages,
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  sentBodies,
  sqsRecord,
} from './support.ts';

const sqs = mockClient(SQSClient);
const TODAY = Date.UTC(2026, 11, 3);
const NOW = TODAY + 14 * 3_600_000;
const SCHEDULED = '2026-12-03T14:00:00Z';
const env = lambdaEnv({ QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} } }) });

/** Three venues quoting BTC at `price()` a second ago. */
const venues = (price: () => number, clock: FixedClock): VenueMarkSource[] =>
  ['deribit', 'binance', 'coinbase'].map((venue) => ({
    venue,
    async mark(instrument) {
      return { venue, instrument, price: price(), at: clock.now() - 1_000 };
    },
  }));

/** A BTC perpetual opened at `entry`: longs and shorts with collateral spread across every level. */
function book(entry: number): Account[] {
  const perpetual = (accountId: string, collateral: number, quantity: number): Account => ({
    accountId,
    collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
    positions: [
      {
        kind: 'perpetual',
        instrument: 'BTC',
        quantity: String(quantity),
        entryPrice: entry.toFixed(2),
        settlement: 'linear',
      },
    ],
  });
  return [
    ...Array.from({ length: 40 }, (_, i) => perpetual(`long-${i}`, entry * (0.05 + i * 0.01), 1)),
    ...Array.from({ length: 40 }, (_, i) => perpetual(`short-${i}`, entry * (0.05 + i * 0.01), -1)),
  ];
}

/** The daily run has published CURRENT this morning; a full sweep at its reference close built the index. */
async function world() {
  const clock = new FixedClock(TODAY + 5 * 60_000);
  const thresholds = new InMemoryThresholdStore();
  const ledger = new InMemoryRunLedger(clock);
  const market = new PreparedMarket({
    BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: TODAY, startPrice: 30_000, seed: 1 }),
  });
  const instruments = [{ instrument: 'BTC', policy: DEFAULT_THRESHOLD_POLICY }];
  await recalibrate(
    { market, thresholds, ledger, ops: new RecordingOps(), clock },
    { runId: 'daily', holder: 'daily', instruments },
  );
  const daily = (await thresholds.currentSet()) as ThresholdSet;
  const reference = daily.thresholds[0]?.referencePrice as number;
  const accounts = new InMemoryAccounts(book(reference));
  const ports = {
    market,
    thresholds,
    ledger,
    clock,
    accounts,
    accountReader: accounts,
    breachIndex: new InMemoryBreachIndex(),
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
  };
  await sweepSegment(ports, { runId: 'full-daily', segment: { segment: 0, totalSegments: 1 } });
  ports.alerts.published.length = 0;
  clock.time = NOW;
  let price = reference;
  const marks = new LiveMarkSource({
    venues: venues(() => price, clock),
    policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
    clock,
  });
  const observability = recordedObservability();
  const watch = createMarketWatchHandler({ env, observability, adapters: { ...ports, marks } });
  const worker = createSweepWorkerHandler({ env, observability: recordedObservability(), adapters: ports });
  // The watch's first look accepts the opening marks (the consensus's jump check needs a previous mark).
  await watch({ scheduledTime: '2026-12-03T13:59:00Z' }, lambdaContext());
  return {
    ports,
    daily,
    reference,
    watch,
    worker,
    observability,
    crash: (to: number) => {
      price = to;
    },
  };
}

/** The segment messages queued so far, run through the sweep worker one by one. */
async function drainSweep(worker: ReturnType<typeof createSweepWorkerHandler>) {
  const bodies = sentBodies(sqs.commandCalls(SendMessageBatchCommand) as never);
  for (const [i, body] of bodies.entries()) {
    const response = await worker({ Records: [sqsRecord(`m${i}`, body)] }, lambdaContext());
    expect(response.batchItemFailures).toEqual([]);
  }
  return bodies as { runId: string; marks?: { marks: Record<string, { price: string }> } }[];
}

describe('market watch: shock recalibration', () => {
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => sqs.reset());

  it('recalibrates a 30% crash before valuing anyone, announces it once, and sweeps every account once at the raised set and the same marks', async () => {
    const { ports, daily, reference, watch, worker, observability, crash } = await world();
    const mark = reference * 0.7;
    crash(mark);

    const result = await watch({ scheduledTime: SCHEDULED }, lambdaContext());

    // The set flipped and was announced, before the watch valued anyone at the old set.
    expect(result.recalibrated).toEqual(['BTC']);
    const current = (await ports.thresholds.currentSet()) as ThresholdSet;
    expect(current.setId).not.toBe(daily.setId);
    expect(current.thresholds[0]?.initialMarginRate).toBeGreaterThan(
      daily.thresholds[0]?.initialMarginRate as number,
    );
    expect(ports.ops.events.filter((e) => e.type === 'recalibration.shock')).toEqual([
      expect.objectContaining({ instrument: 'BTC', setId: current.setId }),
    ]);
    expect(result.sweep).toBeUndefined();
    expect(ports.alerts.published).toEqual([]);
    expect(observability.metric('ShockRecalibrations')).toBe(1);

    // The full sweep it queued carries the crash marks; the workers value every account under the new set.
    expect(result.fullSweep).toEqual({
      runId: `sweep-${current.setId}`,
      setId: current.setId,
      totalSegments: 1,
    });
    const bodies = await drainSweep(worker);
    expect(bodies.map((b) => b.runId)).toEqual([`sweep-${current.setId}`]);
    expect(Number(bodies[0]?.marks?.marks.BTC?.price)).toBeCloseTo(mark, 6);
    const alerts = ports.alerts.published;
    expect(alerts.length).toBeGreaterThan(10);
    expect(alerts.every((a) => a.thresholdSetId === current.setId)).toBe(true);
    // One change per account on this minute: no move at the old set and back at the raised one.
    expect(new Set(alerts.map((a) => a.accountId)).size).toBe(alerts.length);
  });

  it('reports a sweep it could not queue after the shock as sweep.not-queued, naming the raised set and instruments', async () => {
    const { ports, reference, watch, observability, crash } = await world();
    // SQS refuses every segment message (sender's fault: not retried).
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => ({
      Successful: [],
      Failed: (input.Entries ?? []).map((e) => ({
        Id: e.Id ?? '',
        Code: 'InvalidMessageContents',
        SenderFault: true,
        Message: 'refused',
      })),
      $metadata: {},
    }));
    crash(reference * 0.7);

    const result = await watch({ scheduledTime: SCHEDULED }, lambdaContext());

    // The raised set stands; ops hears which set and instruments wait for the coordinator's next sweep.
    const current = (await ports.thresholds.currentSet()) as ThresholdSet;
    expect(result.recalibrated).toEqual(['BTC']);
    expect(result.fullSweep).toMatchObject({ runId: `sweep-${current.setId}`, setId: current.setId });
    const notQueued = ports.ops.events.filter((e) => e.type === 'sweep.not-queued');
    expect(notQueued).toEqual([
      {
        type: 'sweep.not-queued',
        runId: `sweep-${current.setId}`,
        setId: current.setId,
        instruments: ['BTC'],
        reason: expect.stringMatching(/IncompleteBatchError/),
      },
    ]);
    expect(opsEventSchema.parse(notQueued[0])).toEqual(notQueued[0]);
    expect(ports.ops.events.some((e) => e.type === 'sweep.failed')).toBe(false);
    expect(observability.metric('SweepStartsFailed')).toBe(1);
  });

  it('leaves a crash seen at midnight to the daily run due at 00:05: no shock set minutes before it, the crossed bands still swept', async () => {
    const { ports, daily, reference, watch, observability, crash } = await world();
    const midnight = TODAY + 24 * 3_600_000;
    ports.clock.time = midnight;
    crash(reference * 0.7);

    const result = await watch({ scheduledTime: '2026-12-04T00:00:00Z' }, lambdaContext());

    // Before: a shock set at 00:00, its full sweep queued, superseded by the daily set five minutes later.
    expect(result.recalibrated).toEqual([]);
    expect(result.shockDeferred).toMatch(/BTC: left to the scheduled run due at 2026-12-04T00:05:00.000Z/);
    expect((await ports.thresholds.currentSet())?.setId).toBe(daily.setId);
    expect(ports.ops.events.filter((e) => e.type.startsWith('recalibration.'))).toEqual([]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(observability.metric('ShockRecalibrationsDeferred')).toBe(1);
    // The set in force until then still watches the book: the crash moves the accounts the index names.
    expect(result.sweep?.setId).toBe(daily.setId);
    expect(result.sweep?.alerts.length).toBeGreaterThan(0);
  });

  it('defers the shock while the daily run holds the lease: nothing published, the watch sweeps at the set in force, the next look recalibrates', async () => {
    const { ports, daily, reference, watch, observability, crash } = await world();
    const lease = await ports.ledger.acquire('daily-2026-12-04', 'daily', 15 * 60_000);
    if (!lease) throw new Error('the daily run should take the lease');
    crash(reference * 0.7);

    const deferred = await watch({ scheduledTime: SCHEDULED }, lambdaContext());

    // One writer: the set in force stays, no announcement, no sweep queued; the deferral is counted.
    expect(deferred.recalibrated).toEqual([]);
    expect(deferred.shockDeferred).toMatch(/BTC: .*holds the recalibration lease/);
    expect((await ports.thresholds.currentSet())?.setId).toBe(daily.setId);
    expect(ports.ops.events.filter((e) => e.type.startsWith('recalibration.'))).toEqual([]);
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(0);
    expect(observability.metric('ShockRecalibrationsDeferred')).toBe(1);
    // Nothing lost: the crash still moves the accounts the index names, at the set in force.
    expect(deferred.sweep?.setId).toBe(daily.setId);
    expect(deferred.sweep?.alerts.length).toBeGreaterThan(0);

    // The daily run finishes; the next minute sees the move still there and recalibrates.
    await ports.ledger.complete(lease, 'succeeded', {});
    ports.clock.time = NOW + 60_000;
    const next = await watch({ scheduledTime: '2026-12-03T14:01:00Z' }, lambdaContext());
    expect(next.recalibrated).toEqual(['BTC']);
    expect(ports.ops.events.filter((e) => e.type === 'recalibration.shock')).toHaveLength(1);
  });

  it('recalibrates once when the same minute runs twice, at once or one after the other', async () => {
    const { ports, daily, reference, watch, crash } = await world();
    crash(reference * 0.7);

    const [a, b] = await Promise.all([
      watch({ scheduledTime: SCHEDULED }, lambdaContext(600_000, 'req-a')),
      watch({ scheduledTime: SCHEDULED }, lambdaContext(600_000, 'req-b')),
    ]);
    const again = await watch({ scheduledTime: SCHEDULED }, lambdaContext(600_000, 'req-c'));

    expect([a, b, again].map((r) => r.recalibrated)).toEqual(expect.arrayContaining([['BTC'], [], []]));
    expect([...a.recalibrated, ...b.recalibrated, ...again.recalibrated]).toEqual(['BTC']);
    expect(ports.ops.events.filter((e) => e.type === 'recalibration.shock')).toHaveLength(1);
    expect((await ports.thresholds.currentSet())?.previousSetId).toBe(daily.setId);
    const runIds = sentBodies(sqs.commandCalls(SendMessageBatchCommand) as never).map(
      (body) => (body as { runId: string }).runId,
    );
    expect(new Set(runIds).size).toBe(1);
  });
});
