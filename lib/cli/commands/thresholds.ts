/** `qmt thresholds`: the threshold per symbol with its components. */
import { type CandleSeries, DAY_MS } from '../../domain/market/candle.ts';
import { forTerminal } from '../../domain/text.ts';
import { recalibrate } from '../../domain/threshold/model.ts';
import type { Threshold } from '../../domain/threshold/threshold.ts';
import type { PolicyBook } from '../inputs.ts';
import { percent, renderTable } from '../table.ts';

/**
 * Recalibrate each series as of `asOf` (ms, a UTC day start): the model sees only candles before that day,
 * as the scheduled job would that morning. Without `asOf`, as of the day after each series' last candle but
 * never later than today (`now`), with every candle: a file dated into the future is held as misdated.
 */
export function thresholdsFor(
  seriesList: readonly CandleSeries[],
  policies: PolicyBook,
  asOf?: number,
  now: number = Date.now(),
): Threshold[] {
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  return seriesList.map((series) => {
    const policy = policies.policyFor(series.instrument);
    const last = series.candles[series.candles.length - 1];
    // An hourly MPOR runs on the bars closed by now, not by this morning (a daily MPOR: by this morning).
    const clock = policy.marginPeriodOfRiskDays < 1 && series.intervalMs < DAY_MS ? now : today;
    const at = asOf ?? (last ? Math.min(last.time + series.intervalMs, clock) : now);
    const candles = asOf === undefined ? series.candles : series.candles.filter((c) => !(c.time >= at));
    return recalibrate(policy, { ...series, candles }, undefined, {
      asOf: at,
    });
  });
}

export function formatThresholds(thresholds: readonly Threshold[]): string {
  const rows = thresholds.map((t) => {
    const c = t.components;
    const v = c.volatility;
    return [
      forTerminal(t.instrument),
      t.asOf,
      t.status === 'held' ? 'HELD' : 'ok',
      percent(t.initialMarginRate),
      percent(t.maintenanceMarginRate),
      percent(t.warningMarginRate),
      percent(t.liquidationMarginRate),
      percent(v.ewma),
      percent(v.garch),
      percent(v.range),
      percent(c.modelRate),
      percent(c.apcFloorRate),
      percent(c.stressRate),
      forTerminal(t.activeBound),
    ];
  });
  const table = renderTable(
    [
      'symbol',
      'as of',
      'status',
      'initial',
      'maint.',
      'warning',
      'liquid.',
      'σ EWMA',
      'σ GARCH',
      'σ range',
      'model',
      'APC floor',
      'stress',
      'set by',
    ],
    rows,
    [
      'left',
      'left',
      'left',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'right',
      'left',
    ],
  );
  const notes = thresholds.flatMap((t) => [
    ...(t.status === 'held' ? [`${forTerminal(t.instrument)} held: ${forTerminal(t.heldReason ?? '')}`] : []),
    `${forTerminal(t.instrument)}: data ${t.inputs.firstCandle}..${t.inputs.lastCandle} (${t.inputs.candleCount} candles) from ${forTerminal(t.inputs.source)}; policy ${forTerminal(t.inputs.policyVersion)} #${t.inputs.policyHash.slice(0, 12)}; prices #${t.inputs.pricesHash.slice(0, 12)}`,
  ]);
  return [
    table,
    '',
    'Rates are fractions of notional; σ is daily. Initial margin covers the MPOR loss at the policy confidence.',
    ...notes,
  ].join('\n');
}
