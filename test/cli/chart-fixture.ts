/** A synthetic backtest result for the chart tests: deterministic, with breaches and overrides to draw. */
import type { BacktestDay, BacktestResult, SideStatistics } from '../../lib/domain/backtest/backtest.ts';
import type { ActiveBound } from '../../lib/domain/threshold/threshold.ts';

const DAY_MS = 86_400_000;

/** A deterministic 400-day result: a noisy price, a slow σ cycle, the rate at 2.6σ with breaches on big moves. */
export function syntheticResult(instrument = 'BTC', n = 400): BacktestResult {
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    return seed / 2_147_483_648;
  };
  const days: BacktestDay[] = [];
  let close = 30_000;
  for (let i = 0; i < n; i++) {
    const sigma = 0.03 + 0.015 * Math.sin(i / 40);
    const rate = 2.6 * sigma;
    // Mostly calm, with a fat-tailed move every so often.
    const shock = (random() - 0.5) * 2 * sigma * (random() < 0.04 ? 4 : 1.2);
    close *= 1 + shock;
    const bound: ActiveBound = i % 97 < 20 ? 'apc-floor' : i % 131 === 5 ? 'step-up-limit' : 'model';
    days.push({
      date: new Date(Date.UTC(2021, 0, 1) + i * DAY_MS).toISOString().slice(0, 10),
      close,
      initialMarginRate: rate,
      effectiveVolatility: sigma,
      activeBound: bound,
      longLoss: -shock,
      shortLoss: shock,
      longBreach: -shock > rate,
      shortBreach: shock > rate,
    });
  }
  const side = (
    key: 'longBreach' | 'shortBreach',
    kupiecP: number,
    christoffersenP: number,
  ): SideStatistics => {
    const dates = days.filter((d) => d[key]).map((d) => d.date);
    return {
      breaches: dates.length,
      breachRate: dates.length / n,
      kupiecStatistic: 1.23,
      kupiecP,
      christoffersenP,
      conditionalCoverageP: 0.0421,
      trafficLight: 'yellow',
      breachDates: dates,
    };
  };
  return {
    instrument,
    source: 'file:synthetic.csv',
    policyVersion: 'test-policy-1',
    confidence: 0.99,
    marginPeriodOfRiskDays: 1,
    from: (days[0] as BacktestDay).date,
    to: (days[n - 1] as BacktestDay).date,
    observations: n,
    long: side('longBreach', 0.3561, 0.00065),
    short: side('shortBreach', 0.6014, 0.2242),
    averageInitialMarginRate: 0.1175,
    hindsightFixedRate: 0.1101,
    efficiency: 1.0671,
    peakToTrough: 3.9601,
    maxIncrease1d: 1.25,
    maxIncrease5d: 1.8037,
    heldDays: 0,
    activeBounds: { model: 300, 'apc-floor': 97, 'step-up-limit': 3 },
    days,
  };
}
