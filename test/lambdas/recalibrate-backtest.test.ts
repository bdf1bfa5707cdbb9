/**
 * The daily backtest the recalibrate function runs after publishing a set (EMIR Art. 49): the report stored
 * beside the set, a metric per instrument, the summary on the ops topic, and a failure that never blocks
 * the recalibration.
 */
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
  type PutItemCommandInput,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRecalibrateHandler } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import type { SetBacktestReport } from '../../lib/domain/backtest/daily-report.ts';
import { MarketSourceError } from '../../lib/domain/errors.ts';
import { type CandleSeries, DAY_MS, utcDay } from '../../lib/domain/market/candle.ts';
import type { MarketDataSource, TimeRange } from '../../lib/ports.ts';
import { FixedClock, PreparedMarket } from '../app/in-memory-ports.ts';
import { seriesFromCloses } from '../domain/threshold/fixtures.ts';
import {
  acceptAllMessages,
  fakeIdempotencyRecords,
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  TABLES,
} from './support.ts';

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

const SCHEDULED_TIME = '2026-11-24T00:05:00Z';
const today = Date.UTC(2026, 10, 24);

/**
 * 320 daily closes to yesterday moving ±1% a day, with +7% days (short breaches of a 5% margin) planted in
 * the last 250: under a policy fixed at 5%, the breaches are known in advance.
 */
function planted(instrument: string, shortBreaches: number): CandleSeries {
  const planted = new Set(Array.from({ length: shortBreaches }, (_, k) => 90 + 20 * k));
  const closes = [100];
  for (let i = 1; i < 320; i++) {
    const move = planted.has(i) ? 1.07 : i % 2 === 0 ? 1.01 : 1 / 1.01;
    closes.push((closes[i - 1] as number) * move);
  }
  return seriesFromCloses(closes, utcDay(today - 320 * DAY_MS), instrument);
}

/** BTC with 2 breaches in the window (green), ETH with 10 (red); the margin fixed at 5%. */
const CONFIG = {
  instruments: { BTC: {}, ETH: {} },
  defaultPolicy: { bounds: { minInitialMarginRate: 0.05, maxInitialMarginRate: 0.05 } },
};
const market = () => new PreparedMarket({ BTC: planted('BTC', 2), ETH: planted('ETH', 10) });

function setup(adapters: { market?: MarketDataSource } = {}) {
  const observability = recordedObservability();
  const perInstrument: { instrument: string; name: string; value: number }[] = [];
  // Per-instrument metrics go out through singleMetric (a metric with its own `instrument` dimension).
  vi.spyOn(observability.metrics, 'singleMetric').mockImplementation(() => {
    let instrument = '';
    const single = {
      addDimension: (_: string, value: string) => {
        instrument = value;
        return single;
      },
      addMetric: (name: string, _unit: unknown, value: number) => {
        perInstrument.push({ instrument, name, value });
      },
    };
    return single as never;
  });
  const handler = createRecalibrateHandler({
    env: lambdaEnv({ QMT_CONFIG: JSON.stringify(CONFIG) }),
    adapters: { market: adapters.market ?? market(), clock: new FixedClock(today + 5 * 60_000) },
    observability,
  });
  return { handler, observability, perInstrument };
}

/** The backtest report item written beside the set, parsed. */
function storedReport(): SetBacktestReport | undefined {
  const put = dynamo
    .commandCalls(PutItemCommand)
    .map((call) => call.args[0].input as PutItemCommandInput)
    .find((input) => input.Item?.sk?.S === 'BACKTEST');
  return put ? (JSON.parse(put.Item?.report?.S ?? 'null') as SetBacktestReport) : undefined;
}

function opsEvents(type: string): Record<string, unknown>[] {
  return sns
    .commandCalls(PublishCommand)
    .filter((call) => call.args[0].input.MessageAttributes?.eventType?.StringValue === type)
    .map((call) => JSON.parse(call.args[0].input.Message ?? 'null') as Record<string, unknown>);
}

