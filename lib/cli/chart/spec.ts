/**
 * The backtest chart as a Vega-Lite spec: a header (title, what was tested, the verdict), then three
 * panels on a shared date axis — price (log scale), effective daily σ (annualised on the right axis) and
 * the initial margin rate as a step line over the realised MPOR losses with breaches marked — and a
 * legend. Pure: data in, spec out; `render.ts` turns it into SVG or PNG.
 *
 * The layout is fixed arithmetic (flush bounds, explicit sizes) rather than Vega's autosize, so a chart is
 * exactly the size asked for and the same input always gives the same picture. Every user-supplied string
 * travels as data (never inside a Vega expression) and is cleansed of control characters first.
 */
import type { TopLevelSpec } from 'vega-lite';
import type { BacktestResult } from '../../domain/backtest/backtest.ts';
import { DAY_MS } from '../../domain/market/candle.ts';
import type { ActiveBound } from '../../domain/threshold/threshold.ts';
import {
  COLOR,
  compact,
  dateTicks,
  extreme,
  FONT_FAMILY,
  logTicks,
  niceTicks,
  pct,
  percentDigits,
} from './format.ts';
import { chartTitle, headerView } from './header.ts';
import { LEGEND_ROW, type LegendItem, legendRows, legendView } from './legend.ts';
import { type Box, textLayers, textWidth } from './marks.ts';

export interface ChartOptions {
  /** Pixels; default 1400, at least 640. */
  readonly width?: number;
  /** Pixels; default 900, at least 480. */
  readonly height?: number;
}

/** The size a chart is drawn at, after defaults and minimums, and the width of its plot area. */
export function chartSize(options: ChartOptions = {}): {
  readonly width: number;
  readonly height: number;
  readonly plotWidth: number;
} {
  const width = Math.max(640, Math.round(options.width ?? 1400));
  return { width, height: Math.max(480, Math.round(options.height ?? 900)), plotWidth: width - LEFT - RIGHT };
}

/** Days whose rate a rule other than the model set, grouped the way a reader cares about. */
type Override = 'floor' | 'limit' | 'held';
const OVERRIDES = ['floor', 'limit', 'held'] as const;
const OVERRIDE: Readonly<Record<Override, { readonly fill: string; readonly label: string }>> = {
  floor: { fill: '#dbeafe', label: 'Floor active' },
  limit: { fill: '#fde68a', label: 'Step limit or cap active' },
  held: { fill: '#e5e7eb', label: 'Held (unusable data)' },
};

function overrideOf(bound: ActiveBound): Override | undefined {
  switch (bound) {
    case 'model':
      return undefined;
    case 'stress-floor':
    case 'apc-floor':
    case 'apc-stressed-floor':
    case 'apc-buffer':
    case 'floor':
      return 'floor';
    case 'cap':
    case 'step-up-limit':
    case 'step-down-limit':
      return 'limit';
    case 'held':
      return 'held';
  }
}

// Layout, in pixels: plot area from LEFT to width - RIGHT, header above PLOT_TOP, a GAP between panels.
const LEFT = 84;
const RIGHT = 92;
const GAP = 30;
const PLOT_TOP = 138;

/** A finite number, or null: Vega breaks a line at null instead of drawing NaN. */
const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/**
 * The Vega-Lite spec of a backtest chart.
 *
 * @example
 * const spec = backtestChartSpec(backtest(DEFAULT_THRESHOLD_POLICY, btc), { width: 1200 });
 */
