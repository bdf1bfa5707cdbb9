import {
  BatchWriteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type GetItemCommandInput,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecalibrateHandler } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import { InvalidEventError } from '../../lambdas/shared/events.ts';
import { InMemoryCandleStore, StoredCandleSource } from '../../lib/adapters/market/stored.ts';
import { type Candle, DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import type { CandleRevision } from '../../lib/ports.ts';
import { sampleThreshold } from '../adapters/dynamodb/support.ts';
import { FixedClock, PreparedMarket, RecordingOps } from '../app/in-memory-ports.ts';
import {
  acceptAllMessages,
  fakeIdempotencyRecords,
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  SWEEP_QUEUE_URL,
  sentBodies,
  TABLES,
} from './support.ts';

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

const SCHEDULED_TIME = '2026-11-24T00:05:00Z';
const today = Date.UTC(2026, 10, 24);
const market = () =>
  new PreparedMarket({
    BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 30_000, seed: 1 }),
    ETH: generateCandles({ instrument: 'ETH', days: 1000, endTime: today, startPrice: 2_000, seed: 2 }),
  });

/** The thresholds table already has a CURRENT set `previous-set` (BTC and ETH). */
function currentSetExists(): void {
  fakeIdempotencyRecords(dynamo, {
    get: (input: GetItemCommandInput) =>
      input.TableName === TABLES.thresholds ? { Item: { setId: { S: 'previous-set' } } } : {},
  });
  dynamo.on(QueryCommand, { TableName: TABLES.thresholds }).resolves({
    Items: [
      {
        sk: { S: 'META' },
        runId: { S: '2026-11-23T00:05:00Z' },
        createdAt: { S: '2026-11-23T00:06:00.000Z' },
        instrumentCount: { N: '2' },
      },
      ...['BTC', 'ETH'].map((instrument, ordinal) => ({
        sk: { S: `INSTR#${instrument}` },
        ordinal: { N: String(ordinal) },
        threshold: { S: JSON.stringify(sampleThreshold(instrument, '2026-11-22', 0.05)) },
      })),
    ],
  });
}

/** The daily backtest walks every day of the history: these tests are about the set, so it is off here (test/lambdas/recalibrate-backtest.test.ts runs it). */
const WITHOUT_BACKTEST = lambdaEnv({
  QMT_CONFIG: JSON.stringify({ instruments: { BTC: {}, ETH: {} }, backtest: { enabled: false } }),
});

function setup(env = WITHOUT_BACKTEST) {
  const observability = recordedObservability();
  const handler = createRecalibrateHandler({
    env,
    adapters: { market: market(), clock: new FixedClock(today + 5 * 60_000) },
    observability,
  });
  return { handler, observability };
}

