/**
 * The recalibrate function at an hourly MPOR, end to end over mocked venue HTTP (issue 14 item 3, issue 16
 * item 3): hourly bars fetched from the venues, agreed, kept in the store, and the intraday model computes.
 */
import { readFileSync } from 'node:fs';
import {
  BatchWriteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createRecalibrateHandler } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import { adapters, type CandleNotes, HOURLY_RECHECK_BARS } from '../../lambdas/shared/adapters.ts';
import { type ConsensusSeries, ConsensusSource, createVenueSource } from '../../lib/adapters/market/index.ts';
import { InMemoryCandleStore, StoredCandleSource } from '../../lib/adapters/market/stored.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import type { Candle } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { seededRandom } from '../../lib/domain/math/random.ts';
import type { MarketDataSource, TimeRange } from '../../lib/ports.ts';
import { json, scriptedFetch, unitHttp } from '../adapters/market/fake-fetch.ts';
import { FixedClock, PreparedMarket, RecordingOps } from '../app/in-memory-ports.ts';
import { fakeIdempotencyRecords, lambdaContext, lambdaEnv, recordedObservability } from './support.ts';

const dynamo = mockClient(DynamoDBClient);
const sns = mockClient(SNSClient);

const HOUR = 3_600_000;
const today = Date.UTC(2026, 10, 24);
const ethHourlyPolicy = JSON.parse(readFileSync('docs/policies/eth-1h.json', 'utf8'));
const env = lambdaEnv({
  QMT_CONFIG: JSON.stringify({
    instruments: { BTC: {}, ETH: { policy: ethHourlyPolicy } },
    backtest: { enabled: false },
  }),
});

/** ETH listed 120 days before `today`, hourly, σ ≈ 0.6% an hour; the bar opening at `end` is still open. */
function ethHours(end: number): Candle[] {
  const random = seededRandom(7);
  const candles: Candle[] = [];
  let close = 2_000;
  for (let time = today - 120 * 24 * HOUR; time <= end; time += HOUR) {
    const open = close;
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    close = open * Math.exp(0.006 * z);
    candles.push({ time, open, high: Math.max(open, close), low: Math.min(open, close), close, volume: 5 });
  }
  return candles;
}

/**
 * Deribit and Binance serve hourly ETH as their APIs do (Binance 0.05% dearer: USDT); Coinbase refuses
 * granularity 3600 (a venue that cannot give hourly bars). Requests are counted per venue.
 */
function hourlyVenues(end: number, revisedOnDeribit?: number) {
  // Deribit may have corrected one hour's close (by 0.1%) since it was first served.
  const hours = ethHours(end);
  const deribitHours = hours.map((c) =>
    c.time === revisedOnDeribit
      ? { ...c, close: c.close * 1.001, high: Math.max(c.high, c.close * 1.001) }
      : c,
  );
  const requests = { deribit: 0, binance: 0, coinbase: 0 };
  const scripted = scriptedFetch((url) => {
    if (url.pathname.endsWith('/public/get_tradingview_chart_data')) {
      requests.deribit++;
      const from = Number(url.searchParams.get('start_timestamp'));
      const to = Number(url.searchParams.get('end_timestamp'));
      const bars = deribitHours.filter((c) => c.time >= from && c.time <= to);
      if (bars.length === 0) return json({ jsonrpc: '2.0', result: { status: 'no_data' } });
      return json({
        jsonrpc: '2.0',
        result: {
          status: 'ok',
          ticks: bars.map((c) => c.time),
          open: bars.map((c) => c.open),
          high: bars.map((c) => c.high),
          low: bars.map((c) => c.low),
          close: bars.map((c) => c.close),
          volume: bars.map((c) => c.volume),
        },
      });
    }
    if (url.pathname.endsWith('/api/v3/klines')) {
      requests.binance++;
      const from = Number(url.searchParams.get('startTime'));
      const to = Number(url.searchParams.get('endTime'));
      const limit = Number(url.searchParams.get('limit'));
      const p = (x: number) => String(x * 1.0005);
      const rows = hours
        .filter((c) => c.time >= from && c.time <= to)
        .slice(0, limit)
        .map((c) => [
          c.time,
          p(c.open),
          p(c.high),
          p(c.low),
          p(c.close),
          '5',
          c.time + HOUR - 1,
          '1',
          1,
          '0',
          '0',
          '0',
        ]);
      return json(rows);
    }
    requests.coinbase++;
    return json({ message: 'Unsupported granularity' }, { status: 400 });
  });
  return { fetch: scripted.fetch, requests };
}

