import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readCandlesCsv } from '../../../../lib/adapters/csv-file.ts';
import { type BacktestResult, backtest } from '../../../../lib/domain/backtest/backtest.ts';
import type { CandleSeries } from '../../../../lib/domain/market/candle.ts';
import { recalibrate } from '../../../../lib/domain/threshold/model.ts';
import { parseThresholdPolicy, type ThresholdPolicy } from '../../../../lib/domain/threshold/policy.ts';
import { REPO_ROOT, SHARED_DATA } from '../../shared.ts';

/**
 * The README's hourly ETH table ("Margin period of risk in hours"): the intraday backtest on
 * ../shared/data/ETHUSDT-1h-binance.csv (Binance 1h bars, 2022-01-01 to 2025-12-02, one bar missing:
 * 2023-03-24 13:00), one observation per MPOR, in two periods:
 *  - in sample, scored 2022-03-01 → 2023-12-31 (the first two months seed σ): the policies
 *    docs/policies/eth-{1h,4h}.json were chosen on it, out of a grid of profile × slow λ × fast λ, as the
 *    cheapest (average margin / hindsight fixed rate) with Kupiec and Christoffersen p ≥ 0.05 on both sides;
 *  - out of sample, scored 2024-01-01 → 2025-12-02: never seen by the choice (`qmt backtest --prices
 *    ETH=../shared/data/ETHUSDT-1h-binance.csv --policy docs/policies/eth-1h.json --from 2024-01-01`).
 * "previous" is the model before the choice (one time-of-day profile, the slow EWMA alone; λ 0.97 a day at
 * 1h, 0.5 at 4h): at 1h its breaches cluster (Christoffersen p < 0.001) in both periods.
 * The walk-forward model refits on every bar before each day in both periods: only the policy's settings
 * were chosen on the first. Breach counts exact, p-values ±1e-6, rates ±1e-9 relative.
 * test/data/python/intraday_mpor.py recomputes these figures independently (numpy, scipy).
 */
const file = join(SHARED_DATA, 'ETHUSDT-1h-binance.csv');
const raw = (mpor: string) =>
  JSON.parse(readFileSync(join(REPO_ROOT, `docs/policies/eth-${mpor}.json`), 'utf8')) as Record<
    string,
    unknown
  >;
const chosen = (mpor: string) => parseThresholdPolicy(raw(mpor));
const previous = (mpor: string) => {
  const { intraday: _intraday, ...rest } = raw(mpor);
  const lambda = mpor === '1h' ? 0.97 : 0.5;
  return parseThresholdPolicy({ ...rest, volatility: { ewmaLambda: lambda, filterLambda: lambda } });
};
const periods = {
  inSample: { scoreFrom: Date.UTC(2022, 2, 1), scoreTo: Date.UTC(2024, 0, 1) - 1 },
  outOfSample: { scoreFrom: Date.UTC(2024, 0, 1) },
} as const;
type Model = 'chosen' | 'previous';
type Mpor = '1h' | '4h';
type Period = keyof typeof periods;

let eth: CandleSeries;
const results = new Map<string, BacktestResult>();
const result = (model: Model, mpor: Mpor, period: Period) =>
  results.get(`${model} ${mpor} ${period}`) as BacktestResult;
beforeAll(async () => {
  eth = await readCandlesCsv(file, 'ETH');
  for (const model of ['chosen', 'previous'] as const) {
    for (const mpor of ['1h', '4h'] as const) {
      const policy: ThresholdPolicy = model === 'chosen' ? chosen(mpor) : previous(mpor);
      for (const period of ['inSample', 'outOfSample'] as const) {
        results.set(`${model} ${mpor} ${period}`, backtest(policy, eth, periods[period]));
      }
    }
  }
}, 600_000);