describe('recalibrate handler', () => {
  beforeEach(() => {
    dynamo.reset();
    sns.reset();
    sqs.reset();
    dynamo.on(TransactWriteItemsCommand).resolves({});
    dynamo.on(BatchWriteItemCommand).resolves({});
    dynamo.on(DescribeTableCommand).resolves({ Table: { ItemCount: 1_000_000 } });
    sns.on(PublishCommand).resolves({ MessageId: 'ops-1' });
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => {
    dynamo.reset();
    sns.reset();
    sqs.reset();
  });

  it('publishes a threshold set: the set items, then one conditional flip of CURRENT', async () => {
    // Prepare
    currentSetExists();
    const { handler, observability } = setup();
    // Act
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess
    expect(summary).toMatchObject({
      outcome: 'published',
      runId: SCHEDULED_TIME,
      setId: SCHEDULED_TIME,
      instruments: 2,
    });
    // The set's items under the new set's partition: the correlation chunk and one item per instrument,
    // then META (which names the chunks) in its own batch, last.
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteItemCommand, 2);
    const batches = dynamo
      .commandCalls(BatchWriteItemCommand)
      .map((call) => call.args[0].input.RequestItems?.[TABLES.thresholds] ?? []);
    expect(batches.map((b) => b.map((request) => request.PutRequest?.Item?.sk?.S))).toEqual([
      ['CORR#0001', 'INSTR#BTC', 'INSTR#ETH'],
      ['META'],
    ]);
    const batch = batches.flat();
    expect(batch?.every((request) => request.PutRequest?.Item?.pk?.S === `SET#${SCHEDULED_TIME}`)).toBe(true);
    // Then CURRENT moves from the previous set, on condition that it still points there.
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLES.thresholds,
      Item: expect.objectContaining({
        pk: { S: 'POINTER' },
        sk: { S: 'CURRENT' },
        setId: { S: SCHEDULED_TIME },
      }),
      ConditionExpression: '#setId = :expected',
      ExpressionAttributeValues: { ':expected': { S: 'previous-set' } },
    });
    // The lease is taken in one transaction; the ops topic hears the summary.
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      MessageAttributes: expect.objectContaining({
        eventType: { DataType: 'String', StringValue: 'recalibration.completed' },
      }),
    });
    expect(observability.metric('InstrumentsRecalibrated') + observability.metric('ThresholdsHeld')).toBe(2);
  });

  it('with discovery on in the configuration, recalibrates a new listing at the cap and announces it', async () => {
    currentSetExists();
    const perpetual = (name: string, base: string) => ({
      name,
      base,
      quote: 'USDT',
      kind: 'perpetual' as const,
      trading: true,
    });
    const handler = createRecalibrateHandler({
      env: lambdaEnv({
        QMT_CONFIG: JSON.stringify({
          instruments: { BTC: {}, ETH: {} },
          discovery: { enabled: true, filter: { quotes: ['USDT'], venues: ['binance'] } },
        }),
      }),
      adapters: {
        market: new PreparedMarket({
          BTC: generateCandles({
            instrument: 'BTC',
            days: 1000,
            endTime: today,
            startPrice: 30_000,
            seed: 1,
          }),
          ETH: generateCandles({ instrument: 'ETH', days: 1000, endTime: today, startPrice: 2_000, seed: 2 }),
          DOGE: generateCandles({ instrument: 'DOGE', days: 5, endTime: today, startPrice: 0.1, seed: 3 }),
        }),
        clock: new FixedClock(today + 5 * 60_000),
      },
      instrumentLists: {
        read: async () => [
          {
            venue: 'binance',
            instruments: [
              perpetual('BTCUSDT', 'BTC'),
              perpetual('ETHUSDT', 'ETH'),
              perpetual('DOGEUSDT', 'DOGE'),
            ],
          },
        ],
      },
      observability: recordedObservability(),
    });
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(summary).toMatchObject({ outcome: 'published', instruments: 3, held: [{ instrument: 'DOGE' }] });
    const batch = dynamo
      .commandCalls(BatchWriteItemCommand)
      .flatMap((call) => call.args[0].input.RequestItems?.[TABLES.thresholds] ?? []);
    const meta = batch?.find((request) => request.PutRequest?.Item?.sk?.S === 'META')?.PutRequest?.Item;
    expect(
      JSON.parse(meta?.catalogue?.S ?? '{}').entries.map((e: { instrument: string }) => e.instrument),
    ).toEqual(['BTC', 'DOGE', 'ETH']);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      MessageAttributes: expect.objectContaining({
        eventType: { DataType: 'String', StringValue: 'instruments.listed' },
      }),
    });
  });

  it('recalibrates from kept candles and reports a venue’s revision of a stored bar to ops', async () => {
    // Prepare: the venue's history is stored; since then the venue changed the bar before yesterday.
    currentSetExists();
    const venue = market();
    const store = new InMemoryCandleStore();
    const range = { from: today - 1_000 * DAY_MS, to: today };
    for (const instrument of ['BTC', 'ETH']) {
      const series = await venue.candles(instrument, range);
      await store.write('prepared', instrument, DAY_MS, series.candles);
    }
    const revisedDay = today - 2 * DAY_MS;
    const stored = (await store.read('prepared', 'BTC', DAY_MS, { from: revisedDay, to: today }))[0];
    await store.write('prepared', 'BTC', DAY_MS, [{ ...(stored as Candle), close: 1 }]);
    const candleNotes = { revisions: [], warnings: [] };
    const ops = new RecordingOps();
    const handler = createRecalibrateHandler({
      env: WITHOUT_BACKTEST,
      adapters: {
        keptMarket: new StoredCandleSource(venue, {
          store,
          onRevision: (revision) => (candleNotes.revisions as CandleRevision[]).push(revision),
        }),
        candleNotes,
        ops,
        clock: new FixedClock(today + 5 * 60_000),
      },
      observability: recordedObservability(),
    });
    // Act
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess: the run computed from the venue's bar, and ops heard which bar changed.
    expect(summary).toMatchObject({ outcome: 'published' });
    expect(ops.events.map((event) => event.type)).toEqual(['recalibration.completed', 'candles.revised']);
    expect(ops.events[1]).toEqual({
      type: 'candles.revised',
      runId: SCHEDULED_TIME,
      revisions: [
        {
          venue: 'prepared',
          instrument: 'BTC',
          day: '2026-11-22',
          time: revisedDay,
          storedClose: 1,
          venueClose: stored?.close,
          fields: ['close'],
        },
      ],
    });
    // Only the re-check window was asked for: the bars before it came from the store.
    // Per instrument: the re-check window (3 bars before the last stored one, to the run's day), and the
    // days before the first stored bar (the lookback is longer than the venue's history: asked every run).
    const firstStored = today - 1_000 * DAY_MS;
    expect(venue.requests.slice(2).map((request) => [request.instrument, request.range])).toEqual([
      ['BTC', { from: expect.any(Number), to: firstStored }],
      ['ETH', { from: expect.any(Number), to: firstStored }],
      ['BTC', { from: today - 4 * DAY_MS, to: today }],
      ['ETH', { from: today - 4 * DAY_MS, to: today }],
    ]);
    expect(candleNotes.revisions).toEqual([]);
  });

  it('flips CURRENT on condition that it does not exist yet for the first set', async () => {
    fakeIdempotencyRecords(dynamo);
    const { handler } = setup();
    await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLES.thresholds,
      ConditionExpression: 'attribute_not_exists(#pk)',
      Item: expect.objectContaining({ pk: { S: 'POINTER' } }),
    });
  });

  it('starts a sweep of the accounts against the new set', async () => {
    fakeIdempotencyRecords(dynamo);
    const { handler, observability } = setup();
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // 1,000,000 accounts at the default 100,000 a segment: ten segments, one batch.
    expect(summary).toMatchObject({
      sweep: { status: 'started', runId: `sweep-${SCHEDULED_TIME}`, totalSegments: 10 },
    });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: SWEEP_QUEUE_URL });
    expect(sentBodies(sqs.commandCalls(SendMessageBatchCommand))).toEqual(
      Array.from({ length: 10 }, (_, segment) => ({
        runId: `sweep-${SCHEDULED_TIME}`,
        segment,
        totalSegments: 10,
      })),
    );
    expect(observability.metric('SegmentsPlanned')).toBe(10);
  });

  it('keeps the published set when the sweep cannot be queued (the coordinator’s schedule sweeps instead)', async () => {
    fakeIdempotencyRecords(dynamo);
    sqs
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('not authorised'), { name: 'AccessDenied' }));
    const { handler, observability } = setup();
    const summary = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(summary).toMatchObject({ outcome: 'published', sweep: { status: 'failed' } });
    expect(observability.metric('SweepStartsFailed')).toBe(1);
  });

  it('runs the use case once for the same scheduled event delivered twice, returning the stored result', async () => {
    // Prepare
    const records = fakeIdempotencyRecords(dynamo);
    const { handler, observability } = setup();
    const event = { scheduledTime: SCHEDULED_TIME };
    // Act
    const first = await handler(event, lambdaContext(600_000, 'req-1'));
    const second = await handler(structuredClone(event), lambdaContext(600_000, 'req-2'));
    // Assess: one lease, one set, one flip, one summary, one sweep.
    expect(second).toEqual(first);
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteItemCommand, 2);
    expect(dynamo.commandCalls(PutItemCommand, { TableName: TABLES.thresholds })).toHaveLength(1);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(observability.metric('DuplicateEvents')).toBe(1);
    // The record: taken with the conditional put, completed with the summary as its stored response.
    expect(dynamo).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: TABLES.runs,
      ConditionExpression: expect.stringContaining('attribute_not_exists(#key)'),
      Item: expect.objectContaining({ status: { S: 'INPROGRESS' } }),
    });
    expect(dynamo).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: TABLES.runs,
      ExpressionAttributeValues: expect.objectContaining({ ':status': { S: 'COMPLETED' } }),
    });
    const [record] = [...records.values()];
    expect(records.size).toBe(1);
    expect(record?.pk?.S).toMatch(/^IDEMPOTENCY#qmt\.recalibrate#/);
    expect(JSON.parse(record?.responseData?.S ?? 'null')).toEqual(first);
  });

  it('runs once for one scheduled instant written three ways (the key is the instant, not its text)', async () => {
    // Prepare
    const records = fakeIdempotencyRecords(dynamo);
    const { handler, observability } = setup();
    // Act: Scheduler's spelling, then the same instant with milliseconds, then with an offset.
    const first = await handler({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext(600_000, 'req-1'));
    const second = await handler(
      { scheduledTime: '2026-11-24T00:05:00.000Z' },
      lambdaContext(600_000, 'req-2'),
    );
    const third = await handler(
      { scheduledTime: '2026-11-24T01:05:00+01:00' },
      lambdaContext(600_000, 'req-3'),
    );
    // Assess: one lease, one set, one record; the repeats get the first result, run id in one spelling.
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 1);
    expect(dynamo).toHaveReceivedCommandTimes(BatchWriteItemCommand, 2);
    expect(records.size).toBe(1);
    expect(second).toEqual(first);
    expect(third).toEqual(first);
    expect(first).toMatchObject({ runId: '2026-11-24T00:05:00Z', setId: '2026-11-24T00:05:00Z' });
    expect(observability.metric('DuplicateEvents')).toBe(2);
  });

  it('names the run by the instant in one spelling, whatever spelling the event used', async () => {
    fakeIdempotencyRecords(dynamo);
    const { handler } = setup();
    const summary = await handler({ scheduledTime: '2026-11-24T01:05:00.000+01:00' }, lambdaContext());
    expect(summary).toMatchObject({ runId: '2026-11-24T00:05:00Z' });
  });

  it.each([
    ['a day and a second ahead of the clock', '2026-11-25T00:10:01Z'],
    ['a year ahead', '2027-11-24T00:05:00Z'],
  ])('refuses a scheduled time %s, touching nothing', async (_what, scheduledTime) => {
    fakeIdempotencyRecords(dynamo);
    const { handler, observability } = setup();
    const attempt = handler({ scheduledTime }, lambdaContext());
    await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
    await expect(attempt).rejects.toThrow(
      /^invalid scheduled event: scheduledTime: more than a day after the clock \(2026-11-24T00:05:00Z\)/,
    );
    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(observability.metric('InvocationsFailed')).toBe(1);
  });

  it('accepts a scheduled time up to a day ahead (a clock a little behind Scheduler’s)', async () => {
    fakeIdempotencyRecords(dynamo);
    const { handler } = setup();
    const summary = await handler({ scheduledTime: '2026-11-25T00:05:00Z' }, lambdaContext());
    expect(summary).toMatchObject({ outcome: 'published', runId: '2026-11-25T00:05:00Z' });
  });

  it('runs again for another scheduled time', async () => {
    fakeIdempotencyRecords(dynamo);
    const { handler } = setup();
    await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    await handler({ scheduledTime: '2026-11-25T00:05:00Z' }, lambdaContext());
    expect(dynamo).toHaveReceivedCommandTimes(TransactWriteItemsCommand, 2);
  });

  it.each([
    ['no scheduled time', {}, /^invalid scheduled event: scheduledTime: Invalid input/],
    [
      'a scheduled time that is not ISO',
      { scheduledTime: 'yesterday' },
      /^invalid scheduled event: scheduledTime: Invalid ISO datetime/,
    ],
    ['not an object', 'run now', /^invalid scheduled event: \(root\): Invalid input: expected object/],
    [
      'a day that does not exist',
      { scheduledTime: '2026-02-30T00:05:00Z' },
      /^invalid scheduled event: scheduledTime: Invalid ISO datetime/,
    ],
  ])('rejects an event with %s, touching nothing', async (_what, event, message) => {
    fakeIdempotencyRecords(dynamo);
    const { handler, observability } = setup();
    const attempt = handler(event, lambdaContext());
    await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
    await expect(attempt).rejects.toThrow(message);
    expect(dynamo).not.toHaveReceivedAnyCommand();
    expect(observability.metric('InvocationsFailed')).toBe(1);
  });

  it('releases the idempotency record when the run fails, so Scheduler’s retry runs again', async () => {
    const records = fakeIdempotencyRecords(dynamo);
    dynamo
      .on(TransactWriteItemsCommand)
      .rejects(Object.assign(new Error('table missing'), { name: 'ResourceNotFoundException' }));
    const { handler } = setup();
    await expect(handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext())).rejects.toThrow(
      'table missing',
    );
    expect(records.size).toBe(0);
  });
});
