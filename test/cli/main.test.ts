import { writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../temp-dirs.ts';
import { runQmt } from './run-qmt.ts';

// The commands on the real price files: test/data/cli/main.test.ts.

const run = (...argv: string[]) => runQmt(argv);

/** A valid daily price file, for the tests that fail on something else. */
function priceFile(): string {
  const file = join(tempDir('qmt-cli-'), 'SOL-USD.csv');
  const rows = Array.from({ length: 40 }, (_, i) => {
    const close = 20 + (i % 5);
    return `${new Date(Date.UTC(2023, 0, 1 + i)).toISOString().slice(0, 10)},${close},${close + 1},${close - 1},${close},1000000`;
  });
  writeFileSync(file, ['Date,Open,High,Low,Close,Volume', ...rows].join('\n'));
  return file;
}

describe('qmt thresholds', () => {
  it('names the policy field that is wrong', async () => {
    const dir = tempDir('qmt-cli-');
    const policy = join(dir, 'policy.json');
    await writeFile(policy, JSON.stringify({ confidence: 1.5 }));
    const { code, err } = await run('thresholds', '--prices', priceFile(), '--policy', policy);
    expect(code).toBe(1);
    expect(err).toContain('confidence');
  });
});

describe('qmt backtest', () => {
  it('refuses a chart type it cannot write, before any work', async () => {
    const { code, err } = await run('backtest', '--prices', priceFile(), '--chart', 'x.pdf');
    expect(code).toBe(2);
    expect(err).toContain('.svg, .png or .html');
  });

  it('refuses an unknown --offset-method, naming the choices', async () => {
    const { code, err } = await run(
      'backtest',
      '--portfolio',
      'BTC=1,SOL=-1',
      '--prices',
      priceFile(),
      '--offset-method',
      'half',
    );
    expect(code).toBe(2);
    expect(err).toContain('correlation-aggregated');
  });
});

describe('qmt errors and help', () => {
  it('names a missing price file', async () => {
    const { code, err } = await run('volatility', '--prices', '/nonexistent/BTC-USD.csv');
    expect(code).toBe(1);
    expect(err).toContain('/nonexistent/BTC-USD.csv');
  });

  it('names the option with a malformed date', async () => {
    const { code, err } = await run('volatility', '--prices', priceFile(), '--from', '2022-13-01');
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
