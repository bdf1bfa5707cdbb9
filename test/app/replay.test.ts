import { describe, expect, it } from 'vitest';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { type ReplayRequest, replay, SimulatedClock } from '../../lib/app/replay.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { type CandleSeries, DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { ohlcPath } from '../../lib/domain/market/ohlc-path.ts';
import { parseThresholdPolicy } from '../../lib/domain/threshold/policy.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import {
  InMemoryMarginStatusStore,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { byTimeThenAccount, expectedTransitions } from './replay-reaction.ts';

const HOUR = 3_600_000;
const FROM = Date.UTC(2024, 2, 12);
const policy = parseThresholdPolicy({});

/** 800 generated days ending at 30,000, then a crash day and a partial rebound, as hourly paths. */
function crashSeries(): { warmUp: CandleSeries; bars: CandleSeries } {
  const generated = generateCandles({
    instrument: 'BTC',
    days: 800,
    endTime: FROM,
    startPrice: 30_000,
    seed: 4,
  });
  const scale = 30_000 / (generated.candles.at(-1)?.close ?? 30_000);
  const warmUp = {
    ...generated,
    candles: generated.candles.map((c) => ({
      ...c,
      open: c.open * scale,
      high: c.high * scale,
      low: c.low * scale,
      close: c.close * scale,
    })),
  };
  const crash = ohlcPath('BTC', { day: FROM, open: 30_000, high: 30_300, low: 19_000, close: 20_000 });
  const rebound = ohlcPath('BTC', {
    day: FROM + DAY_MS,
    open: 20_000,
    high: 25_000,
    low: 19_500,
    close: 24_000,
  });
  return { warmUp, bars: { ...crash, candles: [...crash.candles, ...rebound.candles] } };
}

function perpetual(accountId: string, collateral: number, quantity: number): Account {
  return {
    accountId,
    collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
    positions: [
      {
        kind: 'perpetual',
        instrument: 'BTC',
        quantity: String(quantity),
        entryPrice: '30000',
        settlement: 'linear',
      },
    ],
  };
}

// Longs that the fall pushes over a level at different hours; shorts under water at the open that the fall
// brings back (recoveries, with the hysteresis band) and the rebound may push back.
const book: Account[] = [
  ...Array.from({ length: 24 }, (_, i) => perpetual(`long-${i}`, 1_500 + i * 500, 1)),
  ...Array.from({ length: 8 }, (_, i) => perpetual(`short-${i}`, 200 + i * 400, -1)),
];

function setup(accounts: readonly Account[] = book) {
  const clock = new SimulatedClock(FROM);
  const thresholds = new InMemoryThresholdStore();
  const ports = {
    thresholds,
    ledger: new InMemoryRunLedger(clock),
    accounts: new InMemoryAccounts(accounts),
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    breachIndex: new InMemoryBreachIndex(),
    clock,
  };
  return { ports, thresholds };
}

function request(overrides: Partial<ReplayRequest> = {}): ReplayRequest {
  const { warmUp, bars } = crashSeries();
  return {
    series: [bars],
    warmUp: [warmUp],
    instruments: [{ instrument: 'BTC', policy }],
    from: FROM,
    to: FROM + 2 * DAY_MS,
    fullSweepEveryMs: 6 * HOUR,
    ...overrides,
  };
}

