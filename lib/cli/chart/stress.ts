/**
 * The chart of a cascade (`qmt stress --chart`): each instrument's mark as a share of its pre-shock price
 * round by round, over the notional closed out in each round. A Vega-Lite spec (pure: report in, spec
 * out), rendered headless as the backtest chart is (`render.ts`).
 */
import { existsSync } from 'node:fs';
import * as vega from 'vega';
import type { TopLevelSpec } from 'vega-lite';
import type { CascadeReport } from '../../domain/stress/cascade.ts';
import { cleanse, esc, FONT_FAMILY } from './format.ts';
import { compileChart } from './render.ts';

const WIDTH = 900;

/**
 * The spec: top, mark ÷ pre-shock mark per instrument at the start, each round and the end; bottom,
 * notional closed out per round and instrument. Every user string (symbols) travels as data.
 */
export function stressChartSpec(report: CascadeReport): TopLevelSpec {
  const symbols = Object.keys(report.startMarks);
  const path: { step: number; label: string; symbol: string; level: number }[] = [];
  for (const symbol of symbols) {
    const start = report.startMarks[symbol] as number;
    path.push({ step: -1, label: 'before', symbol: cleanse(symbol), level: 1 });
    for (const r of report.rounds) {
      path.push({
        step: r.round,
        label: `round ${r.round}`,
        symbol: cleanse(symbol),
        level: (r.marks[symbol] as number) / start,
      });
    }
    path.push({
      step: report.rounds.length,
      label: 'after',
      symbol: cleanse(symbol),
      level: (report.finalMarks[symbol] as number) / start,
    });
  }
  const bars = report.rounds.flatMap((r) =>
    Object.entries(r.flows).map(([symbol, f]) => ({
      step: r.round,
      symbol: cleanse(symbol),
      notional: f.sellNotional + f.buyNotional,
    })),
  );
  const x = {
    field: 'step',
    type: 'quantitative',
    title: 'round (−1: before the shock; the last point: after the final orders)',
    axis: { tickMinStep: 1, format: 'd' },
    scale: { domain: [-1, report.rounds.length] },
  } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Liquidation cascade', font: FONT_FAMILY },
    config: { font: FONT_FAMILY, view: { stroke: null } },
    vconcat: [
      {
        width: WIDTH,
        height: 280,
        data: { values: path },
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: {
            field: 'level',
            type: 'quantitative',
            title: 'mark ÷ mark before the shock',
            scale: { zero: false },
            axis: { format: '.1%' },
          },
          color: { field: 'symbol', type: 'nominal', title: 'instrument' },
        },
      },
      {
        width: WIDTH,
        height: 180,
        data: { values: bars },
        mark: { type: 'bar' },
        encoding: {
          x: { ...x, type: 'ordinal', title: 'round', scale: undefined, axis: { labelAngle: 0 } },
          xOffset: { field: 'symbol', type: 'nominal' },
          y: {
            field: 'notional',
            type: 'quantitative',
            title: 'notional closed out (quote)',
            axis: { format: '~s' },
          },
          color: { field: 'symbol', type: 'nominal', title: 'instrument' },
        },
      },
    ],
  } as TopLevelSpec;
}

/** The chart as a standalone SVG. */
export async function renderStressSvg(report: CascadeReport): Promise<string> {
  const { spec } = compileChart(stressChartSpec(report));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const FONT_FILES = [
  '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf',
  '/usr/share/fonts/dejavu/DejaVuSans.ttf',
];

/** The chart as a PNG (resvg, DejaVu Sans when the machine has it). */
export async function renderStressPng(report: CascadeReport): Promise<Uint8Array> {
  const { Resvg } = await import('@resvg/resvg-js');
  const fontFiles = FONT_FILES.filter((file) => existsSync(file));
  return new Resvg(await renderStressSvg(report), {
    font: { loadSystemFonts: fontFiles.length === 0, fontFiles, defaultFontFamily: 'DejaVu Sans' },
  })
    .render()
    .asPng();
}

/** A page with the chart inline (no scripts). */
export async function renderStressHtml(report: CascadeReport): Promise<string> {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc('qmt stress')}</title></head><body>${await renderStressSvg(report)}</body></html>\n`;
}
