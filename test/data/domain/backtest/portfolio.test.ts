import { beforeAll, describe, expect, it } from 'vitest';
import { type BacktestResult, backtest } from '../../../../lib/domain/backtest/backtest.ts';
import {
  type PortfolioBacktestResult,
  portfolioBacktest,
} from '../../../../lib/domain/backtest/portfolio.ts';
import type { CandleSeries } from '../../../../lib/domain/market/candle.ts';
import {
  correlationSettingsFor,
  estimatePairCorrelation,
} from '../../../../lib/domain/threshold/correlation.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../../lib/domain/threshold/policy.ts';
import { DEFAULT_VALUATION_POLICY } from '../../../../lib/domain/valuation/policy.ts';
import { readShared, type SharedInstrument } from '../../shared.ts';

/**
 * Correlations from the real files, and the portfolio backtest with offsets behind the README's portfolio
 * table (`qmt backtest --portfolio BTC=1,ETH=-1 --prices BTC=../shared/data/BTC-USD.csv --prices
 * ETH=../shared/data/ETH-USD.csv`, and BTC=1,ETH=1), default policies, cap 0.5.
 *
 * The Pearson figures were computed independently with numpy 1.x (np.corrcoef of the daily log returns on
 * the dates both CSVs have a positive close, the last 730 returns, and the returns ending in the default
 * stress windows), not with our code.
 */
const settings = correlationSettingsFor(DEFAULT_THRESHOLD_POLICY, DEFAULT_THRESHOLD_POLICY);

describe('correlations of the shared files, checked against numpy', () => {
  it.each([
    ['BTC', 'ETH', 0.8756620053351488, 0.9647837890133372, 9],
    ['BTC', 'SOL', 0.6799485035591297, 0.8590637401812795, 7],
    ['ETH', 'SOL', 0.7218600125916272, 0.8683363394786118, 7],
  ] as const)('%s/%s', async (a, b, lookback, stressed, stressDays) => {
    const pair = estimatePairCorrelation(await readShared(a), await readShared(b), settings);
    expect(pair.lookback?.days).toBe(730);
    expect(pair.lookback?.from).toBe('2021-08-01');
    expect(pair.lookback?.to).toBe('2023-07-31');
    expect(Math.abs((pair.lookback?.rho as number) - lookback)).toBeLessThan(1e-12);
    expect(pair.stressed?.days).toBe(stressDays);
    expect(Math.abs((pair.stressed?.rho as number) - stressed)).toBeLessThan(1e-12);
    expect(pair.rho).toBe(pair.lookback?.rho);
  });
});

type Method = 'smaller-leg' | 'correlation-aggregated';

