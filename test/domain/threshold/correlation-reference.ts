/**
 * The pair correlation exactly as `lib/domain/threshold/correlation.ts` computed it before the set-wide
 * path (commit 7e33564), kept verbatim as the reference the optimised `estimateCorrelations` must equal bit
 * for bit (`correlation.test.ts`). Not used by qmt.
 */
import type { CandleSeries } from '../../../lib/domain/market/candle.ts';
import { utcDay } from '../../../lib/domain/market/candle.ts';
import {
  type CorrelationEstimate,
  type CorrelationSettings,
  MIN_LOOKBACK_DAYS,
  MIN_STRESS_DAYS,
  type PairCorrelation,
} from '../../../lib/domain/threshold/correlation.ts';
import { toDailyBars } from '../../../lib/domain/threshold/model.ts';

/**
 * The correlation of two instruments' daily log returns, on the days both have a close (a return runs from
 * the previous common day, so both sides of a pair always span the same interval). Never throws on bad
 * data: a pair it cannot estimate is returned `refused`, with the reason naming the pair.
 */
export function estimatePairCorrelationAsBefore(
  first: CandleSeries,
  second: CandleSeries,
  settings: CorrelationSettings,
): PairCorrelation {
  const [x, y] = first.instrument < second.instrument ? [first, second] : [second, first];
  const pair = { a: x.instrument, b: y.instrument };
  const name = `${pair.a}/${pair.b}`;
  const xs = dailyCloses(x);
  const ys = dailyCloses(y);
  if (typeof xs === 'string' || typeof ys === 'string') {
    return { ...pair, refused: `${name}: ${typeof xs === 'string' ? xs : ys}` };
  }
  const returns = commonReturns(xs, ys);
  const lookback = returns.slice(Math.max(0, returns.length - settings.lookbackDays));
  const stress = returns.filter((r) => settings.stressWindows.some((w) => r.day >= w.from && r.day <= w.to));
  const minLookback = settings.minLookbackDays ?? MIN_LOOKBACK_DAYS;
  const minStress = settings.minStressDays ?? MIN_STRESS_DAYS;
  const lookbackEstimate = estimate(lookback);
  const stressedEstimate = estimate(stress);
  const found = {
    ...pair,
    ...(lookbackEstimate ? { lookback: lookbackEstimate } : {}),
    ...(stressedEstimate ? { stressed: stressedEstimate } : {}),
  };
  if (lookback.length < minLookback) {
    return {
      ...found,
      refused: `${name}: ${lookback.length} common daily returns, fewer than ${minLookback}`,
    };
  }
  if (!lookbackEstimate) {
    return { ...found, refused: `${name}: a series does not move (no correlation without variance)` };
  }
  if (stress.length < minStress) {
    return {
      ...found,
      rho: lookbackEstimate.rho,
      stressedThin: `${name}: ${stress.length} common daily returns in the stress windows, fewer than ${minStress}`,
    };
  }
  if (!stressedEstimate) {
    return { ...found, refused: `${name}: a series does not move (no correlation without variance)` };
  }
  return { ...found, rho: Math.min(lookbackEstimate.rho, stressedEstimate.rho) };
}

interface DayReturn {
  readonly day: string;
  readonly x: number;
  readonly y: number;
}

/** Close per UTC day, or why the series cannot be used. */
function dailyCloses(series: CandleSeries): Map<string, number> | string {
  const daily = toDailyBars(series);
  if ('heldReason' in daily) return daily.heldReason;
  const closes = new Map<string, number>();
  for (const candle of daily.series.candles) {
    // A close that is not a positive number has no log return: it is left out, never read as a move.
    if (candle.close > 0 && Number.isFinite(candle.close)) closes.set(utcDay(candle.time), candle.close);
  }
  return closes;
}

function commonReturns(xs: ReadonlyMap<string, number>, ys: ReadonlyMap<string, number>): DayReturn[] {
  const days = [...xs.keys()].filter((day) => ys.has(day)).sort();
  const returns: DayReturn[] = [];
  for (let k = 1; k < days.length; k++) {
    const day = days[k] as string;
    const previous = days[k - 1] as string;
    const x = Math.log((xs.get(day) as number) / (xs.get(previous) as number));
    const y = Math.log((ys.get(day) as number) / (ys.get(previous) as number));
    if (Number.isFinite(x) && Number.isFinite(y)) returns.push({ day, x, y });
  }
  return returns;
}

/** Pearson, two passes (means first): stable for returns of any size. Undefined without variance. */
function estimate(returns: readonly DayReturn[]): CorrelationEstimate | undefined {
  const n = returns.length;
  if (n < 2) return undefined;
  let meanX = 0;
  let meanY = 0;
  for (const r of returns) {
    meanX += r.x;
    meanY += r.y;
  }
  meanX /= n;
  meanY /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (const r of returns) {
    const dx = r.x - meanX;
    const dy = r.y - meanY;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  const rho = sxy / Math.sqrt(sxx * syy);
  if (!Number.isFinite(rho) || sxx === 0 || syy === 0) return undefined;
  return {
    rho: Math.max(-1, Math.min(1, rho)),
    days: n,
    from: (returns[0] as DayReturn).day,
    to: (returns[n - 1] as DayReturn).day,
  };
}
