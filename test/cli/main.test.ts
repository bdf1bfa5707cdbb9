import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Io, main } from '../../lib/cli/main.ts';

const DATA = resolve(import.meta.dirname, '../../../shared/data');
const FGARCH = resolve(import.meta.dirname, '../../../shared/reference/garch-fgarch.json');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (s) => out.push(s), err: (s) => err.push(s) };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('qmt volatility', () => {
  it('fits GARCH on the fGarch reference window as fGarch does (fractional returns)', async () => {
    // Prepare
    const reference = JSON.parse(await readFile(FGARCH, 'utf8')).fits[0];
    // Act
    const { code, out } = await run(
      'volatility',
      '--prices',
      join(DATA, 'BTC-USD.csv'),
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
    const { code, out } = await run('volatility', '--prices', join(DATA, 'SOL-USD.csv'));
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
      `BTC=${join(DATA, 'BTC-USD.csv')}`,
      join(DATA, 'ETH-USD.csv'),
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

  it('names the policy field that is wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qmt-cli-'));
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ confidence: 1.5 }));
    const { code, err } = await run('thresholds', '--prices', join(DATA, 'SOL-USD.csv'), '--policy', policy);
    expect(code).toBe(1);
    expect(err).toContain('confidence');
  });

  it('applies per-instrument policies from a policy book', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'qmt-cli-'));
    const policy = join(dir, 'book.json');
    await writeFile(
      policy,
      JSON.stringify({ default: {}, instruments: { SOL: { marginPeriodOfRiskDays: 2 } } }),
    );
    const args = [
      'thresholds',
      '--prices',
      join(DATA, 'SOL-USD.csv'),
      join(DATA, 'ETH-USD.csv'),
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
    const dir = await mkdtemp(join(tmpdir(), 'qmt-cli-'));
    const chart = join(dir, 'sol.svg');
    const { code, out } = await run(
      'backtest',
      '--prices',
      join(DATA, 'SOL-USD.csv'),
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
      join(DATA, 'SOL-USD.csv'),
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

  it('refuses a chart type it cannot write, before any work', async () => {
    const { code, err } = await run('backtest', '--prices', join(DATA, 'SOL-USD.csv'), '--chart', 'x.pdf');
    expect(code).toBe(2);
    expect(err).toContain('.svg, .png or .html');
  });
});

describe('qmt errors and help', () => {
  it('names a missing price file', async () => {
    const { code, err } = await run('volatility', '--prices', '/nonexistent/BTC-USD.csv');
    expect(code).toBe(1);
    expect(err).toContain('/nonexistent/BTC-USD.csv');
  });

  it('names the option with a malformed date', async () => {
    const { code, err } = await run(
      'volatility',
      '--prices',
      join(DATA, 'BTC-USD.csv'),
      '--from',
      '2022-13-01',
    );
    expect(code).toBe(2);
    expect(err).toContain('--from');
  });

  it('exits 2 on an unknown command and 0 on --help', async () => {
    expect((await run('frobnicate')).code).toBe(2);
    const help = await run('backtest', '--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('--chart');
  });
});

describe('qmt scale', () => {
  it('plans a million accounts on 10 workers: segments, time and cost follow the options', async () => {
    const { code, out } = await run(
      'scale',
      '--accounts',
      '1000000',
      '--concurrency',
      '10',
      '--crash-share',
      '0',
      '--json',
    );
    expect(code).toBe(0);
    const report = JSON.parse(out);
    expect(report.plan).toEqual({ totalSegments: 10, accountsPerSegment: 100_000 });
    // 5 workers at once, +5 a second: the tenth runs after 1 s; each takes 100,000 / 7,500 s.
    expect(report.quiet.rampSeconds).toBe(1);
    expect(report.quiet.sweepSeconds).toBeCloseTo(2 + 1 + 100_000 / 7_500, 9);
    expect(report.quietDayUsd).toBeCloseTo(report.quiet.costUsd.total * 288, 9);
  });

  it('names a bad option', async () => {
    const share = await run('scale', '--crash-share', '2');
    expect(share.code).toBe(2);
    expect(share.err).toContain('--crash-share 2');
    const accounts = await run('scale', '--accounts', 'many');
    expect(accounts.code).toBe(2);
    expect(accounts.err).toContain('--accounts many');
  });
});
