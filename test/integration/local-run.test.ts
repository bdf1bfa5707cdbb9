/**
 * The newcomer's paths through `npm start` / `qmt run`, on generated prices only (no ../shared): the outbox
 * tied to its database, exit codes and ops records for a failed sweep, seeding that resumes, a demo book
 * never valued at prices it was not sized on, and the alert report's order.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CycleHooks } from '../../lib/cli/commands/cycle.ts';
import { DAY_MS } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { runQmt } from '../cli/run-qmt.ts';
import { tempDir } from '../temp-dirs.ts';

const run = runQmt;

/** The alert lines of a text report (each starts with its severity mark). */
function alertLines(out: string): string[] {
  return out.split('\n').filter((line) => /^[✖⚠✓] /.test(line));
}

function countedAlerts(out: string): number {
  const match = /state changes, (\d+) alerts/.exec(out);
  if (!match) throw new Error(`no summary line in:\n${out}`);
  return Number(match[1]);
}

/** A Yahoo-style CSV of generated candles, every price multiplied by `scale`. */
function csv(options: Parameters<typeof generateCandles>[0], scale: number): string {
  const rows = generateCandles(options).candles.map((c) =>
    [
      new Date(c.time).toISOString().slice(0, 10),
      c.open * scale,
      c.high * scale,
      c.low * scale,
      c.close * scale,
      c.volume,
    ].join(','),
  );
  return ['Date,Open,High,Low,Close,Volume', ...rows].join('\n');
}

describe('the local outbox belongs to its database', () => {
  it('prints every alert it counts on two --fresh runs, sorted by severity, and nothing on a plain rerun', async () => {
    // Prepare
    const dataDir = await tempDir('qmt-fresh-');

    // Act
    const first = await run(['start', '--offline', '--data-dir', dataDir]);
    const second = await run(['start', '--offline', '--fresh', '--data-dir', dataDir]);
    const third = await run(['start', '--offline', '--data-dir', dataDir]);

    // Assess
    for (const r of [first, second]) {
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(countedAlerts(r.out)).toBeGreaterThan(10);
      expect(alertLines(r.out)).toHaveLength(countedAlerts(r.out));
    }
    // The same accounts and states (option values move by cents with the clock between the runs).
    const states = (out: string) => alertLines(out).map((line) => line.split('  ').slice(0, 2).join(' '));
    expect(states(second.out)).toEqual(states(first.out));
    expect(third.code).toBe(0);
    expect(countedAlerts(third.out)).toBe(0);
    expect(alertLines(third.out)).toEqual([]);
    // The outbox holds the fresh database's alerts once, not the first database's as well.
    const outbox = (await readFile(join(dataDir, 'outbox', 'alerts.jsonl'), 'utf8')).trim().split('\n');
    expect(outbox).toHaveLength(countedAlerts(second.out));
    // Schema 1.1: every alert carries the marks that valued it (the reference closes locally).
    for (const line of outbox) {
      const alert = JSON.parse(line) as { schemaVersion: string; marks: Record<string, { price: string }> };
      expect(alert.schemaVersion).toBe('1.1');
      expect(Object.keys(alert.marks).length, line).toBeGreaterThan(0);
    }

    // Item 19: most severe first, then the lowest ratio; a count per state; the legend once.
    const rank = { LIQUIDATION: 0, MARGIN_CALL: 1, WARNING: 2, OK: 3 } as Record<string, number>;
    const keys = alertLines(first.out).map((line) => {
      const match = /→ (\w+)\s+ratio ([\d.,]+|n\/a)/.exec(line);
      if (!match) throw new Error(`unreadable alert line ${line}`);
      return [rank[match[1] as string] ?? 9, Number((match[2] as string).replace(/,/g, ''))] as const;
    });
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
    expect(first.out).toMatch(/LIQUIDATION \d+ · MARGIN_CALL \d+ · WARNING \d+ · OK \d+/);
    expect(first.out.match(/ratio = equity \/ maintenance requirement/g)).toHaveLength(1);
    // Nothing was announced on the rerun, so no alerts file is claimed as written.
    expect(third.out).not.toContain('alerts written to');
  }, 240_000);

  it('--accounts with --data-dir keeps its database: a second run announces only the account that changed and values only the file’s accounts', async () => {
    // Prepare: 1-BTC longs entered at the last close, collateral from 0.3× to 6× the maintenance requirement.
    const dir = await tempDir('qmt-accounts-');
    const endTime = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const btc = { instrument: 'BTC', days: 500, endTime, startPrice: 30_000, seed: 5, annualVolatility: 0.6 };
    const prices = join(dir, 'BTC-USD.csv');
    await writeFile(prices, csv(btc, 1));
    const mark = generateCandles(btc).candles.at(-1)?.close ?? Number.NaN;
    const account = (id: string, collateral: number) => ({
      accountId: id,
      collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
      positions: [
        {
          kind: 'perpetual',
          instrument: 'BTC',
          quantity: '1',
          entryPrice: mark.toFixed(2),
          settlement: 'linear',
        },
      ],
    });
    const multiples = [0.3, 0.5, 0.7, 0.9, 1.1, 1.5, 3, 6];
    const book = multiples.map((m, i) => account(`acc-${i}`, m * mark * 0.05));
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify(book));
    const args = [
      'run',
      '--accounts',
      file,
      '--prices',
      `BTC=${prices}`,
      '--data-dir',
      join(dir, 'state'),
      '--json',
    ];

    // Act
    const first = await run(args);
    book[7] = account('acc-7', 0.01 * mark * 0.05); // the healthiest account loses its collateral
    await writeFile(file, JSON.stringify(book.slice(1))); // and acc-0 (in LIQUIDATION) leaves the file
    const second = await run(args);

    // Assess
    expect(first.code).toBe(0);
    const firstAlerts = JSON.parse(first.out).alerts as { accountId: string }[];
    expect(firstAlerts.length).toBeGreaterThan(2);
    expect(firstAlerts.map((a) => a.accountId)).not.toContain('acc-7');
    expect(second.err).toBe('');
    expect(second.code).toBe(0);
    const secondAlerts = JSON.parse(second.out).alerts as { accountId: string; newState: string }[];
    expect(secondAlerts.map((a) => [a.accountId, a.newState])).toEqual([['acc-7', 'LIQUIDATION']]);
    expect(JSON.parse(second.out).counts.accounts).toBe(7);
  }, 240_000);
});

