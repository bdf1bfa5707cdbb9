import { describe, expect, it } from 'vitest';
import { type Candle, type CandleSeries, DAY_MS } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';

/**
 * Issue 11, items 6–8: bad market data must never move a margin or an account's mark. Synthetic series
 * only (repo-only); the same verdicts on the real files are in test/data/domain/threshold.
 */
const policy = DEFAULT_THRESHOLD_POLICY;
/** The run's clock: midnight 2023-08-01, as the scheduled job takes it. */
const RUN = Date.UTC(2023, 7, 1);

/** 900 generated BTC days to 2023-07-31 (from 2021-02-12: the COVID crash is not in it). */
const base: CandleSeries = generateCandles({
  instrument: 'BTC',
  days: 900,
  endTime: RUN,
  startPrice: 30_000,
  seed: 11,
  annualVolatility: 0.3,
});
const lastIndex = base.candles.length - 1;
const lastClose = (base.candles[lastIndex] as Candle).close;
const closeBefore = (base.candles[lastIndex - 1] as Candle).close;

function replaceCandles(series: CandleSeries, change: (c: Candle, i: number) => Candle): CandleSeries {
  return { ...series, candles: series.candles.map(change) };
}

/** The bar at `index` printed at `factor` × the previous close (high/low follow, so the bar stays valid). */
function printAt(series: CandleSeries, index: number, factor: number): CandleSeries {
  return replaceCandles(series, (c, i) => {
    if (i !== index) return c;
    const close = (series.candles[i - 1] as Candle).close * factor;
    return { ...c, close, high: Math.max(c.high, close), low: Math.min(c.low, close) };
  });
}

/** Yesterday's run: the threshold in force before today's candle. */
const previous = recalibrate(policy, { ...base, candles: base.candles.slice(0, -1) }, undefined, {
  asOf: RUN - DAY_MS,
});

