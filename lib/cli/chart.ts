/**
 * Backtest charts for a risk committee: price, effective volatility and the initial margin rate against
 * realised MPOR losses, with breaches marked. Hand-built SVG (no chart library, no external fonts or
 * scripts) so the output is deterministic, diffable and renders the same in a browser and in resvg.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { BacktestDay, BacktestResult, SideStatistics } from '../domain/backtest/backtest.ts';
import { DAY_MS } from '../domain/market/candle.ts';
import type { ActiveBound } from '../domain/threshold/threshold.ts';

export interface ChartOptions {
  /** Pixels; default 1400. */
  readonly width?: number;
  /** Pixels; default 900. */
  readonly height?: number;
}

/** The extensions {@link writeBacktestChart} understands. */
export const CHART_EXTENSIONS = ['.svg', '.html', '.png'] as const;

// System fonts first (crisp in browsers), then the fonts Linux boxes and resvg are likely to have.
const FONT_FAMILY =
  "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif";

const COLOR = {
  text: '#111827',
  muted: '#4b5563',
  faint: '#6b7280',
  grid: '#eceef1',
  yearGrid: '#d5d9de',
  frame: '#d1d5db',
  price: '#334155',
  volatility: '#0e7490',
  margin: '#1d4ed8',
  hindsight: '#6b7280',
  move: '#9ca3af',
  longBreach: '#dc2626',
  shortBreach: '#f97316',
  reject: '#b91c1c',
} as const;

/** Days whose rate a rule other than the model set, grouped the way a reader cares about. */
type Override = 'floor' | 'limit' | 'held';
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

/**
 * Render a backtest as a standalone SVG: a title and summary, then three panels on a shared date axis —
 * price (log scale), effective daily σ (annualised on the right axis), and the initial margin rate as a
 * step line over the realised MPOR losses, with long and short breaches marked.
 *
 * @example
 * const svg = renderBacktestSvg(backtest(DEFAULT_THRESHOLD_POLICY, btc));
 * await writeFile('btc.svg', svg);
 */
