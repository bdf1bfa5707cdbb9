/**
 * `qmt replay` end to end on DynamoDB Local (started by the command), and the crash replay `qmt start` ends
 * with. The replay of the real hourly ETH file: test/data/integration/replay.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { ohlcPath } from '../../lib/domain/market/ohlc-path.ts';
import { runQmt } from '../cli/run-qmt.ts';
import { tempDir } from '../temp-dirs.ts';

const HOUR = 3_600_000;
const CRASH = Date.UTC(2024, 4, 10);

/** An hourly CSV: 800 generated days (each a straight hourly walk from open to close), then a crash day. */
function hourlyFile(dir: string): string {
  const days = generateCandles({ instrument: 'BTC', days: 800, endTime: CRASH, startPrice: 30_000, seed: 9 });
  const scale = 30_000 / (days.candles.at(-1)?.close ?? 30_000);
  const rows = ['timestamp,open,high,low,close,volume'];
  const stamp = (t: number) => new Date(t).toISOString().slice(0, 19).replace('T', ' ');
  for (const day of days.candles) {
    const open = day.open * scale;
    const close = day.close * scale;
    for (let h = 0; h < 24; h++) {
      const a = open + ((close - open) * h) / 24;
      const b = open + ((close - open) * (h + 1)) / 24;
      rows.push(
        `${stamp(day.time + h * HOUR)},${a},${Math.max(a, b)},${Math.min(a, b)},${b},${day.volume / 24}`,
      );
    }
  }
  const path = ohlcPath('BTC', { day: CRASH, open: 30_000, high: 30_200, low: 21_000, close: 22_000 });
  for (const c of path.candles) rows.push(`${stamp(c.time)},${c.open},${c.high},${c.low},${c.close},1000000`);
  const file = join(dir, 'BTC-1h.csv');
  writeFileSync(file, `${rows.join('\n')}\n`);
  return file;
}

function accountsFile(dir: string, extra: unknown[] = []): string {
  const accounts = [
    ...Array.from({ length: 12 }, (_, i) => ({
      accountId: `long-${i}`,
      collateral: [{ asset: 'USD', amount: (1_500 + i * 700).toFixed(2) }],
      positions: [
        { kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: '30000', settlement: 'linear' },
      ],
    })),
    ...extra,
  ];
  const file = join(dir, 'accounts.json');
  writeFileSync(file, JSON.stringify(accounts));
  return file;
}