export function backtestChartSpec(result: BacktestResult, options: ChartOptions = {}): TopLevelSpec {
  const { width, height, plotWidth } = chartSize(options);
  const header = headerView(result, width - LEFT - 20);
  const frame = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    description: `${chartTitle(result)} (${result.from} to ${result.to})`,
    background: '#ffffff',
    padding: { left: LEFT, right: width - LEFT - plotWidth, top: 0, bottom: 0 },
    autosize: { type: 'none', contains: 'content' },
    bounds: 'flush',
    spacing: GAP,
    config: {
      font: FONT_FAMILY,
      // Accessible descriptions only where they say something (breach markers), not on every gridline.
      aria: false,
      view: { stroke: COLOR.frame },
      axis: {
        labelFontSize: 12,
        labelColor: COLOR.muted,
        labelPadding: 8,
        titleFontSize: 12,
        titleFontWeight: 'normal',
        titleColor: COLOR.muted,
        gridColor: COLOR.grid,
        domain: false,
        ticks: false,
      },
    },
  } as const;
  const days = result.days;
  if (days.length === 0) {
    const empty = {
      width: plotWidth,
      height: height - PLOT_TOP,
      view: { stroke: null },
      layer: textLayers([
        {
          x: plotWidth / 2,
          y: (height - PLOT_TOP) / 2,
          text: 'No scored days',
          size: 16,
          color: COLOR.muted,
          align: 'center',
        },
      ]),
    };
    return { ...frame, vconcat: [{ ...header, height: PLOT_TOP - GAP }, empty] } as TopLevelSpec;
  }

  const h = result.marginPeriodOfRiskDays;
  const present = new Set(days.map((d) => overrideOf(d.activeBound)));
  const legendItems: LegendItem[] = [
    { kind: 'line', color: COLOR.margin, label: 'Initial margin rate' },
    { kind: 'dash', color: COLOR.hindsight, label: 'Hindsight fixed rate' },
    { kind: 'bar', color: COLOR.move, label: `Realised ${h}-day loss` },
    { kind: 'down', color: COLOR.longBreach, label: `Long breach (${result.long.breaches})` },
    { kind: 'up', color: COLOR.shortBreach, label: `Short breach (${result.short.breaches})` },
    ...OVERRIDES.filter((k) => present.has(k)).map(
      (k): LegendItem => ({ kind: 'area', color: OVERRIDE[k].fill, label: OVERRIDE[k].label }),
    ),
  ];
  const legendLayout = legendRows(legendItems, plotWidth);
  const plotBottom = height - 46 - LEGEND_ROW * legendLayout.length;
  // Panels: price 30%, σ 20%, margin 50% of the plot height; each has its title in the gap above it.
  const avail = plotBottom - PLOT_TOP - 2 * GAP;
  const panel = (share: number): Box => ({ width: plotWidth, height: Math.round(avail * share * 10) / 10 });

  // Shared x: each day owns [start, start + 1 day); points sit mid-day so the step line and bars align.
  const starts = days.map((d) => Date.parse(`${d.date}T00:00:00Z`));
  const t0 = starts[0] as number;
  const t1 = (starts[starts.length - 1] as number) + DAY_MS;
  const ticks = dateTicks(t0, t1, Math.max(4, Math.floor(plotWidth / 80)));
  const dates = {
    scale: { type: 'utc', domain: [t0, t1], nice: false },
    axis: {
      values: ticks.map((t) => t.time),
      // Year lines a shade darker than month lines, so the years read at a glance.
      gridColor: {
        condition: { test: 'utcmonth(datum.value) === 0', value: COLOR.yearGrid },
        value: COLOR.grid,
      },
      labels: false,
      title: null,
    },
  };
  const datesWithLabels = {
    scale: dates.scale,
    axis: {
      ...dates.axis,
      labels: true,
      labelAlign: 'center',
      labelExpr: labelLookup(ticks.map((t) => [t.time, t.label])),
    },
  };
  const rows = days.map((d, i) => ({
    mid: (starts[i] as number) + DAY_MS / 2,
    close: d.close > 0 ? finite(d.close) : null,
    sigma: finite(d.effectiveVolatility),
    annual: finite(d.effectiveVolatility * Math.sqrt(365)),
  }));

  return {
    ...frame,
    datasets: { days: rows },
    vconcat: [
      { ...header, height: PLOT_TOP - GAP },
      { name: 'panel_price', ...pricePanel(days, panel(0.3), dates) },
      { name: 'panel_volatility', ...volatilityPanel(days, panel(0.2), dates) },
      { name: 'panel_margin', ...marginPanel(result, starts, t1, panel(0.5), datesWithLabels) },
      legendView(legendLayout, plotWidth, height - plotBottom - GAP),
    ],
  } as TopLevelSpec;
}

type DateEncoding = { readonly scale: object; readonly axis: object };

function pricePanel(days: BacktestResult['days'], box: Box, dates: DateEncoding) {
  const positive = days.map((d) => d.close).filter((c) => c > 0 && Number.isFinite(c));
  const lo = positive.length > 0 ? extreme(positive, 'min') : 1;
  const hi = positive.length > 0 ? extreme(positive, 'max') : 10;
  const logPad = Math.max((Math.log10(hi) - Math.log10(lo)) * 0.05, 0.02);
  const domain = [10 ** (Math.log10(lo) - logPad), 10 ** (Math.log10(hi) + logPad)] as const;
  const values = logTicks(domain[0], domain[1]);
  return {
    ...box,
    layer: [
      ...panelTitle('Close price', 'log scale'),
      {
        data: { name: 'days' },
        mark: {
          type: 'line',
          color: COLOR.price,
          strokeWidth: 1.4,
          strokeJoin: 'round',
          invalid: 'break-paths-show-domains',
        },
        encoding: {
          x: { field: 'mid', type: 'temporal', ...dates },
          y: {
            field: 'close',
            type: 'quantitative',
            scale: { type: 'log', domain, nice: false },
            axis: {
              values,
              labelExpr: labelLookup(values.map((v) => [v, compact(v)])),
              title: 'Price (log scale)',
            },
          },
        },
      },
    ],
  };
}