describe('a failed sweep, and seeding cut short', () => {
  it('exits 1 on a failed sweep segment, prints the cause and writes sweep.failed to the ops outbox', async () => {
    // Prepare: every Scan of the accounts table fails.
    const dataDir = await tempDir('qmt-sweep-fails-');
    const hooks: CycleHooks = {
      adapters: (real) => ({
        accounts: {
          approximateCount: () => real.accounts.approximateCount(),
          scanPage: async () => {
            throw new Error('injected: accounts table unavailable');
          },
        },
      }),
    };

    // Act
    const { code, err } = await run(['start', '--offline', '--data-dir', dataDir], hooks);

    // Assess
    expect(code).toBe(1);
    expect(err).toContain('segment 0');
    expect(err).toContain('injected: accounts table unavailable');
    const ops = (await readFile(join(dataDir, 'outbox', 'ops.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; segment?: number; reason?: string });
    const failed = ops.filter((e) => e.type === 'sweep.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ segment: 0 });
    expect(failed[0]?.reason).toContain('injected: accounts table unavailable');
  }, 120_000);

  it('exits 1 on an unexpected error (not a usage mistake), with its cause and no stack trace', async () => {
    // Prepare: the runs ledger fails with a plain TypeError, as a bug would.
    const dataDir = await tempDir('qmt-unexpected-');
    const hooks: CycleHooks = {
      adapters: (real) => ({
        ledger: Object.assign(Object.create(real.ledger), {
          acquire: async () => {
            throw new TypeError('injected: ledger bug');
          },
        }),
      }),
    };

    // Act
    const { code, err } = await run(['start', '--offline', '--data-dir', dataDir], hooks);

    // Assess
    expect(code).toBe(1);
    expect(err).toContain('TypeError: injected: ledger bug');
    expect(err).not.toMatch(/\n\s+at /);
  }, 120_000);

  it('resumes seeding cut short by a failing write: the next run values the whole demo book', async () => {
    // Prepare: the write dies after 100 of the 300 demo accounts, as if DynamoDB Local had stopped.
    const dataDir = await tempDir('qmt-seed-');
    const hooks: CycleHooks = {
      accountWriter: (write) => async (accounts) => {
        await write(accounts.slice(0, 100));
        throw new Error('injected: connection lost mid-seed');
      },
    };

    // Act
    const cut = await run(['start', '--offline', '--data-dir', dataDir], hooks);
    const resumed = await run(['start', '--offline', '--data-dir', dataDir, '--json']);
    const clean = await run(['start', '--offline', '--data-dir', await tempDir('qmt-seed-clean-'), '--json']);

    // Assess
    expect(cut.code).toBe(1);
    expect(cut.err).toContain('injected: connection lost mid-seed');
    expect(resumed.err).toBe('');
    expect(resumed.code).toBe(0);
    const report = JSON.parse(resumed.out);
    expect(report.counts.accounts).toBe(300);
    expect(report.counts.rejected).toBe(0);
    // The same book as a run that was never interrupted.
    const ids = (r: { alerts: { accountId: string; newState: string }[] }) =>
      r.alerts.map((a) => `${a.accountId} ${a.newState}`).sort();
    expect(ids(report)).toEqual(ids(JSON.parse(clean.out)));
  }, 240_000);
});

describe('the demo book and the prices in use', () => {
  it('re-seeds, and says so, when the prices differ from those the book was sized on: no negative equity', async () => {
    // Prepare: the demo's generated prices at half their level, ending a month ago (another scheduled day).
    const dir = await tempDir('qmt-reprice-');
    const endTime = Math.floor(Date.now() / DAY_MS) * DAY_MS - 30 * DAY_MS;
    const demo = [
      { instrument: 'BTC', startPrice: 30_000, seed: 1, annualVolatility: 0.6 },
      { instrument: 'ETH', startPrice: 2_000, seed: 2, annualVolatility: 0.75 },
      { instrument: 'SOL', startPrice: 50, seed: 3, annualVolatility: 1.0 },
    ];
    const prices: string[] = [];
    for (const d of demo) {
      const path = join(dir, `${d.instrument}-USD.csv`);
      await writeFile(path, csv({ ...d, days: 4 * 365, endTime }, 0.5));
      prices.push(`${d.instrument}=${path}`);
    }
    const dataDir = join(dir, 'state');

    // Act
    const generated = await run(['start', '--offline', '--data-dir', dataDir]);
    const halved = await run(['start', '--prices', ...prices, '--data-dir', dataDir]);

    // Assess
    expect(generated.code).toBe(0);
    expect(halved.err).toBe('');
    expect(halved.code).toBe(0);
    expect(halved.out).toMatch(/re-seed/i);
    const lines = alertLines(halved.out);
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) {
      expect(line).not.toMatch(/equity -/);
      expect(line).toMatch(/ OK → /); // a new book: every account first seen
    }
  }, 240_000);
});