describe('recalibrate handler: the daily backtest after the set', () => {
  beforeEach(() => {
    dynamo.reset();
    sns.reset();
    sqs.reset();
    dynamo.on(TransactWriteItemsCommand).resolves({});
    dynamo.on(BatchWriteItemCommand).resolves({});
    dynamo.on(DescribeTableCommand).resolves({ Table: { ItemCount: 1_000 } });
    sns.on(PublishCommand).resolves({ MessageId: 'ops-1' });
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => {
    dynamo.reset();
    sns.reset();
    sqs.reset();
  });

  it('stores each instrument’s zone over the last 250 days with the set, meters it and tells the ops topic', async () => {
    // Prepare
    fakeIdempotencyRecords(dynamo);
    const { handler, observability, perInstrument } = setup();
    // Act
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess: the set is published and the sweep started, then the backtest reports
    expect(summary).toMatchObject({
      outcome: 'published',
      sweep: { status: 'started' },
      backtest: {
        status: 'completed',
        zone: 'red',
        instruments: [
          { instrument: 'BTC', zone: 'green', longBreaches: 0, shortBreaches: 2, observations: 250 },
          { instrument: 'ETH', zone: 'red', longBreaches: 0, shortBreaches: 10, observations: 250 },
        ],
        failed: [],
      },
    });
    // Stored beside the set, in the set's partition, with the p-values and the cost
    const report = storedReport();
    expect(report).toMatchObject({
      setId: SCHEDULED_TIME,
      runId: SCHEDULED_TIME,
      scoredDays: 250,
      zone: 'red',
    });
    const eth = report?.instruments.find((i) => i.instrument === 'ETH');
    expect(eth?.short.kupiecP).toBeLessThan(0.05);
    expect(eth?.cost).toBeGreaterThan(0);
    expect(
      dynamo
        .commandCalls(PutItemCommand)
        .some(
          (c) =>
            c.args[0].input.TableName === TABLES.thresholds &&
            c.args[0].input.Item?.pk?.S === `SET#${SCHEDULED_TIME}` &&
            c.args[0].input.Item?.sk?.S === 'BACKTEST',
        ),
    ).toBe(true);
    // One metric per instrument; the count the alarm watches
    expect(perInstrument).toEqual(
      expect.arrayContaining([
        { instrument: 'BTC', name: 'BacktestZone', value: 0 },
        { instrument: 'ETH', name: 'BacktestZone', value: 2 },
        { instrument: 'ETH', name: 'BacktestBreaches', value: 10 },
      ]),
    );
    expect(observability.metric('BacktestsOutOfGreen')).toBe(1);
    expect(observability.metric('BacktestsFailed')).toBe(0);
    // The summary on the ops topic
    const [event] = opsEvents('backtest.completed');
    expect(event).toMatchObject({ setId: SCHEDULED_TIME, zone: 'red', scoredDays: 250 });
    expect(event?.instruments).toHaveLength(2);
  });

  it('backtests the others when one instrument’s data fails, and says which', async () => {
    // Prepare: ETH's feed answers the recalibration, then fails
    fakeIdempotencyRecords(dynamo);
    const inner = market();
    let ethCalls = 0;
    const flaky: MarketDataSource = {
      name: 'flaky',
      candles: (instrument: string, range: TimeRange) => {
        if (instrument === 'ETH' && ++ethCalls > 1) {
          return Promise.reject(new MarketSourceError('venue unreachable', 'flaky', 'ETH'));
        }
        return inner.candles(instrument, range);
      },
    };
    const { handler, observability } = setup({ market: flaky });
    // Act
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess
    expect(summary).toMatchObject({
      outcome: 'published',
      backtest: {
        status: 'completed',
        zone: 'green',
        instruments: [{ instrument: 'BTC', zone: 'green' }],
        failed: [{ instrument: 'ETH', reason: expect.stringContaining('venue unreachable') }],
      },
    });
    expect(observability.metric('BacktestsFailed')).toBe(1);
    expect(opsEvents('backtest.completed')[0]?.failed).toEqual([
      { instrument: 'ETH', reason: expect.stringContaining('venue unreachable') },
    ]);
  });

  it('keeps the set and the sweep when the report cannot be stored, and reports it', async () => {
    // Prepare: the BACKTEST item's write fails
    fakeIdempotencyRecords(dynamo, {
      put: (input) => {
        if (input.Item?.sk?.S === 'BACKTEST') throw new Error('ProvisionedThroughputExceeded');
        return {};
      },
    });
    const { handler, observability } = setup();
    // Act
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess: published, swept, the failure counted and on the ops topic
    expect(summary).toMatchObject({
      outcome: 'published',
      setId: SCHEDULED_TIME,
      sweep: { status: 'started' },
      backtest: { status: 'completed', notStored: expect.stringContaining('ProvisionedThroughputExceeded') },
    });
    expect(observability.metric('BacktestsFailed')).toBe(1);
    expect(opsEvents('backtest.completed')[0]).toMatchObject({
      notStored: expect.stringContaining('ProvisionedThroughputExceeded'),
    });
    expect(opsEvents('recalibration.completed')).toHaveLength(1);
  });

  it('starts no instrument once the function is near its timeout, and reports them as not run', async () => {
    fakeIdempotencyRecords(dynamo);
    const { handler } = setup();
    // Two minutes left: all of it is the reserve the backtest leaves for the function to finish
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext(120_000));
    expect(summary).toMatchObject({
      outcome: 'published',
      backtest: {
        status: 'completed',
        instruments: [],
        failed: [
          { instrument: 'BTC', reason: expect.stringContaining('ran out') },
          { instrument: 'ETH', reason: expect.stringContaining('ran out') },
        ],
      },
    });
  });

  it('reads its candles from the candle store (the kept market), never from the venues again', async () => {
    // Prepare: no market given, so the venues' consensus is the live one (no venue answers here); the kept
    // market holds what the recalibration stored
    fakeIdempotencyRecords(dynamo);
    const handler = createRecalibrateHandler({
      env: lambdaEnv({ QMT_CONFIG: JSON.stringify(CONFIG) }),
      adapters: { keptMarket: market(), clock: new FixedClock(today + 5 * 60_000) },
      observability: recordedObservability(),
    });
    // Act
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess
    expect(summary).toMatchObject({
      outcome: 'published',
      backtest: { status: 'completed', zone: 'red', failed: [] },
    });
  });

  it('keeps each instrument’s walk, and the next day continues it by one day with the same figures', async () => {
    // Prepare: day one walks in full and keeps the walks (BatchWriteItem, WALK#<instrument>)
    const kept = new Map<string, Record<string, unknown>>();
    const keepWalks = (input: BatchWriteItemCommandInput) => {
      for (const request of Object.values(input.RequestItems ?? {}).flat()) {
        const item = request.PutRequest?.Item;
        if (item?.pk?.S?.startsWith('WALK#')) kept.set(item.pk.S, item);
      }
      return {};
    };
    dynamo.on(BatchWriteItemCommand).callsFake(keepWalks);
    fakeIdempotencyRecords(dynamo, {
      get: (input) => {
        const item = kept.get(input.Key?.pk?.S ?? '');
        return item ? { Item: item } : {};
      },
    });
    const first = setup();
    await first.handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect([...kept.keys()].sort()).toEqual(['WALK#BTC', 'WALK#ETH']);
    const dayOne = storedReport();
    // Act: the next day, one more (flat) candle
    const nextDay = '2026-11-25T00:05:00Z';
    const observability = recordedObservability();
    const oneMore = (series: CandleSeries): CandleSeries => {
      const last = series.candles[series.candles.length - 1] as CandleSeries['candles'][number];
      return { ...series, candles: [...series.candles, { ...last, time: last.time + DAY_MS }] };
    };
    const handler = createRecalibrateHandler({
      env: lambdaEnv({ QMT_CONFIG: JSON.stringify(CONFIG) }),
      adapters: {
        market: new PreparedMarket({ BTC: oneMore(planted('BTC', 2)), ETH: oneMore(planted('ETH', 10)) }),
        clock: new FixedClock(today + DAY_MS + 5 * 60_000),
      },
      observability,
    });
    dynamo.resetHistory();
    const summary = await handler({ scheduledTime: nextDay }, lambdaContext());
    // Assess: both continued by one day; the figures moved by that day only
    const logged = observability.logged('warn').find((l) => l.message.startsWith('daily backtest'));
    expect(logged?.attributes[0]).toMatchObject({ continued: 2, walkedInFull: [] });
    expect(summary).toMatchObject({ backtest: { status: 'completed', zone: 'red' } });
    const dayTwo = storedReport();
    expect(dayOne?.instruments.map((i) => i.to)).toEqual(['2026-11-23', '2026-11-23']);
    expect(dayTwo?.instruments.map((i) => i.to)).toEqual(['2026-11-24', '2026-11-24']);
    expect(dayTwo?.instruments.map((i) => i.short.breaches)).toEqual([2, 10]);
  });

  it('does nothing when the configuration turns it off', async () => {
    fakeIdempotencyRecords(dynamo);
    const handler = createRecalibrateHandler({
      env: lambdaEnv({ QMT_CONFIG: JSON.stringify({ ...CONFIG, backtest: { enabled: false } }) }),
      adapters: { market: market(), clock: new FixedClock(today + 5 * 60_000) },
      observability: recordedObservability(),
    });
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(summary).toMatchObject({ outcome: 'published', backtest: { status: 'disabled' } });
    expect(storedReport()).toBeUndefined();
    expect(opsEvents('backtest.completed')).toHaveLength(0);
  });
});
