import { describe, expect, it } from 'vitest';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { recalibrateOnShock, scheduledRunDue } from '../../lib/app/shock-recalibration.ts';
import { MarketSourceError } from '../../lib/domain/errors.ts';
import { type CandleSeries, DAY_MS, utcDay } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import {
  type HeldMark,
  type InstrumentMark,
  type MarkSnapshot,
  referenceCloseMarks,
} from '../../lib/domain/market/mark.ts';
import {
  DEFAULT_THRESHOLD_POLICY,
  type InstrumentPolicy,
  parseThresholdPolicy,
  type ThresholdPolicy,
} from '../../lib/domain/threshold/policy.ts';
import type { Threshold, ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type { TimeRange } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingOps,
} from './in-memory-ports.ts';

const today = Date.UTC(2026, 10, 24);
const at = (hours: number, day = today) => day + hours * 3_600_000;
const VENUES = ['deribit', 'binance', 'coinbase'];

const history = (instrument: string, seed: number, endTime = today): CandleSeries =>
  generateCandles({ instrument, days: 1000, endTime, startPrice: 100, seed });

const instrumentsUnder = (policy: ThresholdPolicy): InstrumentPolicy[] =>
  ['BTC', 'ETH'].map((instrument) => ({ instrument, policy }));

/** Live consensus marks of three venues at `takenAt`; `held` instruments have no usable mark. */
function snapshot(prices: Record<string, number>, takenAt: number, held: HeldMark[] = []): MarkSnapshot {
  const marks = new Map<string, InstrumentMark>(
    Object.entries(prices).map(([instrument, price]) => [
      instrument,
      { instrument, price, at: takenAt, source: 'live', venues: VENUES },
    ]),
  );
  return { takenAt, marks, held: new Map(held.map((h) => [h.instrument, h])) };
}

/** The daily run at 00:01 today has published CURRENT from candles up to yesterday. */
async function afterDailyRun(policy: ThresholdPolicy = DEFAULT_THRESHOLD_POLICY) {
  const clock = new FixedClock(today + 60_000);
  const ports = {
    market: new PreparedMarket({ BTC: history('BTC', 1), ETH: history('ETH', 2) }),
    thresholds: new InMemoryThresholdStore(),
    ledger: new InMemoryRunLedger(clock),
    ops: new RecordingOps(),
    clock,
  };
  const instruments = instrumentsUnder(policy);
  await recalibrate(ports, { runId: 'daily-2026-11-24', holder: 'daily', instruments });
  ports.ops.events.length = 0;
  const set = (await ports.thresholds.currentSet()) as ThresholdSet;
  const btc = set.thresholds.find((t) => t.instrument === 'BTC') as Threshold;
  const eth = set.thresholds.find((t) => t.instrument === 'ETH') as Threshold;
  return { ports, clock, instruments, set, btc, eth };
}

async function current(store: InMemoryThresholdStore, instrument: string): Promise<Threshold> {
  const set = (await store.currentSet()) as ThresholdSet;
  return set.thresholds.find((t) => t.instrument === instrument) as Threshold;
}