describe('portfolio backtest with offsets on BTC, ETH and SOL (default threshold policies)', () => {
  const series: Record<string, CandleSeries> = {};
  const runs: Record<string, BacktestResult> = {};
  const within = (r: BacktestResult, from: string, to: string): BacktestResult => ({
    ...r,
    days: r.days.filter((d) => d.date >= from && d.date <= to),
  });
  const run = (
    [a, wa]: [SharedInstrument, number],
    [b, wb]: [SharedInstrument, number],
    offsetMethod: Method,
    from = '0000',
    to = '9999',
  ): PortfolioBacktestResult =>
    portfolioBacktest(
      [
        {
          instrument: a,
          weight: wa,
          result: within(runs[a] as BacktestResult, from, to),
          series: series[a] as CandleSeries,
        },
        {
          instrument: b,
          weight: wb,
          result: within(runs[b] as BacktestResult, from, to),
          series: series[b] as CandleSeries,
        },
      ],
      { settingsFor: () => settings, confidence: 0.99, offsetMethod },
    );
  const row = (r: PortfolioBacktestResult) => [
    r.long.breaches,
    r.short.breaches,
    round(r.long.kupiecP),
    round(r.short.kupiecP),
    round(r.long.christoffersenP),
    round(r.short.christoffersenP),
    round(r.averageInitialMarginRate, 4),
    round(r.hindsightFixedRate, 4),
  ];

  beforeAll(async () => {
    for (const name of ['BTC', 'ETH', 'SOL'] as const) {
      series[name] = await readShared(name);
      runs[name] = backtest(DEFAULT_THRESHOLD_POLICY, series[name]);
    }
  }, 600_000);

  it('smaller-leg (the old default): the outright pair holds 99%, the hedged one over-covers (Kupiec rejects low)', () => {
    const outright = run(['BTC', 1], ['ETH', 1], 'smaller-leg');
    expect(outright.observations).toBe(1726);
    expect([outright.from, outright.to]).toEqual(['2018-11-09', '2023-07-31']);
    expect(row(outright)).toEqual([13, 10, 0.281, 0.057, 0.085, 0.733, 0.126, 0.1149]);
    expect(outright.offsetDays).toBe(0);
    const hedged = run(['BTC', 1], ['ETH', -1], 'smaller-leg');
    expect(row(hedged)).toEqual([1, 0, 0, 0, 0.973, 1, 0.1199, 0.0437]);
    expect(hedged.averageMarginWithoutOffsets).toBeCloseTo(0.126, 3);
    // Before luna (May 2022) the stress windows hold 3 common returns: smaller-leg gives no offset then.
    expect(hedged.offsetDays).toBe(447);
    expect(hedged.thinStressDays).toBe(1279);
    expect(hedged.refusedDays).toBe(0);
    expect(hedged.offsetRho?.min).toBeCloseTo(0.784, 3);
    expect(hedged.offsetRho?.max).toBeCloseTo(0.875, 3);
  }, 600_000);

  // The README's out-of-sample table: spreadCreditCap 0.7 chosen on BTC/ETH 2018-11-09..2020-12-31 only,
  // judged on BTC/ETH 2021-01-01..2023-07-31 and on BTC/SOL and ETH/SOL (2021-04-10..2023-07-31).
  // Columns: breaches long/short, Kupiec p long/short, Christoffersen p long/short, average margin, hindsight.
  it.each([
    [
      'in-sample BTC=1,ETH=-1',
      ['BTC', 1],
      ['ETH', -1],
      '0000',
      '2020-12-31',
      [10, 3, 0.457, 0.047, 0.112, 0.879, 0.0474, 0.041],
    ],
    [
      'in-sample BTC=1,ETH=1',
      ['BTC', 1],
      ['ETH', 1],
      '0000',
      '2020-12-31',
      [5, 4, 0.275, 0.128, 0.8, 0.839, 0.1344, 0.1213],
    ],
    [
      'out-of-sample BTC=1,ETH=-1',
      ['BTC', 1],
      ['ETH', -1],
      '2021-01-01',
      '9999',
      [10, 2, 0.851, 0.003, 0.091, 0.926, 0.0385, 0.043],
    ],
    [
      'out-of-sample BTC=1,ETH=1',
      ['BTC', 1],
      ['ETH', 1],
      '2021-01-01',
      '9999',
      [8, 6, 0.633, 0.23, 0.053, 0.781, 0.1186, 0.1132],
    ],
    [
      'out-of-sample BTC=1,SOL=-1',
      ['BTC', 1],
      ['SOL', -1],
      '0000',
      '9999',
      [5, 2, 0.199, 0.007, 0.807, 0.922, 0.0916, 0.0894],
    ],
    [
      'out-of-sample BTC=1,SOL=1',
      ['BTC', 1],
      ['SOL', 1],
      '0000',
      '9999',
      [4, 4, 0.088, 0.088, 0.011, 0.845, 0.151, 0.1137],
    ],
    [
      'out-of-sample ETH=1,SOL=-1',
      ['ETH', 1],
      ['SOL', -1],
      '0000',
      '9999',
      [6, 1, 0.375, 0.001, 0.769, 0.961, 0.0845, 0.0828],
    ],
    [
      'out-of-sample ETH=1,SOL=1',
      ['ETH', 1],
      ['SOL', 1],
      '0000',
      '9999',
      [4, 3, 0.088, 0.03, 0.011, 0.884, 0.1647, 0.1312],
    ],
    [
      'whole file BTC=1,ETH=-1',
      ['BTC', 1],
      ['ETH', -1],
      '0000',
      '9999',
      [20, 5, 0.518, 0, 0.02, 0.865, 0.0425, 0.0437],
    ],
    [
      'whole file BTC=1,ETH=1',
      ['BTC', 1],
      ['ETH', 1],
      '0000',
      '9999',
      [13, 10, 0.281, 0.057, 0.085, 0.733, 0.1258, 0.1149],
    ],
  ] as const)(
    'correlation-aggregated, cap 0.7: %s',
    (_name, a, b, from, to, expected) => {
      const r = run([a[0], a[1]], [b[0], b[1]], 'correlation-aggregated', from, to);
      expect(row(r)).toEqual(expected);
    },
    600_000,
  );

  it('the README table is the default: correlation-aggregated, cap 0.7', () => {
    expect(DEFAULT_VALUATION_POLICY.offsetMethod).toBe('correlation-aggregated');
    expect(DEFAULT_VALUATION_POLICY.spreadCreditCap).toBe(0.7);
  });

  it('the hedged pair’s own 99% loss matches numpy (test/data/python/pair_quantile.py), and is skewed', () => {
    const r = run(['BTC', 1], ['ETH', -1], 'correlation-aggregated');
    // numpy: long q99 0.043686572749954466, short q99 0.03137117319226944 (one margin cannot fit both sides).
    expect(Math.abs(r.hindsightFixedRate - 0.043686572749954466)).toBeLessThan(1e-12);
    expect(r.thinStressDays).toBe(1279);
    expect(r.averageInitialMarginRate).toBeLessThan(r.averageMarginWithoutOffsets / 2);
  }, 600_000);
});

function round(x: number, places = 3): number {
  const f = 10 ** places;
  return Math.round(x * f) / f;
}
