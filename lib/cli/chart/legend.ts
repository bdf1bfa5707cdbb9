/**
 * The chart's legend: a swatch drawn like the mark it explains, then its label, wrapped onto more rows
 * when narrow. Pure; part of the spec `spec.ts` builds.
 */
import { COLOR } from './format.ts';
import { layerOf, type TextRun, textLayers, textWidth } from './marks.ts';

/** Height of a legend row, in pixels. */
export const LEGEND_ROW = 20;
const LEGEND_FONT = 12.5;
const LEGEND_SWATCH = 18;
const LEGEND_GAP = 26;

export type LegendItem = {
  readonly kind: 'line' | 'dash' | 'bar' | 'down' | 'up' | 'area';
  readonly color: string;
  readonly label: string;
};

function legendItemWidth(item: LegendItem): number {
  return LEGEND_SWATCH + 6 + textWidth(item.label, LEGEND_FONT);
}

/** Greedy line breaking of legend items into rows no wider than `available`. */
export function legendRows(items: readonly LegendItem[], available: number): LegendItem[][] {
  const rows: LegendItem[][] = [];
  let row: LegendItem[] = [];
  let used = 0;
  for (const item of items) {
    const w = legendItemWidth(item);
    if (row.length > 0 && used + w > available) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(item);
    used += w + LEGEND_GAP;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/** The legend under the date labels: a swatch drawn like the mark it explains, then its label. */
export function legendView(rows: readonly LegendItem[][], width: number, height: number) {
  const layers: object[] = [];
  const labels: TextRun[] = [];
  rows.forEach((row, r) => {
    const baseline = 14 + r * LEGEND_ROW;
    const cy = baseline - 4;
    let x = 0;
    for (const item of row) {
      const mid = x + LEGEND_SWATCH / 2;
      switch (item.kind) {
        case 'line':
        case 'dash':
          layers.push({
            data: { values: [{}] },
            mark: {
              type: 'rule',
              color: item.color,
              strokeWidth: item.kind === 'line' ? 2.5 : 1.5,
              ...(item.kind === 'dash' ? { strokeDash: [5, 3] } : {}),
            },
            encoding: { x: { value: x }, x2: { value: x + LEGEND_SWATCH }, y: { value: cy } },
          });
          break;
        case 'bar':
          layers.push(
            layerOf({
              type: 'rect',
              x: mid - 2,
              x2: mid + 2,
              y: cy - 6,
              y2: cy + 6,
              color: item.color,
              opacity: 0.8,
            }),
          );
          break;
        case 'down':
        case 'up':
          layers.push(
            layerOf({
              type: 'point',
              shape: item.kind === 'down' ? 'triangle-down' : 'triangle-up',
              filled: true,
              size: 80,
              opacity: 1,
              x: mid,
              y: cy,
              color: item.color,
            }),
          );
          break;
        case 'area':
          layers.push(
            layerOf({
              type: 'rect',
              x: x + 2,
              x2: x + LEGEND_SWATCH - 2,
              y: cy - 6,
              y2: cy + 6,
              fill: item.color,
              stroke: COLOR.frame,
            }),
          );
          break;
      }
      labels.push({
        x: x + LEGEND_SWATCH + 6,
        y: baseline,
        text: item.label,
        size: LEGEND_FONT,
        color: COLOR.text,
      });
      x += legendItemWidth(item) + LEGEND_GAP;
    }
  });
  return { width, height, view: { stroke: null }, layer: [...layers, ...textLayers(labels)] };
}
