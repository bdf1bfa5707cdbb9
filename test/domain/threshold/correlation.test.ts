import { describe, expect, it } from 'vitest';
import { type CandleSeries, DAY_MS } from '../../../lib/domain/market/candle.ts';
import {
  correlationSettingsFor,
  estimateCorrelations,
  estimatePairCorrelation,
} from '../../../lib/domain/threshold/correlation.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { estimatePairCorrelationAsBefore } from './correlation-reference.ts';
import { seriesFromCloses } from './fixtures.ts';

/** A deterministic pseudo-random walk (LCG), so the test needs no seed library. */
function shocks(n: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: n }, () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648 - 0.5;
  });
}

function walk(returns: readonly number[], instrument: string, firstDay = '2022-01-01'): CandleSeries {
  const closes = [100];
  for (const r of returns) closes.push((closes[closes.length - 1] as number) * Math.exp(r));
  return seriesFromCloses(closes, firstDay, instrument);
}

/** Independent check: Pearson as the textbook one-pass sums (a different computation from the module's). */
function pearsonOnePass(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const a = x[i] as number;
    const b = y[i] as number;
    sx += a;
    sy += b;
    sxx += a * a;
    syy += b * b;
    sxy += a * b;
  }
  return (n * sxy - sx * sy) / Math.sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
}

const common = shocks(400, 7).map((s) => s * 0.04);
const own = shocks(400, 11).map((s) => s * 0.04);
const btcReturns = common;
const ethReturns = common.map((c, i) => 0.8 * c + 0.6 * (own[i] as number));
const btc = walk(btcReturns, 'BTC');
const eth = walk(ethReturns, 'ETH');
const settings = {
  lookbackDays: 365,
  stressWindows: [
    { from: '2022-03-01', to: '2022-03-04' },
    { from: '2022-06-10', to: '2022-06-12' },
  ],
};

describe('estimatePairCorrelation', () => {
  it('is the Pearson correlation of daily log returns over the lookback, checked by an independent formula', () => {
    const pair = estimatePairCorrelation(eth, btc, settings);
    expect([pair.a, pair.b]).toEqual(['BTC', 'ETH']);
    const last = (xs: number[]) => xs.slice(xs.length - 365);
    expect(pair.lookback?.days).toBe(365);
    expect(pair.lookback?.rho).toBeCloseTo(pearsonOnePass(last(btcReturns), last(ethReturns)), 10);
    expect(pair.lookback?.to).toBe('2023-02-05');
    expect(pair.lookback?.rho).toBeGreaterThan(0.7);
  });

  it('estimates the stressed correlation on the stress windows only, and offsets with the lower', () => {
    const pair = estimatePairCorrelation(btc, eth, settings);
    // Day k (day 0 is 2022-01-01) closes after return k − 1: 2022-03-01…04 are days 59…62, June 10…12 160…162.
    const idx = [58, 59, 60, 61, 159, 160, 161];
    expect(pair.stressed?.days).toBe(7);
    expect(pair.stressed?.rho).toBeCloseTo(
      pearsonOnePass(
        idx.map((i) => btcReturns[i] as number),
        idx.map((i) => ethReturns[i] as number),
      ),
      10,
    );
    expect(pair.rho).toBe(Math.min(pair.lookback?.rho as number, pair.stressed?.rho as number));
    expect(pair.refused).toBeUndefined();
  });

  it('uses only the days both instruments have a close: a missing day joins the next return', () => {
    const gappy: CandleSeries = { ...eth, candles: eth.candles.filter((_, i) => i !== 300) };
    const pair = estimatePairCorrelation(btc, gappy, { ...settings, lookbackDays: 1000 });
    expect(pair.lookback?.days).toBe(399);
  });

  it('refuses a pair with too few common days, naming it: no offset', () => {
    const short = walk(ethReturns.slice(0, 40), 'ETH');
    const pair = estimatePairCorrelation(btc, short, settings);
    expect(pair.rho).toBeUndefined();
    expect(pair.refused).toBe('BTC/ETH: 40 common daily returns, fewer than 60');
  });

  it('marks a pair whose stress windows hold too few common days: lookback ρ only, stressed one unused', () => {
    const pair = estimatePairCorrelation(btc, eth, {
      ...settings,
      stressWindows: settings.stressWindows.slice(1),
    });
    // Not refused (the lookback is sound); valuation decides what an unknown stressed ρ is worth.
    expect(pair.refused).toBeUndefined();
    expect(pair.rho).toBe(pair.lookback?.rho);
    expect(pair.stressedThin).toBe('BTC/ETH: 3 common daily returns in the stress windows, fewer than 5');
  });

  it('never produces NaN: a flat series or a NaN close gives no estimate, never a correlation', () => {
    const flat = seriesFromCloses(
      Array.from({ length: 401 }, () => 50),
      '2022-01-01',
      'USDC',
    );
    const pair = estimatePairCorrelation(btc, flat, settings);
    expect(pair.rho).toBeUndefined();
    expect(pair.refused).toMatch(/BTC\/USDC: .*does not move/);
    const poisoned: CandleSeries = {
      ...eth,
      candles: eth.candles.map((c, i) => (i === 390 ? { ...c, close: Number.NaN } : c)),
    };
    const withNaN = estimatePairCorrelation(btc, poisoned, { ...settings, lookbackDays: 1000 });
    expect(Number.isFinite(withNaN.rho)).toBe(true);
    expect(withNaN.lookback?.days).toBe(399);
  });
});

