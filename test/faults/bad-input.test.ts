/**
 * Issue 6, "Bad input" — market data. DESIGN §7: bad or missing market data never lowers a margin. Each row
 * feeds one kind of bad series through the recalibrate USE CASE (in-memory ports) the day after a good run,
 * and checks the whole contract: the instrument is held at exactly its previous rate, the reason names the
 * instrument (and the day of the candle at fault), the other instruments are still computed, and the ops
 * summary lists it under `held`.
 *
 * The validator's rules themselves are unit-tested in test/domain/market/validate.test.ts; the holding
 * logic in test/data/domain/threshold/model.test.ts. This file proves the end-to-end path.
 */
import { describe, expect, it } from 'vitest';
import { StaticMarketSource } from '../../lib/adapters/market/static.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { UnknownInstrumentError } from '../../lib/config/instruments.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../lib/domain/threshold/policy.ts';
import type { Threshold } from '../../lib/domain/threshold/threshold.ts';
import {
  FixedClock,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  PreparedMarket,
  RecordingOps,
} from '../app/in-memory-ports.ts';

const TODAY = Date.UTC(2026, 10, 24);
const TOMORROW = TODAY + DAY_MS;
const SEEDS = { BTC: 1, ETH: 2, SOL: 3 } as const;
type Symbol = keyof typeof SEEDS;
const INSTRUMENTS = (Object.keys(SEEDS) as Symbol[]).map((instrument) => ({
  instrument,
  policy: DEFAULT_THRESHOLD_POLICY,
}));

/** 1000 clean synthetic daily candles whose last bar is the day before `endTime`. */
function history(instrument: Symbol, endTime: number): CandleSeries {
  return generateCandles({ instrument, days: 1000, endTime, startPrice: 100, seed: SEEDS[instrument] });
}

/** Candle index (in tomorrow's 1000-candle series) that the corruptions hit: ten days before the last bar. */
const AT = 990;
const tomorrowsEth = history('ETH', TOMORROW);
const dayOf = (index: number) => utcDay((tomorrowsEth.candles[index] as Candle).time);
/** Index of tomorrow's last candle (the day before the run). */
const LAST = tomorrowsEth.candles.length - 1;

function withCandles(series: CandleSeries, edit: (candles: Candle[]) => Candle[]): CandleSeries {
  return { ...series, candles: edit(series.candles.map((c) => ({ ...c }))) };
}

function replaceAt(index: number, change: (c: Candle) => Candle): (candles: Candle[]) => Candle[] {
  return (candles) => candles.map((c, i) => (i === index ? change(c) : c));
}

/** After a good first run today, tomorrow's run with `eth` as ETH's answer (BTC and SOL stay clean). */
async function tomorrowWith(eth: CandleSeries | Error) {
  const clock = new FixedClock(TODAY + 60_000);
  const thresholds = new InMemoryThresholdStore();
  const ledger = new InMemoryRunLedger(clock);
  const first = await recalibrate(
    {
      market: new PreparedMarket({
        BTC: history('BTC', TODAY),
        ETH: history('ETH', TODAY),
        SOL: history('SOL', TODAY),
      }),
      thresholds,
      ledger,
      ops: new RecordingOps(),
      clock,
    },
    { runId: 'run-1', holder: 'test', instruments: INSTRUMENTS },
  );
  if (first.outcome !== 'published') throw new Error('the first run should publish');
  const previous = first.set.thresholds.find((t) => t.instrument === 'ETH') as Threshold;
  expect(previous.status).toBe('computed');

  clock.time = TOMORROW + 60_000;
  const ops = new RecordingOps();
  const result = await recalibrate(
    {
      market: new PreparedMarket({ BTC: history('BTC', TOMORROW), ETH: eth, SOL: history('SOL', TOMORROW) }),
      thresholds,
      ledger,
      ops,
      clock,
    },
    { runId: 'run-2', holder: 'test', instruments: INSTRUMENTS },
  );
  if (result.outcome !== 'published') throw new Error('the second run should publish');
  const byInstrument = new Map(result.set.thresholds.map((t) => [t.instrument, t]));
  return { previous, result, byInstrument, ops, current: await thresholds.currentSet() };
}

