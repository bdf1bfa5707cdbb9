/** Plain-text tables and number formats for terminal reports. */

export type Align = 'left' | 'right';

/**
 * Render rows under a header, columns padded to fit.
 *
 * @example
 * renderTable(['symbol', 'IM'], [['BTC', '11.8%']], ['left', 'right']);
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (align[i] === 'right' ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** 0.1184 → "11.84%". */
export function percent(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '-' : `${(value * 100).toFixed(digits)}%`;
}

export function fixed(value: number | undefined, digits = 3): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(digits);
}