describe('unconfirmed jumps (issue 11 item 6)', () => {
  it('holds a ×10 last bar from a single source: the previous threshold and its reference price stay', () => {
    // Prepare
    const jumped = printAt(base, lastIndex, 10);

    // Act
    const threshold = recalibrate(policy, jumped, previous, { asOf: RUN });

    // Assess
    expect(previous.status).toBe('computed');
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toMatch(
      /^BTC 2023-07-31: close [\d.]+ is an unconfirmed jump: \+900\.0% \([\d.]+σ, allowed 25σ\) from the previous close [\d.]+, the last bar, and no second venue confirms it \(held\)$/,
    );
    expect(threshold.initialMarginRate).toBe(previous.initialMarginRate);
    expect(threshold.referencePrice).toBe(previous.referencePrice);
    expect(threshold.referencePrice).toBe(closeBefore);
  });

  it('with no previous threshold, holds at the cap priced at the close before the jump, never at the print', () => {
    // Prepare
    const jumped = printAt(base, lastIndex, 0.1);

    // Act
    const threshold = recalibrate(policy, jumped, undefined, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toContain('unconfirmed jump: -90.0%');
    expect(threshold.initialMarginRate).toBe(policy.bounds.maxInitialMarginRate);
    expect(threshold.referencePrice).toBe(closeBefore);
  });

  it('holds a 2.5× bar inside the series that the next bar takes back (below the 3× spike rule)', () => {
    // Prepare
    const jumped = printAt(base, 600, 2.5);

    // Act
    const threshold = recalibrate(policy, jumped, previous, { asOf: RUN });

    // Assess
    const day = new Date((base.candles[600] as Candle).time).toISOString().slice(0, 10);
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toContain(`BTC ${day}: close`);
    expect(threshold.heldReason).toContain('is an unconfirmed jump: +150.0%');
    expect(threshold.referencePrice).toBe(previous.referencePrice);
  });

  it('accepts a big last bar that a second venue confirms, and marks at it', () => {
    // Prepare: a ×3 close that two venues printed alike (a consensus series says so).
    const confirmed: CandleSeries = { ...printAt(base, lastIndex, 3), confirmingVenues: 2 };

    // Act
    const threshold = recalibrate(policy, confirmed, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('computed');
    expect(threshold.referencePrice).toBe(closeBefore * 3);
    expect(threshold.initialMarginRate).toBeGreaterThan(previous.initialMarginRate);
  });

  it('accepts a big move that the next bar keeps: a crash that stays down is the market', () => {
    // Prepare: −60% on one day, and the series goes on from there.
    const crashed = replaceCandles(base, (c, i) =>
      i < 800 ? c : { ...c, open: c.open * 0.4, high: c.high * 0.4, low: c.low * 0.4, close: c.close * 0.4 },
    );

    // Act
    const threshold = recalibrate(policy, crashed, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('computed');
    expect(threshold.referencePrice).toBeCloseTo(lastClose * 0.4, 6);
  });
});

describe('frozen feeds (issue 11 item 7)', () => {
  it('holds thirty identical closes with zero range, naming the run’s first day and length', () => {
    // Prepare: the feed stopped on 2023-07-02 and kept stamping that day's close.
    const from = lastIndex - 29;
    const stuck = (base.candles[from] as Candle).close;
    const frozen = replaceCandles(base, (c, i) =>
      i < from ? c : { ...c, open: stuck, high: stuck, low: stuck, close: stuck },
    );

    // Act
    const threshold = recalibrate(policy, frozen, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toBe(
      `BTC 2023-07-02: close ${stuck} repeated on 30 bars in a row, to 2023-07-31: a frozen feed, not a market (allowed: 3) (held)`,
    );
    expect(threshold.initialMarginRate).toBe(previous.initialMarginRate);
  });

  it('accepts a close repeated on maxFrozenBars days', () => {
    // Prepare
    const from = lastIndex - 2;
    const stuck = (base.candles[from] as Candle).close;
    const flat = replaceCandles(base, (c, i) =>
      i < from ? c : { ...c, open: stuck, high: stuck, low: stuck, close: stuck },
    );

    // Act
    const threshold = recalibrate(policy, flat, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('computed');
  });
});

describe('misdated series (issue 11 item 8)', () => {
  it('holds a series shifted into the future, naming the first candle after the run’s clock', () => {
    // Prepare: every date five days late.
    const shifted = replaceCandles(base, (c) => ({ ...c, time: c.time + 5 * DAY_MS }));

    // Act
    const threshold = recalibrate(policy, shifted, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toBe(
      "BTC 2023-08-02: candle dated after the run's clock 2023-08-01 (4 candles, to 2023-08-05): misdated series (dates shifted, or a time-zone offset?) (held)",
    );
    expect(threshold.initialMarginRate).toBe(previous.initialMarginRate);
  });

  it('with no previous threshold, never takes a candle from the future as the reference price', () => {
    // Prepare
    const shifted = replaceCandles(base, (c) => ({ ...c, time: c.time + 5 * DAY_MS }));

    // Act
    const threshold = recalibrate(policy, shifted, undefined, { asOf: RUN });

    // Assess: the 2023-07-31 bar (shifted from 07-26) is the last one on or before the clock's day.
    expect(threshold.status).toBe('held');
    expect(threshold.referencePrice).toBe((base.candles[lastIndex - 5] as Candle).close);
  });

  it('holds daily bars dated with a +14:00 offset (10:00 UTC the day before)', () => {
    // Prepare
    const offset = replaceCandles(base, (c) => ({ ...c, time: c.time - 14 * 3_600_000 }));

    // Act
    const threshold = recalibrate(policy, offset, previous, { asOf: RUN });

    // Assess
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toMatch(
      /^BTC 2021-02-11T10:00Z: misdated series: 900 daily bars open off 00:00 UTC \(first at 2021-02-11T10:00Z\); .*UTC calendar days/,
    );
  });

  it('gives a series without 2020-03-12 the stress floor of the recorded COVID move, named in the audit', () => {
    // Prepare: a stress floor covering 25% (the default covers none since issue 14 item 2)
    const covered = parseThresholdPolicy({ stress: { coveredShare: 0.25 } });

    // Act
    const threshold = recalibrate(covered, base, undefined, { asOf: RUN });

    // Assess: BTC's recorded −37.17% (the shared BTC-USD.csv), 25% covered.
    const covid = threshold.components.stressScenarios?.['covid-crash'];
    expect(covid).toEqual({ long: 0.3717, short: 0.1193, source: 'recorded, not in series' });
    expect(threshold.components.stressRate).toBeCloseTo(0.25 * 0.3717, 12);
    expect(threshold.activeBound).toBe('stress-floor');
    expect(threshold.initialMarginRate).toBeCloseTo(0.25 * 0.3717, 12);
  });

  it('names a scenario the series does not cover and that has no recorded move, instead of dropping it', () => {
    // Prepare
    const custom = parseThresholdPolicy({
      stress: { scenarios: [{ name: 'mt-gox', kind: 'historical', from: '2014-02-07', to: '2014-02-25' }] },
    });

    // Act
    const threshold = recalibrate(custom, base, undefined, { asOf: RUN });

    // Assess
    expect(threshold.components.stressScenarios?.['mt-gox']).toEqual({
      long: 0,
      short: 0,
      source: 'not in series, no recorded move',
    });
    expect(threshold.warnings).toContain(
      'BTC: stress scenario mt-gox (2014-02-07 … 2014-02-25) is not in the series and has no recorded move: it does not count',
    );
  });

  it('does not use a recorded move before the scenario happened (no look-ahead in a backtest)', () => {
    // Prepare: a run on 2021-06-01 with 400 days before it; LUNA and FTX are still in the future.
    const cut = Date.UTC(2021, 5, 1);
    const early = generateCandles({ instrument: 'BTC', days: 400, endTime: cut, startPrice: 9_000, seed: 7 });

    // Act
    const threshold = recalibrate(policy, early, undefined, { asOf: cut });

    // Assess
    expect(Object.keys(threshold.components.stressScenarios ?? {})).toEqual([
      'covid-crash',
      'china-mining-ban',
    ]);
  });
});