interface Row {
  readonly name: string;
  readonly eth: () => CandleSeries | Error;
  /** What the held reason must say (besides the instrument). */
  readonly reason: RegExp;
  /** The UTC day of the candle at fault, where one candle is at fault. */
  readonly day?: string;
}

const ROWS: Row[] = [
  {
    name: 'a NaN close',
    eth: () =>
      withCandles(
        tomorrowsEth,
        replaceAt(AT, (c) => ({ ...c, close: Number.NaN })),
      ),
    reason: /close is NaN/,
    day: dayOf(AT),
  },
  {
    name: 'a zero price',
    eth: () =>
      withCandles(
        tomorrowsEth,
        replaceAt(AT, (c) => ({ ...c, close: 0, low: 0 })),
      ),
    reason: /close is 0, prices must be positive/,
    day: dayOf(AT),
  },
  {
    name: 'a negative price',
    eth: () =>
      withCandles(
        tomorrowsEth,
        replaceAt(AT, (c) => ({ ...c, low: -5 })),
      ),
    reason: /low is -5, prices must be positive/,
    day: dayOf(AT),
  },
  {
    name: 'an infinite value',
    eth: () =>
      withCandles(
        tomorrowsEth,
        replaceAt(AT, (c) => ({ ...c, high: Number.POSITIVE_INFINITY })),
      ),
    reason: /high is Infinity/,
    day: dayOf(AT),
  },
  {
    name: 'out-of-order candles',
    eth: () =>
      withCandles(tomorrowsEth, (candles) => {
        const [a, b] = [candles[AT] as Candle, candles[AT + 1] as Candle];
        candles[AT] = b;
        candles[AT + 1] = a;
        return candles;
      }),
    reason: /comes after .*candles must be oldest first/,
    day: dayOf(AT),
  },
  {
    name: 'a duplicated candle',
    eth: () => withCandles(tomorrowsEth, (candles) => [...candles.slice(0, AT + 1), ...candles.slice(AT)]),
    reason: /have the same time/,
    day: dayOf(AT),
  },
  {
    name: 'a gap of three days',
    eth: () => withCandles(tomorrowsEth, (candles) => [...candles.slice(0, AT), ...candles.slice(AT + 3)]),
    reason: new RegExp(`3 missing bars after ${dayOf(AT - 1)}`),
    day: dayOf(AT + 3),
  },
  {
    name: 'a stale series (last candle a week old)',
    eth: () => history('ETH', TOMORROW - 7 * DAY_MS),
    reason: /last candle is 7 closed bars behind 2026-11-25 \(allowed: 2\)/,
    day: utcDay(TOMORROW - 8 * DAY_MS),
  },
  {
    name: 'a 10× one-candle spike that reverts',
    eth: () =>
      withCandles(
        tomorrowsEth,
        replaceAt(AT, (c) => ({ ...c, close: c.close * 10, high: Math.max(c.high, c.close * 10) })),
      ),
    reason: /one-bar spike: \+9\d\d\.\d% from the previous close .*, then -90\.0% on the next bar \(held\)/,
    day: dayOf(AT),
  },
  {
    name: 'a 10× LAST candle from a single source (an unconfirmed jump)',
    eth: () =>
      withCandles(
        tomorrowsEth,
        replaceAt(LAST, (c) => ({ ...c, close: c.close * 10, high: Math.max(c.high, c.close * 10) })),
      ),
    reason:
      /unconfirmed jump: \+9\d\d\.\d% \([\d.]+σ, allowed 25σ\) from the previous close .*, the last bar, and no second venue confirms it \(held\)/,
    day: dayOf(LAST),
  },
  {
    name: 'thirty identical closes with zero range (a frozen feed)',
    eth: () =>
      withCandles(tomorrowsEth, (candles) => {
        const stuck = (candles[LAST - 29] as Candle).close;
        return candles.map((c, i) =>
          i < LAST - 29 ? c : { ...c, open: stuck, high: stuck, low: stuck, close: stuck },
        );
      }),
    reason: new RegExp(
      `repeated on 30 bars in a row, to ${dayOf(LAST)}: a frozen feed, not a market \\(allowed: 3\\)`,
    ),
    day: dayOf(LAST - 29),
  },
  {
    name: 'dates written with a +14:00 offset (10:00 UTC the day before)',
    eth: () =>
      withCandles(tomorrowsEth, (candles) => candles.map((c) => ({ ...c, time: c.time - 14 * 3_600_000 }))),
    reason: /misdated series: 1000 daily bars open off 00:00 UTC .*UTC calendar days/,
  },
  {
    name: 'an empty series',
    eth: () => ({ ...tomorrowsEth, candles: [] }),
    reason: /ETH: no candles/,
  },
  {
    name: 'an unknown symbol (the market throws UnknownInstrumentError)',
    eth: () => new UnknownInstrumentError('ETH', ['BTC', 'SOL']),
    reason: /market data unavailable: UnknownInstrumentError: unknown instrument "ETH"/,
  },
];

