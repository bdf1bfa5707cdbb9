/**
 * The crash-day table of lib/domain/valuation/README.md (issue 17), recomputed from the shared price files:
 * the README must hold exactly what `crashBookTable` prints, and the figures that justify the defaults are
 * pinned (loss ±1e-9 relative: scipy 1.17.1's norm.cdf in a plain Black-76 gave 124.72188275086214, 2e-15 off;
 * requirements exact to their 8 decimals).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../shared.ts';
import { BOOKS, type CrashBookRow, crashBookRows, crashBookTable } from './crash-books.ts';

const SHORT_ONLY = ['short strangle 90/110', 'short put 90', 'short put 75', 'short put 51'];

describe('crash-day books before and after issue 17', () => {
  let rows: CrashBookRow[] = [];
  beforeAll(() => {
    rows = crashBookRows();
  }, 600_000);

  it('is the table in the valuation README and in the README', () => {
    expect(rows).toHaveLength(11);
    for (const file of ['lib/domain/valuation/README.md', 'README.md']) {
      const readme = readFileSync(join(REPO_ROOT, file), 'utf8');
      expect(readme, file).toContain(crashBookTable(rows));
    }
  });

  it('charges short options at least as much as before, and a net-long spread less', () => {
    for (const row of rows) {
      for (const name of SHORT_ONLY) {
        const book = row.books[name] as CrashBookRow['books'][string];
        expect(book.after, `${row.day} ${row.instrument} ${name}`).toBeGreaterThanOrEqual(book.before);
      }
      const spread = row.books['long put spread 60/50'] as CrashBookRow['books'][string];
      expect(spread.loss).toBeLessThan(0); // a crash pays the long put spread
      expect(spread.after).toBeLessThanOrEqual(spread.before);
    }
    expect(Object.keys(BOOKS)).toHaveLength(7);
  });

  it('pins BTC on 2020-03-12: the 49%-OTM put lost 1.6× the old requirement, under the new one', () => {
    const row = rows.find((r) => r.day === '2020-03-12' && r.instrument === 'BTC') as CrashBookRow;
    expect(row.move).toBeCloseTo(-0.372, 3);
    // R: the default policy's rate for 2020-03-12 (qmt-default-2026.12, the model binds), 0.08627377589799323
    // in the Python reference of test/data/domain/threshold/model.test.ts (9.3% under the 2026.11 default's floor).
    expect(row.scanRange / 0.0863).toBeCloseTo(1, 2);
    const put = row.books['short put 51'] as CrashBookRow['books'][string];
    expect(Math.abs(put.loss / 124.72188275086236 - 1)).toBeLessThan(1e-9);
    expect(put.before).toBe(79.11430176);
    expect(put.after).toBe(198.8676454);
    expect(put.loss).toBeGreaterThan(put.before);
    expect(put.loss).toBeLessThan(put.after);
    const spread = row.books['long put spread 60/50'] as CrashBookRow['books'][string];
    expect(spread.before).toBe(79.11430176);
    expect(spread.after).toBe(0.34136499);
  });
});
