/**
 * `qmt replay` on the real hourly ETH file (Binance ETHUSDT 1h), through DynamoDB Local: the FTX collapse,
 * 2022-11-08 and -09. History before --from (from 2022-01-01) warms the model up.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCandlesCsv } from '../../../lib/adapters/csv-file.ts';
import type { Account } from '../../../lib/domain/account/account.ts';
import type { Threshold } from '../../../lib/domain/threshold/threshold.ts';
import { byTimeThenAccount, expectedTransitions } from '../../app/replay-reaction.ts';
import { runQmt } from '../../cli/run-qmt.ts';
import { tempDir } from '../../temp-dirs.ts';
import { SHARED_DATA } from '../shared.ts';

const ETH_HOURLY = join(SHARED_DATA, 'ETHUSDT-1h-binance.csv');
const FROM = Date.UTC(2022, 10, 8);
const TO = Date.UTC(2022, 10, 10);

const long = (accountId: string, collateral: number): Account => ({
  accountId,
  collateral: [{ asset: 'USD', amount: collateral.toFixed(2) }],
  positions: [
    { kind: 'perpetual', instrument: 'ETH', quantity: '100', entryPrice: '1500', settlement: 'linear' },
  ],
});
const accounts = [20_000, 25_000, 30_000, 40_000, 60_000].map((c, i) => long(`eth-long-${i}`, c));

interface Output {
  thresholdSets: {
    setId: string;
    effectiveAt: string;
    trigger: 'scheduled' | 'shock';
    thresholds: Threshold[];
  }[];
  alerts: { accountId: string; newState: string; occurredAt: string }[];
  errors: unknown[];
  stats: {
    bars: number;
    fullSweeps: number;
    targetedSweeps: number;
    accountsValued: number;
    accountsRead: number;
  };
}

describe('qmt replay on the hourly ETH file', () => {
  it('replays the FTX collapse: a set each midnight, every alert on the first bar that crosses', async () => {
    const dir = tempDir('qmt-replay-eth-');
    const accountsFile = join(dir, 'accounts.json');
    await writeFile(accountsFile, JSON.stringify(accounts));
    const { code, out, err } = await runQmt([
      'replay',
      '--prices',
      `ETH=${ETH_HOURLY}`,
      '--accounts',
      accountsFile,
      '--from',
      '2022-11-08',
      '--to',
      '2022-11-09',
      '--json',
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(out) as Output;
    expect(result.errors).toEqual([]);
    expect(result.stats.bars).toBe(48);
    // A set each midnight, from the days closed by then only.
    const scheduled = result.thresholdSets.filter((s) => s.trigger === 'scheduled');
    expect(scheduled.map((s) => [s.effectiveAt, s.thresholds[0]?.inputs.lastCandle])).toEqual([
      ['2022-11-08T00:00:00.000Z', '2022-11-07'],
      ['2022-11-09T00:00:00.000Z', '2022-11-08'],
      ['2022-11-10T00:00:00.000Z', '2022-11-09'],
    ]);
    // The crash raised margins: each day's set asks more than the one before.
    const rates = scheduled.map((s) => s.thresholds[0]?.initialMarginRate ?? 0);
    expect(rates[1]).toBeGreaterThan(rates[0] as number);
    expect(rates[2]).toBeGreaterThan(rates[1] as number);

    // Reaction: the same transitions, at the same bar closes, as a direct bar-by-bar valuation.
    const series = await readCandlesCsv(ETH_HOURLY, 'ETH');
    const opening = series.candles.findLast((c) => c.time + series.intervalMs <= FROM)?.close ?? 0;
    const expected = expectedTransitions(
      accounts,
      series.candles.map((c) => ({ close: c.close, closeTime: c.time + series.intervalMs })),
      result.thresholdSets.map((s) => ({
        effectiveAt: s.effectiveAt,
        set: { setId: s.setId, runId: s.setId, createdAt: s.effectiveAt, thresholds: s.thresholds },
        trigger: s.trigger,
      })),
      { from: FROM, to: TO, opening },
    );
    const fired = result.alerts.map((a) => ({
      accountId: a.accountId,
      newState: a.newState,
      at: a.occurredAt,
    }));
    expect(expected.filter((e) => e.newState === 'LIQUIDATION').length).toBeGreaterThanOrEqual(3);
    expect([...fired].sort(byTimeThenAccount)).toEqual([...expected].sort(byTimeThenAccount));
    // The watch read far less than a full sweep every hour would have.
    expect(result.stats.accountsRead).toBeLessThan(48 * accounts.length);
  }, 300_000);
});