/** The consensus of hourly venues kept in `store`, as `lambdas/shared/adapters.ts` builds it, over `fetch`. */
function keptHourlyMarket(
  fetch: ReturnType<typeof hourlyVenues>['fetch'],
  store: InMemoryCandleStore,
  now: number,
  notes: CandleNotes = { revisions: [], warnings: [] },
) {
  const { options } = unitHttp(fetch);
  const { baseUrl, ...http } = options;
  const venues = (['deribit', 'binance', 'coinbase'] as const).map(
    (venue) =>
      new StoredCandleSource(
        createVenueSource(venue, {
          http,
          baseUrls: { [venue]: baseUrl },
          now: () => now,
          interval: '1h',
        }),
        {
          store,
          intervalMs: HOUR,
          recheckBars: HOURLY_RECHECK_BARS,
          now: () => now,
          onRevision: (revision) => notes.revisions.push(revision),
        },
      ),
  );
  return new Recording(new ConsensusSource(venues, { intervalMs: HOUR }));
}

/** Keeps what the consensus answered, to read its venue report. */
class Recording implements MarketDataSource {
  readonly name: string;
  readonly answers: ConsensusSeries[] = [];
  readonly ranges: TimeRange[] = [];
  constructor(private readonly inner: ConsensusSource) {
    this.name = inner.name;
  }
  async candles(instrument: string, range: TimeRange): Promise<ConsensusSeries> {
    this.ranges.push(range);
    const series = await this.inner.candles(instrument, range);
    this.answers.push(series);
    return series;
  }
}

const daily = () =>
  new PreparedMarket({
    BTC: generateCandles({ instrument: 'BTC', days: 1000, endTime: today, startPrice: 30_000, seed: 1 }),
  });