function volatilityPanel(days: BacktestResult['days'], box: Box, dates: DateEncoding) {
  // From zero so ratios read honestly; annualised (×√365, crypto trades daily) on the right.
  const annual = Math.sqrt(365);
  const sigmaMax = Math.max(
    1e-6,
    extreme(days.map((d) => d.effectiveVolatility).filter(Number.isFinite), 'max'),
  );
  const sigmaTicks = niceTicks(0, sigmaMax * 1.08, 4);
  const sigmaTop = Math.max(sigmaMax * 1.08, sigmaTicks[sigmaTicks.length - 1] ?? 0);
  const annualTicks = niceTicks(0, sigmaTop * annual, 4);
  return {
    ...box,
    resolve: { scale: { y: 'independent' } },
    layer: [
      ...panelTitle('Effective volatility σ', 'daily, left · annualised ×√365, right'),
      {
        data: { name: 'days' },
        mark: {
          type: 'line',
          color: COLOR.volatility,
          strokeWidth: 1.4,
          strokeJoin: 'round',
          invalid: 'break-paths-show-domains',
        },
        encoding: {
          x: { field: 'mid', type: 'temporal', ...dates },
          y: {
            field: 'sigma',
            type: 'quantitative',
            scale: { domain: [0, sigmaTop], nice: false },
            axis: { values: sigmaTicks, format: `.${percentDigits(sigmaTicks)}%`, title: 'Daily σ (%)' },
          },
        },
      },
      {
        // The same line on the annualised scale, invisible: it only carries the right-hand axis.
        data: { name: 'days' },
        mark: { type: 'line', opacity: 0, invalid: 'break-paths-show-domains' },
        encoding: {
          x: { field: 'mid', type: 'temporal' },
          y: {
            field: 'annual',
            type: 'quantitative',
            scale: { domain: [0, sigmaTop * annual], nice: false },
            axis: {
              orient: 'right',
              values: annualTicks,
              format: `.${percentDigits(annualTicks)}%`,
              grid: false,
              title: 'Annualised σ (%)',
            },
          },
        },
      },
    ],
  };
}

