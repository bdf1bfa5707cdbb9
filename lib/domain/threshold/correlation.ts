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
  const returns = listView(commonReturns(xs, ys));
  return judgePair(pair, returns, settings, stressPositions(returns, settings.stressWindows));
}

/**
 * Common returns, read by position: the straightforward list (`estimatePairCorrelation`) or the typed
 * arrays of `estimateCorrelations`. Both give the same numbers in the same order, so the same sums.
 */
interface ReturnsView {
  readonly length: number;
  day(k: number): string;
  x(k: number): number;
  y(k: number): number;
}

function listView(returns: readonly DayReturn[]): ReturnsView {
  return {
    length: returns.length,
    day: (k) => (returns[k] as DayReturn).day,
    x: (k) => (returns[k] as DayReturn).x,
    y: (k) => (returns[k] as DayReturn).y,
  };
}

function judgePair(
  pair: { readonly a: string; readonly b: string },
  returns: ReturnsView,
  settings: CorrelationSettings,
  stress: Positions,
): PairCorrelation {
  const name = `${pair.a}/${pair.b}`;
  const lookback = range(Math.max(0, returns.length - settings.lookbackDays), returns.length);
  const minLookback = settings.minLookbackDays ?? MIN_LOOKBACK_DAYS;
  const minStress = settings.minStressDays ?? MIN_STRESS_DAYS;
  const lookbackEstimate = estimate(returns, lookback);
  const stressedEstimate = estimate(returns, stress);
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

/** Positions of a list: a contiguous run (`range`) or any ascending selection (`stressPositions`). */
interface Positions {
  readonly length: number;
  at(i: number): number;
}

function range(from: number, to: number): Positions {
  return { length: to - from, at: (i) => from + i };
}

/** The positions whose day falls in a stress window, in order (the returns are in day order). */
function stressPositions(
  returns: ReturnsView,
  windows: readonly { readonly from: string; readonly to: string }[],
): Positions {
  const picked: number[] = [];
  for (let k = 0; k < returns.length; k++) {
    const day = returns.day(k);
    if (windows.some((w) => day >= w.from && day <= w.to)) picked.push(k);
  }
  return { length: picked.length, at: (i) => picked[i] as number };
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

/**
 * Every pair of the series given, in order of the symbols; one bad series refuses its own pairs only.
 *
 * The same figures, bit for bit, as `estimatePairCorrelation` on each pair (a test holds them equal), but
 * each series is read once rather than once per pair: at 300 instruments (44,850 pairs) the per-pair
 * reading (a day label per candle, a map, a sort) took about 8 ms a pair, over 300 CPU-seconds a run.
 */
export function estimateCorrelations(
  series: readonly CandleSeries[],
  settingsFor: (a: string, b: string) => CorrelationSettings,
): PairCorrelation[] {
  const sorted = [...series].sort((p, q) => (p.instrument < q.instrument ? -1 : 1));
  const closes = sorted.map(dailyCloses);
  const { labels, prepared } = prepareCloses(closes);
  const scratch = new PairScratch(labels, Math.max(0, ...prepared.map((p) => p?.ranks.length ?? 0)));
  // Which days fall in a pair's stress windows, worked out once per set of windows (pairs share them).
  const memberships = new Map<string, Uint8Array>();
  const inWindows = (windows: CorrelationSettings['stressWindows']): Uint8Array => {
    const key = JSON.stringify(windows.map((w) => [w.from, w.to]));
    let member = memberships.get(key);
    if (!member) {
      member = Uint8Array.from(labels, (day) => (windows.some((w) => day >= w.from && day <= w.to) ? 1 : 0));
      memberships.set(key, member);
    }
    return member;
  };
  const pairs: PairCorrelation[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i] as CandleSeries;
      const b = sorted[j] as CandleSeries;
      if (a.instrument === b.instrument) continue;
      const settings = settingsFor(a.instrument, b.instrument);
      const pair = { a: a.instrument, b: b.instrument };
      const xs = closes[i];
      const ys = closes[j];
      if (typeof xs === 'string' || typeof ys === 'string') {
        pairs.push({ ...pair, refused: `${pair.a}/${pair.b}: ${typeof xs === 'string' ? xs : ys}` });
        continue;
      }
      scratch.fill(prepared[i] as PreparedCloses, prepared[j] as PreparedCloses);
      const stress = scratch.positionsIn(inWindows(settings.stressWindows));
      pairs.push(judgePair(pair, scratch, settings, stress));
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
function estimate(returns: ReturnsView, positions: Positions): CorrelationEstimate | undefined {
  const n = positions.length;
  if (n < 2) return undefined;
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    const k = positions.at(i);
    meanX += returns.x(k);
    meanY += returns.y(k);
  }
  meanX /= n;
  meanY /= n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const k = positions.at(i);
    const dx = returns.x(k) - meanX;
    const dy = returns.y(k) - meanY;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  const rho = sxy / Math.sqrt(sxx * syy);
  if (!Number.isFinite(rho) || sxx === 0 || syy === 0) return undefined;
  return {
    rho: Math.max(-1, Math.min(1, rho)),
    days: n,
    from: returns.day(positions.at(0)),
    to: returns.day(positions.at(n - 1)),
  };
}

/**
 * One series' closes by day, ready to be paired: its days in order, as ranks among every series' days (so
 * two series are matched by comparing integers); each day's close; and the log return from the series' own
 * previous day, which is the pair's return whenever the other series also has that previous day.
 */
interface PreparedCloses {
  readonly ranks: Int32Array;
  readonly closes: Float64Array;
  readonly ownReturns: Float64Array;
}

function prepareCloses(all: readonly (ReadonlyMap<string, number> | string)[]): {
  readonly labels: readonly string[];
  readonly prepared: readonly (PreparedCloses | undefined)[];
} {
  // Day labels in the order `commonReturns` sorts them (the default sort: by UTF-16 code units).
  const labels = [
    ...new Set(all.flatMap((closes) => (typeof closes === 'string' ? [] : [...closes.keys()]))),
  ].sort();
  const rankOf = new Map(labels.map((day, rank) => [day, rank]));
  const prepared = all.map((closes) => {
    if (typeof closes === 'string') return undefined;
    const days = [...closes.keys()].sort();
    const ranks = new Int32Array(days.length);
    const values = new Float64Array(days.length);
    const ownReturns = new Float64Array(days.length);
    for (let k = 0; k < days.length; k++) {
      const day = days[k] as string;
      ranks[k] = rankOf.get(day) as number;
      values[k] = closes.get(day) as number;
      ownReturns[k] = k === 0 ? Number.NaN : Math.log((values[k] as number) / (values[k - 1] as number));
    }
    return { ranks, closes: values, ownReturns };
  });
  return { labels, prepared };
}

/**
 * One pair's common returns in typed arrays, reused from pair to pair: what `commonReturns` lists, with the
 * same operands for every logarithm, so the same numbers.
 */
class PairScratch implements ReturnsView {
  length = 0;
  private readonly ranks: Int32Array;
  private readonly xs: Float64Array;
  private readonly ys: Float64Array;

  constructor(
    private readonly labels: readonly string[],
    capacity: number,
  ) {
    this.ranks = new Int32Array(capacity);
    this.xs = new Float64Array(capacity);
    this.ys = new Float64Array(capacity);
  }

  day(k: number): string {
    return this.labels[this.ranks[k] as number] as string;
  }
  x(k: number): number {
    return this.xs[k] as number;
  }
  y(k: number): number {
    return this.ys[k] as number;
  }

  /** The positions whose day is marked in `member` (by rank), in order. */
  positionsIn(member: Uint8Array): Positions {
    const picked: number[] = [];
    for (let k = 0; k < this.length; k++) if (member[this.ranks[k] as number] === 1) picked.push(k);
    return { length: picked.length, at: (i) => picked[i] as number };
  }

  fill(first: PreparedCloses, second: PreparedCloses): void {
    let n = 0;
    let previousI = -1;
    let previousJ = -1;
    let i = 0;
    let j = 0;
    const a = first.ranks;
    const b = second.ranks;
    while (i < a.length && j < b.length) {
      const ra = a[i] as number;
      const rb = b[j] as number;
      if (ra < rb) i++;
      else if (rb < ra) j++;
      else {
        if (previousI >= 0) {
          const x = returnFrom(first, previousI, i);
          const y = returnFrom(second, previousJ, j);
          if (Number.isFinite(x) && Number.isFinite(y)) {
            this.ranks[n] = ra;
            this.xs[n] = x;
            this.ys[n] = y;
            n++;
          }
        }
        previousI = i;
        previousJ = j;
        i++;
        j++;
      }
    }
    this.length = n;
  }
}

function returnFrom(series: PreparedCloses, previous: number, k: number): number {
  return previous === k - 1
    ? (series.ownReturns[k] as number)
    : Math.log((series.closes[k] as number) / (series.closes[previous] as number));
}