export function renderBacktestSvg(result: BacktestResult, options: ChartOptions = {}): string {
  const width = Math.max(640, Math.round(options.width ?? 1400));
  const height = Math.max(480, Math.round(options.height ?? 900));
  const out: string[] = [];
  const titleText = `${result.instrument} — walk-forward initial margin backtest`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="${FONT_FAMILY}" role="img">`,
    `<title>${esc(`${titleText} (${result.from} to ${result.to})`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );

  // Header: title, what was tested, and the two-line verdict.
  const left = 84;
  const right = width - 92;
  const h = result.marginPeriodOfRiskDays;
  const expected = (1 - result.confidence) * result.observations;
  const headerWidth = width - left - 20;
  const subtitle =
    `Source ${result.source} · policy ${result.policyVersion} · ${pct(result.confidence, 1)} confidence · ` +
    `${h}-day MPOR · scored ${result.from} to ${result.to}: ${result.observations.toLocaleString('en-US')} ` +
    `observations, ${expected.toFixed(1)} breaches expected per side`;
  const coverage = `${sideSummary('Long', result.long)}<tspan dx="28">${sideSummary('Short', result.short)}</tspan>`;
  const cost =
    `Average IM ${pct(result.averageInitialMarginRate)} vs hindsight fixed rate ${pct(result.hindsightFixedRate)} ` +
    `(ratio ${result.efficiency.toFixed(2)}) · peak-to-trough ×${result.peakToTrough.toFixed(2)} · ` +
    `max 1-day increase ×${result.maxIncrease1d.toFixed(2)} · max 5-day increase ×${result.maxIncrease5d.toFixed(2)}`;
  // Narrow charts shrink the header text rather than let it run off the canvas.
  out.push(
    `<text x="${left}" y="32" font-size="${fitFont(titleText.length * 1.1, headerWidth, 21)}" font-weight="700" ` +
      `fill="${COLOR.text}">${esc(titleText)}</text>`,
    `<text x="${left}" y="55" font-size="${fitFont(subtitle.length, headerWidth, 13)}" fill="${COLOR.muted}">${esc(subtitle)}</text>`,
    `<text x="${left}" y="80" font-size="${fitFont(plainLength(coverage) * 1.04 + 5, headerWidth, 13)}" fill="${COLOR.text}">${coverage}</text>`,
    `<text x="${left}" y="100" font-size="${fitFont(cost.length, headerWidth, 13)}" fill="${COLOR.text}">${esc(cost)}</text>`,
  );

  const days = result.days;
  if (days.length === 0) {
    out.push(
      `<text x="${width / 2}" y="${height / 2}" font-size="16" text-anchor="middle" fill="${COLOR.muted}">No scored days</text>`,
      '</svg>',
    );
    return out.join('\n');
  }

  // Legend under the date labels, next to the panel it explains; wrapped onto more rows when narrow.
  const overrides = new Set<Override>();
  for (const d of days) {
    const kind = overrideOf(d.activeBound);
    if (kind) overrides.add(kind);
  }
  const legendItems: LegendItem[] = [
    { kind: 'line', color: COLOR.margin, label: 'Initial margin rate' },
    { kind: 'dash', color: COLOR.hindsight, label: 'Hindsight fixed rate' },
    { kind: 'bar', color: COLOR.move, label: `Realised ${h}-day loss` },
    { kind: 'down', color: COLOR.longBreach, label: `Long breach (${result.long.breaches})` },
    { kind: 'up', color: COLOR.shortBreach, label: `Short breach (${result.short.breaches})` },
    ...(['floor', 'limit', 'held'] as const)
      .filter((k) => overrides.has(k))
      .map((k): LegendItem => ({ kind: 'area', color: OVERRIDE[k].fill, label: OVERRIDE[k].label })),
  ];
  const legendLayout = legendRows(legendItems, right - left);
  const plotBottom = height - 46 - LEGEND_ROW * legendLayout.length;
  // Panels: price 30%, σ 20%, margin 50% of the plot height; each has its title in the gap above it.
  const gap = 30;
  const plotTop = 138;
  const avail = plotBottom - plotTop - 2 * gap;
  const priceBox = box(plotTop, avail * 0.3);
  const volBox = box(priceBox.bottom + gap, avail * 0.2);
  const marginBox = box(volBox.bottom + gap, avail * 0.5);
  function box(top: number, panelHeight: number): Box {
    return { top, bottom: top + panelHeight, height: panelHeight };
  }

  // Shared x: each day owns [start, start + 1 day); points sit mid-day so the step line and bars align.
  const times = days.map((d) => Date.parse(`${d.date}T00:00:00Z`));
  const t0 = times[0] as number;
  const t1 = (times[times.length - 1] as number) + DAY_MS;
  const xOf = (t: number) => left + ((t - t0) / (t1 - t0)) * (right - left);
  const xs = times.map((t) => xOf(t + DAY_MS / 2));

  // Date gridlines in every panel (drawn per panel, over its shading), labels under the last.
  const ticks = dateTicks(t0, t1, Math.max(4, Math.floor((right - left) / 80)));
  // Year lines a shade darker than month lines, so the years read at a glance.
  const xGrid = (b: Box) => {
    for (const year of [false, true]) {
      const d = ticks
        .filter((t) => t.year === year)
        .map((t) => `M${num(xOf(t.time))} ${num(b.top)}V${num(b.bottom)}`)
        .join('');
      if (d)
        out.push(
          `<path d="${d}" stroke="${year ? COLOR.yearGrid : COLOR.grid}" stroke-width="1" fill="none"/>`,
        );
    }
  };
  out.push(`<g font-size="12" fill="${COLOR.muted}" text-anchor="middle">`);
  for (const tick of ticks) {
    out.push(`<text x="${num(xOf(tick.time))}" y="${num(plotBottom + 20)}">${esc(tick.label)}</text>`);
  }
  out.push('</g>');

  // (1) Price, log scale.
  const closes = days.map((d) => d.close);
  const positive = closes.filter((c) => c > 0 && Number.isFinite(c));
  const lo = positive.length > 0 ? extreme(positive, 'min') : 1;
  const hi = positive.length > 0 ? extreme(positive, 'max') : 10;
  const logLo = Math.log10(lo);
  const logHi = Math.log10(hi);
  const logPad = Math.max((logHi - logLo) * 0.05, 0.02);
  const priceY = scale(logLo - logPad, logHi + logPad, priceBox);
  const yPrice = (v: number) => (v > 0 ? priceY(Math.log10(v)) : Number.NaN);
  const priceTicks = logTicks(10 ** (logLo - logPad), 10 ** (logHi + logPad));
  panelTitle(out, left, priceBox, 'Close price', 'log scale');
  xGrid(priceBox);
  yGrid(out, left, right, priceTicks.map(yPrice));
  yLabels(out, left - 8, 'end', priceTicks, yPrice, compact);
  axisTitle(out, 22, priceBox, 'Price (log scale)');
  out.push(
    `<path d="${linePath(xs, closes.map(yPrice))}" fill="none" stroke="${COLOR.price}" stroke-width="1.4" stroke-linejoin="round"/>`,
  );
  frame(out, left, right, priceBox);

  // (2) Effective daily σ, from zero so ratios read honestly; annualised (×√365, crypto trades daily) on the right.
  const sigmas = days.map((d) => d.effectiveVolatility);
  const sigmaMax = Math.max(1e-6, extreme(sigmas.filter(Number.isFinite), 'max'));
  const sigmaTicks = niceTicks(0, sigmaMax * 1.08, 4);
  const sigmaTop = Math.max(sigmaMax * 1.08, sigmaTicks[sigmaTicks.length - 1] ?? 0);
  const yVol = scale(0, sigmaTop, volBox);
  const annual = Math.sqrt(365);
  const annualTicks = niceTicks(0, sigmaTop * annual, 4);
  panelTitle(out, left, volBox, 'Effective volatility σ', 'daily, left · annualised ×√365, right');
  xGrid(volBox);
  yGrid(out, left, right, sigmaTicks.map(yVol));
  yLabels(out, left - 8, 'end', sigmaTicks, yVol, percentTick(sigmaTicks));
  yLabels(out, right + 8, 'start', annualTicks, (v) => yVol(v / annual), percentTick(annualTicks));
  axisTitle(out, 22, volBox, 'Daily σ (%)');
  axisTitle(out, width - 18, volBox, 'Annualised σ (%)');
  out.push(
    `<path d="${linePath(xs, sigmas.map(yVol))}" fill="none" stroke="${COLOR.volatility}" stroke-width="1.4" stroke-linejoin="round"/>`,
  );
  frame(out, left, right, volBox);

  // (3) Initial margin rate against the realised MPOR loss of the worse side.
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
  const yMargin = scale(0, marginTop, marginBox);
  panelTitle(out, left, marginBox, 'Initial margin rate vs realised loss', `${h}-day MPOR, % of notional`);

  // Override shading first so everything else draws over it.
  out.push('<g>');
  let runStart = 0;
  for (let i = 1; i <= days.length; i++) {
    const kind = overrideOf((days[runStart] as BacktestDay).activeBound);
    const next = days[i];
    if (next && overrideOf(next.activeBound) === kind) continue;
    if (kind) {
      const x0 = xOf(times[runStart] as number);
      const x1 = xOf((times[i - 1] as number) + DAY_MS);
      out.push(
        `<rect x="${num(x0)}" y="${num(marginBox.top)}" width="${num(Math.max(x1 - x0, 2))}" ` +
          `height="${num(marginBox.height)}" fill="${OVERRIDE[kind].fill}" fill-opacity="0.55"/>`,
      );
    }
    runStart = i;
  }
  out.push('</g>');
  xGrid(marginBox);
  yGrid(out, left, right, marginTicks.map(yMargin));
  yLabels(out, left - 8, 'end', marginTicks, yMargin, percentTick(marginTicks));
  axisTitle(out, 22, marginBox, 'Rate / loss (% of notional)');

  const barPath: string[] = [];
  const base = num(yMargin(0));
  for (let i = 0; i < days.length; i++) {
    const y = yMargin(moves[i] as number);
    if (Number.isFinite(y)) barPath.push(`M${num(xs[i] as number)} ${base}V${num(y)}`);
  }
  const barWidth = Math.min(3, Math.max(0.6, ((right - left) / days.length) * 0.9));
  out.push(
    `<path d="${barPath.join('')}" fill="none" stroke="${COLOR.move}" stroke-width="${num(barWidth)}" stroke-opacity="0.7"/>`,
  );

  const hindsightY = num(yMargin(result.hindsightFixedRate));
  if (Number.isFinite(result.hindsightFixedRate)) {
    out.push(
      `<line x1="${left}" y1="${hindsightY}" x2="${right}" y2="${hindsightY}" stroke="${COLOR.hindsight}" ` +
        `stroke-width="1.2" stroke-dasharray="6 4"/>`,
    );
  }
  out.push(
    `<path d="${stepPath(times.map(xOf), rates.map(yMargin), xOf(t1))}" fill="none" stroke="${COLOR.margin}" ` +
      'stroke-width="2" stroke-linejoin="round"/>',
  );

  // Breach markers: one element each (tooltips in a browser), drawn last so they sit on top.
  out.push('<g stroke="#ffffff" stroke-width="0.8">');
  for (let i = 0; i < days.length; i++) {
    const d = days[i] as BacktestDay;
    const x = xs[i] as number;
    if (d.longBreach) {
      out.push(
        `<path class="breach long" d="${triangle(x, yMargin(d.longLoss), 'down')}" fill="${COLOR.longBreach}">` +
          `<title>${esc(`${d.date}: long loss ${pct(d.longLoss)} > IM ${pct(d.initialMarginRate)}`)}</title></path>`,
      );
    }
    if (d.shortBreach) {
      out.push(
        `<path class="breach short" d="${triangle(x, yMargin(d.shortLoss), 'up')}" fill="${COLOR.shortBreach}">` +
          `<title>${esc(`${d.date}: short loss ${pct(d.shortLoss)} > IM ${pct(d.initialMarginRate)}`)}</title></path>`,
      );
    }
  }
  out.push('</g>');
  frame(out, left, right, marginBox);

  drawLegend(out, left, plotBottom + 20 + LEGEND_ROW + 4, legendLayout);

  out.push('</svg>');
  return out.join('\n');
}

/**
 * A standalone HTML page (no external resources): the chart plus tables of the coverage statistics per
 * side and the cost and procyclicality figures.
 *
 * @example
 * await writeFile('btc.html', renderBacktestHtml(result));
 */
export function renderBacktestHtml(result: BacktestResult): string {
  const expected = (1 - result.confidence) * result.observations;
  const side = (name: string, s: SideStatistics) =>
    `<tr><th scope="row">${name}</th><td>${s.breaches}</td><td>${expected.toFixed(1)}</td>` +
    `<td>${pct(s.breachRate)}</td>${pCell(s.kupiecP)}${pCell(s.christoffersenP)}${pCell(s.conditionalCoverageP)}` +
    `<td class="zone ${s.trafficLight}">${s.trafficLight}</td></tr>`;
  const row = (label: string, value: string) =>
    `<tr><th scope="row">${esc(label)}</th><td>${esc(value)}</td></tr>`;
  const bounds = Object.entries(result.activeBounds)
    .map(([bound, n]) => `${bound} ${n}`)
    .join(', ');
  const title = `${result.instrument} — walk-forward initial margin backtest`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
  body { margin: 0; background: #f9fafb; color: #111827; font-family: ${FONT_FAMILY}; }
  main { max-width: 1440px; margin: 0 auto; padding: 24px; }
  figure { margin: 0 0 24px; background: #fff; border: 1px solid #e5e7eb; border-radius: 6px; overflow: hidden; }
  figure svg { display: block; width: 100%; height: auto; }
  h2 { font-size: 16px; margin: 24px 0 8px; }
  table { border-collapse: collapse; background: #fff; font-size: 14px; font-variant-numeric: tabular-nums; }
  th, td { border: 1px solid #e5e7eb; padding: 6px 12px; text-align: right; }
  thead th { background: #f3f4f6; }
  tbody th { text-align: left; font-weight: 600; }
  td.reject { color: ${COLOR.reject}; font-weight: 600; }
  td.zone { text-align: center; text-transform: uppercase; font-weight: 600; }
  td.green { background: #dcfce7; } td.yellow { background: #fef9c3; } td.red { background: #fee2e2; }
  p.note { color: #4b5563; font-size: 13px; }
</style>
</head>
<body>
<main>
<figure>
${renderBacktestSvg(result)}
</figure>
<h2>Coverage (${pct(result.confidence, 1)} confidence, ${result.marginPeriodOfRiskDays}-day MPOR, ${result.observations} observations)</h2>
<table class="coverage">
<thead><tr><th>Side</th><th>Breaches</th><th>Expected</th><th>Breach rate</th><th>Kupiec p</th><th>Christoffersen p</th><th>Conditional coverage p</th><th>Traffic light</th></tr></thead>
<tbody>
${side('Long', result.long)}
${side('Short', result.short)}
</tbody>
</table>
<p class="note">p-values below 0.05 (in red) reject correct coverage (Kupiec), independent breaches (Christoffersen) or both (conditional coverage).</p>
<h2>Cost and procyclicality</h2>
<table class="averages">
<tbody>
${row('Average initial margin rate', pct(result.averageInitialMarginRate))}
${row('Hindsight fixed rate', pct(result.hindsightFixedRate))}
${row('Ratio (average / hindsight)', result.efficiency.toFixed(3))}
${row('Peak-to-trough', `×${result.peakToTrough.toFixed(2)}`)}
${row('Max 1-day increase', `×${result.maxIncrease1d.toFixed(2)}`)}
${row('Max 5-day increase', `×${result.maxIncrease5d.toFixed(2)}`)}
${row('Held days', String(result.heldDays))}
${row('Rate set by', bounds)}
${row('Source', result.source)}
${row('Policy', result.policyVersion)}
${row('Scored', `${result.from} to ${result.to}`)}
</tbody>
</table>
</main>
</body>
</html>
`;
}

/**
 * Write the chart, in the format the extension names: `.svg`, `.html` (page with statistics) or `.png`
 * (the SVG rendered by resvg, 1400 px wide). Creates parent directories.
 *
 * @example
 * await writeBacktestChart(result, 'reports/btc.png');
 */
export async function writeBacktestChart(result: BacktestResult, path: string): Promise<void> {
  const extension = extname(path).toLowerCase();
  let content: string | Uint8Array;
  if (extension === '.svg') content = renderBacktestSvg(result);
  else if (extension === '.html') content = renderBacktestHtml(result);
  else if (extension === '.png') {
    // Loaded on demand: the native renderer is only needed for PNG, and CLI start-up stays fast.
    const { Resvg } = await import('@resvg/resvg-js');
    content = new Resvg(renderBacktestSvg(result), {
      fitTo: { mode: 'width', value: 1400 },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
  } else {
    throw new Error(
      `cannot write a chart to ${path}: the extension must be one of ${CHART_EXTENSIONS.join(', ')}`,
    );
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

// ---- drawing helpers ---------------------------------------------------------------------------------

interface Box {
  readonly top: number;
  readonly bottom: number;
  readonly height: number;
}

/** Linear map from [lo, hi] onto the box, upwards. */
function scale(lo: number, hi: number, b: Box): (v: number) => number {
  const span = hi - lo || 1;
  return (v) => b.bottom - ((v - lo) / span) * b.height;
}

function panelTitle(out: string[], x: number, b: Box, title: string, note: string): void {
  out.push(
    `<text x="${x}" y="${num(b.top - 10)}" font-size="14" fill="${COLOR.text}">` +
      `<tspan font-weight="700">${esc(title)}</tspan><tspan fill="${COLOR.faint}" font-size="12">${esc(`  ${note}`)}</tspan></text>`,
  );
}

function axisTitle(out: string[], x: number, b: Box, text: string): void {
  const y = num(b.top + b.height / 2);
  out.push(
    `<text transform="translate(${num(x)} ${y}) rotate(-90)" font-size="12" fill="${COLOR.muted}" text-anchor="middle">${esc(text)}</text>`,
  );
}

function frame(out: string[], left: number, right: number, b: Box): void {
  out.push(
    `<rect class="panel" x="${left}" y="${num(b.top)}" width="${num(right - left)}" height="${num(b.height)}" fill="none" stroke="${COLOR.frame}"/>`,
  );
}

function yGrid(out: string[], left: number, right: number, ys: readonly number[]): void {
  const d = ys
    .filter(Number.isFinite)
    .map((y) => `M${left} ${num(y)}H${right}`)
    .join('');
  out.push(`<path d="${d}" stroke="${COLOR.grid}" stroke-width="1" fill="none"/>`);
}

function yLabels(
  out: string[],
  x: number,
  anchor: 'start' | 'end',
  ticks: readonly number[],
  y: (v: number) => number,
  label: (v: number) => string,
): void {
  out.push(`<g font-size="12" fill="${COLOR.muted}" text-anchor="${anchor}">`);
  for (const v of ticks) {
    const yy = y(v);
    if (Number.isFinite(yy)) out.push(`<text x="${num(x)}" y="${num(yy + 4)}">${esc(label(v))}</text>`);
  }
  out.push('</g>');
}

type LegendItem = {
  readonly kind: 'line' | 'dash' | 'bar' | 'down' | 'up' | 'area';
  readonly color: string;
  readonly label: string;
};

const LEGEND_ROW = 20;
const LEGEND_FONT = 12.5;
const LEGEND_SWATCH = 18;
const LEGEND_GAP = 26;

/** Width of an item: swatch, padding, estimated text (no font metrics in SVG; see {@link fitFont}). */
function legendItemWidth(item: LegendItem): number {
  return LEGEND_SWATCH + 6 + item.label.length * LEGEND_FONT * CHAR_EM;
}

/** Greedy line breaking of legend items into rows no wider than `available`. */
function legendRows(items: readonly LegendItem[], available: number): LegendItem[][] {
  const rows: LegendItem[][] = [];
  let row: LegendItem[] = [];
  let used = 0;
  for (const item of items) {
    const w = legendItemWidth(item);
    if (row.length > 0 && used + w > available) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(item);
    used += w + LEGEND_GAP;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

function drawLegend(out: string[], left: number, firstBaseline: number, rows: readonly LegendItem[][]): void {
  const parts: string[] = [];
  rows.forEach((row, r) => {
    const baseline = firstBaseline + r * LEGEND_ROW;
    const cy = baseline - 4;
    let x = left;
    for (const item of row) {
      switch (item.kind) {
        case 'line':
          parts.push(
            `<line x1="${num(x)}" y1="${cy}" x2="${num(x + LEGEND_SWATCH)}" y2="${cy}" stroke="${item.color}" stroke-width="2.5"/>`,
          );
          break;
        case 'dash':
          parts.push(
            `<line x1="${num(x)}" y1="${cy}" x2="${num(x + LEGEND_SWATCH)}" y2="${cy}" stroke="${item.color}" stroke-width="1.5" stroke-dasharray="5 3"/>`,
          );
          break;
        case 'bar':
          parts.push(
            `<rect x="${num(x + LEGEND_SWATCH / 2 - 2)}" y="${cy - 6}" width="4" height="12" fill="${item.color}" fill-opacity="0.8"/>`,
          );
          break;
        case 'down':
        case 'up':
          parts.push(
            `<path d="${triangle(x + LEGEND_SWATCH / 2, cy + 6, item.kind)}" fill="${item.color}"/>`,
          );
          break;
        case 'area':
          parts.push(
            `<rect x="${num(x + 2)}" y="${cy - 6}" width="${LEGEND_SWATCH - 4}" height="12" fill="${item.color}" stroke="${COLOR.frame}"/>`,
          );
          break;
      }
      parts.push(`<text x="${num(x + LEGEND_SWATCH + 6)}" y="${baseline}">${esc(item.label)}</text>`);
      x += legendItemWidth(item) + LEGEND_GAP;
    }
  });
  out.push(`<g font-size="${LEGEND_FONT}" fill="${COLOR.text}">`, ...parts, '</g>');
}

/** A marker just above (x, y), the top of the loss bar it flags: ▼ points down at it, ▲ up from it. */
function triangle(x: number, y: number, direction: 'up' | 'down'): string {
  const half = 5.5;
  const size = 10;
  return direction === 'down'
    ? `M${num(x - half)} ${num(y - size - 1)}H${num(x + half)}L${num(x)} ${num(y - 1)}Z`
    : `M${num(x - half)} ${num(y - 1)}H${num(x + half)}L${num(x)} ${num(y - size - 1)}Z`;
}

/** A polyline through the finite points; non-finite values break the line rather than drop to zero. */
function linePath(xs: readonly number[], ys: readonly number[]): string {
  const parts: string[] = [];
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i] as number;
    const y = ys[i] as number;
    if (!Number.isFinite(y)) {
      pen = false;
      continue;
    }
    parts.push(pen ? ` ${num(x)} ${num(y)}` : `M${num(x)} ${num(y)}L`);
    pen = true;
  }
  // A trailing "L" with no coordinates is invalid path data: drop it from a single-point run.
  return parts.join('').replace(/L(?=M|$)/g, '');
}

/** The rate holds for the whole day: horizontal to the next day's start, then vertical to its rate. */
function stepPath(starts: readonly number[], ys: readonly number[], end: number): string {
  const parts: string[] = [];
  let pen = false;
  for (let i = 0; i < starts.length; i++) {
    const y = ys[i] as number;
    const x = starts[i] as number;
    if (!Number.isFinite(y)) {
      if (pen) parts.push(`H${num(x)}`);
      pen = false;
      continue;
    }
    parts.push(pen ? `H${num(x)}V${num(y)}` : `M${num(x)} ${num(y)}`);
    pen = true;
  }
  if (pen) parts.push(`H${num(end)}`);
  return parts.join('');
}

// ---- ticks and formats -------------------------------------------------------------------------------

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Month-aligned ticks, coarsening (1, 3, 6, 12, 24 … months) until at most `maxTicks` fit. */
function dateTicks(
  t0: number,
  t1: number,
  maxTicks: number,
): { time: number; label: string; year: boolean }[] {
  const start = new Date(t0);
  let first = start.getUTCFullYear() * 12 + start.getUTCMonth();
  if (Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1) < t0) first++;
  for (const step of [1, 2, 3, 6, 12, 24, 60, 120, 240]) {
    const ticks: { time: number; label: string; year: boolean }[] = [];
    for (let m = Math.ceil(first / step) * step; ; m += step) {
      const year = Math.floor(m / 12);
      const month = m % 12;
      const time = Date.UTC(year, month, 1);
      if (time > t1) break;
      const label =
        month === 0 ? String(year) : ticks.length === 0 ? `${MONTHS[month]} ${year}` : (MONTHS[month] ?? '');
      ticks.push({ time, label, year: month === 0 });
    }
    if (ticks.length <= maxTicks) return ticks;
  }
  return [];
}

/** About `target` ticks at 1, 2, 2.5 or 5 × 10^k covering [min, max]. */
function niceTicks(min: number, max: number, target: number): number[] {
  const span = max - min;
  if (!(span > 0) || !Number.isFinite(span)) return [min];
  const magnitude = 10 ** Math.floor(Math.log10(span / target));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => span / s <= target) ?? 10 * magnitude;
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) {
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return ticks;
}

/** Ticks at 1, 2, 5 × 10^k (thinned or densified to 3–8), or linear ticks when the range is narrow. */
function logTicks(lo: number, hi: number): number[] {
  const k0 = Math.floor(Math.log10(lo));
  const k1 = Math.ceil(Math.log10(hi));
  for (const mantissas of [[1], [1, 3], [1, 2, 5], [1, 2, 3, 5, 7]]) {
    const ticks: number[] = [];
    for (let k = k0; k <= k1; k++) {
      for (const m of mantissas) {
        const v = Number((m * 10 ** k).toPrecision(12));
        if (v >= lo && v <= hi) ticks.push(v);
      }
    }
    if (ticks.length > 8) {
      const every = Math.ceil(ticks.length / 8);
      return ticks.filter((_, i) => i % every === 0);
    }
    if (ticks.length >= 3) return ticks;
  }
  return niceTicks(lo, hi, 4).filter((v) => v > 0);
}

/** Min or max by a loop: spreading a long series into Math.max overflows the call stack. */
function extreme(values: readonly number[], which: 'min' | 'max'): number {
  let best = which === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const v of values) if (which === 'min' ? v < best : v > best) best = v;
  return best;
}

/** 0.1184 → "11.84%" (digits after the point). */
function pct(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : '–';
}

/** Tick labels in % with just enough decimals for the tick step. */
function percentTick(ticks: readonly number[]): (v: number) => string {
  const step = ticks.length > 1 ? ((ticks[1] as number) - (ticks[0] as number)) * 100 : 1;
  let digits = 0;
  while (digits < 3 && Math.abs(Number(step.toFixed(digits)) - step) > 1e-9) digits++;
  return (v) => `${(v * 100).toFixed(digits)}%`;
}

/** 25000 → "25k", 1500000 → "1.5M", 0.0123 → "0.012". */
function compact(v: number): string {
  const short = (x: number) => String(Number(x.toPrecision(3)));
  if (v >= 1e9) return `${short(v / 1e9)}B`;
  if (v >= 1e6) return `${short(v / 1e6)}M`;
  if (v >= 1e3) return `${short(v / 1e3)}k`;
  return short(v);
}

function pValue(p: number): string {
  if (!Number.isFinite(p)) return '–';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

/** "Long 23 breaches (0.83%), Kupiec p 0.356, Christoffersen p <0.001" with rejections in red. */
function sideSummary(name: string, s: SideStatistics): string {
  const p = (label: string, value: number) =>
    value < 0.05
      ? `${esc(`${label} p `)}<tspan fill="${COLOR.reject}" font-weight="600">${esc(pValue(value))}</tspan>`
      : esc(`${label} p ${pValue(value)}`);
  return (
    `<tspan font-weight="600">${esc(`${name}: ${s.breaches} breaches`)}</tspan>` +
    `${esc(` (${pct(s.breachRate)}), `)}${p('Kupiec', s.kupiecP)}${esc(', ')}${p('Christoffersen', s.christoffersenP)}`
  );
}

function pCell(p: number): string {
  return `<td${p < 0.05 ? ' class="reject"' : ''}>${esc(pValue(p))}</td>`;
}

/**
 * Average advance of a character in em, a little generous: DejaVu Sans (resvg's usual fallback) runs
 * ~0.5 em on mixed text, system UI fonts less, so estimates err towards spare room, not overlap.
 */
const CHAR_EM = 0.53;

/** The largest font size ≤ `preferred` (and ≥ 9) at which `chars` characters fit in `maxWidth`. */
function fitFont(chars: number, maxWidth: number, preferred: number): number {
  return Math.round(Math.max(9, Math.min(preferred, maxWidth / (chars * CHAR_EM))) * 10) / 10;
}

/** Characters a line of SVG text markup shows (tags dropped, entities one character). */
function plainLength(markup: string): number {
  return markup.replace(/<[^>]+>/g, '').replace(/&[#\w]+;/g, '_').length;
}

/** One decimal is plenty at screen resolution and keeps ~3,000-point paths small. */
function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Escape text for XML/HTML content and attribute values. */
function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
