/**
 * `qmt backtest --portfolio BTC=1,ETH=-1 --prices BTC=… --prices ETH=…`: each leg's walk-forward backtest,
 * then the portfolio's margin with correlation offsets scored day by day (`portfolioBacktest`).
 */

import type { SideStatistics } from '../../domain/backtest/backtest.ts';
import { backtest } from '../../domain/backtest/backtest.ts';
import {
  type PortfolioBacktestResult,
  type PortfolioLegInput,
  parsePortfolio,
  portfolioBacktest,
} from '../../domain/backtest/portfolio.ts';
import { forTerminal } from '../../domain/text.ts';
import { correlationSettingsFor } from '../../domain/threshold/correlation.ts';
import { DEFAULT_VALUATION_POLICY } from '../../domain/valuation/policy.ts';
import { loadPolicyBook, loadPrices, UsageError } from '../inputs.ts';
import { createProgress } from '../progress.ts';
import { fixed, percent, renderTable } from '../table.ts';

export interface PortfolioBacktestOptions {
  readonly policy?: string;
  readonly offsetCap?: string;
  readonly offsetMethod?: 'smaller-leg' | 'correlation-aggregated';
  readonly scoreFrom?: number;
  readonly scoreTo?: number;
}

export async function runPortfolioBacktest(
  portfolio: string,
  prices: readonly string[],
  options: PortfolioBacktestOptions,
): Promise<PortfolioBacktestResult> {
  let legs: ReturnType<typeof parsePortfolio>;
  try {
    legs = parsePortfolio(portfolio);
  } catch (error) {
    throw new UsageError(`--portfolio ${portfolio}: ${(error as Error).message}`, { cause: error });
  }
  if (legs.length < 2) throw new UsageError(`--portfolio ${portfolio}: give at least two legs`);
  const cap = options.offsetCap === undefined ? undefined : Number(options.offsetCap);
  if (cap !== undefined && !(cap >= 0 && cap <= 1)) {
    throw new UsageError(`--offset-cap ${options.offsetCap}: must be a fraction from 0 to 1`);
  }
  const book = await loadPolicyBook(options.policy);
  const series = await Promise.all(prices.map(loadPrices));
  const inputs: PortfolioLegInput[] = [];
  for (const leg of legs) {
    const legSeries = series.find((s) => s.instrument === leg.instrument);
    if (!legSeries) {
      throw new UsageError(`--portfolio: no --prices ${leg.instrument}=FILE for the leg ${leg.instrument}`);
    }
    const progress = createProgress(`backtest ${leg.instrument}`);
    const result = backtest(book.policyFor(leg.instrument), legSeries, {
      ...(options.scoreFrom === undefined ? {} : { scoreFrom: options.scoreFrom }),
      ...(options.scoreTo === undefined ? {} : { scoreTo: options.scoreTo }),
      onProgress: (done, total) => progress.update(done, total),
    });
    progress.done();
    inputs.push({ ...leg, result, series: legSeries });
  }
  const method = options.offsetMethod ?? DEFAULT_VALUATION_POLICY.offsetMethod;
  return portfolioBacktest(inputs, {
    offsetMethod: method,
    ...(cap === undefined
      ? {}
      : method === 'smaller-leg'
        ? { offsetCreditCap: cap }
        : { spreadCreditCap: cap }),
    settingsFor: (a, b) => correlationSettingsFor(book.policyFor(a), book.policyFor(b)),
    confidence: inputs[0]?.result.confidence ?? 0.99,
  });
}

export function formatPortfolioBacktest(result: PortfolioBacktestResult): string {
  const side = (name: string, s: SideStatistics) => [
    name,
    String(s.breaches),
    percent(s.breachRate, 2),
    fixed(s.kupiecP),
    fixed(s.christoffersenP),
    s.trafficLight,
  ];
  const legs = result.legs.map((l) => `${forTerminal(l.instrument)}=${l.weight}`).join(',');
  const mirror = result.legs.map((l) => `${forTerminal(l.instrument)}=${-l.weight}`).join(',');
  return [
    `portfolio ${legs}: scored ${result.from} to ${result.to} (${result.observations} days); margin and loss per unit of gross notional`,
    '',
    renderTable(
      ['portfolio', 'breaches', 'rate', 'Kupiec p', 'Christoffersen p', 'zone'],
      [side(legs, result.long), side(mirror, result.short)],
      ['left', 'right', 'right', 'right', 'right', 'left'],
    ),
    '',
    `average margin ${percent(result.averageInitialMarginRate)} (without offsets ${percent(result.averageMarginWithoutOffsets)}); hindsight fixed rate ${percent(result.hindsightFixedRate)}; ratio ${fixed(result.efficiency)}`,
    `${result.offsetMethod} offsets on ${result.offsetDays} days` +
      (result.offsetRho
        ? `, hedge strength ${fixed(result.offsetRho.min)} to ${fixed(result.offsetRho.max)} (last ${fixed(result.offsetRho.last)})`
        : '') +
      (result.refusedDays > 0 ? `; no offset on ${result.refusedDays} days: ${result.lastRefusal}` : '') +
      (result.thinStressDays > 0
        ? `; stressed ρ unknown on ${result.thinStressDays} days (${result.lastThinStress}), taken as 1`
        : ''),
  ].join('\n');
}
