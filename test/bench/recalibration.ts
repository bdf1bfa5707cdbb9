/**
 * Time to recalibrate 200 instruments with 4 years (1,460 daily candles) each: `recalibrate` with the
 * default policy on generated series, GARCH fit included (it runs inside the model). The reference is the
 * GARCH fits alone on the same returns (the model's GARCH window), so the ratio shows the model's cost over
 * its heaviest part. One core, one timed pass after a warm-up on a few instruments.
 */
import type { CandleSeries } from '../../lib/domain/market/candle.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { recalibrate } from '../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import { fitGarch11 } from '../../lib/domain/volatility/garch.ts';
import { logReturns } from '../../lib/domain/volatility/returns.ts';
import type { Bench } from './types.ts';

const INSTRUMENTS = 200;
const DAYS = 1460;
const AS_OF = Date.parse('2026-11-24T00:00:00Z');

const bench: Bench = async (log) => {
  const policy = DEFAULT_THRESHOLD_POLICY;
  log(`generating ${INSTRUMENTS} series × ${DAYS} daily candles`);
  const series: CandleSeries[] = Array.from({ length: INSTRUMENTS }, (_, i) =>
    generateCandles({
      instrument: `INST${String(i).padStart(3, '0')}`,
      days: DAYS,
      endTime: AS_OF,
      startPrice: 10 + 1000 * ((i * 37) % 101),
      seed: 1000 + i,
      annualVolatility: 0.3 + 0.9 * (((i * 53) % 97) / 97),
    }),
  );
  const garchReturns = series.map((s) =>
    logReturns(s.candles.map((c) => c.close)).slice(-policy.volatility.garchWindowDays),
  );

  for (let i = 0; i < 5; i++) {
    recalibrate(policy, series[i] as CandleSeries, undefined, { asOf: AS_OF });
    fitGarch11(garchReturns[i] as number[]);
  }

  log(`recalibrating ${INSTRUMENTS} instruments`);
  let computed = 0;
  const t0 = performance.now();
  for (const s of series) {
    if (recalibrate(policy, s, undefined, { asOf: AS_OF }).status === 'computed') computed++;
  }
  const totalMs = performance.now() - t0;
  if (computed !== INSTRUMENTS) throw new Error(`only ${computed} of ${INSTRUMENTS} thresholds computed`);

  log(`fitting GARCH(1,1) alone on the same ${policy.volatility.garchWindowDays}-day windows`);
  let sink = 0;
  const g0 = performance.now();
  for (const returns of garchReturns) sink += fitGarch11(returns).negLogLik;
  const garchMs = performance.now() - g0;
  if (!Number.isFinite(sink)) throw new Error('a GARCH fit was not finite');
  log(`recalibrate: ${(totalMs / 1000).toFixed(2)} s; GARCH alone: ${(garchMs / 1000).toFixed(2)} s`);

  return {
    title: `Recalibration (${INSTRUMENTS} instruments × ${DAYS} daily candles, default policy, one core)`,
    figures: [
      {
        name: `recalibrate ${INSTRUMENTS} instruments`,
        ours: totalMs / 1000,
        reference: garchMs / 1000,
        unit: 's',
        ratio: totalMs / garchMs,
        note: 'no numeric target in the issue: a figure to track. Reference = the GARCH fits alone on the same windows; ratio = whole model ÷ GARCH',
      },
      {
        name: 'per instrument',
        ours: totalMs / INSTRUMENTS,
        reference: garchMs / INSTRUMENTS,
        unit: 'ms',
        ratio: totalMs / garchMs,
      },
    ],
  };
};

export default bench;
