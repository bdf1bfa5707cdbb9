/**
 * The daily backtest (EMIR Art. 49, `lib/app/daily-backtest.ts`): one instrument with ten years of daily
 * candles walked in full over its last 250 scored days with the default policy (each day recalibrated on
 * the data before it), timed; then the steady day: the next day's candles (the window slid by one day)
 * continuing the kept walk, one recalibration. Both are modelled for a book of `QMT_BENCH_SCALE_INSTRUMENTS`
 * (default 300) against the time the recalibrate function has left for it (its timeout, less the reserve
 * the handler keeps, less a measured recalibration from `npm run bench -- exchange-scale`, given as
 * `QMT_BENCH_RECALIBRATION_S`): a steady day for the whole book, and how many runs a policy change (every
 * instrument walked in full again) takes. Times are wall clock and CPU-seconds of this process.
 */

import { RECALIBRATE_TIMEOUT } from '../../infra/constructs/functions.ts';
import { BACKTEST_TIME_RESERVE_MS } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import { dailyBacktest } from '../../lib/domain/backtest/daily-report.ts';
import { continueDailyBacktest, walkDailyBacktest } from '../../lib/domain/backtest/daily-walk.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { Bench } from './types.ts';

const INSTRUMENTS = Number(process.env.QMT_BENCH_SCALE_INSTRUMENTS ?? 300);
const RECALIBRATION_S = Number(process.env.QMT_BENCH_RECALIBRATION_S ?? 0);
const DAYS = 3650;
const AS_OF = Date.parse('2026-11-24T00:00:00Z');
/** Steady days timed (each continues the kept walk by its day; the median is reported). */
const STEADY_DAYS = 5;

function timed<T>(run: () => T): { value: T; wallS: number; cpuS: number } {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = run();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { value, wallS, cpuS: (cpu.user + cpu.system) / 1e6 };
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[values.length >> 1] as number;

const bench: Bench = async (log) => {
  const all = generateCandles({
    instrument: 'LONG',
    days: DAYS + STEADY_DAYS,
    endTime: AS_OF,
    startPrice: 30_000,
    seed: 4242,
    annualVolatility: 0.7,
  });
  // Day k's fetch: the DAYS candles before the run's day (the window slides by a day each run).
  const fetchOf = (k: number) => ({ ...all, candles: all.candles.slice(k, k + DAYS) });
  const options = { windowDays: DAYS - 1 };
  log(`walking 250 scored days of one instrument with ${DAYS} daily candles in full`);
  const full = timed(() => walkDailyBacktest(DEFAULT_THRESHOLD_POLICY, fetchOf(0), options));
  log(
    `full walk: ${full.wallS.toFixed(1)} s wall, ${full.cpuS.toFixed(1)} CPU-s, zone ${full.value.report.zone}`,
  );
  const steady: { wallS: number; cpuS: number }[] = [];
  let state = full.value.state;
  for (let k = 1; k <= STEADY_DAYS; k++) {
    const step = timed(() => continueDailyBacktest(DEFAULT_THRESHOLD_POLICY, state, fetchOf(k), options));
    if ('walkAgain' in step.value) throw new Error(`steady day ${k} refused: ${step.value.walkAgain}`);
    state = step.value.state;
    steady.push(step);
    log(
      `steady day ${k}: ${(step.wallS * 1000).toFixed(0)} ms wall, ${(step.cpuS * 1000).toFixed(0)} CPU-ms`,
    );
  }
  // The continued walk reports what the old full walk over the same fetch reports (checked here too, once).
  const check = dailyBacktest(DEFAULT_THRESHOLD_POLICY, fetchOf(0));
  if (JSON.stringify(check) !== JSON.stringify(full.value.report)) {
    throw new Error('the full walk does not report what dailyBacktest reports');
  }
  const fullS = full.wallS;
  const steadyS = median(steady.map((s) => s.wallS));
  const steadyCpuS = median(steady.map((s) => s.cpuS));
  const stateBytes = Buffer.byteLength(JSON.stringify(state));
  const timeoutS = RECALIBRATE_TIMEOUT.toSeconds();
  const budgetS = timeoutS - BACKTEST_TIME_RESERVE_MS / 1000 - RECALIBRATION_S;
  const steadyBookS = INSTRUMENTS * steadyS;
  const fullPerRun = Math.max(0, Math.floor(budgetS / fullS));
  // A policy change: every instrument walked in full, as many per run as the time left allows (after the
  // steady days of the others, which go first).
  const runsForChange = fullPerRun === 0 ? Number.POSITIVE_INFINITY : Math.ceil(INSTRUMENTS / fullPerRun);
  const reference = `timeout ${timeoutS} s − reserve ${BACKTEST_TIME_RESERVE_MS / 1000} s − recalibration ${RECALIBRATION_S} s; on this box's core, not Lambda's`;
  return {
    title: `Daily backtest (EMIR Art. 49): one instrument × ${DAYS} days measured, ${INSTRUMENTS} modelled`,
    figures: [
      {
        name: 'one instrument walked in full, 250 scored days',
        ours: fullS,
        unit: 's',
        note: `${full.cpuS.toFixed(1)} CPU-s; ${full.value.walkedDays} days recalibrated`,
      },
      {
        name: 'one instrument, a steady day (the kept walk continued by one day)',
        ours: steadyS,
        unit: 's',
        note: `${steadyCpuS.toFixed(3)} CPU-s, median of ${STEADY_DAYS}; kept walk ${(stateBytes / 1024).toFixed(1)} KB`,
      },
      {
        name: `${INSTRUMENTS} instruments, a steady day (modelled)`,
        ours: steadyBookS,
        reference: budgetS,
        unit: 's',
        ratio: steadyBookS / budgetS,
        target: `≤ the time left in the function (${budgetS.toFixed(0)} s)`,
        met: steadyBookS <= budgetS,
        note: `${(INSTRUMENTS * steadyCpuS).toFixed(1)} CPU-s; reference = ${reference}`,
      },
      {
        name: `${INSTRUMENTS} instruments walked in full, one after another (modelled: a policy change)`,
        ours: INSTRUMENTS * fullS,
        reference: budgetS,
        unit: 's',
        ratio: (INSTRUMENTS * fullS) / budgetS,
        note: `${(INSTRUMENTS * full.cpuS).toFixed(0)} CPU-s`,
      },
      {
        name: 'full walks per run (modelled)',
        ours: fullPerRun,
        unit: 'instruments',
      },
      {
        name: `runs until a policy change is backtested in full at ${INSTRUMENTS} (modelled)`,
        ours: runsForChange,
        unit: 'runs',
        note: 'instruments not yet walked are reported as not run meanwhile, the oldest kept walk first',
      },
    ],
  };
};

export default bench;
