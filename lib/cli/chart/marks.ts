/**
 * Small Vega-Lite building blocks for the chart's free-standing text and legend swatches, placed in
 * pixels: Vega-Lite has no rich text (a bold run, then a red p-value on the same line), so a line of mixed
 * styles is one text mark per run, each at its own x. Pure.
 */

export interface Box {
  readonly width: number;
  readonly height: number;
}

/** One run of text in one style, at pixel position (x, y) of its view; y is the baseline. */
export interface TextRun {
  readonly x: number;
  readonly y: number;
  readonly text: string;
  readonly size: number;
  readonly color: string;
  readonly weight?: 'bold';
  readonly align?: 'left' | 'center';
}

/**
 * Advance widths in em of DejaVu Sans (the font the PNG is drawn with), by character; others count as
 * 0.62 em. Bold runs ~16% wider. System UI fonts in a browser are narrower, so runs placed by these
 * estimates leave a little spare room there rather than overlap.
 */
const ADVANCE: Readonly<Record<string, number>> = {
  ' ': 0.318,
  '.': 0.318,
  ',': 0.318,
  ':': 0.337,
  ';': 0.337,
  '·': 0.318,
  '(': 0.39,
  ')': 0.39,
  '%': 0.95,
  '-': 0.361,
  '/': 0.337,
  '<': 0.838,
  '>': 0.838,
  '×': 0.838,
  '√': 0.64,
  '—': 1,
  '–': 0.5,
  i: 0.278,
  j: 0.278,
  l: 0.278,
  f: 0.352,
  t: 0.392,
  r: 0.411,
  s: 0.521,
  z: 0.525,
  c: 0.55,
  k: 0.579,
  v: 0.592,
  x: 0.592,
  y: 0.592,
  m: 0.974,
  w: 0.818,
  I: 0.295,
  J: 0.295,
  M: 0.863,
  W: 0.989,
};
const DIGIT = 0.636;
const LOWER = 0.625;
const UPPER = 0.7;

/** Estimated width in pixels of `text` at `size` px. */
export function textWidth(text: string, size: number, weight?: 'bold'): number {
  let em = 0;
  for (const ch of text) {
    em +=
      ADVANCE[ch] ??
      (ch >= '0' && ch <= '9'
        ? DIGIT
        : ch >= 'a' && ch <= 'z'
          ? LOWER
          : ch >= 'A' && ch <= 'Z'
            ? UPPER
            : 0.62);
  }
  return em * size * (weight === 'bold' ? 1.16 : 1);
}

/** A layer drawing one mark whose position and style are all mark properties (no data fields). */
export function layerOf(mark: Record<string, unknown>): object {
  return { data: { values: [{}] }, mark, encoding: {} };
}

/** One text mark per run. */
export function textLayers(runs: readonly TextRun[]): object[] {
  return runs.map((run) =>
    layerOf({
      type: 'text',
      x: run.x,
      y: run.y,
      text: run.text,
      fontSize: run.size,
      fontWeight: run.weight ?? 'normal',
      color: run.color,
      align: run.align ?? 'left',
      baseline: 'alphabetic',
    }),
  );
}
