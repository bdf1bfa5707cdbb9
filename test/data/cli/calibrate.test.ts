import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import { runQmt } from '../../cli/run-qmt.ts';
import { tempDir } from '../../temp-dirs.ts';
import { sharedPriceFile } from '../shared.ts';

/**
 * `qmt calibrate` on the three shared daily files with the default 28-candidate grid: it finishes well
 * inside the 2 minutes (measured here), and every period's figures are there and finite.
 */
describe('qmt calibrate on BTC, ETH and SOL (issue 14 item 1)', () => {
  it('walks 3 files × 28 candidates in under 2 minutes and reports in- and out-of-sample figures', async () => {
    // Prepare
    const out = join(tempDir('qmt-calibrate-data-'), 'policy.json');
    const prices = (['BTC', 'ETH', 'SOL'] as const).map((s) => `${s}=${sharedPriceFile(s)}`);

    // Act
    const started = performance.now();
    const run = await runQmt(['calibrate', '--prices', ...prices, '--out', out, '--json']);
    const seconds = (performance.now() - started) / 1000;

    // Assess
    expect(run.code, run.err).toBe(0);
    expect(seconds).toBeLessThan(120);
    const report = JSON.parse(run.out);
    expect(report.candidates).toHaveLength(28);
    expect(report.periods.map((p: { period: string }) => p.period)).toEqual([
      '2017',
      '2018',
      '2019',
      '2020',
      '2021',
      '2022',
      '2023',
    ]);
    const figures = (s: Record<string, unknown> & { long: object; short: object }) => [
      s.efficiency,
      s.averageInitialMarginRate,
      s.hindsightFixedRate,
      s.peakToTrough,
      s.maxIncrease5d,
      ...Object.values(s.long),
      ...Object.values(s.short),
    ];
    let inSample = 0;
    for (const period of report.periods) {
      for (const file of period.files) {
        for (const v of figures(file.outOfSample)) expect(Number.isFinite(v)).toBe(true);
        if (file.inSample) {
          inSample++;
          expect(file.inSample.to < file.outOfSample.from).toBe(true);
          for (const v of figures(file.inSample)) expect(Number.isFinite(v)).toBe(true);
        }
      }
    }
    expect(inSample).toBeGreaterThanOrEqual(12);
    expect(report.outOfSample.map((o: { instrument: string }) => o.instrument)).toEqual([
      'BTC',
      'ETH',
      'SOL',
    ]);
    expect(report.winner.inSample).toHaveLength(3);
    expect(parseThresholdPolicy(JSON.parse(readFileSync(out, 'utf8'))).version).toBe('calibrated-2023-07-31');
  }, 180_000);
});
