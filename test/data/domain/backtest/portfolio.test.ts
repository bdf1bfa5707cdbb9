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
import { readShared } from '../../shared.ts';

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

describe('portfolio backtest with offsets on BTC and ETH (default policies, cap 0.5)', () => {
  let btc: CandleSeries;
  let eth: CandleSeries;
  let btcRun: BacktestResult;
  let ethRun: BacktestResult;
  const run = (btcWeight: number, ethWeight: number): PortfolioBacktestResult =>
    portfolioBacktest(
      [
        { instrument: 'BTC', weight: btcWeight, result: btcRun, series: btc },
        { instrument: 'ETH', weight: ethWeight, result: ethRun, series: eth },
      ],
      { settingsFor: () => settings, confidence: 0.99 },
    );

  beforeAll(async () => {
    btc = await readShared('BTC');
    eth = await readShared('ETH');
    btcRun = backtest(DEFAULT_THRESHOLD_POLICY, btc);
    ethRun = backtest(DEFAULT_THRESHOLD_POLICY, eth);
  }, 600_000);

  it('outright pair (BTC=1,ETH=1): 99% coverage on both sides, Kupiec and Christoffersen p ≥ 0.05', () => {
    const r = run(1, 1);
    expect(r.observations).toBe(1726);
    expect([r.from, r.to]).toEqual(['2018-11-09', '2023-07-31']);
    // qmt-default-2026.12 (issue 14 item 2): the legs' margins moved, so ETH's short leg breaches once less.
    expect([r.long.breaches, r.short.breaches]).toEqual([13, 10]);
    for (const side of [r.long, r.short]) {
      expect(side.kupiecP).toBeGreaterThanOrEqual(0.05);
      expect(side.christoffersenP).toBeGreaterThanOrEqual(0.05);
    }
    expect(r.offsetDays).toBe(0);
  }, 600_000);

  it('hedged pair (BTC=1,ETH=-1): offsets lower the margin yet it over-covers, so Kupiec rejects low', () => {
    const r = run(1, -1);
    expect([r.long.breaches, r.short.breaches]).toEqual([1, 0]);
    expect(r.long.breachRate).toBeLessThanOrEqual(0.01);
    expect(r.long.kupiecP).toBeLessThan(0.05);
    expect(r.averageInitialMarginRate).toBeLessThan(r.averageMarginWithoutOffsets);
    expect(r.averageInitialMarginRate).toBeCloseTo(0.1199, 4);
    expect(r.averageMarginWithoutOffsets).toBeCloseTo(0.126, 3);
    expect(r.hindsightFixedRate).toBeCloseTo(0.0437, 4);
    // Before luna (May 2022) the stress windows hold 3 common returns: no offset, named.
    expect(r.offsetDays).toBe(447);
    expect(r.refusedDays).toBe(1279);
    expect(r.lastRefusal).toBe('BTC/ETH: 4 common daily returns in the stress windows, fewer than 5');
    expect(r.offsetRho?.min).toBeCloseTo(0.784, 3);
    expect(r.offsetRho?.max).toBeCloseTo(0.875, 3);
  }, 600_000);
});
