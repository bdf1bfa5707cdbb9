import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { utcDay } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { parseThresholdPolicy } from '../../lib/domain/threshold/policy.ts';
import { tempDir } from '../temp-dirs.ts';
import { runQmt } from './run-qmt.ts';

/** A generated daily file of `days` candles ending 2021-01-01, as CSV. */
function priceFile(dir: string, name: string, seed: number): string {
  const series = generateCandles({
    instrument: name,
    days: 1100,
    endTime: Date.UTC(2021, 0, 1),
    startPrice: 100,
    seed,
  });
  const rows = series.candles.map(
    (c) => `${utcDay(c.time)},${c.open},${c.high},${c.low},${c.close},${c.volume}`,
  );
  const file = join(dir, `${name}-USD.csv`);
  writeFileSync(file, ['Date,Open,High,Low,Close,Volume', ...rows].join('\n'));
  return file;
}

describe('qmt calibrate', () => {
  it('prints in- and out-of-sample figures per file and period and writes a policy qmt reads', async () => {
    // Prepare
    const dir = tempDir('qmt-calibrate-');
    const grid = join(dir, 'grid.json');
    writeFileSync(grid, JSON.stringify({ ewmaLambda: [0.94, 0.99] }));
    const out = join(dir, 'policy.json');
    const a = priceFile(dir, 'AAA', 1);
    const b = priceFile(dir, 'BBB', 2);

    // Act
    const run = await runQmt([
      'calibrate',
      '--prices',
      `AAA=${a}`,
      `BBB=${b}`,
      '--grid',
      grid,
      '--out',
      out,
      '--json',
    ]);

    // Assess
    expect(run.code).toBe(0);
    expect(run.err).toContain('calibrate: 2 candidates × 2 files');
    const report = JSON.parse(run.out);
    expect(report.candidates.map((c: { label: string }) => c.label)).toEqual(['λ 0.94', 'λ 0.99']);
    expect(report.periods.map((p: { period: string }) => p.period)).toEqual(['2020']);
    const files = report.periods[0].files;
    expect(files.map((f: { instrument: string }) => f.instrument)).toEqual(['AAA', 'BBB']);
    for (const f of files) {
      expect(f.inSample.to).toBe('2019-12-31');
      expect(f.outOfSample.from).toBe('2020-01-01');
      expect(Number.isFinite(f.outOfSample.efficiency)).toBe(true);
    }
    expect(report.policyFile).toBe(out);
    const written = parseThresholdPolicy(JSON.parse(readFileSync(out, 'utf8')));
    expect(written.volatility.ewmaLambda).toBe(report.winner.id === 'c01' ? 0.94 : 0.99);
    const thresholds = await runQmt(['thresholds', '--prices', `AAA=${a}`, '--policy', out, '--json']);
    expect(thresholds.code).toBe(0);
    expect(JSON.parse(thresholds.out).thresholds[0].inputs.policyVersion).toBe('calibrated-2020-12-31');

    // Act: the tables
    const text = await runQmt(['calibrate', '--prices', `AAA=${a}`, '--grid', grid, '--out', out]);
    expect(text.code).toBe(0);
    expect(text.out).toContain('Per period: the choice');
    expect(text.out).toMatch(/2020 +AAA +c0[12]/);
    expect(text.out).toContain(`policy written to ${out}`);
  });

  it('names the grid entry that is wrong, and writes nothing', async () => {
    const dir = tempDir('qmt-calibrate-');
    const grid = join(dir, 'grid.json');
    writeFileSync(grid, JSON.stringify({ stressCoveredShare: [0.25, 1.5] }));
    const out = join(dir, 'policy.json');
    const run = await runQmt([
      'calibrate',
      '--prices',
      priceFile(dir, 'AAA', 1),
      '--grid',
      grid,
      '--out',
      out,
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`${grid}.stressCoveredShare.1`);
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });

  it('refuses a validation it does not know, naming the flag, and writes nothing', async () => {
    const dir = tempDir('qmt-calibrate-');
    const out = join(dir, 'policy.json');
    const run = await runQmt([
      'calibrate',
      '--prices',
      priceFile(dir, 'AAA', 1),
      '--validation',
      'k-fold',
      '--out',
      out,
    ]);
    // 2: a usage error (1 is a failed run)
    expect(run.code).toBe(2);
    expect(run.err).toContain('--validation k-fold: must be walk-forward or leave-one-period-out');
    expect(() => readFileSync(out)).toThrow(/ENOENT/);
  });
});
