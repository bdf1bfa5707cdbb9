/**
 * The breach-index bench's chart: per day, the share of accounts a targeted sweep revisited, above the
 * day's largest close-to-close move, so a reader sees the saving follow the market. Plain SVG (the
 * backtest chart, `cli/chart/`, is a Vega-Lite spec).
 */

export interface RevisitDay {
  /** YYYY-MM-DD */
  readonly day: string;
  /** Accounts revisited ÷ accounts indexed, 0–1. */
  readonly revisitedShare: number;
  /** Largest |close-to-close return| of the instruments that day, as a fraction. */
  readonly largestMove: number;
}

const WIDTH = 1200;
const HEIGHT = 640;
const LEFT = 80;
const RIGHT = 30;
const FONT = "system-ui, 'Segoe UI', Roboto, Helvetica, Arial, 'DejaVu Sans', sans-serif";

/**
 * @example
 * await writeFile('bench-results/breach-index.svg', renderRevisitChart(days, 'Breach index, 100,000 accounts'));
 */
export function renderRevisitChart(days: readonly RevisitDay[], title: string): string {
  if (days.length < 2) throw new RangeError('renderRevisitChart: needs at least two days');
  const x = (i: number) => LEFT + (i / (days.length - 1)) * (WIDTH - LEFT - RIGHT);
  const panels = [
    {
      top: 70,
      bottom: 330,
      label: 'accounts revisited (share of all, log scale)',
      values: days.map((d) => d.revisitedShare),
      color: '#1d4ed8',
      log: true,
    },
    {
      top: 390,
      bottom: 590,
      label: 'largest daily move of BTC, ETH, SOL',
      values: days.map((d) => d.largestMove),
      color: '#334155',
      log: false,
    },
  ];
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT}">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="32" font-size="20" font-weight="600" fill="#111827">${escapeText(title)}</text>`,
  ];
  for (const panel of panels) {
    const positive = panel.values.filter((v) => v > 0);
    const floor = panel.log ? Math.max(1e-5, Math.min(...positive, 1) / 2) : 0;
    const hi = Math.max(...panel.values, panel.log ? floor * 10 : 1e-9);
    const t = (v: number) => (panel.log ? Math.log10(Math.max(v, floor)) : v);
    const [lo, top] = [t(floor), t(hi)];
    const y = (v: number) => panel.bottom - ((t(v) - lo) / (top - lo || 1)) * (panel.bottom - panel.top);
    out.push(
      `<text x="${LEFT}" y="${panel.top - 10}" font-size="14" fill="#4b5563">${escapeText(panel.label)}</text>`,
      `<rect x="${LEFT}" y="${panel.top}" width="${WIDTH - LEFT - RIGHT}" height="${panel.bottom - panel.top}" fill="none" stroke="#d1d5db"/>`,
    );
    for (const tick of ticks(floor, hi, panel.log)) {
      const ty = y(tick).toFixed(1);
      out.push(
        `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${ty}" y2="${ty}" stroke="#eceef1"/>`,
        `<text x="${LEFT - 8}" y="${ty}" font-size="12" fill="#6b7280" text-anchor="end" dominant-baseline="middle">${percent(tick)}</text>`,
      );
    }
    const path = panel.values
      .map((v, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`)
      .join('');
    out.push(`<path d="${path}" fill="none" stroke="${panel.color}" stroke-width="1.2"/>`);
  }
  // Year boundaries on both panels.
  days.forEach((d, i) => {
    if (i > 0 && d.day.slice(0, 4) !== days[i - 1]?.day.slice(0, 4)) {
      const lx = x(i).toFixed(1);
      out.push(
        `<line x1="${lx}" x2="${lx}" y1="70" y2="590" stroke="#d5d9de" stroke-dasharray="3 3"/>`,
        `<text x="${lx}" y="612" font-size="12" fill="#6b7280" text-anchor="middle">${d.day.slice(0, 4)}</text>`,
      );
    }
  });
  out.push('</svg>');
  return out.join('\n');
}

function ticks(lo: number, hi: number, log: boolean): number[] {
  if (log) {
    const out: number[] = [];
    for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) out.push(10 ** e);
    return out;
  }
  const step = [0.01, 0.02, 0.05, 0.1, 0.2].find((s) => hi / s <= 6) ?? 0.5;
  return Array.from({ length: Math.floor(hi / step) + 1 }, (_, i) => i * step);
}

function percent(v: number): string {
  const p = v * 100;
  return `${p >= 1 ? p.toFixed(0) : p >= 0.1 ? p.toFixed(1) : p.toPrecision(1)}%`;
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
