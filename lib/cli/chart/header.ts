/**
 * The chart's header: the title, what was tested, and the verdict per side with rejected p-values in red.
 * Pure; part of the spec `spec.ts` builds.
 */
import type { BacktestResult } from '../../domain/backtest/backtest.ts';
import { COLOR, cleanse, pct, pValue } from './format.ts';
import { type TextRun, textLayers, textWidth } from './marks.ts';

/** The chart's title, as the SVG `<title>` and the HTML page name it. */
export function chartTitle(result: BacktestResult): string {
  return `${cleanse(result.instrument)} — walk-forward initial margin backtest`;
}

/** Title, what was tested, and the two-line verdict; narrow charts shrink a line rather than clip it. */
export function headerView(result: BacktestResult, headerWidth: number) {
  const h = result.marginPeriodOfRiskDays;
  const expected = (1 - result.confidence) * result.observations;
  const title = chartTitle(result);
  const subtitle =
    `Source ${cleanse(result.source)} · policy ${cleanse(result.policyVersion)} · ${pct(result.confidence, 1)} confidence · ` +
    `${h}-day MPOR · scored ${result.from} to ${result.to}: ${result.observations.toLocaleString('en-US')} ` +
    `observations, ${expected.toFixed(1)} breaches expected per side`;
  const cost =
    `Average IM ${pct(result.averageInitialMarginRate)} vs hindsight fixed rate ${pct(result.hindsightFixedRate)} ` +
    `(ratio ${result.efficiency.toFixed(2)}) · peak-to-trough ×${result.peakToTrough.toFixed(2)} · ` +
    `max 1-day increase ×${result.maxIncrease1d.toFixed(2)} · max 5-day increase ×${result.maxIncrease5d.toFixed(2)}`;
  const line = (y: number, text: string, preferred: number, color: string, weight?: 'bold'): TextRun => ({
    x: 0,
    y,
    text,
    color,
    size: fitFont(textWidth(text, 1, weight), headerWidth, preferred),
    ...(weight ? { weight } : {}),
  });
  return {
    width: headerWidth,
    view: { stroke: null },
    layer: textLayers([
      line(32, title, 21, COLOR.text, 'bold'),
      line(55, subtitle, 13, COLOR.muted),
      ...coverageRuns(result, 80, headerWidth),
      line(100, cost, 13, COLOR.text),
    ]),
  };
}

/** "Long: 23 breaches (0.83%), Kupiec p 0.356, Christoffersen p <0.001" per side, rejections in red. */
function coverageRuns(result: BacktestResult, y: number, maxWidth: number): TextRun[] {
  type Segment = { text: string; weight?: 'bold'; color: string };
  const side = (name: string, s: BacktestResult['long']): Segment[] => {
    const segments: Segment[] = [
      { text: `${name}: ${s.breaches} breaches`, weight: 'bold', color: COLOR.text },
      { text: ` (${pct(s.breachRate)}), `, color: COLOR.text },
    ];
    const p = (label: string, value: number, last: boolean) => {
      const tail = last ? '' : ', ';
      if (value < 0.05) {
        segments.push({ text: `${label} p `, color: COLOR.text });
        segments.push({ text: pValue(value), weight: 'bold', color: COLOR.reject });
        if (tail) segments.push({ text: tail, color: COLOR.text });
      } else segments.push({ text: `${label} p ${pValue(value)}${tail}`, color: COLOR.text });
    };
    p('Kupiec', s.kupiecP, false);
    p('Christoffersen', s.christoffersenP, true);
    // Adjacent plain segments read as one text: "…, Kupiec p 0.356, Christoffersen p 0.224".
    return segments.reduce<Segment[]>((merged, segment) => {
      const previous = merged[merged.length - 1];
      if (previous && previous.weight === segment.weight && previous.color === segment.color)
        merged[merged.length - 1] = { ...previous, text: previous.text + segment.text };
      else merged.push(segment);
      return merged;
    }, []);
  };
  const sideGap = 28;
  const sides = [side('Long', result.long), side('Short', result.short)];
  const em = sides.flat().reduce((sum, s) => sum + textWidth(s.text, 1, s.weight), 0);
  const size = fitFont(em + sideGap / 13, maxWidth, 13);
  const runs: TextRun[] = [];
  let x = 0;
  for (const segments of sides) {
    for (const s of segments) {
      runs.push({ x, y, text: s.text, size, color: s.color, ...(s.weight ? { weight: s.weight } : {}) });
      x += textWidth(s.text, size, s.weight);
    }
    x += sideGap;
  }
  return runs;
}

/** The largest font size ≤ `preferred` (and ≥ 9) at which text `em` ems wide fits in `maxWidth`. */
export function fitFont(em: number, maxWidth: number, preferred: number): number {
  return Math.round(Math.max(9, Math.min(preferred, maxWidth / em)) * 10) / 10;
}
