/**
 * `qmt backtest --chart <file>`: writes the chart in the format the extension names. The renderers (Vega,
 * resvg) load here on demand, so a `qmt` run without `--chart` never imports them.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import type { BacktestResult } from '../../domain/backtest/backtest.ts';
import type { CascadeReport } from '../../domain/stress/cascade.ts';

/** The extensions {@link writeBacktestChart} understands. */
export const CHART_EXTENSIONS = ['.svg', '.html', '.png'] as const;

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
  if (extension === '.svg') content = await (await import('./render.ts')).renderBacktestSvg(result);
  else if (extension === '.html') content = await (await import('./html.ts')).renderBacktestHtml(result);
  else if (extension === '.png') content = await (await import('./render.ts')).renderBacktestPng(result);
  else {
    throw new Error(
      `cannot write a chart to ${path}: the extension must be one of ${CHART_EXTENSIONS.join(', ')}`,
    );
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}

/**
 * `qmt stress --chart <file>`: the cascade's chart (`stress.ts`) as `.svg`, `.html` or `.png`.
 *
 * @example
 * await writeStressChart(report, 'reports/cascade.svg');
 */
export async function writeStressChart(report: CascadeReport, path: string): Promise<void> {
  const extension = extname(path).toLowerCase();
  const chart = await import('./stress.ts');
  let content: string | Uint8Array;
  if (extension === '.svg') content = await chart.renderStressSvg(report);
  else if (extension === '.html') content = await chart.renderStressHtml(report);
  else if (extension === '.png') content = await chart.renderStressPng(report);
  else {
    throw new Error(
      `cannot write a chart to ${path}: the extension must be one of ${CHART_EXTENSIONS.join(', ')}`,
    );
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}
