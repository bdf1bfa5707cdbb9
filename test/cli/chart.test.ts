import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBacktestHtml } from '../../lib/cli/chart/html.ts';
import { renderBacktestPng, renderBacktestSvg } from '../../lib/cli/chart/render.ts';
import { CHART_EXTENSIONS, writeBacktestChart } from '../../lib/cli/chart/write.ts';
import { syntheticResult } from './chart-fixture.ts';

/** Tags balance (a tiny XML well-formedness check: nesting, and no bare `&` or `<` in text). */
function checkWellFormed(xml: string): void {
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let match = tag.exec(xml); match; match = tag.exec(xml)) {
    const text = xml.slice(last, match.index);
    expect(text, `text before offset ${match.index}`).not.toMatch(/<|&(?!amp;|lt;|gt;|quot;|#39;)/);
    last = tag.lastIndex;
    const [, closing, name, , selfClosing] = match;
    if (closing) expect(stack.pop(), `closing </${name}> at ${match.index}`).toBe(name);
    else if (!selfClosing) stack.push(name as string);
  }
  expect(xml.slice(last).trim()).toBe('');
  expect(stack).toEqual([]);
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

describe('renderBacktestSvg', () => {
  const result = syntheticResult();
  let svg: string;
  beforeAll(async () => {
    svg = await renderBacktestSvg(result);
  }, 30_000);

  it('has real breaches on both sides to draw (fixture sanity)', () => {
    expect(result.long.breaches).toBeGreaterThan(2);
    expect(result.short.breaches).toBeGreaterThan(2);
  });

  it('is one well-formed <svg> root at 1400×900 by default, with three panels', () => {
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" width="1400" height="900" viewBox="0 0 1400 900"/,
    );
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    checkWellFormed(svg);
    expect(svg.match(/class="mark-group role-scope panel_\w+_group"/g)).toHaveLength(3);
    expect(svg).not.toContain('NaN');
    expect(svg).not.toContain('Infinity');
  });

  it('is self-contained: no scripts, links or external fonts', () => {
    expect(svg).not.toMatch(/<script|href=|@import|url\(/);
    expect(svg).toContain('sans-serif');
  });

  it('titles the chart with the instrument and states what was tested', () => {
    expect(svg).toContain('BTC — walk-forward initial margin backtest');
    for (const text of [
      'file:synthetic.csv',
      'test-policy-1',
      '99.0% confidence',
      '1-day MPOR',
      '2021-01-01 to 2022-02-04',
    ]) {
      expect(svg).toContain(text);
    }
  });

  it('summarises coverage and cost, with rejected p-values in red', () => {
    expect(svg).toContain(`Long: ${result.long.breaches} breaches`);
    expect(svg).toContain(`Short: ${result.short.breaches} breaches`);
    expect(svg).toContain('Kupiec p 0.356');
    // Vega-Lite has no rich text: the rejected p-value is its own text mark, in red, after its label.
    expect(svg).toContain('Christoffersen p</text>');
    expect(svg).toMatch(/<text [^>]*fill="#b91c1c"[^>]*>&lt;0\.001<\/text>/);
    expect(svg).toContain('Christoffersen p 0.224');
    expect(svg).toContain('Average IM 11.75% vs hindsight fixed rate 11.01% (ratio 1.07)');
    expect(svg).toContain('peak-to-trough ×3.96');
    expect(svg).toContain('max 5-day increase ×1.80');
  });

  it('marks every breach once, long and short apart', () => {
    expect(count(svg, 'aria-roledescription="long breach"')).toBe(result.long.breaches);
    expect(count(svg, 'aria-roledescription="short breach"')).toBe(result.short.breaches);
    const firstLong = result.long.breachDates[0] as string;
    expect(svg).toContain(`aria-label="${firstLong}: long loss`);
  });

  it('has a legend naming every mark, including the override shading present', () => {
    for (const label of [
      'Initial margin rate',
      'Hindsight fixed rate',
      'Realised 1-day loss',
      `Long breach (${result.long.breaches})`,
      `Short breach (${result.short.breaches})`,
      'Floor active',
      'Step limit or cap active',
    ]) {
      expect(svg).toContain(`>${label}</text>`);
    }
    expect(svg).not.toContain('Held (unusable data)');
  });

  it('labels the axes with units and dates', () => {
    for (const label of [
      'Price (log scale)',
      'Daily σ (%)',
      'Annualised σ (%)',
      'Rate / loss (% of notional)',
    ]) {
      expect(svg).toContain(label);
    }
    expect(svg).toContain('>2022</text>');
    expect(svg).toContain('>Apr</text>');
  });

  it('draws one path per series with coordinates rounded to one decimal', () => {
    const paths = [...svg.matchAll(/ d="([^"]*)"/g)].map((m) => m[1] as string);
    const longest = Math.max(...paths.map((d) => d.length));
    expect(longest).toBeGreaterThan(400 * 8); // the price, σ, rate and bar paths each carry every day
    for (const d of paths) expect(d).not.toMatch(/\d\.\d\d/);
  });

  it('escapes XML in the instrument name', async () => {
    const nasty = await renderBacktestSvg(syntheticResult(`A<&>"B'`));
    checkWellFormed(nasty);
    expect(nasty).toContain('A&lt;&amp;&gt;&quot;B&#39; — walk-forward');
    expect(nasty).not.toContain('A<&>');
  });

  it('honours width and height', async () => {
    const small = await renderBacktestSvg(result, { width: 900, height: 600 });
    expect(small).toMatch(/^<svg [^>]*width="900" height="600" viewBox="0 0 900 600"/);
    checkWellFormed(small);
  });

  it('renders one-day and empty results without NaN', async () => {
    const one = syntheticResult('ONE', 1);
    const oneSvg = await renderBacktestSvg(one);
    checkWellFormed(oneSvg);
    expect(oneSvg).not.toContain('NaN');
    const empty = await renderBacktestSvg({ ...one, days: [] });
    checkWellFormed(empty);
    expect(empty).toContain('No scored days');
  });
});

describe('renderBacktestHtml', () => {
  const result = syntheticResult('ETH<1>');
  let html: string;
  beforeAll(async () => {
    html = await renderBacktestHtml(result);
  }, 30_000);

  it('is a standalone page embedding the chart', async () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<meta charset="utf-8">');
    expect(html).toContain('<title>ETH&lt;1&gt; — walk-forward initial margin backtest</title>');
    expect(html).toContain(await renderBacktestSvg(result));
    expect(html).not.toMatch(/<script|<link|src=|https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });

  it('tabulates the statistics per side and the averages', () => {
    const rows = [...html.matchAll(/<tr><th scope="row">(Long|Short)<\/th>(.*?)<\/tr>/g)];
    expect(rows.map((r) => r[1])).toEqual(['Long', 'Short']);
    const cells = (row: string) => [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(cells(rows[0]?.[2] ?? '')).toEqual([
      String(result.long.breaches),
      '4.0',
      `${(result.long.breachRate * 100).toFixed(2)}%`,
      '0.356',
      '&lt;0.001',
      '0.042',
      'yellow',
    ]);
    expect(cells(rows[1]?.[2] ?? '')).toEqual([
      String(result.short.breaches),
      '4.0',
      `${(result.short.breachRate * 100).toFixed(2)}%`,
      '0.601',
      '0.224',
      '0.042',
      'yellow',
    ]);
    expect(html).toContain('<td class="reject">&lt;0.001</td>');
    expect(html).toContain('<td class="zone yellow">yellow</td>');
    for (const [label, value] of [
      ['Average initial margin rate', '11.75%'],
      ['Hindsight fixed rate', '11.01%'],
      ['Ratio (average / hindsight)', '1.067'],
      ['Peak-to-trough', '×3.96'],
      ['Max 5-day increase', '×1.80'],
      ['Rate set by', 'model 300, apc-floor 97, step-up-limit 3'],
    ]) {
      expect(html).toContain(`<tr><th scope="row">${label}</th><td>${value}</td></tr>`);
    }
  });
});

describe('writeBacktestChart', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'qmt-chart-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const result = syntheticResult();

  it('renders a PNG 1400 px wide (resvg), creating parent directories', async () => {
    const path = join(dir, 'nested', 'deeper', 'x.png');
    await writeBacktestChart(result, path);
    const png = await readFile(path);
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('ascii')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBe(1400);
    expect(png.readUInt32BE(20)).toBe(900);
    expect(png.length).toBeGreaterThan(20_000); // not a blank canvas
  }, 30_000);

  it('writes SVG and HTML by extension (case-insensitive)', async () => {
    await writeBacktestChart(result, join(dir, 'x.svg'));
    await writeBacktestChart(result, join(dir, 'x.HTML'));
    expect(await readFile(join(dir, 'x.svg'), 'utf8')).toBe(await renderBacktestSvg(result));
    expect(await readFile(join(dir, 'x.HTML'), 'utf8')).toBe(await renderBacktestHtml(result));
  }, 30_000);

  it('is deterministic: the same result gives the same SVG and PNG bytes', async () => {
    const [a, b] = [await renderBacktestSvg(result), await renderBacktestSvg(result)];
    expect(a).toBe(b);
    const [p, q] = [await renderBacktestPng(result), await renderBacktestPng(result)];
    expect(Buffer.from(p).equals(Buffer.from(q))).toBe(true);
  }, 30_000);

  it('refuses other extensions, naming the path and the allowed ones', async () => {
    const path = join(dir, 'chart.jpg');
    await expect(writeBacktestChart(result, path)).rejects.toThrow(path);
    await expect(writeBacktestChart(result, path)).rejects.toThrow(CHART_EXTENSIONS.join(', '));
    await expect(writeBacktestChart(result, join(dir, 'no-extension'))).rejects.toThrow('.svg, .html, .png');
  });
});