const pinned = {
  chosen: {
    '1h': {
      inSample: {
        observations: 16102,
        long: { breaches: 167, kupiecP: 0.6378000417802997, christoffersenP: 0.13599872972866767 },
        short: { breaches: 167, kupiecP: 0.6378000417802997, christoffersenP: 0.5418802851092867 },
        averageInitialMarginRate: 0.01760005513378562,
        hindsightFixedRate: 0.02169036606092435,
        peakToTrough: 39.55696106023818,
        maxIncrease5d: 7.35693625618423,
      },
      outOfSample: {
        observations: 16830,
        long: { breaches: 188, kupiecP: 0.13411681810674492, christoffersenP: 0.23778028756064218 },
        short: { breaches: 171, kupiecP: 0.834743092157131, christoffersenP: 0.06096974134755175 },
        averageInitialMarginRate: 0.01937944112305539,
        hindsightFixedRate: 0.021187052917915346,
        peakToTrough: 23.11745746435305,
        maxIncrease5d: 9.087029987403563,
      },
    },
    '4h': {
      inSample: {
        observations: 4025,
        long: { breaches: 44, kupiecP: 0.5583681023394141, christoffersenP: 0.5080782015863086 },
        short: { breaches: 47, kupiecP: 0.2975873017331164, christoffersenP: 0.5800058829724098 },
        averageInitialMarginRate: 0.0352596599195718,
        hindsightFixedRate: 0.04489381587452282,
        peakToTrough: 22.364285300316148,
        maxIncrease5d: 6.018812407308631,
      },
      outOfSample: {
        observations: 4207,
        long: { breaches: 51, kupiecP: 0.18053488426852138, christoffersenP: 0.26316759083134256 },
        short: { breaches: 43, kupiecP: 0.8858287866963432, christoffersenP: 0.345933656558549 },
        averageInitialMarginRate: 0.039024127268098625,
        hindsightFixedRate: 0.04386181725678085,
        peakToTrough: 12.381303015565107,
        maxIncrease5d: 6.690458425849481,
      },
    },
  },
  previous: {
    '1h': {
      inSample: {
        observations: 16102,
        long: { breaches: 159, kupiecP: 0.8726264382911637, christoffersenP: 5.682667097914914e-10 },
        short: { breaches: 165, kupiecP: 0.7535543329168697, christoffersenP: 1.1450421730969254e-6 },
        averageInitialMarginRate: 0.01911637571547783,
        hindsightFixedRate: 0.02169036606092435,
        peakToTrough: 8.43718192480021,
        maxIncrease5d: 2.17431580211318,
      },
      outOfSample: {
        observations: 16830,
        long: { breaches: 172, kupiecP: 0.7751743684191245, christoffersenP: 1.2402419329162111e-5 },
        short: { breaches: 161, kupiecP: 0.5689069494477761, christoffersenP: 0.02523993511554432 },
        averageInitialMarginRate: 0.020230521867836238,
        hindsightFixedRate: 0.021187052917915346,
        peakToTrough: 4.36018205049973,
        maxIncrease5d: 1.8599567289183936,
      },
    },
    '4h': {
      inSample: {
        observations: 4025,
        long: { breaches: 35, kupiecP: 0.39497276431011397, christoffersenP: 0.43321196476629553 },
        short: { breaches: 34, kupiecP: 0.3090261643238823, christoffersenP: 0.2943423688227972 },
        averageInitialMarginRate: 0.040122707803406314,
        hindsightFixedRate: 0.04489381587452282,
        peakToTrough: 13.935793045288689,
        maxIncrease5d: 3.27057182215825,
      },
      outOfSample: {
        observations: 4207,
        long: { breaches: 43, kupiecP: 0.8858287866963432, christoffersenP: 0.46332385345710225 },
        short: { breaches: 34, kupiecP: 0.19580788623095102, christoffersenP: 0.456616061970498 },
        averageInitialMarginRate: 0.043673284031158735,
        hindsightFixedRate: 0.04386181725678085,
        peakToTrough: 9.621935282013085,
        maxIncrease5d: 5.213840595696995,
      },
    },
  },
} as const;

const cells = (['chosen', 'previous'] as const).flatMap((model) =>
  (['1h', '4h'] as const).flatMap((mpor) =>
    (['inSample', 'outOfSample'] as const).map((period) => [model, mpor, period] as const),
  ),
);

describe('hourly MPOR on ETHUSDT-1h-binance.csv', () => {
  it('reads the file as 1h bars with its one gap', () => {
    expect(eth.intervalMs).toBe(3_600_000);
    expect(result('chosen', '1h', 'inSample').notes?.join('\n')).toMatch(
      /1 gap\(s\) in the 1h bars \(missing bars: 1 after 2023-03-24T12:00Z\)/,
    );
  });

  it('scores the two periods apart: the choice ends 2023-12-31, the judgement starts 2024-01-01', () => {
    for (const mpor of ['1h', '4h'] as const) {
      expect(result('chosen', mpor, 'inSample').from).toBe('2022-03-01T00:00Z');
      expect(result('chosen', mpor, 'inSample').to.startsWith('2023-12-31T')).toBe(true);
      expect(result('chosen', mpor, 'outOfSample').from).toBe('2024-01-01T00:00Z');
    }
  });

  it.each(cells)('%s policy at %s, %s: figures as pinned', (model, mpor, period) => {
    const got = result(model, mpor, period);
    const pin = pinned[model][mpor][period];
    expect(got.observations).toBe(pin.observations);
    for (const side of ['long', 'short'] as const) {
      expect(got[side].breaches).toBe(pin[side].breaches);
      expect(got[side].kupiecP).toBeCloseTo(pin[side].kupiecP, 6);
      expect(got[side].christoffersenP).toBeCloseTo(pin[side].christoffersenP, 6);
    }
    for (const figure of [
      'averageInitialMarginRate',
      'hindsightFixedRate',
      'peakToTrough',
      'maxIncrease5d',
    ] as const) {
      expect(Math.abs(got[figure] / pin[figure] - 1)).toBeLessThan(1e-9);
    }
  });

  it.each(['1h', '4h'] as const)(
    'the chosen %s policy passes Kupiec and Christoffersen (p ≥ 0.05) on both sides, in and out of sample, below the hindsight rate',
    (mpor) => {
      for (const period of ['inSample', 'outOfSample'] as const) {
        const got = result('chosen', mpor, period);
        for (const side of ['long', 'short'] as const) {
          expect(got[side].kupiecP).toBeGreaterThanOrEqual(0.05);
          expect(got[side].christoffersenP).toBeGreaterThanOrEqual(0.05);
        }
        expect(got.averageInitialMarginRate).toBeLessThan(got.hindsightFixedRate);
      }
    },
  );

  it('the previous 1h model fails Christoffersen in both periods; the chosen one is jumpier (README says so)', () => {
    for (const period of ['inSample', 'outOfSample'] as const) {
      expect(result('previous', '1h', period).long.christoffersenP).toBeLessThan(0.001);
      // The price of the fast σ: the margin swings more (peak-to-trough far above the daily target of 4).
      expect(result('chosen', '1h', period).peakToTrough).toBeGreaterThan(
        2 * result('previous', '1h', period).peakToTrough,
      );
    }
  });

  it('refuses a 1h MPOR on the daily ETH file', async () => {
    const daily = await readCandlesCsv(join(SHARED_DATA, 'ETH-USD.csv'), 'ETH');
    const held = recalibrate(chosen('1h'), daily);
    expect(held.status).toBe('held');
    expect(held.heldReason).toMatch(/needs intraday bars/);
  });
});