describe('bad market data through the recalibrate use case: held, never lowered', () => {
  it('the clean control: tomorrow’s clean ETH series is computed, not held', async () => {
    const { byInstrument, ops } = await tomorrowWith(tomorrowsEth);
    expect(byInstrument.get('ETH')?.status).toBe('computed');
    expect(ops.events[0]).toMatchObject({ type: 'recalibration.completed', held: [] });
  });

  it.each(ROWS)('$name → ETH held at its previous rate, reason named, others computed', async (row) => {
    // Act
    const { previous, result, byInstrument, ops, current } = await tomorrowWith(row.eth());

    // Assess: ETH keeps exactly the previous threshold's rates, marked held.
    const eth = byInstrument.get('ETH') as Threshold;
    expect(eth.status).toBe('held');
    expect(eth.activeBound).toBe('held');
    expect(eth.initialMarginRate).toBe(previous.initialMarginRate);
    expect(eth.maintenanceMarginRate).toBe(previous.maintenanceMarginRate);
    expect(eth.brackets).toEqual(previous.brackets);
    expect(eth.change).toMatchObject({ previousInitialMarginRate: previous.initialMarginRate, absolute: 0 });
    // The reason names the instrument, the fault and (for a candle at fault) its day.
    expect(eth.heldReason).toMatch(/^ETH[ :]/);
    expect(eth.heldReason).toMatch(row.reason);
    if (row.day) expect(eth.heldReason).toContain(`ETH ${row.day}`);
    // The others are computed on their own clean data, and the set is the CURRENT one.
    expect(byInstrument.get('BTC')?.status).toBe('computed');
    expect(byInstrument.get('SOL')?.status).toBe('computed');
    expect(current?.setId).toBe('run-2');
    // Ops hears about it: listed under held, with the same reason; the change is from == to.
    expect(result.held).toEqual([{ instrument: 'ETH', reason: eth.heldReason }]);
    expect(ops.events).toHaveLength(1);
    expect(ops.events[0]).toMatchObject({
      type: 'recalibration.completed',
      instruments: 3,
      held: [{ instrument: 'ETH', reason: eth.heldReason }],
    });
    const event = ops.events[0];
    if (event?.type !== 'recalibration.completed') throw new Error('expected the run summary');
    expect(event.changes.find((c) => c.instrument === 'ETH')).toEqual({
      instrument: 'ETH',
      from: previous.initialMarginRate,
      to: previous.initialMarginRate,
    });
  });

  it('two bad days in a row still hold the last computed rate (no drift), and a good day resumes', async () => {
    // Prepare: day 2 is bad (NaN close) → held.
    const bad = withCandles(
      tomorrowsEth,
      replaceAt(AT, (c) => ({ ...c, close: Number.NaN })),
    );
    const { previous, byInstrument } = await tomorrowWith(bad);
    const held = byInstrument.get('ETH') as Threshold;
    // Day 3 also bad (empty): holdThreshold on a held previous keeps the same rate.
    const clock = new FixedClock(TOMORROW + DAY_MS + 60_000);
    const thresholds = new InMemoryThresholdStore();
    thresholds.sets.set('run-2', { setId: 'run-2', runId: 'run-2', createdAt: 'x', thresholds: [held] });
    thresholds.current = 'run-2';
    const ethOnly = [{ instrument: 'ETH', policy: DEFAULT_THRESHOLD_POLICY }];
    const ports = (eth: CandleSeries) => ({
      market: new PreparedMarket({ ETH: eth }),
      thresholds,
      ledger: new InMemoryRunLedger(clock),
      ops: new RecordingOps(),
      clock,
    });

    // Act
    const day3 = await recalibrate(ports({ ...tomorrowsEth, candles: [] }), {
      runId: 'run-3',
      holder: 't',
      instruments: ethOnly,
    });
    clock.time += DAY_MS;
    const day4 = await recalibrate(ports(history('ETH', TOMORROW + 2 * DAY_MS)), {
      runId: 'run-4',
      holder: 't',
      instruments: ethOnly,
    });

    // Assess
    if (day3.outcome !== 'published' || day4.outcome !== 'published') throw new Error('expected sets');
    expect(day3.set.thresholds[0]?.status).toBe('held');
    expect(day3.set.thresholds[0]?.initialMarginRate).toBe(previous.initialMarginRate);
    const resumed = day4.set.thresholds[0] as Threshold;
    expect(resumed.status).toBe('computed');
    // Step limits apply against the held (= last computed) rate: at most −5% in one run.
    expect(resumed.initialMarginRate).toBeGreaterThanOrEqual(previous.initialMarginRate * 0.95 - 1e-15);
  });

  it('a 10× LAST candle is held and its price never becomes the mark (issue 11 item 6)', async () => {
    // Once accepted: the reference price (every account's mark) became ten times the market.
    const spiked = withCandles(
      tomorrowsEth,
      replaceAt(LAST, (c) => ({ ...c, close: c.close * 10, high: Math.max(c.high, c.close * 10) })),
    );
    const { previous, byInstrument } = await tomorrowWith(spiked);
    const eth = byInstrument.get('ETH') as Threshold;
    expect(eth.status).toBe('held');
    expect(eth.referencePrice).toBe(previous.referencePrice);
  });

  it('a price file dated five days into the future → held, naming the candles after the run’s clock (issue 11 item 8)', async () => {
    // Files go to the use case whole (StaticMarketSource), so the candles after the clock reach the validator.
    const shifted = withCandles(tomorrowsEth, (candles) =>
      candles.map((c) => ({ ...c, time: c.time + 5 * DAY_MS })),
    );
    const clock = new FixedClock(TOMORROW + 60_000);
    const result = await recalibrate(
      {
        market: new StaticMarketSource([shifted]),
        thresholds: new InMemoryThresholdStore(),
        ledger: new InMemoryRunLedger(clock),
        ops: new RecordingOps(),
        clock,
      },
      {
        runId: 'run-1',
        holder: 'test',
        instruments: [{ instrument: 'ETH', policy: DEFAULT_THRESHOLD_POLICY }],
      },
    );
    if (result.outcome !== 'published') throw new Error('the run should publish');
    const eth = result.set.thresholds[0] as Threshold;
    expect(eth.status).toBe('held');
    expect(eth.heldReason).toContain(
      "ETH 2026-11-26: candle dated after the run's clock 2026-11-25 (4 candles, to 2026-11-29): misdated series",
    );
    expect(eth.referencePrice).toBe((tomorrowsEth.candles[LAST - 5] as Candle).close);
  });

  // Regression: the use case once trusted `series.instrument`, so a source answering ETH with BTC data
  // published BTC twice and no ETH.
  it('a series labelled with ANOTHER instrument → held under the requested name, never published as the other', async () => {
    const mislabelled = { ...history('BTC', TOMORROW) };
    const { previous, result, byInstrument } = await tomorrowWith(mislabelled);
    expect(result.set.thresholds.map((t) => t.instrument)).toEqual(['BTC', 'ETH', 'SOL']);
    const eth = byInstrument.get('ETH') as Threshold;
    expect(eth.status).toBe('held');
    expect(eth.initialMarginRate).toBe(previous.initialMarginRate);
    expect(eth.heldReason).toMatch(/^ETH: .*BTC/);
  });

  // Regression: nothing once checked `series.intervalMs`, so hourly bars passed as daily and lowered the margin.
  it('hourly bars served for ETH → aggregated to UTC days, never read as daily (which lowers the margin)', async () => {
    const HOUR = 3_600_000;
    const calm = generateCandles({
      instrument: 'ETH',
      days: 1000,
      endTime: TOMORROW,
      startPrice: 100,
      seed: SEEDS.ETH,
      annualVolatility: 0.6 / Math.sqrt(24),
    });
    const hourly: CandleSeries = {
      ...calm,
      intervalMs: HOUR,
      candles: calm.candles.map((c, i) => ({ ...c, time: TOMORROW - (calm.candles.length - i) * HOUR })),
    };
    const { previous, byInstrument } = await tomorrowWith(hourly);
    const eth = byInstrument.get('ETH') as Threshold;
    expect(eth.initialMarginRate).toBeGreaterThanOrEqual(previous.initialMarginRate);
    // 1,000 hours are 41 whole UTC days: too short a history for the model, so held, not 1,000 "days".
    expect(eth.status).toBe('held');
    expect(eth.heldReason).toMatch(/^ETH: 40 returns, the model needs at least/);
  });

  it('a NEW instrument with unusable data and no previous threshold is held at the policy cap, unpriced', async () => {
    const clock = new FixedClock(TODAY + 60_000);
    const result = await recalibrate(
      {
        market: new PreparedMarket({ DOGE: new UnknownInstrumentError('DOGE', ['BTC', 'ETH', 'SOL']) }),
        thresholds: new InMemoryThresholdStore(),
        ledger: new InMemoryRunLedger(clock),
        ops: new RecordingOps(),
        clock,
      },
      {
        runId: 'run-1',
        holder: 't',
        instruments: [{ instrument: 'DOGE', policy: DEFAULT_THRESHOLD_POLICY }],
      },
    );
    if (result.outcome !== 'published') throw new Error('expected a set');
    const doge = result.set.thresholds[0] as Threshold;
    expect(doge).toMatchObject({
      instrument: 'DOGE',
      status: 'held',
      initialMarginRate: DEFAULT_THRESHOLD_POLICY.bounds.maxInitialMarginRate,
    });
    // No price: the sweep leaves it out of the snapshot, so accounts holding it are reported, not valued.
    expect(doge).not.toHaveProperty('referencePrice');
    expect(doge.heldReason).toMatch(
      /^DOGE: market data unavailable: .*no previous threshold: held at the policy cap/,
    );
  });
});

