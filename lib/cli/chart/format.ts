/**
 * Numbers, ticks and text for the backtest chart and its HTML page. Pure: the spec builder and the page
 * share them, so a tick or a percentage reads the same everywhere.
 */
import { forTerminal } from '../../domain/text.ts';

/** The palette, named by what each colour marks. */
export const COLOR = {
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

// System fonts first (crisp in browsers), then DejaVu Sans, the font the PNG renderer is given.
export const FONT_FAMILY =
  "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif";

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface DateTick {
  readonly time: number;
  readonly label: string;
  /** A year boundary: its gridline is drawn a shade darker. */
  readonly year: boolean;
}

/** Month-aligned ticks, coarsening (1, 3, 6, 12, 24 … months) until at most `maxTicks` fit. */
export function dateTicks(t0: number, t1: number, maxTicks: number): DateTick[] {
  const start = new Date(t0);
  let first = start.getUTCFullYear() * 12 + start.getUTCMonth();
  if (Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), 1) < t0) first++;
  for (const step of [1, 2, 3, 6, 12, 24, 60, 120, 240]) {
    const ticks: DateTick[] = [];
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
export function niceTicks(min: number, max: number, target: number): number[] {
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
export function logTicks(lo: number, hi: number): number[] {
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
export function extreme(values: readonly number[], which: 'min' | 'max'): number {
  let best = which === 'min' ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY;
  for (const v of values) if (which === 'min' ? v < best : v > best) best = v;
  return best;
}

/** 0.1184 → "11.84%" (digits after the point). */
export function pct(value: number, digits = 2): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(digits)}%` : '–';
}

/** Decimals a percentage tick label needs for the tick step: 2% steps 0, 2.5% steps 1. */
export function percentDigits(ticks: readonly number[]): number {
  const step = ticks.length > 1 ? ((ticks[1] as number) - (ticks[0] as number)) * 100 : 1;
  let digits = 0;
  while (digits < 3 && Math.abs(Number(step.toFixed(digits)) - step) > 1e-9) digits++;
  return digits;
}

/** 25000 → "25k", 1500000 → "1.5M", 0.0123 → "0.0123". */
export function compact(v: number): string {
  const short = (x: number) => String(Number(x.toPrecision(3)));
  if (v >= 1e9) return `${short(v / 1e9)}B`;
  if (v >= 1e6) return `${short(v / 1e6)}M`;
  if (v >= 1e3) return `${short(v / 1e3)}k`;
  return short(v);
}

export function pValue(p: number): string {
  if (!Number.isFinite(p)) return '–';
  return p < 0.001 ? '<0.001' : p.toFixed(3);
}

/**
 * A user-supplied string (instrument name, file name, policy version) made safe to show: control
 * characters and bidi overrides written as visible `\uXXXX`, so a name cannot break a line or reorder
 * what a reader sees. XML escaping is the renderer's job (Vega escapes text; {@link esc} for our markup).
 */
export function cleanse(text: string): string {
  return forTerminal(text);
}

/** Escape text for XML/HTML content and attribute values. */
export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
