import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCandlesCsv } from '../../../../lib/adapters/csv-file.ts';
import { type BacktestResult, backtest } from '../../../../lib/domain/backtest/backtest.ts';
import type { CandleSeries } from '../../../../lib/domain/market/candle.ts';
import { recalibrate } from '../../../../lib/domain/threshold/model.ts';
import { parseThresholdPolicy } from '../../../../lib/domain/threshold/policy.ts';
import { REPO_ROOT, SHARED_DATA } from '../../shared.ts';

/**
 * The README's hourly ETH table ("Margin period of risk in hours"): the intraday backtest of
 * docs/policies/eth-{1h,4h}.json on ../shared/data/ETHUSDT-1h-binance.csv (Binance 1h bars, 2022-01-01 to
 * 2025-12-02, one bar missing: 2023-03-24 13:00), scored from 2023-01-01, one observation per MPOR.
 * Figures from `qmt backtest --prices ETH=../shared/data/ETHUSDT-1h-binance.csv --policy docs/policies/eth-1h.json`
 * (and eth-4h.json); breach counts exact, p-values ±1e-6, rates ±1e-9 relative.
 * The two policies were chosen on this same file (in sample): the figures show the model can reach 99%
 * coverage at these horizons, not that the choice holds out of sample.
 */
const file = join(SHARED_DATA, 'ETHUSDT-1h-binance.csv');
const policyFile = (mpor: string) =>
  parseThresholdPolicy(JSON.parse(readFileSync(join(REPO_ROOT, `docs/policies/eth-${mpor}.json`), 'utf8')));

let eth: CandleSeries;
const results = new Map<string, BacktestResult>();
beforeAll(async () => {
  eth = await readCandlesCsv(file, 'ETH');
  for (const mpor of ['1h', '4h']) results.set(mpor, backtest(policyFile(mpor), eth));
}, 600_000);

const pinned = {
  '1h': {
    observations: 25588,
    long: { breaches: 249, kupiecP: 0.6641381451611416, christoffersenP: 7.744803756371705e-6 },
    short: { breaches: 251, kupiecP: 0.7584012547385461, christoffersenP: 4.9923502384617735e-5 },
    averageInitialMarginRate: 0.01798364064308065,
    hindsightFixedRate: 0.019401360252354654,
  },
  '4h': {
    observations: 6396,
    long: { breaches: 54, kupiecP: 0.19840405078725776, christoffersenP: 0.4822774050111196 },
    short: { breaches: 54, kupiecP: 0.19840405078725776, christoffersenP: 0.33754328408354384 },
    averageInitialMarginRate: 0.03970878446881833,
    hindsightFixedRate: 0.038626900208002815,
  },
} as const;

describe('hourly MPOR on ETHUSDT-1h-binance.csv', () => {
  it('reads the file as 1h bars with its one gap', () => {
    expect(eth.intervalMs).toBe(3_600_000);
    expect(results.get('1h')?.notes?.join('\n')).toMatch(
      /1 gap\(s\) in the 1h bars \(missing bars: 1 after 2023-03-24T12:00Z\)/,
    );
  });

  it.each(['1h', '4h'] as const)('at %s: Kupiec p ≥ 0.05 on both sides, figures as pinned', (mpor) => {
    const result = results.get(mpor) as BacktestResult;
    const pin = pinned[mpor];
    expect(result.observations).toBe(pin.observations);
    for (const side of ['long', 'short'] as const) {
      expect(result[side].kupiecP).toBeGreaterThanOrEqual(0.05);
      expect(result[side].breaches).toBe(pin[side].breaches);
      expect(result[side].kupiecP).toBeCloseTo(pin[side].kupiecP, 6);
      expect(result[side].christoffersenP).toBeCloseTo(pin[side].christoffersenP, 6);
    }
    expect(Math.abs(result.hindsightFixedRate / pin.hindsightFixedRate - 1)).toBeLessThan(1e-9);
    expect(Math.abs(result.averageInitialMarginRate / pin.averageInitialMarginRate - 1)).toBeLessThan(1e-9);
  });

  it('at 4h also passes Christoffersen independence on both sides; at 1h it does not (README says so)', () => {
    const four = results.get('4h') as BacktestResult;
    expect(four.long.christoffersenP).toBeGreaterThanOrEqual(0.05);
    expect(four.short.christoffersenP).toBeGreaterThanOrEqual(0.05);
    const one = results.get('1h') as BacktestResult;
    expect(one.long.christoffersenP).toBeLessThan(0.05);
  });

  it('refuses a 1h MPOR on the daily ETH file', async () => {
    const daily = await readCandlesCsv(join(SHARED_DATA, 'ETH-USD.csv'), 'ETH');
    const held = recalibrate(policyFile('1h'), daily);
    expect(held.status).toBe('held');
    expect(held.heldReason).toMatch(/needs intraday bars/);
  });
});
