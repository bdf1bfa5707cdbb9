// One mark snapshot per sweep: the coordinator takes it, every segment message (and continuation) carries it
// through SQS, and every worker values at it — never at marks its own source would give later.
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSweepCoordinatorHandler } from '../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { createSweepWorkerHandler } from '../../lambdas/sweep-worker/worker-handler.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { createMarkSnapshot, type MarkSnapshot } from '../../lib/domain/market/mark.ts';
import type { MarkSource } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { account, btc, PRICE } from '../app/sweep-fixtures.ts';
import {
  acceptAllMessages,
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  sentBodies,
  sqsRecord,
} from './support.ts';

const sqs = mockClient(SQSClient);
const TAKEN_AT = Date.UTC(2026, 11, 3, 14, 0);
const MARKED_AT = TAKEN_AT - 2_000;

/** A live source whose price the test moves: what a worker would see if it took its own marks. */
class MovingMarks implements MarkSource {
  readonly name = 'moving';
  calls = 0;
  constructor(
    public price: number,
    private readonly clock: FixedClock,
  ) {}
  async snapshot(instruments: readonly string[]): Promise<MarkSnapshot> {
    this.calls++;
    const at = this.clock.now() - 2_000;
    return createMarkSnapshot({
      takenAt: this.clock.now(),
      marks: instruments.map((instrument) => ({
        instrument,
        price: this.price,
        at,
        source: 'live' as const,
        venues: ['deribit', 'binance', 'kraken'],
      })),
    });
  }
}

async function world(accountCount: number, sweep: object) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const clock = new FixedClock(TAKEN_AT);
  const marks = new MovingMarks(PRICE, clock);
  // 2,000 USD against one BTC: 2,000 / 1,800 = 1.11 (WARNING) at 30,000; nothing left (LIQUIDATION) at 28,000.
  const accounts = new InMemoryAccountSource(
    Array.from({ length: accountCount }, (_, i) => account(`acc-${i}`, 2_000)),
  );
  const statuses = new InMemoryMarginStatusStore();
  const alerts = new RecordingAlerts();
  const adapters = {
    accounts,
    thresholds,
    statuses,
    alerts,
    ops: new RecordingOps(),
    clock,
    marks,
    // The worker keeps the breach index on every full sweep.
    breachIndex: new InMemoryBreachIndex(),
  };
  const env = lambdaEnv({ QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} }, sweep }) });
  const observability = recordedObservability();
  const coordinator = createSweepCoordinatorHandler({ env, adapters, observability });
  const worker = createSweepWorkerHandler({ env, adapters, observability });
  return { coordinator, worker, marks, clock, alerts, statuses, observability };
}