describe('estimateCorrelations', () => {
  it('estimates every pair once; one short series refuses its own pairs only', () => {
    const sol = walk(own.slice(0, 30), 'SOL');
    const pairs = estimateCorrelations([eth, sol, btc], () => settings);
    expect(pairs.map((p) => `${p.a}/${p.b}`)).toEqual(['BTC/ETH', 'BTC/SOL', 'ETH/SOL']);
    expect(pairs[0]?.rho).toBeGreaterThan(0.7);
    expect(pairs[1]?.refused).toMatch(/^BTC\/SOL: 30 common daily returns/);
    expect(pairs[2]?.refused).toMatch(/^ETH\/SOL: /);
  });

  it('takes the shorter lookback and every historical stress window of the two policies', () => {
    const s = correlationSettingsFor(DEFAULT_THRESHOLD_POLICY, {
      ...DEFAULT_THRESHOLD_POLICY,
      lookbackDays: 365,
    });
    expect(s.lookbackDays).toBe(365);
    expect(s.stressWindows).toContainEqual({ from: '2022-11-08', to: '2022-11-09' });
    expect(s.stressWindows.length).toBe(
      DEFAULT_THRESHOLD_POLICY.stress.scenarios.filter((x) => x.kind === 'historical').length,
    );
  });
});

/** Every number as its exact bits (−0 apart from 0), so `toEqual` on the result is a bit-for-bit comparison. */
function exactly(value: unknown): string {
  return JSON.stringify(value, (_, v) => (typeof v === 'number' ? (Object.is(v, -0) ? '-0' : `${v}`) : v));
}