describe('shock recalibration', () => {
  it('raises BTC at once on a 30% crash, carries ETH over unchanged, tells ops and asks for a BTC sweep', async () => {
    // Prepare
    const { ports, clock, instruments, set, btc, eth } = await afterDailyRun();
    expect(btc.status).toBe('computed');
    const mark = (btc.referencePrice as number) * 0.7;
    clock.time = at(14);
    // Act
    const result = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: mark, ETH: eth.referencePrice as number }, at(14)),
      instruments,
      holder: 'watch',
    });
    // Assess
    if (result.outcome !== 'published') throw new Error(`expected published, got ${result.outcome}`);
    expect(result.sweep).toEqual(['BTC']);
    const raised = await current(ports.thresholds, 'BTC');
    expect(raised.initialMarginRate).toBeGreaterThan(btc.initialMarginRate);
    expect(raised.maintenanceMarginRate).toBeGreaterThan(btc.maintenanceMarginRate);
    expect(raised.shock).toEqual({
      trigger: 'shock',
      mark,
      markAt: new Date(at(14)).toISOString(),
      referencePrice: btc.referencePrice,
      move: expect.closeTo(-0.3, 12),
      triggerLogMove: 3 * (btc.components.effectiveVolatility as number),
      day: '2026-11-24',
      runOfDay: 1,
    });
    // The move is today's return so far: the model read a provisional candle for today closing at the mark.
    expect(raised.asOf).toBe('2026-11-24');
    expect(raised.inputs.lastCandle).toBe('2026-11-24');
    expect(raised.inputs.candleCount).toBe(btc.inputs.candleCount + 1);
    expect(raised.referencePrice).toBe(mark);
    expect(await current(ports.thresholds, 'ETH')).toEqual(eth);
    expect(result.set.previousSetId).toBe(set.setId);
    expect(ports.ops.events).toEqual([
      expect.objectContaining({
        type: 'recalibration.shock',
        instrument: 'BTC',
        move: expect.closeTo(-0.3, 12),
        from: btc.initialMarginRate,
        to: raised.initialMarginRate,
        runOfDay: 1,
        maxRunsPerDay: 3,
      }),
    ]);
    expect(ports.ledger.runs.get(result.runId)?.outcome).toBe('succeeded');
    // A sweep without live marks values BTC at the shock mark, timed when it was seen, not at the day's end.
    expect(referenceCloseMarks(result.set, at(15)).marks.get('BTC')).toEqual(
      expect.objectContaining({ price: mark, at: at(14), source: 'reference-close' }),
    );
  });

  it('applies the step-up limit: a 30% crash raises the margin by at most 25% in one shock run', async () => {
    const { ports, clock, instruments, btc } = await afterDailyRun();
    clock.time = at(14);
    const result = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * 0.7 }, at(14)),
      instruments,
      holder: 'watch',
    });
    expect(result.outcome).toBe('published');
    const raised = await current(ports.thresholds, 'BTC');
    // The unbounded rate is far above +25%; the step limit holds it to exactly 1.25 × the previous rate.
    expect(raised.components.unboundedRate).toBeGreaterThan(btc.initialMarginRate * 1.25);
    expect(raised.activeBound).toBe('step-up-limit');
    expect(raised.initialMarginRate).toBeCloseTo(btc.initialMarginRate * 1.25, 12);
  });

  it('computes the raised σ as today’s return entering the EWMA: checked by hand without step limits', async () => {
    // Without step limits the model's own rate shows. The effective σ is EWMA(λ 0.99) only, so today's σ² is
    // 0.99 σ_yesterday² + 0.01 r², r = ln 0.7 = −0.356675. For seed 1: σ_yesterday = 0.0364907 (the daily
    // run's effectiveVolatility), so by hand (python):
    //   >>> import math; r = math.log(0.7); math.sqrt(0.99 * 0.03649065935824834**2 + 0.01 * r**2)
    //   0.05089619528543072
    // a 39% rise in σ from one day's return.
    const policy = parseThresholdPolicy({ stepLimits: { maxIncrease: null } });
    const { ports, clock, instruments, btc } = await afterDailyRun(policy);
    const sigmaBefore = btc.components.effectiveVolatility as number;
    expect(sigmaBefore).toBeCloseTo(0.0364907, 6);
    clock.time = at(14);
    await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * 0.7 }, at(14)),
      instruments,
      holder: 'watch',
    });
    const raised = await current(ports.thresholds, 'BTC');
    const r = Math.log(0.7);
    expect(raised.components.effectiveVolatility).toBeCloseTo(
      Math.sqrt(0.99 * sigmaBefore ** 2 + 0.01 * r ** 2),
      12,
    );
    expect(raised.components.effectiveVolatility).toBeCloseTo(0.0508962, 6);
    // The model rate covers `riskMultiplier` σ of a day's log move: e^{kσ} − 1.
    const k = raised.components.riskMultiplier as number;
    expect(raised.components.modelRate).toBeCloseTo(Math.expm1(k * 0.0508962), 6);
    expect(raised.initialMarginRate).toBeGreaterThan(btc.initialMarginRate * 1.25);
  });

  it('does nothing for a move below the trigger, and takes no lease', async () => {
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    const trigger = 3 * (btc.components.effectiveVolatility as number);
    clock.time = at(14);
    const result = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * Math.exp(-0.9 * trigger) }, at(14)),
      instruments,
      holder: 'watch',
    });
    expect(result.outcome).toBe('quiet');
    expect(result.assessments.find((a) => a.instrument === 'BTC')?.verdict).toBe('below-trigger');
    expect((await ports.thresholds.currentSet())?.setId).toBe(set.setId);
    expect(ports.ops.events).toEqual([]);
    expect([...ports.ledger.runs.keys()]).toEqual(['daily-2026-11-24']);
  });

  it('triggers on a squeeze as on a crash: shorts lose on the way up', async () => {
    const { ports, clock, instruments, btc } = await afterDailyRun();
    clock.time = at(14);
    const result = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * 1.3 }, at(14)),
      instruments,
      holder: 'watch',
    });
    expect(result.outcome).toBe('published');
    expect((await current(ports.thresholds, 'BTC')).initialMarginRate).toBeGreaterThan(btc.initialMarginRate);
  });

  it('keeps the current threshold when the shock model would lower the margin', async () => {
    // Prepare: CURRENT holds BTC at 60% (say, set by hand after an incident); the model gives far less.
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    const high = { ...btc, initialMarginRate: 0.6, maintenanceMarginRate: 0.36 };
    const manual: ThresholdSet = {
      ...set,
      setId: 'manual',
      runId: 'manual',
      previousSetId: set.setId,
      thresholds: set.thresholds.map((t) => (t.instrument === 'BTC' ? high : t)),
    };
    await ports.thresholds.publishSet(manual, set.setId);
    clock.time = at(14);
    // Act
    const result = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * 0.8 }, at(14)),
      instruments,
      holder: 'watch',
    });
    // Assess
    if (result.outcome !== 'kept') throw new Error(`expected kept, got ${result.outcome}`);
    expect(result.kept).toEqual([
      {
        instrument: 'BTC',
        reason: expect.stringMatching(/not above 60\.00%: decreases wait for the daily run/),
      },
    ]);
    expect((await ports.thresholds.currentSet())?.setId).toBe('manual');
    expect(await current(ports.thresholds, 'BTC')).toEqual(high);
    expect(ports.ops.events).toEqual([]);
  });

  it('stops the 4th shock run of a UTC day and runs again the next day', async () => {
    const { ports, clock, instruments, btc } = await afterDailyRun();
    const runs: string[] = [];
    let reference = btc.referencePrice as number;
    // Three 30% falls, each from the last shock's mark (the reference price moves with each shock run).
    for (const hour of [10, 12, 14, 16]) {
      clock.time = at(hour);
      const result = await recalibrateOnShock(ports, {
        snapshot: snapshot({ BTC: reference * 0.7 }, at(hour)),
        instruments,
        holder: 'watch',
      });
      runs.push(result.outcome);
      if (result.outcome === 'published')
        reference = (await current(ports.thresholds, 'BTC')).referencePrice as number;
      if (hour === 16) {
        expect(result.assessments.find((a) => a.instrument === 'BTC')).toEqual(
          expect.objectContaining({
            verdict: 'daily-cap',
            reason: expect.stringMatching(/3 of 3 shock runs on 2026-11-24/),
          }),
        );
      }
    }
    expect(runs).toEqual(['published', 'published', 'published', 'quiet']);
    expect((await current(ports.thresholds, 'BTC')).shock?.runOfDay).toBe(3);

    // A daily run retried at 17:00 publishes thresholds without a shock record: the cap still holds at 18:00.
    clock.time = at(17);
    await recalibrate(ports, { runId: 'daily-retry', holder: 'daily', instruments });
    expect((await current(ports.thresholds, 'BTC')).shock).toBeUndefined();
    clock.time = at(18);
    const afterRetry = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: reference * 0.7 }, at(18)),
      instruments,
      holder: 'watch',
    });
    if (afterRetry.outcome !== 'kept') throw new Error(`expected kept, got ${afterRetry.outcome}`);
    expect(afterRetry.kept).toEqual([
      { instrument: 'BTC', reason: expect.stringMatching(/3 of 3 shock runs on 2026-11-24 are used/) },
    ]);

    // The next UTC day the count starts again (the candles now end with today's full day).
    const tomorrow = today + DAY_MS;
    const market = new PreparedMarket({
      BTC: endingAt(history('BTC', 1), today, reference),
      ETH: history('ETH', 2),
    });
    clock.time = at(1, tomorrow);
    const next = await recalibrateOnShock(
      { ...ports, market },
      { snapshot: snapshot({ BTC: reference * 0.7 }, at(1, tomorrow)), instruments, holder: 'watch' },
    );
    expect(next.outcome).toBe('published');
    expect((await current(ports.thresholds, 'BTC')).shock).toEqual(
      expect.objectContaining({ day: utcDay(tomorrow), runOfDay: 1 }),
    );
  });

  it('ignores a held mark and a reference-close mark however far they are from the reference price', async () => {
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    clock.time = at(14);
    const base = snapshot({}, at(14), [
      { instrument: 'BTC', reason: '1 of 3 venues answered', cause: 'no-quorum' },
    ]);
    const referenceClose: InstrumentMark = {
      instrument: 'ETH',
      price: 1,
      at: at(14),
      source: 'reference-close',
      venues: [],
    };
    const result = await recalibrateOnShock(ports, {
      snapshot: { ...base, marks: new Map([['ETH', referenceClose]]) },
      instruments,
      holder: 'watch',
    });
    expect(result.outcome).toBe('quiet');
    expect(result.assessments.map((a) => [a.instrument, a.verdict])).toEqual([
      ['BTC', 'not-marked'],
      ['ETH', 'not-marked'],
    ]);
    expect((await ports.thresholds.currentSet())?.setId).toBe(set.setId);
    expect(btc.status).toBe('computed');
  });

  it('leaves a crash seen between midnight and the daily run due at 00:05 to that run; runs again once it is late', async () => {
    // Prepare: BTC fell 30% during the 24th; the watch looks again just after midnight, the 24th's set in force.
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    const mark = (btc.referencePrice as number) * 0.7;
    const midnight = today + DAY_MS;
    const market = new PreparedMarket({
      BTC: endingAt(history('BTC', 1), today, mark),
      ETH: history('ETH', 2),
    });
    const look = (t: number) => {
      clock.time = t;
      return recalibrateOnShock(
        { ...ports, market },
        { snapshot: snapshot({ BTC: mark }, t), instruments, holder: 'watch' },
      );
    };
    // Act + Assess: at 00:00 and 00:05 the scheduled run is due; nothing written, not even the lease.
    for (const t of [midnight, midnight + 5 * 60_000]) {
      const left = await look(t);
      if (left.outcome !== 'deferred') throw new Error(`expected deferred, got ${left.outcome}`);
      expect(left.triggered).toEqual(['BTC']);
      expect(left.reason).toMatch(/left to the scheduled run due at 2026-11-25T00:05:00.000Z/);
    }
    expect([...ports.ledger.runs.keys()]).toEqual(['daily-2026-11-24']);
    expect(ports.ledger.leaseHolder).toBeUndefined();
    expect((await ports.thresholds.currentSet())?.setId).toBe(set.setId);
    expect(ports.ops.events).toEqual([]);
    // The daily run is late (or failed): past its time the crash is not left waiting any longer.
    const late = await look(midnight + 6 * 60_000);
    expect(late.outcome).toBe('published');
  });

  it('assesses a crash after midnight against the day’s scheduled set once it is in, and at 0 only the midnight itself', async () => {
    const { ports, clock, instruments, btc } = await afterDailyRun();
    const mark = (btc.referencePrice as number) * 0.7;
    const midnight = today + DAY_MS;
    const market = new PreparedMarket({
      BTC: endingAt(history('BTC', 1), today, mark),
      ETH: history('ETH', 2),
    });
    // A replay's scheduled run is at the midnight itself: the bar one minute later is a shock like any other.
    clock.time = midnight;
    const atMidnight = await recalibrateOnShock(
      { ...ports, market },
      {
        snapshot: snapshot({ BTC: mark }, midnight),
        instruments,
        holder: 'watch',
        scheduledRunDueAfterMs: 0,
      },
    );
    expect(atMidnight.outcome).toBe('deferred');
    const inForce = (await ports.thresholds.currentSet()) as ThresholdSet;
    expect(scheduledRunDue(midnight, inForce, 0)).toBe(midnight);
    expect(scheduledRunDue(midnight + 60_000, inForce, 0)).toBeUndefined();
    // The day's scheduled run publishes at 00:02: its reference price is the 24th's close, the crash mark.
    clock.time = midnight + 2 * 60_000;
    await recalibrate({ ...ports, market }, { runId: 'daily-2026-11-25', holder: 'daily', instruments });
    clock.time = midnight + 3 * 60_000;
    const after = await recalibrateOnShock(
      { ...ports, market },
      { snapshot: snapshot({ BTC: mark * 0.7 }, midnight + 3 * 60_000), instruments, holder: 'watch' },
    );
    // Another 30% from the new reference: a shock again, not left to a run that has already happened.
    expect(after.outcome).toBe('published');
  });

  it('defers while the daily run holds the lease, publishes nothing, and runs on the next snapshot', async () => {
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    clock.time = at(14);
    const daily = await ports.ledger.acquire('daily-2026-11-25', 'daily', 15 * 60_000);
    if (!daily) throw new Error('the daily run should take the lease');
    const mark = (btc.referencePrice as number) * 0.7;
    // Act: the watch sees the crash while the daily run computes.
    const first = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: mark }, at(14)),
      instruments,
      holder: 'watch',
    });
    // Assess
    if (first.outcome !== 'deferred') throw new Error(`expected deferred, got ${first.outcome}`);
    expect(first.triggered).toEqual(['BTC']);
    expect(first.reason).toMatch(/holds the recalibration lease/);
    expect((await ports.thresholds.currentSet())?.setId).toBe(set.setId);
    expect(ports.ops.events).toEqual([]);
    // The daily run finishes; the next minute's snapshot still sees the move and recalibrates.
    await ports.ledger.complete(daily, 'succeeded', {});
    clock.time = at(14) + 60_000;
    const next = await recalibrateOnShock(ports, {
      snapshot: snapshot({ BTC: mark }, at(14) + 60_000),
      instruments,
      holder: 'watch',
    });
    expect(next.outcome).toBe('published');
  });

  it('never publishes on a stale CURRENT: a set flipped while it computed defers it, reported to ops', async () => {
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    clock.time = at(14);
    // Another writer (a daily run whose lease expired, an operator's run) flips CURRENT mid-computation.
    const other: ThresholdSet = { ...set, setId: 'other', runId: 'other', previousSetId: set.setId };
    const racing = new RacingMarket(history('BTC', 1), () => ports.thresholds.publishSet(other, set.setId));
    const request = {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * 0.7 }, at(14)),
      instruments,
      holder: 'watch',
    };
    // Act
    const result = await recalibrateOnShock({ ...ports, market: racing }, request);
    // Assess
    if (result.outcome !== 'deferred') throw new Error(`expected deferred, got ${result.outcome}`);
    expect(result.reason).toMatch(/CURRENT moved/);
    expect((await ports.thresholds.currentSet())?.setId).toBe('other');
    expect(ports.thresholds.sets.has(result.runId)).toBe(false);
    expect(ports.ops.events).toEqual([
      expect.objectContaining({ type: 'recalibration.failed', runId: result.runId }),
    ]);
    expect(ports.ledger.runs.get(result.runId)?.outcome).toBe('failed');
    // Retried (the same snapshot: a failed run may run again), it builds on the new CURRENT.
    const retry = await recalibrateOnShock(ports, request);
    if (retry.outcome !== 'published') throw new Error(`expected published, got ${retry.outcome}`);
    expect(retry.set.previousSetId).toBe('other');
  });

  it('handles a repeated watch minute once', async () => {
    const { ports, clock, instruments, btc } = await afterDailyRun();
    clock.time = at(14);
    const request = {
      snapshot: snapshot({ BTC: (btc.referencePrice as number) * 0.7 }, at(14)),
      instruments,
      holder: 'watch',
    };
    const first = await recalibrateOnShock(ports, request);
    // The repeat sees the new CURRENT, whose reference price is the mark: no move left.
    const again = await recalibrateOnShock(ports, request);
    expect(first.outcome).toBe('published');
    expect(again.outcome).toBe('quiet');
    expect(ports.ops.events.filter((e) => e.type === 'recalibration.shock')).toHaveLength(1);
  });

  it('keeps the threshold when the candle feed fails, and never throws for it', async () => {
    const { ports, clock, instruments, set, btc } = await afterDailyRun();
    clock.time = at(14);
    const down = new PreparedMarket({
      BTC: new MarketSourceError('timed out', 'consensus', 'BTC'),
    });
    const result = await recalibrateOnShock(
      { ...ports, market: down },
      {
        snapshot: snapshot({ BTC: (btc.referencePrice as number) * 0.7 }, at(14)),
        instruments,
        holder: 'watch',
      },
    );
    if (result.outcome !== 'kept') throw new Error(`expected kept, got ${result.outcome}`);
    expect(result.kept[0]?.reason).toMatch(/market data unavailable/);
    expect((await ports.thresholds.currentSet())?.setId).toBe(set.setId);
  });
});

