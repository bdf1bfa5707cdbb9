import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { renderRevisitChart } from './support/revisit-chart.ts';

describe('renderRevisitChart', () => {
  const days = ['2021-12-30', '2021-12-31', '2022-01-01', '2022-01-02'].map((day, i) => ({
    day,
    revisitedShare: [0.001, 0.2, 0, 0.01][i] as number,
    largestMove: [0.01, 0.12, 0.0, 0.03][i] as number,
  }));

  it('draws one point per day in each panel, marks the new year and renders', () => {
    const svg = renderRevisitChart(days, 'Breach index <test>');
    const paths = [...svg.matchAll(/<path d="([^"]+)"/g)].map((m) => m[1] ?? '');
    expect(paths).toHaveLength(2);
    for (const path of paths) expect(path.match(/[ML]/g)).toHaveLength(days.length);
    expect(svg).toContain('>2022</text>');
    expect(svg).toContain('Breach index &lt;test&gt;');
    // The day with the most revisits is the highest point of the first panel (smallest y).
    const ys = (paths[0] ?? '')
      .split(/[ML]/)
      .filter(Boolean)
      .map((p) => Number(p.split(',')[1]));
    expect(Math.min(...ys)).toBe(ys[1]);
    const png = new Resvg(svg).render().asPng();
    expect(png.length).toBeGreaterThan(1000);
  });

  it('refuses fewer than two days', () => {
    expect(() => renderRevisitChart(days.slice(0, 1), 'x')).toThrow(/two days/);
  });
});