describe('qmt replay', () => {
  it('--json prints thresholdSets, alerts in the order published, errors and stats', async () => {
    const dir = tempDir('qmt-replay-');
    const { code, out, err } = await runQmt([
      'replay',
      '--prices',
      `BTC=${hourlyFile(dir)}`,
      '--accounts',
      accountsFile(dir, [{ accountId: 'broken', collateral: 'none', positions: [] }]),
      '--from',
      '2024-05-10',
      '--json',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(Object.keys(result).sort()).toEqual(['alerts', 'errors', 'stats', 'thresholdSets']);
    expect(Object.keys(result.stats).sort()).toEqual(
      ['accountsRead', 'accountsValued', 'bars', 'fullSweeps', 'targetedSweeps'].sort(),
    );
    expect(result.stats.bars).toBe(24);
    expect(result.stats.fullSweeps + result.stats.targetedSweeps).toBeGreaterThanOrEqual(24);
    const sets: { effectiveAt: string; trigger: string }[] = result.thresholdSets;
    expect(sets.filter((s) => s.trigger === 'scheduled').map((s) => s.effectiveAt)).toEqual([
      '2024-05-10T00:00:00.000Z',
      '2024-05-11T00:00:00.000Z',
    ]);
    // Any other set is a shock run between midnights.
    expect(sets.every((s) => s.trigger === 'scheduled' || !s.effectiveAt.endsWith('T00:00:00.000Z'))).toBe(
      true,
    );
    expect(Object.keys(result.thresholdSets[0]).sort()).toEqual([
      'effectiveAt',
      'setId',
      'thresholds',
      'trigger',
    ]);
    expect(result.thresholdSets[0].thresholds[0]).toMatchObject({ instrument: 'BTC', status: 'computed' });
    const times: string[] = result.alerts.map((a: { occurredAt: string }) => a.occurredAt);
    expect(times.length).toBeGreaterThan(5);
    expect([...times].sort()).toEqual(times);
    // Margin calls fire during the fall, at bar closes, not only at the opening sweep.
    expect(
      result.alerts.some(
        (a: { newState: string; occurredAt: string }) =>
          a.newState === 'MARGIN_CALL' && a.occurredAt > '2024-05-10T00:00:00.000Z',
      ),
    ).toBe(true);
    expect(result.errors).toEqual([
      expect.objectContaining({ kind: 'account-rejected', key: 'broken', reason: expect.any(String) }),
    ]);
  }, 120_000);

  it('prints each alert as it fires with the bar time and price, escaping account ids', async () => {
    const dir = tempDir('qmt-replay-terminal-');
    const evil = {
      accountId: 'evil\u001b[2Jid',
      collateral: [{ asset: 'USD', amount: '1600.00' }],
      positions: [
        { kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: '30000', settlement: 'linear' },
      ],
    };
    const { code, out } = await runQmt([
      'replay',
      '--prices',
      `BTC=${hourlyFile(dir)}`,
      '--accounts',
      accountsFile(dir, [evil]),
      '--from',
      '2024-05-10',
      '--full-sweep-every',
      '1d',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/^2024-05-10T\d\d:00Z {2}BTC \d+\.\d\d {2}long-\d+ {2}\w+ → MARGIN_CALL/m);
    expect(out).toContain('evil\\u001b[2Jid');
    expect(out).not.toContain('\u001b[2J');
    expect(out).toMatch(
      /replayed 24 bars: \d+ threshold set\(s\) \(2 scheduled, \d+ shock\), \d+ full and \d+ targeted sweeps/,
    );
  }, 120_000);

  it('refuses a bad interval or a missing accounts file with exit code 2', async () => {
    const dir = tempDir('qmt-replay-usage-');
    const prices = hourlyFile(dir);
    const interval = await runQmt([
      'replay',
      '--prices',
      `BTC=${prices}`,
      '--accounts',
      accountsFile(dir),
      '--full-sweep-every',
      '7x',
    ]);
    expect(interval.code).toBe(2);
    expect(interval.err).toContain('--full-sweep-every: expected a duration like 5m, 1h or 1d, got "7x"');
    const missing = await runQmt([
      'replay',
      '--prices',
      `BTC=${prices}`,
      '--accounts',
      join(dir, 'nope.json'),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('--accounts');
    const backwards = await runQmt([
      'replay',
      '--prices',
      `BTC=${prices}`,
      '--accounts',
      accountsFile(dir),
      '--from',
      '2024-05-10',
      '--to',
      '2024-05-01',
    ]);
    expect(backwards.code).toBe(2);
  }, 60_000);
});

describe('npm start', () => {
  it('ends with the 2020-03-12 crash replay of the demo book, margin calls firing as BTC falls', async () => {
    const { code, out } = await runQmt(['start', '--offline', '--data-dir', tempDir('qmt-start-crash-')]);
    expect(code).toBe(0);
    const crash = out.slice(out.indexOf('crash replay: BTC on 2020-03-12'));
    expect(crash).toMatch(/O→H→L→C built from the day's open, high, low and close/);
    expect(crash).toContain('GENERATED');
    // A margin call (or worse) during the day, at a price below the open.
    const calls = [
      ...crash.matchAll(/^2020-03-12T(\d\d):00Z {2}BTC (\d+\.\d\d) .* → (MARGIN_CALL|LIQUIDATION)/gm),
    ];
    expect(calls.some((m) => Number(m[1]) > 0 && Number(m[2]) < 7_900)).toBe(true);
    expect(crash).toMatch(/replayed 24 bars/);
  }, 180_000);
});
