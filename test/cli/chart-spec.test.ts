import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileChart } from '../../lib/cli/chart/render.ts';
import { backtestChartSpec, chartSize } from '../../lib/cli/chart/spec.ts';
import { syntheticResult } from './chart-fixture.ts';

type View = { name?: string; width?: number; height?: number; layer?: Layer[] };
type Layer = { data?: { values?: Record<string, unknown>[]; name?: string }; mark: Record<string, unknown> };

/** The spec as plain JSON: what Vega-Lite receives. */
function specOf(...args: Parameters<typeof backtestChartSpec>) {
  return JSON.parse(JSON.stringify(backtestChartSpec(...args))) as {
    padding: { left: number; right: number };
    vconcat: View[];
    datasets?: { days: unknown[] };
  };
}

/** Every string inside a Vega expression the spec carries (label lookups, conditions). */
function expressions(value: unknown, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) expressions(v, found);
  else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (
        (key === 'labelExpr' || key === 'test' || key === 'expr' || key === 'signal') &&
        typeof v === 'string'
      )
        found.push(v);
      else expressions(v, found);
    }
  }
  return found;
}

const texts = (view: View | undefined) =>
  (view?.layer ?? []).filter((l) => l.mark.type === 'text').map((l) => String(l.mark.text));

describe('backtestChartSpec (pure: data in, Vega-Lite spec out)', () => {
  const result = syntheticResult();
  const spec = specOf(result);

  it('stacks a header, the price, σ and margin panels, and a legend, filling the requested width', () => {
    expect(spec.vconcat.map((v) => v.name)).toEqual([
      undefined,
      'panel_price',
      'panel_volatility',
      'panel_margin',
      undefined,
    ]);
    const { plotWidth } = chartSize({ width: 1000 });
    const narrow = specOf(result, { width: 1000, height: 700 });
    expect(narrow.padding.left + plotWidth + narrow.padding.right).toBe(1000);
    for (const panel of narrow.vconcat.slice(1, 4)) expect(panel.width).toBe(plotWidth);
  });

  it('carries every scored day and every breach as data', () => {
    expect(spec.datasets?.days).toHaveLength(result.days.length);
    const margin = spec.vconcat[3] as View;
    const breaches = margin.layer?.find((l) => l.mark.type === 'point')?.data?.values ?? [];
    expect(breaches.filter((b) => b.side === 'long')).toHaveLength(result.long.breaches);
    expect(breaches.filter((b) => b.side === 'short')).toHaveLength(result.short.breaches);
  });

  it('compiles without a Vega-Lite warning, at the default size, narrow, and for one day or none', () => {
    const one = syntheticResult('ONE', 1);
    for (const s of [
      backtestChartSpec(result),
      backtestChartSpec(result, { width: 700, height: 500 }),
      backtestChartSpec(one),
      backtestChartSpec({ ...one, days: [] }),
    ]) {
      expect(compileChart(s).warnings).toEqual([]);
    }
  });

  it('shows control characters and bidi overrides in user strings as visible escapes', () => {
    const nasty = {
      ...syntheticResult('BTC\u202eCSU\u0007'),
      source: 'file:evil\nname.csv',
      policyVersion: 'p\u001b[2J1',
    };
    const header = texts(specOf(nasty).vconcat[0]);
    expect(header[0]).toBe('BTC\\u202eCSU\\u0007 — walk-forward initial margin backtest');
    expect(header[1]).toContain('Source file:evil\\u000aname.csv · policy p\\u001b[2J1');
    const unsafe = (ch: string) => ch.charCodeAt(0) < 0x20 || (ch >= '\u202a' && ch <= '\u202e');
    for (const text of header) expect([...text].filter(unsafe)).toEqual([]);
  });

  it('never puts a user string inside a Vega expression', () => {
    const marker = "x' + alert(1) + '";
    const hostile = specOf({ ...syntheticResult(marker), source: marker, policyVersion: marker });
    const found = expressions(hostile);
    expect(found.length).toBeGreaterThan(0);
    for (const expression of found) expect(expression).not.toContain('alert');
  });
});

describe('start-up cost', () => {
  /** Bare packages a module imports statically, following relative imports from `entry`. */
  function staticPackages(
    entry: string,
    seen = new Set<string>(),
    packages = new Set<string>(),
  ): Set<string> {
    if (seen.has(entry)) return packages;
    seen.add(entry);
    const source = readFileSync(entry, 'utf8');
    // Static imports and re-exports, side-effect imports included; `import type` is erased, so skipped.
    for (const [, specifier] of source.matchAll(
      /^(?:import|export)(?!\s+type\s)\s(?:[^;]*?\sfrom\s+)?'([^']+)'/gms,
    )) {
      if (!specifier) continue;
      if (specifier.startsWith('.')) staticPackages(resolve(dirname(entry), specifier), seen, packages);
      else packages.add(specifier);
    }
    return packages;
  }

  it('qmt does not load Vega, Vega-Lite or resvg unless a chart is asked for', () => {
    const packages = staticPackages(join(import.meta.dirname, '../../lib/cli/main.ts'));
    expect(packages.size).toBeGreaterThan(3); // the walk did find main's imports
    expect([...packages].filter((p) => /^(vega|vega-lite|@resvg\/)/.test(p))).toEqual([]);
  });
});
