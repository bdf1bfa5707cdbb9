/**
 * The daily backtest (EMIR Art. 49, `lib/app/daily-backtest.ts`): one instrument with ten years of daily
 * candles walked over its last 250 scored days with the default policy (each day recalibrated on the data
 * before it), timed; then modelled for a book of `QMT_BENCH_SCALE_INSTRUMENTS` (default 300) against the time
 * the recalibrate function has left for it (its timeout, less the reserve the handler keeps, less a measured
 * recalibration from `npm run bench -- exchange-scale`, given as `QMT_BENCH_RECALIBRATION_S`).
 */

import { RECALIBRATE_TIMEOUT } from '../../infra/constructs/functions.ts';
import { BACKTEST_TIME_RESERVE_MS } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import { dailyBacktest } from '../../lib/domain/backtest/daily-report.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Bench } from './types.ts';

const INSTRUMENTS = Number(process.env.QMT_BENCH_SCALE_INSTRUMENTS ?? 300);
const RECALIBRATION_S = Number(process.env.QMT_BENCH_RECALIBRATION_S ?? 0);
const DAYS = 3650;
const AS_OF = Date.parse('2026-11-24T00:00:00Z');

const bench: Bench = async (log) => {
  const series = generateCandles({
    instrument: 'LONG',
    days: DAYS,
    endTime: AS_OF,
    startPrice: 30_000,
    seed: 4242,
    annualVolatility: 0.7,
  });
  log(`walking 250 scored days of one instrument with ${series.candles.length} daily candles`);
  const t0 = performance.now();
  const report = dailyBacktest(DEFAULT_THRESHOLD_POLICY, series);
  const oneS = (performance.now() - t0) / 1000;
  log(`one instrument: ${oneS.toFixed(1)} s, ${report.observations} observations, zone ${report.zone}`);
  const timeoutS = RECALIBRATE_TIMEOUT.toSeconds();
  const budgetS = timeoutS - BACKTEST_TIME_RESERVE_MS / 1000 - RECALIBRATION_S;
  const bookS = INSTRUMENTS * oneS;
  return {
    title: `Daily backtest (EMIR Art. 49): one instrument × ${DAYS} days measured, ${INSTRUMENTS} modelled`,
    figures: [
      {
        name: 'one instrument, 250 scored days',
        ours: oneS,
        unit: 's',
        note: `${report.observations} observations`,
      },
      {
        name: `${INSTRUMENTS} instruments, one after another (modelled)`,
        ours: bookS,
        reference: budgetS,
        unit: 's',
        ratio: bookS / budgetS,
        target: `≤ the time left in the function (${budgetS.toFixed(0)} s)`,
        met: bookS <= budgetS,
        note: `reference = timeout ${timeoutS} s − reserve ${BACKTEST_TIME_RESERVE_MS / 1000} s − recalibration ${RECALIBRATION_S} s; on this box's core, not Lambda's`,
      },
      {
        name: 'instruments that fit the time left (modelled)',
        ours: Math.max(0, Math.floor(budgetS / oneS)),
        unit: 'instruments',
      },
    ],
  };
};

export default bench;