describe('replay', () => {
  it('fires every alert on the first bar whose mark crosses the level under the set in force, never later', async () => {
    const { ports, thresholds } = setup();
    const req = request();
    const result = await replay(ports, req);

    const expected = expectedTransitions(
      book,
      req.series[0]?.candles.map((c) => ({ close: c.close, closeTime: c.time + HOUR })) ?? [],
      result.thresholdSets.map((s) => ({
        effectiveAt: s.effectiveAt,
        set: thresholds.sets.get(s.setId),
        trigger: s.trigger,
      })),
      { from: FROM, to: FROM + 2 * DAY_MS, opening: 30_000 },
    );
    const fired = result.alerts.map((a) => ({
      accountId: a.accountId,
      newState: a.newState,
      at: a.occurredAt,
    }));
    expect(expected.length).toBeGreaterThan(20);
    expect(expected.some((e) => e.newState === 'MARGIN_CALL' && e.at > new Date(FROM).toISOString())).toBe(
      true,
    );
    expect(expected.some((e) => e.accountId.startsWith('short-') && e.newState === 'OK')).toBe(true);
    expect([...fired].sort(byTimeThenAccount)).toEqual([...expected].sort(byTimeThenAccount));
    // Between full sweeps the index did the work: most bars were targeted sweeps.
    expect(result.stats.bars).toBe(48);
    expect(result.stats.targetedSweeps).toBeGreaterThan(result.stats.fullSweeps);
    expect(result.errors).toEqual([]);
  });

  it('recalibrates each UTC midnight on the days closed by then, never on a bar still to come', async () => {
    const { ports } = setup();
    const result = await replay(ports, request());
    const scheduled = result.thresholdSets.filter((s) => s.trigger === 'scheduled');
    expect(scheduled.map((s) => s.effectiveAt)).toEqual([
      '2024-03-12T00:00:00.000Z',
      '2024-03-13T00:00:00.000Z',
      '2024-03-14T00:00:00.000Z',
    ]);
    const [first, second] = scheduled.map((s) => s.thresholds[0]);
    expect(first?.inputs.lastCandle).toBe('2024-03-11');
    expect(first?.referencePrice).toBeCloseTo(30_000, 6);
    // The crash day, aggregated from its hourly bars, enters the model at the next midnight.
    expect(second?.inputs.lastCandle).toBe('2024-03-12');
    expect(second?.referencePrice).toBe(20_000);
  });

  it('raises margins by shock recalibration on the crash day between midnights, and can be turned off', async () => {
    const { ports } = setup();
    const result = await replay(ports, request());
    const shocks = result.thresholdSets.filter((s) => s.trigger === 'shock');
    expect(shocks.length).toBeGreaterThan(0);
    const crashDay = (at: string) => at > '2024-03-12T00:00:00.000Z' && at < '2024-03-13T00:00:00.000Z';
    expect(shocks.some((s) => crashDay(s.effectiveAt))).toBe(true);
    // Never at a midnight: those are the scheduled runs.
    expect(shocks.every((s) => !s.effectiveAt.endsWith('T00:00:00.000Z'))).toBe(true);
    // Each shock set raises the initial margin of the set in force before it, and records its trigger.
    for (const shock of shocks) {
      const index = result.thresholdSets.indexOf(shock);
      const before = result.thresholdSets[index - 1]?.thresholds[0];
      const after = shock.thresholds[0];
      expect(after?.shock?.trigger).toBe('shock');
      expect(after?.initialMarginRate).toBeGreaterThan(before?.initialMarginRate ?? Number.POSITIVE_INFINITY);
    }
    const { ports: quiet } = setup();
    const off = await replay(quiet, request({ shockRecalibration: false }));
    expect(off.thresholdSets.every((s) => s.trigger === 'scheduled')).toBe(true);
  });

  it('leaves a bar closing at midnight to the scheduled run: no shock set at that instant, no flap', async () => {
    // Prepare: no floor binds on the generated warm-up, so three shock runs use up the crash day's allowance
    // by 14:00 and the crash day's last bar closes at 2024-03-13T00:00, a new UTC day, 14% below the last
    // shock set's reference price.
    const floorless = parseThresholdPolicy({
      stress: { coveredShare: 0 },
      antiProcyclicality: { longLookbackFloor: { share: 0.5 }, stressedPeriodFloor: null },
    });
    const { ports } = setup();

    // Act
    const result = await replay(ports, request({ instruments: [{ instrument: 'BTC', policy: floorless }] }));

    // Assess: the shock runs of the crash day happened, none at the midnight, and each account moved at most
    // once at it
    const shocks = result.thresholdSets.filter((s) => s.trigger === 'shock').map((s) => s.effectiveAt);
    expect(shocks.filter((at) => at.startsWith('2024-03-12')).length).toBe(3);
    expect(shocks.filter((at) => at.endsWith('T00:00:00.000Z'))).toEqual([]);
    const atMidnight = result.alerts.filter((a) => a.occurredAt === '2024-03-13T00:00:00.000Z');
    expect(atMidnight.length).toBeGreaterThan(0);
    const accounts = atMidnight.map((a) => a.accountId);
    expect(new Set(accounts).size).toBe(accounts.length);
  });

  it('values a bar that triggers a shock once, under the shock set: no account flaps on it', async () => {
    // A dense book around every level, longs and shorts: some are on the wrong side of a level under the old
    // set and on the other side under the raised one, so a sweep at the old set then at the shock set would
    // move them twice on one bar (OK→WARNING→OK or the reverse).
    const dense: Account[] = [
      ...Array.from({ length: 120 }, (_, i) => perpetual(`long-${i}`, 1_000 + i * 100, 1)),
      ...Array.from({ length: 120 }, (_, i) => perpetual(`short-${i}`, 100 + i * 50, -1)),
    ];
    const { ports } = setup(dense);
    const result = await replay(ports, request());
    const shockBars = result.thresholdSets.filter((s) => s.trigger === 'shock').map((s) => s.effectiveAt);
    expect(shockBars.length).toBeGreaterThan(0);
    const onShockBars = result.alerts.filter((a) => shockBars.includes(a.occurredAt));
    expect(onShockBars.length).toBeGreaterThan(0);
    const perAccountAndBar = new Map<string, string[]>();
    for (const alert of onShockBars) {
      const key = `${alert.accountId}@${alert.occurredAt}`;
      perAccountAndBar.set(key, [...(perAccountAndBar.get(key) ?? []), alert.newState]);
    }
    const flapped = [...perAccountAndBar].filter(([, states]) => states.length > 1);
    expect(flapped).toEqual([]);
  });

  it('holds every account where it is when the venues give no quorum, and reports each held bar', async () => {
    const { ports } = setup();
    // One venue per bar, quorum 2: every bar mark is held.
    const result = await replay(ports, request({ venues: 1 }));
    const held = result.errors.filter((e) => e.kind === 'mark-held');
    expect(held).toHaveLength(48);
    expect(held[0]?.reason).toMatch(/no quorum/);
    // Only the opening sweep (at the last warm-up close) sets states; no held bar moves one.
    expect(result.alerts.length).toBeGreaterThan(0);
    expect(result.alerts.every((a) => a.occurredAt === new Date(FROM).toISOString())).toBe(true);
  });

  it('reports a bad account by id and reason and replays the others', async () => {
    const bad = { ...perpetual('bad-1', 1_000, 1), collateral: [{ asset: 'USD', amount: 'lots' }] };
    const { ports } = setup([bad as Account, ...book]);
    const result = await replay(ports, request());
    const rejected = result.errors.filter((e) => e.kind === 'account-rejected');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.key).toBe('bad-1');
    expect(result.alerts.some((a) => a.accountId === 'long-0')).toBe(true);
  });
});

describe('ohlcPath', () => {
  it('walks O→H→L→C when the high is nearer the open, with the extremes on hourly closes', () => {
    const path = ohlcPath('BTC', { day: FROM, open: 100, high: 101, low: 60, close: 65 });
    expect(path.source).toMatch(/O→H→L→C/);
    const closes = path.candles.map((c) => c.close);
    expect(path.candles).toHaveLength(24);
    expect(closes).toContain(101);
    expect(closes).toContain(60);
    expect(closes.at(-1)).toBe(65);
    expect(path.candles[0]?.open).toBe(100);
    expect(closes.indexOf(101)).toBeLessThan(closes.indexOf(60));
  });

  it('walks O→L→H→C when the low is nearer the open', () => {
    const path = ohlcPath('ETH', { day: FROM, open: 100, high: 150, low: 98, close: 140 });
    expect(path.source).toMatch(/O→L→H→C/);
    const closes = path.candles.map((c) => c.close);
    expect(closes.indexOf(98)).toBeLessThan(closes.indexOf(150));
  });
});
