/** `qmt backtest`: walk-forward coverage and procyclicality statistics for long and short positions. */
import type { BacktestResult, SideStatistics } from '../../domain/backtest/backtest.ts';
import { forTerminal } from '../../domain/text.ts';
import { formatMarginPeriodOfRisk } from '../../domain/threshold/mpor.ts';
import { fixed, percent, renderTable } from '../table.ts';

/** The figures the issue and the README quote; `days` stay out of the JSON unless asked for. */
export function backtestSummary(result: BacktestResult, includeDays = false) {
  const { days, ...summary } = result;
  return includeDays ? result : { ...summary, days: undefined };
}

export function formatBacktest(result: BacktestResult): string {
  const side = (name: string, s: SideStatistics) => [
    name,
    String(s.breaches),
    percent(s.breachRate, 2),
    fixed(s.kupiecP),
    fixed(s.christoffersenP),
    fixed(s.conditionalCoverageP),
    s.trafficLight,
  ];
  const expected = (1 - result.confidence) * result.observations;
  // An hourly MPOR is scored one MPOR at a time: its increases are over 1 and 5 of them.
  const step = result.marginPeriodOfRiskDays < 1 ? 'MPOR' : 'day';
  return [
    `${forTerminal(result.instrument)} (${forTerminal(result.source)}), policy ${forTerminal(result.policyVersion)}: ${(result.confidence * 100).toFixed(1)}% over ` +
      `${result.marginPeriodOfRiskDays < 1 ? formatMarginPeriodOfRisk(result.marginPeriodOfRiskDays) : `${result.marginPeriodOfRiskDays}-day`} MPOR, scored ${result.from} to ${result.to} (${result.observations} ${result.marginPeriodOfRiskDays < 1 ? 'MPORs' : 'days'}, ` +
      `${expected.toFixed(1)} breaches expected per side)`,
    '',
    renderTable(
      ['side', 'breaches', 'rate', 'Kupiec p', 'Christoffersen p', 'cond. cov. p', 'zone'],
      [side('long', result.long), side('short', result.short)],
      ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
    ),
    '',
    `average initial margin ${percent(result.averageInitialMarginRate)}; hindsight fixed rate ${percent(result.hindsightFixedRate)}; ratio ${fixed(result.efficiency)}`,
    `peak-to-trough ${fixed(result.peakToTrough, 2)}; largest 1-${step} increase ×${fixed(result.maxIncrease1d, 2)}; largest 5-${step} increase ×${fixed(result.maxIncrease5d, 2)}; held days ${result.heldDays}`,
    `rate set by: ${Object.entries(result.activeBounds)
      .map(([bound, n]) => `${bound} ${n}`)
      .join(', ')}`,
    ...(result.notes ?? []),
  ].join('\n');
}