describe('one mark snapshot per sweep', () => {
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => sqs.reset());

  it('two workers value at the snapshot the coordinator took, not at marks taken when they start', async () => {
    // Prepare: 4 accounts, 2 a segment → 2 segment messages, each carrying the coordinator's snapshot.
    const { coordinator, worker, marks, clock, alerts, statuses } = await world(4, {
      accountsPerSegment: 2,
    });
    await coordinator({}, lambdaContext());
    const bodies = sentBodies(sqs.commandCalls(SendMessageBatchCommand)) as Record<string, unknown>[];
    expect(bodies).toHaveLength(2);
    expect(marks.calls).toBe(1);
    for (const body of bodies) {
      expect(body.marks).toEqual({
        takenAt: new Date(TAKEN_AT).toISOString(),
        marks: {
          BTC: {
            price: '30000',
            at: new Date(MARKED_AT).toISOString(),
            source: 'live',
            venues: ['deribit', 'binance', 'kraken'],
          },
        },
        held: {},
      });
    }
    // Act: the market moves before each worker starts; a worker taking its own marks would liquidate.
    marks.price = 28_000;
    clock.time += 60_000;
    const first = await worker({ Records: [sqsRecord('m0', bodies[0])] }, lambdaContext());
    marks.price = 26_000;
    clock.time += 60_000;
    const second = await worker({ Records: [sqsRecord('m1', bodies[1])] }, lambdaContext());
    // Assess: every account valued at 30,000 as marked at MARKED_AT; the moving source was never asked again.
    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect(marks.calls).toBe(1);
    expect(alerts.published.map((a) => [a.accountId, a.newState]).sort()).toEqual([
      ['acc-0', 'WARNING'],
      ['acc-1', 'WARNING'],
      ['acc-2', 'WARNING'],
      ['acc-3', 'WARNING'],
    ]);
    for (const alert of alerts.published) {
      expect(alert.schemaVersion).toBe('1.1');
      expect(alert.marks).toEqual({ BTC: { price: '30000', at: new Date(MARKED_AT).toISOString() } });
    }
    expect([...statuses.items.values()].map((s) => s.state)).toEqual(Array(4).fill('WARNING'));
  });

  it('a continuation carries the same snapshot, and the next worker values at it', async () => {
    // Prepare: one segment of 3 accounts, a page of 1, and a worker near its time limit after each page.
    const { coordinator, worker, marks, alerts } = await world(3, { pageSize: 1 });
    await coordinator({}, lambdaContext());
    const [segment] = sentBodies(sqs.commandCalls(SendMessageBatchCommand)) as Record<string, unknown>[];
    sqs.resetHistory();
    marks.price = 28_000;
    // Act: the first worker sweeps one page and hands over.
    await worker({ Records: [sqsRecord('m0', segment)] }, lambdaContext(10_000));
    const [continuation] = sentBodies(sqs.commandCalls(SendMessageBatchCommand)) as Record<string, unknown>[];
    sqs.resetHistory();
    await worker({ Records: [sqsRecord('m1', continuation)] }, lambdaContext(10_000));
    const [last] = sentBodies(sqs.commandCalls(SendMessageBatchCommand)) as Record<string, unknown>[];
    await worker({ Records: [sqsRecord('m2', last)] }, lambdaContext());
    // Assess
    expect(continuation).toMatchObject({ cursor: '1', marks: segment?.marks });
    expect(last).toMatchObject({ cursor: '2', marks: segment?.marks });
    expect(marks.calls).toBe(1);
    expect(alerts.published).toHaveLength(3);
    for (const alert of alerts.published) {
      expect(alert).toMatchObject({ newState: 'WARNING', marks: { BTC: { price: '30000' } } });
    }
  });

  it.each([
    ['a negative price', { price: '-30000' }, 'marks.marks.BTC.price'],
    ['a price in exponent form', { price: '3e4' }, 'marks.marks.BTC.price'],
    ['a time that is not one', { at: 'yesterday' }, 'marks.marks.BTC.at'],
    ['an unknown source', { source: 'guess' }, 'marks.marks.BTC.source'],
  ])(
    'refuses a segment message whose snapshot has %s, naming the field; nothing is valued',
    async (_, change, field) => {
      const { coordinator, worker, marks, alerts, statuses, observability } = await world(2, {});
      await coordinator({}, lambdaContext());
      const [body] = sentBodies(sqs.commandCalls(SendMessageBatchCommand)) as {
        marks: { marks: { BTC: object } };
      }[];
      const bad = structuredClone(body);
      if (bad === undefined) throw new Error('no segment message');
      bad.marks.marks.BTC = { ...bad.marks.marks.BTC, ...change };
      // Act
      const response = await worker({ Records: [sqsRecord('m0', bad)] }, lambdaContext());
      // Assess: the record fails (SQS redelivers, then dead-letters it); no account valued at any price.
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
      const failure = observability
        .logged('error')
        .find((e) => e.message.startsWith('segment message failed'));
      expect(JSON.stringify(failure?.attributes)).toContain(`${field}:`);
      expect(marks.calls).toBe(1);
      expect(alerts.published).toEqual([]);
      expect(statuses.items.size).toBe(0);
    },
  );

  it('refuses a snapshot that both marks and holds an instrument', async () => {
    const { coordinator, worker, alerts, observability } = await world(1, {});
    await coordinator({}, lambdaContext());
    const [body] = sentBodies(sqs.commandCalls(SendMessageBatchCommand)) as {
      marks: { held: object };
    }[];
    const bad = { ...body, marks: { ...body?.marks, held: { BTC: { reason: 'stale', cause: 'stale' } } } };
    const response = await worker({ Records: [sqsRecord('m0', bad)] }, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm0' }] });
    const failure = observability.logged('error').find((e) => e.message.startsWith('segment message failed'));
    expect(JSON.stringify(failure?.attributes)).toContain('marks.held.BTC: is also marked');
    expect(alerts.published).toEqual([]);
  });
});
