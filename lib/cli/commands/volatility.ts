/** `qmt volatility`: every estimator's latest daily σ over a window, and the GARCH(1,1) fit. */
import { performance } from 'node:perf_hooks';
import type { Candle, CandleSeries } from '../../domain/market/candle.ts';
import { utcDay } from '../../domain/market/candle.ts';
import { forTerminal } from '../../domain/text.ts';
import { toDailyBars } from '../../domain/threshold/model.ts';
import { ewmaVolatility } from '../../domain/volatility/ewma.ts';
import { fitGarch11, GARCH_MIN_RETURNS } from '../../domain/volatility/garch.ts';
import {
  closeToCloseVolatility,
  garmanKlassVolatility,
  parkinsonVolatility,
  rogersSatchellVolatility,
  yangZhangVolatility,
} from '../../domain/volatility/range.ts';
import { UsageError } from '../inputs.ts';
import { fixed, percent, renderTable } from '../table.ts';

export interface VolatilityReport {
  readonly instrument: string;
  readonly source: string;
  /** Dates of the first and last return (a return is dated by its second close). */
  readonly from: string;
  readonly to: string;
  readonly returns: number;
  /** Daily σ as fractions. */
  readonly estimators: Readonly<Record<string, number>>;
  readonly garch: {
    readonly omega: number;
    readonly alpha: number;
    readonly beta: number;
    readonly persistence: number;
    readonly longRunVolatility: number;
    /** Over fractional returns, with the 0.5·ln(2π) constant per return (as fGarch reports it). */
    readonly negLogLik: number;
    readonly sigmaNext: number;
    readonly converged: boolean;
    readonly fitMillis: number;
  };
}

/**
 * The returns whose second close falls in [from, to] (ms, inclusive of both days), with the bars behind them.
 * Bars i = first..last pair with closes i−1 → i.
 */
export function selectWindow(
  series: CandleSeries,
  from?: number,
  to?: number,
): { bars: Candle[]; previousClose: number } {
  const candles = series.candles;
  let first = -1;
  let last = -1;
  for (let i = 1; i < candles.length; i++) {
    const time = (candles[i] as Candle).time;
    if ((from === undefined || time >= from) && (to === undefined || time <= to)) {
      if (first < 0) first = i;
      last = i;
    }
  }
  if (first < 0) throw new UsageError(`${series.instrument}: no returns between the dates given`);
  return { bars: candles.slice(first, last + 1), previousClose: (candles[first - 1] as Candle).close };
}

export function volatilityReport(input: CandleSeries, from?: number, to?: number): VolatilityReport {
  // σ here is daily: intraday bars are aggregated to UTC days first (the source says so), others refused.
  const daily = toDailyBars(input);
  if ('heldReason' in daily) throw new UsageError(daily.heldReason);
  const series = daily.series;
  const { bars, previousClose } = selectWindow(series, from, to);
  const closes = [previousClose, ...bars.map((b) => b.close)];
  const returns = closes.slice(1).map((c, i) => Math.log(c / (closes[i] as number)));
  if (returns.length < GARCH_MIN_RETURNS) {
    throw new UsageError(
      `${series.instrument}: ${returns.length} returns in the window; GARCH needs at least ${GARCH_MIN_RETURNS}`,
    );
  }
  const started = performance.now();
  const fit = fitGarch11(returns);
  const fitMillis = performance.now() - started;
  return {
    instrument: series.instrument,
    source: series.source,
    from: utcDay((bars[0] as Candle).time),
    to: utcDay((bars[bars.length - 1] as Candle).time),
    returns: returns.length,
    estimators: {
      closeToClose: closeToCloseVolatility(closes),
      closeToCloseDemeaned: closeToCloseVolatility(closes, { demean: true }),
      parkinson: parkinsonVolatility(bars),
      garmanKlass: garmanKlassVolatility(bars),
      rogersSatchell: rogersSatchellVolatility(bars),
      yangZhang: yangZhangVolatility(bars, previousClose),
      ewma94: ewmaVolatility(returns, { lambda: 0.94 }),
      ewma99: ewmaVolatility(returns, { lambda: 0.99 }),
      garch: fit.sigmaNext,
    },
    garch: {
      omega: fit.omega,
      alpha: fit.alpha,
      beta: fit.beta,
      persistence: fit.persistence,
      longRunVolatility: Math.sqrt(fit.longRunVariance),
      negLogLik: fit.negLogLik,
      sigmaNext: fit.sigmaNext,
      converged: fit.converged,
      fitMillis,
    },
  };
}

const ESTIMATOR_NAMES: Readonly<Record<string, string>> = {
  closeToClose: 'close-to-close (zero mean)',
  closeToCloseDemeaned: 'close-to-close (sample SD)',
  parkinson: 'Parkinson',
  garmanKlass: 'Garman–Klass',
  rogersSatchell: 'Rogers–Satchell',
  yangZhang: 'Yang–Zhang',
  ewma94: 'EWMA λ=0.94 (next day)',
  ewma99: 'EWMA λ=0.99 (next day)',
  garch: 'GARCH(1,1) (next day)',
};

export function formatVolatilityReport(report: VolatilityReport): string {
  const rows = Object.entries(report.estimators).map(([key, sigma]) => [
    ESTIMATOR_NAMES[key] ?? key,
    percent(sigma, 3),
    percent(sigma * Math.sqrt(365), 1),
  ]);
  const g = report.garch;
  return [
    `${forTerminal(report.instrument)} (${forTerminal(report.source)}): ${report.returns} daily log returns, ${report.from} to ${report.to}`,
    '',
    renderTable(['estimator', 'daily σ', 'annualised'], rows, ['left', 'right', 'right']),
    '',
    `GARCH(1,1) on fractional returns: ω=${g.omega.toExponential(4)} α=${fixed(g.alpha, 4)} β=${fixed(g.beta, 4)} ` +
      `α+β=${fixed(g.persistence, 4)} long-run σ=${percent(g.longRunVolatility, 3)}`,
    `  negLogLik=${fixed(g.negLogLik, 4)} σ next=${percent(g.sigmaNext, 3)} converged=${g.converged} fit ${fixed(g.fitMillis, 1)} ms`,
  ].join('\n');
}