function marginPanel(
  result: BacktestResult,
  starts: readonly number[],
  t1: number,
  box: Box,
  dates: DateEncoding,
) {
  const days = result.days;
  const moves = days.map((d) => Math.max(d.longLoss, d.shortLoss, 0));
  const rates = days.map((d) => d.initialMarginRate);
  const marginMax = Math.max(
    1e-6,
    extreme(moves.filter(Number.isFinite), 'max'),
    extreme(rates.filter(Number.isFinite), 'max'),
  );
  // Headroom so a breach marker on the largest loss stays inside the panel.
  const marginTicks = niceTicks(0, marginMax * 1.1, 5);
  const marginTop = Math.max(marginMax * 1.1, marginTicks[marginTicks.length - 1] ?? 0);
  const y = {
    type: 'quantitative',
    scale: { domain: [0, marginTop], nice: false },
    axis: {
      values: marginTicks,
      format: `.${percentDigits(marginTicks)}%`,
      title: 'Rate / loss (% of notional)',
    },
  };
  // The shared date scale and axis ride on one layer (the loss bars); the others join it.
  const xMid = { field: 'mid', type: 'temporal' };

  // Runs of days an override set the rate, shaded under everything else.
  const shading: { start: number; end: number; kind: Override }[] = [];
  let runStart = 0;
  for (let i = 1; i <= days.length; i++) {
    const kind = overrideOf(days[runStart]?.activeBound ?? 'model');
    if (i < days.length && overrideOf(days[i]?.activeBound ?? 'model') === kind) continue;
    if (kind)
      shading.push({ start: starts[runStart] as number, end: (starts[i - 1] as number) + DAY_MS, kind });
    runStart = i;
  }
  // The rate holds for the whole day: a step from each day's start, closed at the end of the last day.
  const steps = days.map((d, i) => ({ start: starts[i] as number, rate: finite(d.initialMarginRate) }));
  steps.push({ start: t1, rate: finite(rates[rates.length - 1] as number) });
  const breaches = days.flatMap((d, i) => {
    const mid = (starts[i] as number) + DAY_MS / 2;
    const out: { mid: number; loss: number; side: 'long' | 'short'; label: string }[] = [];
    const im = pct(d.initialMarginRate);
    if (d.longBreach && Number.isFinite(d.longLoss))
      out.push({
        mid,
        loss: d.longLoss,
        side: 'long',
        label: `${d.date}: long loss ${pct(d.longLoss)} > IM ${im}`,
      });
    if (d.shortBreach && Number.isFinite(d.shortLoss))
      out.push({
        mid,
        loss: d.shortLoss,
        side: 'short',
        label: `${d.date}: short loss ${pct(d.shortLoss)} > IM ${im}`,
      });
    return out;
  });
  const lossBars = days.flatMap((_, i) => {
    const mid = (starts[i] as number) + DAY_MS / 2;
    const loss = finite(moves[i] as number);
    return loss === null
      ? []
      : [
          { i: 3 * i, mid, loss: 0 },
          { i: 3 * i + 1, mid, loss },
          { i: 3 * i + 2, mid, loss: null },
        ];
  });
  const barWidth = Math.min(3, Math.max(0.6, (box.width / days.length) * 0.9));
  const marker = (side: 'long' | 'short') => ({
    data: { values: breaches },
    transform: [{ filter: { field: 'side', equal: side } }],
    // Drawn last so they sit on top; the tip touches the top of the loss bar the marker flags.
    mark: {
      type: 'point',
      shape: side === 'long' ? 'triangle-down' : 'triangle-up',
      filled: true,
      size: 80,
      opacity: 1,
      color: side === 'long' ? COLOR.longBreach : COLOR.shortBreach,
      stroke: '#ffffff',
      strokeWidth: 0.8,
      yOffset: -6,
      aria: true,
      ariaRoleDescription: `${side} breach`,
    },
    encoding: { x: xMid, y: { field: 'loss', ...y }, description: { field: 'label' } },
  });

  return {
    ...box,
    layer: [
      ...panelTitle(
        'Initial margin rate vs realised loss',
        `${result.marginPeriodOfRiskDays}-day MPOR, % of notional`,
      ),
      {
        data: { values: shading },
        mark: { type: 'rect', opacity: 0.55 },
        encoding: {
          x: { field: 'start', type: 'temporal' },
          x2: { field: 'end' },
          color: {
            field: 'kind',
            type: 'nominal',
            scale: { domain: [...OVERRIDES], range: OVERRIDES.map((k) => OVERRIDE[k].fill) },
            legend: null,
          },
        },
      },
      {
        // One path of vertical strokes (zero up to the loss, then a break), not 3,000 rule elements:
        // the same picture at a third of the bytes.
        data: { values: lossBars },
        mark: {
          type: 'line',
          color: COLOR.move,
          strokeWidth: barWidth,
          strokeCap: 'butt',
          opacity: 0.7,
          invalid: 'break-paths-show-domains',
        },
        encoding: {
          x: { ...xMid, ...dates },
          y: { field: 'loss', ...y },
          order: { field: 'i', type: 'quantitative' },
        },
      },
      ...(Number.isFinite(result.hindsightFixedRate)
        ? [
            {
              data: { values: [{}] },
              mark: { type: 'rule', color: COLOR.hindsight, strokeWidth: 1.2, strokeDash: [6, 4] },
              encoding: { y: { datum: result.hindsightFixedRate, ...y } },
            },
          ]
        : []),
      {
        data: { values: steps },
        mark: {
          type: 'line',
          interpolate: 'step-after',
          color: COLOR.margin,
          strokeWidth: 2,
          strokeJoin: 'round',
          invalid: 'break-paths-show-domains',
        },
        encoding: { x: { field: 'start', type: 'temporal' }, y: { field: 'rate', ...y } },
      },
      marker('long'),
      marker('short'),
    ],
  };
}

/** Bold title and a fainter note, in the gap above a panel. */
function panelTitle(title: string, note: string) {
  return textLayers([
    { x: 0, y: -10, text: title, size: 14, weight: 'bold', color: COLOR.text },
    { x: textWidth(title, 14, 'bold') + 6, y: -10, text: note, size: 12, color: COLOR.faint },
  ]);
}

/**
 * A Vega expression that maps each tick value to the label we computed: tick labels follow qmt's formats
 * (25k, "Apr 2021" then "May") exactly. Only numbers and our own labels go in, never user text.
 */
function labelLookup(pairs: readonly (readonly [number, string])[]): string {
  return pairs.reduceRight(
    (rest, [value, label]) => `+datum.value === ${value} ? ${JSON.stringify(label)} : ${rest}`,
    "''",
  );
}