/**
 * Issue 6, "Bad input" — configuration. Every invalid field gives an error naming it. Rows already proven
 * elsewhere are not repeated:
 *  - test/config/runtime.test.ts: policy confidence, defaultPolicy, instrument keys, unknown/unlisted
 *    instruments, no instruments, unknown fields, unknown venue, catalogue entries, quorum, non-integer page
 *    size, levels out of order, and every environment variable (ARNs, queue URL, table names, QMT_CONFIG).
 *  - test/domain/threshold/policy.test.ts: confidence, MPOR, lookback, EWMA λ, brackets, levels, APC, σ
 *    weights, bounds, step-down limit, open-interest caps, stress scenarios, a data-quality rule, misspelt keys.
 * The rows below are the fields those tables do not cover.
 */
describe('bad configuration: every invalid field is named', () => {
  const ENV = {
    QMT_ALERTS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:qmt-alerts',
    QMT_OPS_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:qmt-ops',
    QMT_SWEEP_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/qmt-sweep',
  };
  const runtime = (document: Record<string, unknown>) => ({
    ...ENV,
    QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} }, ...document }),
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['a consensus tolerance of 0', { consensus: { tolerance: 0 } }, 'consensus.tolerance'],
    ['a consensus tolerance above 50%', { consensus: { tolerance: 0.6 } }, 'consensus.tolerance'],
    ['a quorum of 0', { consensus: { quorum: 0 } }, 'consensus.quorum'],
    ['zero accounts per segment', { sweep: { accountsPerSegment: 0 } }, 'sweep.accountsPerSegment'],
    ['more segments than DynamoDB allows', { sweep: { maxSegments: 1_000_001 } }, 'sweep.maxSegments'],
    ['a page size above 10000', { sweep: { pageSize: 10_001 } }, 'sweep.pageSize'],
    ['a page size given as a string', { sweep: { pageSize: '500' } }, 'sweep.pageSize'],
    ['a warning level not above 1', { levels: { warning: 1 } }, 'levels.warning'],
    ['a negative liquidation level', { levels: { liquidation: -0.5 } }, 'levels.liquidation'],
    ['a hysteresis above 0.5', { levels: { hysteresis: 0.6 } }, 'levels.hysteresis'],
    ['an empty venue list', { venues: [] }, 'venues'],
    ['a venue listed twice', { venues: ['binance', 'binance'] }, 'venues'],
    [
      'a policy override of the wrong type',
      { instruments: { BTC: { policy: { lookbackDays: 'ten years' } } } },
      'instruments.BTC.policy.lookbackDays',
    ],
    ['a misspelt default-policy key', { defaultPolicy: { confidnce: 0.99 } }, 'defaultPolicy.confidnce'],
  ])('runtime config: %s → %s', (_what, document, path) => {
    let error: unknown;
    try {
      loadRuntimeConfig(runtime(document), { require: ['instruments'] });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
    expect((error as ConfigError).message).toContain(path);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['an empty policy version', { version: '' }, 'policy.version'],
    ['a maintenance fraction above 1', { maintenanceFraction: 1.5 }, 'policy.maintenanceFraction'],
    ['a maintenance fraction of 0', { maintenanceFraction: 0 }, 'policy.maintenanceFraction'],
    ['a filter λ of 0', { volatility: { filterLambda: 0 } }, 'policy.volatility.filterLambda'],
    ['a seed window of 2 days', { volatility: { seedDays: 2 } }, 'policy.volatility.seedDays'],
    [
      'a GARCH window under 250 days',
      { volatility: { garchWindowDays: 100 } },
      'policy.volatility.garchWindowDays',
    ],
    [
      'a range window over a year',
      { volatility: { rangeWindowDays: 400 } },
      'policy.volatility.rangeWindowDays',
    ],
    [
      'an unknown combination method',
      { volatility: { combination: { method: 'median' } } },
      'policy.volatility.combination.method',
    ],
    [
      'an unknown risk measure method',
      { riskMeasure: { method: 'monte-carlo' } },
      'policy.riskMeasure.method',
    ],
    [
      'Student-t with ν ≤ 2 (infinite variance)',
      { riskMeasure: { method: 'student-t', degreesOfFreedom: 2 } },
      'policy.riskMeasure.degreesOfFreedom',
    ],
    ['a stress covered share above 1', { stress: { coveredShare: 1.5 } }, 'policy.stress.coveredShare'],
    ['a negative step-up limit', { stepLimits: { maxIncrease: -0.1 } }, 'policy.stepLimits.maxIncrease'],
    ['a cap above 100%', { bounds: { maxInitialMarginRate: 1.5 } }, 'policy.bounds.maxInitialMarginRate'],
    [
      'a long-lookback floor of 0 years',
      { antiProcyclicality: { longLookbackFloor: { years: 0 } } },
      'policy.antiProcyclicality.longLookbackFloor.years',
    ],
    ['no brackets', { brackets: [] }, 'policy.brackets'],
    [
      'a participation rate of 0',
      { liquidity: { participationRate: 0 } },
      'policy.liquidity.participationRate',
    ],
    [
      'an ADV window of 1 day',
      { liquidity: { averageDailyVolumeDays: 1 } },
      'policy.liquidity.averageDailyVolumeDays',
    ],
    [
      'a negative staleness allowance',
      { dataQuality: { maxStalenessBars: -1 } },
      'policy.dataQuality.maxStalenessBars',
    ],
    ['a spike threshold of 0', { dataQuality: { spikeLogMove: 0 } }, 'policy.dataQuality.spikeLogMove'],
    ['an unknown gap action', { dataQuality: { gapAction: 'ignore' } }, 'policy.dataQuality.gapAction'],
    [
      'a spike reversion share above 1',
      { dataQuality: { spikeReversionShare: 1.5 } },
      'policy.dataQuality.spikeReversionShare',
    ],
  ])('threshold policy: %s → %s', (_what, input, path) => {
    let error: unknown;
    try {
      parseThresholdPolicy(input);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).path).toBe(path);
    expect((error as PolicyError).message).toContain(path);
  });
});