describe('shock policy', () => {
  it('defaults to 3σ, a 10% fallback and 3 runs a day', () => {
    expect(DEFAULT_THRESHOLD_POLICY.shock).toEqual({
      sigmas: 3,
      fallbackMove: Math.log(1.1),
      maxRunsPerDay: 3,
    });
  });

  it.each([
    [{ shock: { sigmas: 0 } }, 'policy.shock.sigmas'],
    [{ shock: { maxRunsPerDay: 1.5 } }, 'policy.shock.maxRunsPerDay'],
    [{ shock: { fallbackMove: -0.1 } }, 'policy.shock.fallbackMove'],
    [{ shock: { trigger: 0.1 } }, 'policy.shock.trigger'],
  ])('refuses %j naming %s', (input, path) => {
    expect(() => parseThresholdPolicy(input)).toThrow(expect.objectContaining({ path }));
  });
});

/** `series` with its candle of `day` closing at `close` (a day that ended where the last shock marked it). */
function endingAt(series: CandleSeries, day: number, close: number): CandleSeries {
  const full = generateCandles({
    instrument: series.instrument,
    days: 1001,
    endTime: day + DAY_MS,
    startPrice: 100,
    seed: 1,
  });
  const candles = full.candles.map((c) =>
    c.time === day ? { ...c, close, low: Math.min(c.low, close), high: Math.max(c.high, c.open, close) } : c,
  );
  return { ...full, candles, confirmingVenues: 3 };
}

/** A candle source that runs `race` (another writer) before answering, once. */
class RacingMarket extends PreparedMarket {
  private raced = false;
  constructor(
    series: CandleSeries,
    private readonly race: () => Promise<void>,
  ) {
    super({ BTC: series });
  }
  override async candles(instrument: string, range: TimeRange): Promise<CandleSeries> {
    if (!this.raced) {
      this.raced = true;
      await this.race();
    }
    return super.candles(instrument, range);
  }
}
