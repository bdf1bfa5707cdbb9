import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQmt } from '../../cli/run-qmt.ts';
import { tempDir } from '../../temp-dirs.ts';
import { SHARED_DATA, SHARED_REFERENCE } from '../shared.ts';

const FGARCH = join(SHARED_REFERENCE, 'garch-fgarch.json');

const run = (...argv: string[]) => runQmt(argv);

describe('qmt volatility', () => {
  it('fits GARCH on the fGarch reference window as fGarch does (fractional returns)', async () => {
    // Prepare
    const reference = JSON.parse(await readFile(FGARCH, 'utf8')).fits[0];
    // Act
    const { code, out } = await run(
      'volatility',
      '--prices',
      join(SHARED_DATA, 'BTC-USD.csv'),
      '--from',
      reference.from,
      '--to',
      reference.to,
      '--json',
    );
    // Assess
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.returns).toBe(reference.n);
    expect(Math.abs(report.garch.omega / (reference.omega / 1e4) - 1)).toBeLessThan(0.02);
    expect(Math.abs(report.garch.alpha / reference.alpha - 1)).toBeLessThan(0.02);
    expect(Math.abs(report.garch.beta / reference.beta - 1)).toBeLessThan(0.02);
    // fGarch's likelihood on percent returns, moved to fractional returns: no worse than fGarch's.
    expect(report.garch.negLogLik).toBeLessThanOrEqual(
      reference.negLogLik - reference.n * Math.log(100) + 1e-6,
    );
    expect(report.garch.sigmaNext).toBeCloseTo(reference.sigmaNext / 100, 4);
    expect(report.garch.fitMillis).toBeGreaterThan(0);
    for (const name of [
      'closeToClose',
      'parkinson',
      'garmanKlass',
      'rogersSatchell',
      'yangZhang',
      'ewma94',
    ]) {
      expect(report.estimators[name]).toBeGreaterThan(0.01);
      expect(report.estimators[name]).toBeLessThan(0.1);
    }
  });

  it('prints a readable table without --json', async () => {
    const { code, out } = await run('volatility', '--prices', join(SHARED_DATA, 'SOL-USD.csv'));
    expect(code).toBe(0);
    expect(out).toContain('Yang–Zhang');
    expect(out).toContain('GARCH(1,1) on fractional returns');
  });
});

describe('qmt thresholds', () => {
  it('computes each symbol as of a morning, from candles before that day only', async () => {
    const { code, out } = await run(
      'thresholds',
      '--prices',
      `BTC=${join(SHARED_DATA, 'BTC-USD.csv')}`,
      join(SHARED_DATA, 'ETH-USD.csv'),
      '--as-of',
      '2022-11-10',
      '--json',
    );
    expect(code).toBe(0);
    const { thresholds } = JSON.parse(out);
    expect(thresholds.map((t: { instrument: string }) => t.instrument)).toEqual(['BTC', 'ETH']);
    for (const t of thresholds) {
      expect(t.status).toBe('computed');
      expect(t.asOf).toBe('2022-11-09');
      expect(t.initialMarginRate).toBeGreaterThan(0.02);
      expect(t.initialMarginRate).toBeLessThan(1);
      expect(t.maintenanceMarginRate).toBeLessThan(t.initialMarginRate);
      expect(t.inputs.pricesHash).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('applies per-instrument policies from a policy book', async () => {
    const dir = tempDir('qmt-cli-');
    const policy = join(dir, 'book.json');
    await writeFile(
      policy,
      JSON.stringify({ default: {}, instruments: { SOL: { marginPeriodOfRiskDays: 2 } } }),
    );
    const args = [
      'thresholds',
      '--prices',
      join(SHARED_DATA, 'SOL-USD.csv'),
      join(SHARED_DATA, 'ETH-USD.csv'),
      '--as-of',
      '2023-01-01',
      '--json',
    ];
    const book = JSON.parse((await run(...args, '--policy', policy)).out).thresholds;
    const plain = JSON.parse((await run(...args)).out).thresholds;
    expect(book[0].initialMarginRate).toBeGreaterThan(plain[0].initialMarginRate);
    expect(book[1].initialMarginRate).toBe(plain[1].initialMarginRate);
  });
});

describe('qmt backtest', () => {
  it('prints the statistics the README quotes as JSON and writes a chart', async () => {
    const dir = tempDir('qmt-cli-');
    const chart = join(dir, 'sol.svg');
    const { code, out } = await run(
      'backtest',
      '--prices',
      join(SHARED_DATA, 'SOL-USD.csv'),
      '--json',
      '--chart',
      chart,
    );
    expect(code).toBe(0);
    const result = JSON.parse(out);
    for (const key of [
      'observations',
      'averageInitialMarginRate',
      'hindsightFixedRate',
      'peakToTrough',
      'maxIncrease1d',
      'maxIncrease5d',
    ]) {
      expect(typeof result[key]).toBe('number');
    }
    for (const side of [result.long, result.short]) {
      for (const key of ['breaches', 'breachRate', 'kupiecP', 'christoffersenP'])
        expect(typeof side[key]).toBe('number');
    }
    expect(result.from).toBe('2021-04-10');
    expect(result.days).toBeUndefined();
    expect(await readFile(chart, 'utf8')).toMatch(/^<svg|^<\?xml/);
  }, 60_000);

  it('bounds the scored days with --from/--to', async () => {
    const { out } = await run(
      'backtest',
      '--prices',
      join(SHARED_DATA, 'SOL-USD.csv'),
      '--from',
      '2022-01-01',
      '--to',
      '2022-12-31',
      '--json',
    );
    const result = JSON.parse(out);
    expect(result.from).toBe('2022-01-01');
    expect(result.to).toBe('2022-12-31');
    expect(result.observations).toBe(365);
  }, 60_000);
});
