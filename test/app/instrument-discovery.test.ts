// Discovery in the recalibration, against loopback venues: a new listing is announced and held at the cap,
// a delisting is announced with its holders and leaves the set, a venue down delists nothing, and with the
// switch off nothing changes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMIT } from '../../lib/adapters/market/http.ts';
import { VenueInstrumentLists } from '../../lib/adapters/market/instrument-lists.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import type { CandleSeries } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { parseCatalogueFilter } from '../../lib/domain/market/instrument-catalogue.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { RejectedAccountRecord } from '../../lib/ports.ts';
import {
  binanceRow,
  deribitRow,
  type LoopbackLists,
  startLoopbackLists,
} from '../adapters/market/loopback-lists.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';

let venues: LoopbackLists;
beforeAll(async () => {
  venues = await startLoopbackLists();
});
afterEach(() => {
  for (const key of Object.keys(venues.answers)) delete venues.answers[key as keyof typeof venues.answers];
  for (const key of Object.keys(venues.hits)) delete venues.hits[key];
});
afterAll(() => venues.close());

const DAY = 86_400_000;
const today = Date.UTC(2026, 11, 3);
const history = (instrument: string, seed: number, days = 1000): CandleSeries =>
  generateCandles({ instrument, days, endTime: today, startPrice: 100, seed });
const configured = ['BTC', 'ETH', 'LUNA'].map((instrument) => ({
  instrument,
  policy: DEFAULT_THRESHOLD_POLICY,
}));
const discovery = {
  filter: parseCatalogueFilter({
    quotes: ['USD', 'USDT'],
    kinds: ['perpetual'],
    venues: ['deribit', 'binance'],
  }),
  defaultPolicy: DEFAULT_THRESHOLD_POLICY,
  // One venue is enough in these tests (DOGE is on Binance only); the quorum rule has its own test below.
  quorum: 1,
};

const holding = (accountId: string, instrument: string): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: '1000.00' }],
  positions: [{ kind: 'perpetual', instrument, quantity: '1', entryPrice: '100', settlement: 'linear' }],
});

function setup(records: readonly (Account | RejectedAccountRecord)[] = []) {
  const clock = new FixedClock(today + 60_000);
  return {
    // DOGE was listed nine days ago: too little history for the model.
    market: new PreparedMarket({
      BTC: history('BTC', 1),
      ETH: history('ETH', 2),
      LUNA: history('LUNA', 3),
      DOGE: history('DOGE', 4, 9),
    }),
    thresholds: new InMemoryThresholdStore(),
    ledger: new InMemoryRunLedger(clock),
    ops: new RecordingOps(),
    clock,
    discovery: {
      lists: new VenueInstrumentLists({
        baseUrl: venues.baseUrl,
        rateLimiter: NO_RATE_LIMIT,
        timeoutMs: 2_000,
        retryPolicy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5, deadlineMs: 5_000 },
      }),
      accounts: new InMemoryAccountSource(records),
    },
  };
}

const deribitLists = {
  body: { result: [deribitRow('BTC-PERPETUAL', 'BTC', 'USD'), deribitRow('ETH-PERPETUAL', 'ETH', 'USD')] },
};
const binanceLists = {
  body: {
    symbols: [
      binanceRow('BTCUSDT', 'BTC'),
      binanceRow('ETHUSDT', 'ETH'),
      binanceRow('DOGEUSDT', 'DOGE'),
      // A delisted perpetual lingers as SETTLING.
      binanceRow('LUNAUSDT', 'LUNA', 'SETTLING'),
    ],
  },
};

