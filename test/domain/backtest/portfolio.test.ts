import { describe, expect, it } from 'vitest';
import type { BacktestDay, BacktestResult } from '../../../lib/domain/backtest/backtest.ts';
import { parsePortfolio, portfolioBacktest } from '../../../lib/domain/backtest/portfolio.ts';
import { seriesFromCloses } from '../threshold/fixtures.ts';

/** Two legs whose closes move together (x and 0.9·x log moves), and a per-leg walk with a fixed rate. */
const n = 200;
const moves = Array.from({ length: n }, (_, i) => 0.02 * Math.sin(i * 1.7) + 0.01 * Math.cos(i * 0.3));
const path = (k: number) => {
  const closes = [100];
  for (const m of moves) closes.push((closes[closes.length - 1] as number) * Math.exp(k * m));
  return closes;
};
const a = seriesFromCloses(path(1), '2022-01-01', 'AAA');
const b = seriesFromCloses(path(0.9), '2022-01-01', 'BBB');

function walk(series: typeof a, rate: number): BacktestResult {
  const days: BacktestDay[] = [];
  for (let t = 100; t < series.candles.length; t++) {
    const start = series.candles[t - 1]?.close as number;
    const end = series.candles[t]?.close as number;
    days.push({
      date: new Date(series.candles[t]?.time as number).toISOString().slice(0, 10),
      close: end,
      initialMarginRate: rate,
      effectiveVolatility: 0.02,
      activeBound: 'model',
      longLoss: 1 - end / start,
      shortLoss: end / start - 1,
      longBreach: 1 - end / start > rate,
      shortBreach: end / start - 1 > rate,
    });
  }
  return { days, confidence: 0.99 } as unknown as BacktestResult;
}

const settings = { lookbackDays: 90, stressWindows: [{ from: '2022-01-10', to: '2022-01-20' }] };
const legs = (wa: number, wb: number) => [
  { instrument: 'AAA', weight: wa, result: walk(a, 0.05), series: a },
  { instrument: 'BBB', weight: wb, result: walk(b, 0.04), series: b },
];

describe('portfolioBacktest', () => {
  it('credits a hedged pair min(ρ, cap) × the smaller margin, per unit of gross notional', () => {
    const r = portfolioBacktest(legs(1, -1), {
      settingsFor: () => settings,
      confidence: 0.99,
      offsetMethod: 'smaller-leg',
    });
    expect(r.observations).toBe(101);
    expect(r.offsetDays).toBe(101);
    // ρ is 1 (the paths are proportional): credit 0.5 × 0.04; margin (0.05 + 0.04 − 0.02) / 2.
    expect(r.averageInitialMarginRate).toBeCloseTo(0.035, 12);
    expect(r.averageMarginWithoutOffsets).toBeCloseTo(0.045, 12);
  });

  it('gives an outright pair no credit, and a pair with too few common days none either (named)', () => {
    const outright = portfolioBacktest(legs(1, 1), {
      settingsFor: () => settings,
      confidence: 0.99,
      offsetMethod: 'smaller-leg',
    });
    expect(outright.offsetDays).toBe(0);
    const strict = portfolioBacktest(legs(1, -1), {
      settingsFor: () => ({ ...settings, lookbackDays: 1000, minLookbackDays: 150 }),
      confidence: 0.99,
      offsetMethod: 'smaller-leg',
    });
    expect(strict.offsetDays).toBe(50);
    expect(strict.refusedDays).toBe(51);
    expect(strict.lastRefusal).toBe('AAA/BBB: 149 common daily returns, fewer than 150');
  });

  it('correlation-aggregated: charges the pair √(a² + b² − 2ρab), never below (1 − cap) × the sum', () => {
    const aggregated = (cap: number) =>
      portfolioBacktest(legs(1, -1), {
        settingsFor: () => settings,
        confidence: 0.99,
        offsetMethod: 'correlation-aggregated',
        spreadCreditCap: cap,
      });
    // ρ 1: √(0.05² + 0.04² − 2 × 0.05 × 0.04) = 0.01 per unit, below the larger leg's 0.05 (smaller-leg: 0.07).
    expect(aggregated(1).averageInitialMarginRate).toBeCloseTo(0.01 / 2, 12);
    // The cap of 0.75 keeps a quarter of the sum: 0.0225 per unit.
    expect(aggregated(0.75).averageInitialMarginRate).toBeCloseTo(0.0225 / 2, 12);
    expect(aggregated(0.75).offsetMethod).toBe('correlation-aggregated');
    const outright = portfolioBacktest(legs(1, 1), {
      settingsFor: () => settings,
      confidence: 0.99,
      offsetMethod: 'correlation-aggregated',
    });
    expect(outright.offsetDays).toBe(0); // ρ 1 on the same side: no diversification
  });

  it('counts a breach when the portfolio loses more than its margin, on either side', () => {
    const tight = [
      { instrument: 'AAA', weight: 1, result: walk(a, 0.002), series: a },
      { instrument: 'BBB', weight: -1, result: walk(b, 0.002), series: b },
    ];
    const r = portfolioBacktest(tight, {
      settingsFor: () => settings,
      confidence: 0.99,
      offsetMethod: 'smaller-leg',
      offsetCreditCap: 1,
    });
    // Margin (0.002 + 0.002 − 1 × 0.002) / 2 = 0.001 of gross; the loss is half the spread of long losses.
    const aDays = walk(a, 0.002).days;
    const bDays = walk(b, 0.002).days;
    const losses = aDays.map((d, i) => (d.longLoss - (bDays[i] as BacktestDay).longLoss) / 2);
    expect(r.long.breaches).toBe(losses.filter((l) => l > 0.001 + 1e-15).length);
    expect(r.short.breaches).toBe(losses.filter((l) => -l > 0.001 + 1e-15).length);
    expect(r.long.breaches + r.short.breaches).toBeGreaterThan(0);
  });
});

describe('parsePortfolio', () => {
  it('reads SYMBOL=WEIGHT legs and names a bad one', () => {
    expect(parsePortfolio('BTC=1,ETH=-0.5')).toEqual([
      { instrument: 'BTC', weight: 1 },
      { instrument: 'ETH', weight: -0.5 },
    ]);
    expect(() => parsePortfolio('BTC=1,ETH')).toThrow('portfolio leg "ETH": expected SYMBOL=WEIGHT');
    expect(() => parsePortfolio('BTC=1,ETH=0')).toThrow('a weight of 0 is no position');
    expect(() => parsePortfolio('BTC=1,BTC=-1')).toThrow('BTC is given twice');
  });
});