describe('recalibrate handler at an hourly MPOR, over mocked venue HTTP', () => {
  beforeEach(() => {
    dynamo.reset();
    sns.reset();
    dynamo.on(TransactWriteItemsCommand).resolves({});
    dynamo.on(BatchWriteItemCommand).resolves({});
    dynamo.on(DescribeTableCommand).resolves({ Table: { ItemCount: 1_000_000 } });
    sns.on(PublishCommand).resolves({ MessageId: 'ops-1' });
    fakeIdempotencyRecords(dynamo);
  });
  afterEach(() => {
    dynamo.reset();
    sns.reset();
  });

  it('computes ETH (docs/policies/eth-1h.json) from hourly bars, BTC from daily; Coinbase left out with its reason', async () => {
    const venues = hourlyVenues(today);
    const store = new InMemoryCandleStore();
    const hourly = keptHourlyMarket(venues.fetch, store, today + 5 * 60_000);
    const market = daily();
    const handler = createRecalibrateHandler({
      env,
      adapters: { market, keptHourlyMarket: hourly, clock: new FixedClock(today + 5 * 60_000) },
      observability: recordedObservability(),
    });

    const summary = await handler({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());

    expect(summary).toMatchObject({ outcome: 'published', instruments: 2, held: [] });
    // ETH went to the hourly market only, over the history its policy reads (the 10-year floor + 1 day),
    // capped at the run's 3,650 days.
    expect(market.requests.map((r) => r.instrument)).toEqual(['BTC']);
    expect(hourly.ranges).toEqual([{ from: today - 3_650 * 24 * HOUR, to: today }]);
    const eth = hourly.answers[0] as ConsensusSeries;
    expect(eth.intervalMs).toBe(HOUR);
    expect(eth.candles).toHaveLength(120 * 24);
    expect(eth.candles.at(-1)?.time).toBe(today - HOUR);
    expect(eth.venueReport.map((v) => [v.venue, v.status])).toEqual([
      ['deribit', 'ok'],
      ['binance', 'ok'],
      ['coinbase', 'failed'],
    ]);
    expect(eth.venueReport[2]?.error).toMatch(/HTTP 400/);
    // The set's ETH threshold: computed by the intraday model at 1h, on the consensus of two venues.
    const written = JSON.stringify(
      dynamo.commandCalls(TransactWriteItemsCommand).map((c) => c.args[0].input),
    );
    const batches = JSON.stringify(dynamo.commandCalls(BatchWriteItemCommand).map((c) => c.args[0].input));
    const ethThreshold = [...`${written}${batches}`.matchAll(/"threshold":\{"S":"((?:[^"\\]|\\.)*)"/g)]
      .map((m) => JSON.parse(JSON.parse(`"${m[1]}"`)))
      .find((t: { instrument: string }) => t.instrument === 'ETH');
    expect(ethThreshold).toMatchObject({
      status: 'computed',
      inputs: {
        policyVersion: ethHourlyPolicy.version,
        source: 'consensus(deribit,binance,coinbase)',
        candleCount: 2_880,
      },
    });
    expect(ethThreshold.warnings.join('\n')).toContain('MPOR 1h on 1h bars');
    expect(ethThreshold.initialMarginRate).toBeLessThan(0.05);
    // Requests: Deribit in chunks of 5,000 hours over 3,650 days (18), Binance pages of 1,000 from the
    // first bar it has (3), Coinbase its one refusal.
    expect(venues.requests).toEqual({ deribit: 18, binance: 3, coinbase: 1 });
    expect((await store.read('deribit', 'ETH', HOUR, { from: 0, to: today })).length).toBe(120 * 24);

    // The next day: only the new hours and the re-check window are fetched, the rest comes from the store;
    // Deribit's correction of an hour inside the window is found and reported to ops.
    const next = today + 24 * HOUR;
    const revisedHour = today - 2 * HOUR;
    const later = hourlyVenues(next, revisedHour);
    const candleNotes: CandleNotes = { revisions: [], warnings: [] };
    const ops = new RecordingOps();
    const hourlyNext = keptHourlyMarket(later.fetch, store, next + 5 * 60_000, candleNotes);
    const secondRun = await createRecalibrateHandler({
      env,
      adapters: {
        market: daily(),
        keptHourlyMarket: hourlyNext,
        candleNotes,
        ops,
        clock: new FixedClock(next + 5 * 60_000),
      },
      observability: recordedObservability(),
    })({ scheduledTime: '2026-11-25T00:05:00Z' }, lambdaContext());
    expect(secondRun).toMatchObject({ outcome: 'published' });
    expect(later.requests).toEqual({ deribit: 1, binance: 1, coinbase: 1 });
    expect((hourlyNext.answers[0] as ConsensusSeries).candles).toHaveLength(121 * 24);
    const revised = ops.events.find((event) => event.type === 'candles.revised');
    expect(revised).toMatchObject({
      revisions: [
        { venue: 'deribit', instrument: 'ETH', time: revisedHour, fields: expect.arrayContaining(['close']) },
      ],
    });
  });

  it('the stack’s hourly market asks every configured venue for 1h bars and keeps them at 1h', async () => {
    const now = today + 5 * 60_000;
    const venues = hourlyVenues(today);
    vi.stubGlobal('fetch', venues.fetch);
    try {
      const store = new InMemoryCandleStore();
      const config = loadRuntimeConfig(env);
      const ports = adapters(config, { candles: store, clock: new FixedClock(now) });
      const series = (await ports.keptHourlyMarket.candles('ETH', {
        from: today - 3 * HOUR,
        to: today,
      })) as ConsensusSeries;
      expect(series.intervalMs).toBe(HOUR);
      expect(series.candles.map((c) => c.time)).toEqual([3, 2, 1].map((h) => today - h * HOUR));
      expect(venues.requests).toEqual({ deribit: 1, binance: 1, coinbase: 1 });
      expect(await store.read('binance', 'ETH', HOUR, { from: 0, to: today })).toHaveLength(3);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