describe('recalibration with instrument discovery', () => {
  it('announces a new listing, holds it at the policy cap, and announces a delisting with its holders', async () => {
    const ports = setup([
      holding('acc-luna', 'LUNA'),
      holding('acc-btc', 'BTC'),
      { accountKey: 'acc-bad', reason: 'bad' },
    ]);
    await recalibrate(ports, { runId: 'run-0', holder: 'test', instruments: configured });
    venues.answers.deribit = deribitLists;
    venues.answers.binance = binanceLists;

    await recalibrate(ports, { runId: 'run-1', holder: 'test', instruments: configured, discovery });

    const set = await ports.thresholds.currentSet();
    expect(set?.thresholds.map((t) => t.instrument)).toEqual(['BTC', 'DOGE', 'ETH']);
    const doge = set?.thresholds.find((t) => t.instrument === 'DOGE');
    expect(doge).toMatchObject({
      status: 'held',
      initialMarginRate: DEFAULT_THRESHOLD_POLICY.bounds.maxInitialMarginRate,
    });
    expect(doge?.heldReason).toMatch(/^DOGE: only 9 usable candles.*held at the policy cap/);
    expect(set?.catalogue?.entries).toEqual([
      {
        instrument: 'BTC',
        venues: { deribit: 'BTC-PERPETUAL', binance: 'BTCUSDT' },
        firstListed: expect.any(String),
      },
      { instrument: 'DOGE', venues: { binance: 'DOGEUSDT' }, firstListed: '2026-12-03' },
      {
        instrument: 'ETH',
        venues: { deribit: 'ETH-PERPETUAL', binance: 'ETHUSDT' },
        firstListed: expect.any(String),
      },
    ]);
    const events = ports.ops.events.filter((e) => e.type.startsWith('instruments.'));
    // BTC and ETH were in force before discovery: not announced as new.
    expect(events).toEqual([
      {
        type: 'instruments.listed',
        runId: 'run-1',
        listed: [{ instrument: 'DOGE', venues: { binance: 'DOGEUSDT' }, firstListed: '2026-12-03' }],
      },
      {
        type: 'instruments.delisted',
        runId: 'run-1',
        delisted: [
          {
            instrument: 'LUNA',
            reason: 'LUNA: no venue lists it as trading in USD/USDT perpetual',
            holders: ['acc-luna'],
          },
        ],
        holdersIncomplete: '1 account records could not be read (acc-bad)',
      },
    ]);
    // LUNA is out of the set: a sweep finds no market for it and reports its holder's account instead of
    // valuing it at LUNA's last close; the BTC holder is valued as before.
    expect(set?.thresholds.some((t) => t.instrument === 'LUNA')).toBe(false);
    const swept = await sweepSegment(
      {
        accounts: ports.discovery.accounts,
        thresholds: ports.thresholds,
        statuses: new InMemoryMarginStatusStore(),
        alerts: new RecordingAlerts(),
        ops: ports.ops,
        clock: ports.clock,
      },
      { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } },
    );
    expect(swept.rejected).toEqual([
      { accountKey: 'acc-bad', reason: 'bad' },
      {
        accountKey: 'acc-luna',
        reason: 'account acc-luna, position 0 (LUNA): no market data for instrument LUNA',
      },
    ]);
    expect(swept.counts).toMatchObject({ rejected: 2 });

    // The next day DOGE still lacks history: still held at the cap, not announced again.
    ports.clock.time = today + DAY + 60_000;
    await recalibrate(ports, { runId: 'run-2', holder: 'test', instruments: configured, discovery });
    const next = await ports.thresholds.currentSet();
    expect(next?.thresholds.find((t) => t.instrument === 'DOGE')?.initialMarginRate).toBe(
      DEFAULT_THRESHOLD_POLICY.bounds.maxInitialMarginRate,
    );
    expect(ports.ops.events.filter((e) => e.runId === 'run-2' && e.type.startsWith('instruments.'))).toEqual(
      [],
    );
  });

  it('a listing on fewer venues than the quorum is held at the cap, never valued at one venue’s prices, and ops hear why', async () => {
    // Prepare: DOGE has years of history, but only Binance lists it; the quorum is the default (2).
    const ports = setup();
    ports.market = new PreparedMarket({
      BTC: history('BTC', 1),
      ETH: history('ETH', 2),
      DOGE: history('DOGE', 4),
    });
    const { quorum: _one, ...withDefaultQuorum } = discovery;
    venues.answers.deribit = deribitLists;
    venues.answers.binance = binanceLists;

    // Act
    await recalibrate(ports, {
      runId: 'run-1',
      holder: 'test',
      instruments: configured,
      discovery: withDefaultQuorum,
    });

    // Assess: held at the cap with no reference price (a sweep values nothing at it), its candles never asked for.
    const doge = (await ports.thresholds.currentSet())?.thresholds.find((t) => t.instrument === 'DOGE');
    expect(doge).toMatchObject({
      status: 'held',
      initialMarginRate: DEFAULT_THRESHOLD_POLICY.bounds.maxInitialMarginRate,
    });
    expect(doge?.referencePrice).toBeUndefined();
    const reason =
      "DOGE: listed on 1 venue(s) whose candles are read (binance), fewer than the quorum of 2: not valued at one venue's prices";
    expect(doge?.heldReason).toBe(`${reason} (no previous threshold: held at the policy cap)`);
    expect(ports.market.requests.map((r) => r.instrument)).not.toContain('DOGE');
    const summary = ports.ops.events.find((e) => e.type === 'recalibration.completed');
    expect(summary).toMatchObject({ held: [{ instrument: 'DOGE', reason: doge?.heldReason }] });

    // A second venue lists it the next day: the quorum is met and it is computed from its candles.
    venues.answers.deribit = {
      body: { result: [...deribitLists.body.result, deribitRow('DOGE-PERPETUAL', 'DOGE', 'USD')] },
    };
    ports.clock.time = today + DAY + 60_000;
    await recalibrate(ports, {
      runId: 'run-2',
      holder: 'test',
      instruments: configured,
      discovery: withDefaultQuorum,
    });
    const next = (await ports.thresholds.currentSet())?.thresholds.find((t) => t.instrument === 'DOGE');
    expect(next?.status).toBe('computed');
  });

  it('a venue whose list fails keeps its previous instruments: nothing is delisted', async () => {
    const ports = setup([holding('acc-doge', 'DOGE')]);
    venues.answers.deribit = deribitLists;
    venues.answers.binance = binanceLists;
    await recalibrate(ports, { runId: 'run-1', holder: 'test', instruments: configured, discovery });
    venues.answers.binance = { status: 503 };

    await recalibrate(ports, { runId: 'run-2', holder: 'test', instruments: configured, discovery });

    const set = await ports.thresholds.currentSet();
    expect(set?.setId).toBe('run-2');
    expect(set?.thresholds.map((t) => t.instrument)).toEqual(['BTC', 'DOGE', 'ETH']);
    expect(set?.catalogue?.entries.find((e) => e.instrument === 'DOGE')?.venues).toEqual({
      binance: 'DOGEUSDT',
    });
    const run2 = ports.ops.events.filter((e) => e.runId === 'run-2' && e.type.startsWith('instruments.'));
    expect(run2).toEqual([
      {
        type: 'instruments.venues-kept',
        runId: 'run-2',
        venues: [{ venue: 'binance', reason: expect.stringMatching(/^binance instrument list: .*503/) }],
      },
    ]);
  });

  it('with discovery off the venues are not asked and the set is as before', async () => {
    const ports = setup();
    venues.answers.binance = binanceLists;
    await recalibrate(ports, { runId: 'run-1', holder: 'test', instruments: configured });
    const set = await ports.thresholds.currentSet();
    expect(set?.thresholds.map((t) => t.instrument)).toEqual(['BTC', 'ETH', 'LUNA']);
    expect(set && 'catalogue' in set).toBe(false);
    expect(venues.hits).toEqual({});
  });
});
