/**
 * The backtest as a standalone HTML page: the chart, then tables of the coverage statistics per side and
 * the cost and procyclicality figures. No scripts and no external resources.
 */
import type { BacktestResult, SideStatistics } from '../../domain/backtest/backtest.ts';
import { COLOR, cleanse, esc, FONT_FAMILY, pct, pValue } from './format.ts';
import { chartTitle } from './header.ts';
import { renderBacktestSvg } from './render.ts';

/**
 * The page, with the chart's SVG inline.
 *
 * @example
 * await writeFile('btc.html', await renderBacktestHtml(result));
 */
export async function renderBacktestHtml(result: BacktestResult): Promise<string> {
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
  const title = chartTitle(result);
  const svg = await renderBacktestSvg(result);
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
${svg}
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
${row('Source', cleanse(result.source))}
${row('Policy', cleanse(result.policyVersion))}
${row('Scored', `${result.from} to ${result.to}`)}
</tbody>
</table>
</main>
</body>
</html>
`;
}

function pCell(p: number): string {
  return `<td${p < 0.05 ? ' class="reject"' : ''}>${esc(pValue(p))}</td>`;
}
