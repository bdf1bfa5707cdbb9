import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../lib/domain/math/random.ts';
import { tempDir } from '../temp-dirs.ts';
import { runQmt } from './run-qmt.ts';

const HOUR = 3_600_000;

/** An hourly CSV (Binance-style header, `YYYY-MM-DD HH:MM:SS` times) of `days` days ending before `end`. */
function hourlyCsv(days: number, end: number): string {
  const random = seededRandom(11);
  const rows = ['timestamp,open,high,low,close,volume'];
  let close = 2000;
  const first = end - days * 24 * HOUR;
  for (let time = first; time < end; time += HOUR) {
    const open = close;
    close = open * Math.exp(0.006 * (random() - 0.5) * 3.4);
    const stamp = new Date(time).toISOString().slice(0, 19).replace('T', ' ');
    rows.push(`${stamp},${open},${Math.max(open, close)},${Math.min(open, close)},${close},5`);
  }
  return rows.join('\n');
}

describe('qmt on intraday files at an hourly MPOR (issue 14 item 3)', () => {
  const dir = tempDir('qmt-mpor-');
  const prices = join(dir, 'ETH-1h.csv');
  const policy = join(dir, 'policy.json');
  // Ends in the past, so the run's clock is the bar after the last.
  writeFileSync(prices, hourlyCsv(60, Date.UTC(2025, 5, 1, 13)));
  writeFileSync(
    policy,
    JSON.stringify({
      marginPeriodOfRisk: '1h',
      stress: { coveredShare: 0 },
      bounds: { minInitialMarginRate: 0.001 },
    }),
  );

  it('qmt thresholds computes an hourly margin from the hourly bars', async () => {
    const { code, out, err } = await runQmt([
      'thresholds',
      '--prices',
      `ETH=${prices}`,
      '--policy',
      policy,
      '--json',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const [threshold] = JSON.parse(out).thresholds;
    expect(threshold.status).toBe('computed');
    // σ 1% an hour (uniform ±0.0102): a 99% one-hour margin of roughly 2.3–3σ.
    expect(threshold.initialMarginRate).toBeGreaterThan(0.005);
    expect(threshold.initialMarginRate).toBeLessThan(0.03);
    expect(threshold.warnings.join('\n')).toMatch(/MPOR 1h on 1h bars \(1 per MPOR\)/);
  });

  it('qmt thresholds holds a daily file at an hourly MPOR, with the reason', async () => {
    const daily = join(dir, 'BTC-USD.csv');
    const random = seededRandom(2);
    const rows = ['Date,Open,High,Low,Close,Volume'];
    for (let d = 0; d < 200; d++) {
      const day = new Date(Date.UTC(2024, 0, 1) + d * 24 * HOUR).toISOString().slice(0, 10);
      const price = 100 + random();
      rows.push(`${day},${price},${price + 1},${price - 1},${price},1`);
    }
    writeFileSync(daily, rows.join('\n'));
    const { code, out } = await runQmt([
      'thresholds',
      '--prices',
      `BTC=${daily}`,
      '--policy',
      policy,
      '--json',
    ]);
    expect(code).toBe(0);
    const [threshold] = JSON.parse(out).thresholds;
    expect(threshold.status).toBe('held');
    expect(threshold.heldReason).toMatch(/1h, under a day, and the prices are daily bars/);
  });

  it('qmt backtest names the hourly MPOR and counts MPORs', async () => {
    const { code, out } = await runQmt([
      'backtest',
      '--prices',
      `ETH=${prices}`,
      '--policy',
      policy,
      '--from',
      '2025-05-25',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/99\.0% over 1h MPOR, scored 2025-05-25T00:00Z to 2025-06-01T12:00Z \(181 MPORs/);
    expect(out).toMatch(/largest 1-MPOR increase ×[\d.]+; largest 5-MPOR increase/);
  });
});
