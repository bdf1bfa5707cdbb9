/**
 * `qmt run` end to end: DynamoDB Local started by the command, the real handlers, the user's accounts and
 * price files. Expected states are computed here by hand from the published rates, not by the valuation code.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runQmt } from '../../cli/run-qmt.ts';
import { validateMarginAlert } from '../../schemas/ajv.ts';
import { tempDir } from '../../temp-dirs.ts';
import { SHARED_DATA } from '../shared.ts';

const ENTRY = 29_000;

interface Output {
  thresholds: {
    instrument: string;
    referencePrice: number;
    maintenanceMarginRate: number;
    initialMarginRate: number;
    status: string;
  }[];
  alerts: {
    accountId: string;
    previousState: string;
    newState: string;
    marginRatio: string;
    equity: string;
    sequence: number;
  }[];
  errors: { kind: string; key: string; reason: string }[];
  counts: { accounts: number; transitions: number; alerts: number; rejected: number };
}

const run = (...argv: string[]) => runQmt(argv);

/** The state the levels (warning 1.2, margin call 1.0, liquidation 0.8) give a first-seen account. */
function expectedState(ratio: number): string {
  if (ratio >= 1.2) return 'OK';
  if (ratio >= 1) return 'WARNING';
  if (ratio >= 0.8) return 'MARGIN_CALL';
  return 'LIQUIDATION';
}

describe('qmt run --accounts --prices --json', () => {
  it('values the user’s accounts against freshly computed thresholds and announces each state change once', async () => {
    // Prepare: 24 one-BTC longs entered at 29,000 with collateral spread from 300 to 12,000 USD, plus two bad records.
    const dir = tempDir('qmt-run-');
    const collaterals = Array.from({ length: 24 }, (_, i) => Math.round(300 * 40 ** (i / 23)));
    const accounts: unknown[] = collaterals.map((collateral, i) => ({
      accountId: `acc-${i}`,
      collateral: [{ asset: 'USD', amount: `${collateral}.00` }],
      positions: [
        { kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: `${ENTRY}`, settlement: 'linear' },
      ],
    }));
    accounts.push({ accountId: 'bad-amount', collateral: [{ asset: 'USD', amount: 'lots' }], positions: [] });
    accounts.push({
      accountId: 'unknown-instrument',
      collateral: [{ asset: 'USD', amount: '100' }],
      positions: [
        { kind: 'perpetual', instrument: 'DOGE', quantity: '1', entryPrice: '1', settlement: 'linear' },
      ],
    });
    const file = join(dir, 'accounts.json');
    await writeFile(file, JSON.stringify(accounts));

    // Act
    const { code, out, err } = await run(
      'run',
      '--accounts',
      file,
      '--prices',
      `BTC=${join(SHARED_DATA, 'BTC-USD.csv')}`,
      `ETH=${join(SHARED_DATA, 'ETH-USD.csv')}`,
      // A folder of the test's own: the default is `.qmt` in the repository.
      '--data-dir',
      join(dir, 'data'),
      '--json',
    );

    // Assess
    expect(err).toBe('');
    expect(code).toBe(0);
    const output = JSON.parse(out) as Output;
    const btc = output.thresholds.find((t) => t.instrument === 'BTC');
    if (!btc) throw new Error('no BTC threshold');
    expect(btc.status).toBe('computed');
    // The last BTC close in the file (2023-07-31) is the mark.
    expect(btc.referencePrice).toBeCloseTo(29_230.11, 1);

    const alerts = new Map(output.alerts.map((a) => [a.accountId, a]));
    let announced = 0;
    collaterals.forEach((collateral, i) => {
      const equity = collateral + (btc.referencePrice - ENTRY);
      const ratio = equity / (btc.referencePrice * btc.maintenanceMarginRate);
      const state = expectedState(ratio);
      const alert = alerts.get(`acc-${i}`);
      if (state === 'OK') {
        expect(alert, `acc-${i} at ratio ${ratio}`).toBeUndefined();
      } else {
        announced++;
        expect(alert, `acc-${i} at ratio ${ratio}`).toMatchObject({
          previousState: 'OK',
          newState: state,
          sequence: 1,
        });
        expect(Number(alert?.marginRatio)).toBeCloseTo(ratio, 6);
        expect(Number(alert?.equity)).toBeCloseTo(equity, 6);
      }
    });
    // Every band is exercised, so the test would notice a wrong level.
    expect(new Set(output.alerts.map((a) => a.newState))).toEqual(
      new Set(['WARNING', 'MARGIN_CALL', 'LIQUIDATION']),
    );
    expect(output.alerts).toHaveLength(announced);
    for (const alert of output.alerts)
      expect(validateMarginAlert(alert), JSON.stringify(validateMarginAlert.errors)).toBe(true);

    expect(output.errors.map((e) => e.key).sort()).toEqual(['bad-amount', 'unknown-instrument']);
    expect(output.errors.find((e) => e.key === 'bad-amount')?.reason).toContain('collateral[0].amount');
    expect(output.errors.find((e) => e.key === 'unknown-instrument')?.reason).toContain('DOGE');
    expect(output.counts).toMatchObject({ accounts: 24, rejected: 2, alerts: announced });
  }, 120_000);
});

describe('npm start (qmt start)', () => {
  it('runs the demo cycle, and a second run on the same data announces nothing new', async () => {
    const dataDir = tempDir('qmt-start-');
    const prices = [
      '--prices',
      `BTC=${join(SHARED_DATA, 'BTC-USD.csv')}`,
      `SOL=${join(SHARED_DATA, 'SOL-USD.csv')}`,
    ];
    const first = await run('start', ...prices, '--data-dir', dataDir, '--json');
    expect(first.err).toBe('');
    expect(first.code).toBe(0);
    const firstRun = JSON.parse(first.out) as Output;
    expect(firstRun.counts.accounts).toBe(300);
    expect(firstRun.alerts.length).toBeGreaterThan(10);
    const second = JSON.parse((await run('start', ...prices, '--data-dir', dataDir, '--json')).out) as Output;
    expect(second.counts.accounts).toBe(300);
    expect(second.alerts).toEqual([]);
    const outbox = (await readFile(join(dataDir, 'outbox', 'alerts.jsonl'), 'utf8')).trim().split('\n');
    expect(outbox).toHaveLength(firstRun.alerts.length);
    expect(new Set(outbox.map((line) => JSON.parse(line).alertId)).size).toBe(outbox.length);
  }, 180_000);
});
