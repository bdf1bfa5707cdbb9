/**
 * Correlations between instruments, estimated from data at each recalibration and stored with the set
 * (audit): Pearson of daily log returns on the dates both instruments have a close, over the lookback and
 * over the stress windows. Valuation offsets opposite positions with the lower of the two (`rho`), so a
 * correlation that broke down in a crash never earns the credit it earns in calm markets.
 */
import { type CandleSeries, utcDay } from '../market/candle.ts';
import { toDailyBars } from './model.ts';
import type { ThresholdPolicy } from './policy.ts';

/** One Pearson estimate, with the returns it was computed on (the UTC days of the first and last). */
export interface CorrelationEstimate {
  readonly rho: number;
  readonly days: number;
  readonly from: string;
  readonly to: string;
}

/**
 * The estimates of one pair (`a` < `b`). `rho` is the lower of the two, what valuation offsets with; it is
 * absent, and `refused` says why, when either estimate could not be made: such a pair earns no offset.
 * When only the stress windows are too thin (they hold fewer common returns than asked: a young pair, whose
 * data predates most crashes), the pair is not refused: `stressedThin` says why, `rho` is the lookback's,
 * and valuation takes the unknown stressed correlation as 1 (`correlationsByPair`).
 */
export interface PairCorrelation {
  readonly a: string;
  readonly b: string;
  readonly lookback?: CorrelationEstimate;
  readonly stressed?: CorrelationEstimate;
  readonly rho?: number;
  readonly refused?: string;
  /** Why the stressed estimate is not used although the lookback one is (too few returns in the windows). */
  readonly stressedThin?: string;
}

export interface CorrelationSettings {
  /** Common returns the lookback estimate uses: the latest this many. */
  readonly lookbackDays: number;
  /** Stress windows (UTC days, inclusive): returns ending on these days are pooled. */
  readonly stressWindows: readonly { readonly from: string; readonly to: string }[];
  /** Fewer common returns in the lookback than this: no estimate, no offset. @default 60 */
  readonly minLookbackDays?: number;
  /** Fewer common returns in the stress windows than this: no estimate, no offset. @default 5 */
  readonly minStressDays?: number;
}

/** A quarter of a year: below it a Pearson estimate of daily returns is too noisy to credit a hedge with. */
export const MIN_LOOKBACK_DAYS = 60;
/** The default stress windows are 1 to 4 days each (9 returns in all): 5 asks for at least two of them. */
export const MIN_STRESS_DAYS = 5;

/**
 * The correlation of two instruments' daily log returns, on the days both have a close (a return runs from
 * the previous common day, so both sides of a pair always span the same interval). Never throws on bad
 * data: a pair it cannot estimate is returned `refused`, with the reason naming the pair.
 *
 * @example
 * estimatePairCorrelation(btc, eth, { lookbackDays: 730, stressWindows: [{ from: '2022-11-08', to: '2022-11-09' }] });
 */
export function estimatePairCorrelation(
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

/**
 * What a pair is estimated over: the shorter of the two lookbacks, and every historical stress scenario of
 * either instrument's policy (a hypothetical scenario has no dates).
 */
export function correlationSettingsFor(first: ThresholdPolicy, second: ThresholdPolicy): CorrelationSettings {
  const windows = new Map<string, { from: string; to: string }>();
  for (const scenario of [...first.stress.scenarios, ...second.stress.scenarios]) {
    if (scenario.kind === 'historical') {
      windows.set(`${scenario.from}|${scenario.to}`, { from: scenario.from, to: scenario.to });
    }
  }
  return {
    lookbackDays: Math.min(first.lookbackDays, second.lookbackDays),
    stressWindows: [...windows.values()],
  };
}

/** Every pair of the series given, in order of the symbols; one bad series refuses its own pairs only. */
export function estimateCorrelations(
  series: readonly CandleSeries[],
  settingsFor: (a: string, b: string) => CorrelationSettings,
): PairCorrelation[] {
  const sorted = [...series].sort((p, q) => (p.instrument < q.instrument ? -1 : 1));
  const pairs: PairCorrelation[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i] as CandleSeries;
      const b = sorted[j] as CandleSeries;
      if (a.instrument === b.instrument) continue;
      pairs.push(estimatePairCorrelation(a, b, settingsFor(a.instrument, b.instrument)));
    }
  }
  return pairs;
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
