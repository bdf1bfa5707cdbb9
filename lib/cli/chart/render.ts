/**
 * Renders the backtest chart's Vega-Lite spec headless: Vega to SVG (no browser, no canvas: Vega
 * estimates text widths, so the SVG depends on the input alone), resvg from SVG to PNG with a font we
 * name, so a PNG does not change with the fonts a machine happens to have. Loaded only when a chart is
 * asked for: Vega is a large import and `qmt` should not pay for it on every start.
 */
import { existsSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BacktestResult } from '../../domain/backtest/backtest.ts';
import { esc, FONT_FAMILY } from './format.ts';
import { chartTitle } from './header.ts';
import { backtestChartSpec, type ChartOptions, chartSize } from './spec.ts';

/**
 * The chart as a standalone SVG (no scripts, links or external fonts), exactly the requested size.
 *
 * @example
 * const svg = await renderBacktestSvg(backtest(DEFAULT_THRESHOLD_POLICY, btc));
 * await writeFile('btc.svg', svg);
 */
export async function renderBacktestSvg(result: BacktestResult, options: ChartOptions = {}): Promise<string> {
  const { width, height, plotWidth } = chartSize(options);
  const { spec: compiled } = compileChart(backtestChartSpec(result, options));
  // Vega-Lite sizes a concatenation by its content; the spec's arithmetic layout fills this canvas
  // (the plot width plus the left and right padding the spec sets).
  const view = new vega.View(vega.parse({ ...compiled, width: plotWidth, height }), {
    renderer: 'none',
  });
  try {
    const svg = await view.toSVG();
    // Our own root element: the size as asked, the font stack, and a title for screen readers and tabs.
    const root =
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="${esc(FONT_FAMILY)}" role="img"><title>${esc(`${chartTitle(result)} (${result.from} to ${result.to})`)}</title>`;
    return roundCoordinates(svg.replace(/^<svg[^>]*>/, root));
  } finally {
    view.finalize();
  }
}

/**
 * Geometry to one decimal: plenty at screen resolution, and a 3,000-day line is a third of the bytes.
 * Only coordinates in geometry attributes change; text and labels stay as they are.
 */
/**
 * Vega-Lite to Vega, with Vega-Lite's warnings collected instead of printed (a CLI report is no place for
 * them; the spec tests require there are none).
 */
export function compileChart(spec: TopLevelSpec): { readonly spec: vega.Spec; readonly warnings: string[] } {
  const warnings: string[] = [];
  let level = 0;
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error(...args: readonly unknown[]) {
      throw new Error(`chart spec: ${args.join(' ')}`);
    },
    warn(...args: readonly unknown[]) {
      warnings.push(args.join(' '));
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return { spec: compile(spec, { logger: logger as never }).spec, warnings };
}

function roundCoordinates(svg: string): string {
  return svg.replace(
    / (d|transform|x|y|x1|y1|x2|y2|width|height)="([^"]*)"/g,
    (_, name: string, value: string) => {
      const rounded = value.replace(/-?\d*\.\d{2,}(?:e-?\d+)?/g, (n) =>
        String(Math.round(Number(n) * 10) / 10),
      );
      return ` ${name}="${rounded}"`;
    },
  );
}

// DejaVu Sans, where Debian, Ubuntu and Alpine put it. Without it, resvg falls back to the system fonts.
const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf',
];

/**
 * The chart as a PNG 1400 px wide (resvg). Text is drawn in DejaVu Sans loaded from its file, not from
 * whatever fonts the system lists, so the same input gives the same bytes.
 *
 * @example
 * await writeFile('btc.png', await renderBacktestPng(result));
 */
export async function renderBacktestPng(
  result: BacktestResult,
  options: ChartOptions = {},
): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const fontFiles = FONT_FILES.filter((file) => existsSync(file));
  return new Resvg(await renderBacktestSvg(result, options), {
    fitTo: { mode: 'width', value: 1400 },
    font: {
      loadSystemFonts: fontFiles.length === 0,
      fontFiles,
      defaultFontFamily: 'DejaVu Sans',
      sansSerifFamily: 'DejaVu Sans',
    },
  })
    .render()
    .asPng();
}