describe('estimateCorrelations at set scale', () => {
  /**
   * A book as messy as the venues make it: different listing days, missing days, two candles in one day,
   * non-positive, NaN and overflowing closes, a flat series, a short one, hourly bars, an interval no day
   * divides, and a name given twice; pairs with their own lookbacks and stress windows.
   */
  function book(): CandleSeries[] {
    const books: CandleSeries[] = [];
    for (let i = 0; i < 14; i++) {
      const days = 150 + ((i * 173) % 700);
      const startDay = new Date(Date.UTC(2021, 6, 1) + ((i * 37) % 300) * DAY_MS).toISOString().slice(0, 10);
      let series = walk(
        shocks(days, 100 + i).map((r) => r * 0.05),
        `I${String(i).padStart(2, '0')}`,
        startDay,
      );
      const candles = series.candles.filter((_, k) => (k * (i + 3)) % 11 !== 0 || i % 4 === 0);
      if (i === 1)
        candles.splice(40, 0, {
          ...(candles[40] as (typeof candles)[0]),
          time: (candles[40]?.time ?? 0) + 3_600_000,
          close: 1,
        });
      if (i === 2) (candles[70] as { close: number }).close = 0;
      if (i === 3) (candles[90] as { close: number }).close = -5;
      if (i === 5) (candles[60] as { close: number }).close = Number.NaN;
      if (i === 6) {
        (candles[20] as { close: number }).close = 1e-300;
        (candles[21] as { close: number }).close = 1e300;
      }
      series = { ...series, candles };
      books.push(series);
    }
    books.push(
      seriesFromCloses(
        Array.from({ length: 300 }, () => 7),
        '2021-09-01',
        'FLAT',
      ),
    );
    books.push(
      walk(
        shocks(30, 5).map((r) => r * 0.03),
        'SHORT',
        '2022-01-10',
      ),
    );
    const hourly = walk(
      shocks(24 * 200, 9).map((r) => r * 0.01),
      'HOURLY',
      '2021-11-01',
    );
    books.push({
      ...hourly,
      intervalMs: 3_600_000,
      candles: hourly.candles.map((c, k) => ({ ...c, time: Date.UTC(2021, 10, 1) + k * 3_600_000 })),
    });
    books.push({ ...walk(shocks(200, 3), 'ODD', '2021-11-01'), intervalMs: 7 * 3_600_000 });
    books.push({ ...(books[4] as CandleSeries), instrument: 'I04' });
    return books;
  }

  const settingsFor = (a: string, b: string) => ({
    lookbackDays: 60 + ((a.charCodeAt(a.length - 1) + b.charCodeAt(b.length - 1)) % 5) * 90,
    stressWindows: [
      { from: '2021-11-08', to: '2021-11-20' },
      ...(a < 'I05' ? [{ from: '2022-02-01', to: '2022-02-28' }] : []),
      ...(b.endsWith('7')
        ? [
            { from: '2022-05-07', to: '2022-05-12' },
            { from: '2021-12-01', to: '2021-12-01' },
          ]
        : []),
    ],
  });

  it('gives every pair bit for bit what the pair-by-pair computation it replaced gave', () => {
    const series = book();
    const fast = estimateCorrelations(series, settingsFor);
    const sorted = [...series].sort((p, q) => (p.instrument < q.instrument ? -1 : 1));
    const before = [];
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const [a, b] = [sorted[i] as CandleSeries, sorted[j] as CandleSeries];
        if (a.instrument !== b.instrument) {
          before.push(estimatePairCorrelationAsBefore(a, b, settingsFor(a.instrument, b.instrument)));
        }
      }
    }
    expect(fast.length).toBe(before.length);
    // The book reaches every branch: estimated, stressed-thin, refused for each reason.
    expect(fast.filter((p) => p.rho !== undefined && !p.stressedThin).length).toBeGreaterThan(20);
    expect(fast.some((p) => p.stressedThin)).toBe(true);
    expect(fast.some((p) => p.refused?.includes('fewer than'))).toBe(true);
    expect(fast.some((p) => p.refused?.includes('does not move'))).toBe(true);
    expect(
      fast.some((p) => p.refused?.includes('cannot be aggregated') || p.refused?.includes('bars of')),
    ).toBe(true);
    expect(exactly(fast)).toBe(exactly(before));
    // And the single-pair estimator still is the computation it was.
    const pairs = before.map((p) => {
      const [a, b] = [series.find((s) => s.instrument === p.a), series.find((s) => s.instrument === p.b)];
      return estimatePairCorrelation(a as CandleSeries, b as CandleSeries, settingsFor(p.a, p.b));
    });
    expect(exactly(pairs)).toBe(exactly(before));
  });
});
