/**
 * The daily backtest (EMIR Art. 49) walked once and then continued a day at a time.
 *
 * A full walk recalibrates every day of the history on the days before it (the step limits and the buffer
 * carry each day's threshold into the next), which at ten years is thousands of recalibrations per
 * instrument. With the policy unchanged, yesterday's walk already holds 249 of today's 250 scored days:
 * the walk's state (the policy hash, the scored rows of the window, and the threshold of its last day,
 * which the next day's step limits and buffer start from) is kept between runs, and the next run walks
 * only the new day(s), one recalibration each. The result equals the full walk's exactly (same candles,
 * same chain, same scoring); whenever the state cannot be trusted to continue the chain (another policy,
 * another window, its last day not in the candles, a candle in the window revised) the caller is told to
 * walk again in full, and why. Only the window's closes are checked against the kept rows: a venue revising
 * a bar older than the scored window would go unseen here, as it does in the candle store (which re-checks
 * only the last few days).
 *
 * Window: each walked day T is recalibrated on the candles in [T − windowDays, T). The daily backtest
 * fetches `historyDays` up to the set's day and scores up to the day before, so with
 * windowDays = historyDays − 1 a full walk sees exactly the candles fetched (as `dailyBacktest` does), and a
 * later day sees exactly the candles the later run fetched: the window slides as the recalibration's does.
 */
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import { recalibrate, toDailyBars } from '../threshold/model.ts';
import { subDayMporHours } from '../threshold/mpor.ts';
import { policyHash, type ThresholdPolicy } from '../threshold/policy.ts';
import type { Threshold } from '../threshold/threshold.ts';
import { MAX_BACKTEST_DAYS, type ScoredDay, scoreBacktestDays } from './backtest.ts';
import {
  DAILY_BACKTEST_DAYS,
  type InstrumentBacktestReport,
  instrumentBacktestReport,
} from './daily-report.ts';

/** One scored day as kept between runs: its day, the margin rate in force, and the MPOR losses. */
export type WalkRow = readonly [date: string, initialMarginRate: number, longLoss: number, shortLoss: number];

/** What the next run needs to continue an instrument's walk (kept per instrument, beside the reports). */
export interface DailyWalkState {
  readonly instrument: string;
  /** `policyHash` of the policy walked: another policy (even under the same version) walks again. */
  readonly policyHash: string;
  readonly scoredDays: number;
  /** The recalibration window of each walked day, in days; null when it was the whole history. */
  readonly windowDays: number | null;
  /** The last day walked and scored (YYYY-MM-DD): the next run walks the days after it. */
  readonly lastDay: string;
  /** The threshold computed for `lastDay`: the next day's step limits and buffer start from its rate. */
  readonly previous: Threshold;
  /** The scored days of the window, oldest first; the last one is `lastDay`. */
  readonly rows: readonly WalkRow[];
}

export interface DailyWalk {
  readonly report: InstrumentBacktestReport;
  readonly state: DailyWalkState;
  /** Days recalibrated by this call: the whole history for a full walk, the new days for a continuation. */
  readonly walkedDays: number;
}

/** The state could not continue the walk: walk in full, for this reason. */
export interface WalkAgain {
  readonly walkAgain: string;
}

export interface DailyWalkOptions {
  /** @default 250 (the Basel window) */
  readonly scoredDays?: number;
  /** Each walked day's recalibration sees at most this many days before it. @default the whole history */
  readonly windowDays?: number;
}

/**
 * Walk `policy` over `series` in full: every day from the volatility seed on, each recalibrated on the days
 * before it; the last `scoredDays` scored. Same figures as `dailyBacktest` when `windowDays` covers the
 * series, plus the state the next run continues from.
 *
 * @throws RangeError when the series cannot be backtested (too short, unusable bars, a sub-day MPOR).
 * @example
 * const { report, state } = walkDailyBacktest(policy, btc, { windowDays: 3649 });
 */
export function walkDailyBacktest(
  policy: ThresholdPolicy,
  series: CandleSeries,
  options: DailyWalkOptions = {},
): DailyWalk {
  const { scoredDays, windowDays } = checkedOptions(options);
  const walk = walker(policy, series, windowDays);
  const { candles, h } = walk;
  const lastScored = candles.length - h;
  const walkFrom = Math.max(1, policy.volatility.seedDays + 2);
  if (lastScored < walkFrom) {
    throw new RangeError(`${series.instrument}: ${candles.length} daily bars are too few to backtest`);
  }
  const firstScored = Math.max(walkFrom, lastScored - scoredDays + 1);
  const rows: WalkRow[] = [];
  let previous: Threshold | undefined;
  for (let t = walkFrom; t <= lastScored; t++) {
    previous = walk.step(t, previous);
    if (t >= firstScored) rows.push(walk.row(t, previous));
  }
  return finish(
    policy,
    series.instrument,
    scoredDays,
    windowDays,
    rows,
    previous as Threshold,
    lastScored - walkFrom + 1,
  );
}

/**
 * Continue a stored walk with the candles of a later run: only the days after `state.lastDay` are
 * recalibrated (none when no new day is scored yet). The result equals `walkDailyBacktest` over the same
 * history. Returns `{ walkAgain }` when the state cannot continue the chain; it never guesses.
 *
 * @throws RangeError when the series cannot be backtested at all (as `walkDailyBacktest`).
 * @example
 * const next = continueDailyBacktest(policy, yesterday.state, todaysCandles, { windowDays: 3649 });
 * if ('walkAgain' in next) walkDailyBacktest(policy, todaysCandles, { windowDays: 3649 });
 */
export function continueDailyBacktest(
  policy: ThresholdPolicy,
  state: DailyWalkState,
  series: CandleSeries,
  options: DailyWalkOptions = {},
): DailyWalk | WalkAgain {
  const { scoredDays, windowDays } = checkedOptions(options);
  if (state.instrument !== series.instrument) {
    return { walkAgain: `the kept walk is of ${state.instrument}, not ${series.instrument}` };
  }
  const unfit = walkStateUnfit(policy, state, options);
  if (unfit !== undefined) return { walkAgain: unfit };
  const walk = walker(policy, series, windowDays);
  const { candles, h } = walk;
  const last = indexOfDay(candles, state.lastDay);
  if (last === undefined) {
    return { walkAgain: `gap: ${state.lastDay}, the kept walk's last day, is not in the candles` };
  }
  const lastScored = candles.length - h;
  if (lastScored < last) {
    return { walkAgain: `the candles end before ${state.lastDay}, the kept walk's last day` };
  }
  // The rows still in the window must be what these candles give: a revised or missing candle would make
  // the kept rows (and the chain) another history's.
  const newDays = lastScored - last;
  const kept = state.rows.slice(Math.max(0, state.rows.length + newDays - scoredDays));
  const firstKept = last - (state.rows.length - 1) + (state.rows.length - kept.length);
  for (let k = 0; k < kept.length; k++) {
    const t = firstKept + k;
    const row = kept[k] as WalkRow;
    if (t < 1) return { walkAgain: `gap: the candles before ${row[0]} are no longer fetched` };
    const mismatch = walk.rowMismatch(t, row);
    if (mismatch !== undefined) return { walkAgain: mismatch };
  }
  const rows: WalkRow[] = [...kept];
  let previous = state.previous;
  for (let t = last + 1; t <= lastScored; t++) {
    previous = walk.step(t, previous);
    rows.push(walk.row(t, previous));
  }
  return finish(
    policy,
    series.instrument,
    scoredDays,
    windowDays,
    rows.slice(-scoredDays),
    previous,
    newDays,
  );
}

/**
 * Why a kept walk cannot continue under `policy` and these options, before any candle is read (another
 * policy or window); undefined when it may.
 */
export function walkStateUnfit(
  policy: ThresholdPolicy,
  state: DailyWalkState,
  options: DailyWalkOptions = {},
): string | undefined {
  const { scoredDays, windowDays } = checkedOptions(options);
  const hash = policyHash(policy);
  if (state.policyHash !== hash)
    return `the policy changed since the kept walk (${state.policyHash} → ${hash})`;
  if (state.scoredDays !== scoredDays || state.windowDays !== (windowDays ?? null)) {
    return `the window changed since the kept walk (${state.scoredDays} scored days over ${state.windowDays ?? 'all'} → ${scoredDays} over ${windowDays ?? 'all'})`;
  }
  return undefined;
}

function checkedOptions(options: DailyWalkOptions): { scoredDays: number; windowDays: number | undefined } {
  const scoredDays = options.scoredDays ?? DAILY_BACKTEST_DAYS;
  if (!(Number.isSafeInteger(scoredDays) && scoredDays >= 1)) {
    throw new RangeError(`scored days must be a positive integer, got ${scoredDays}`);
  }
  const windowDays = options.windowDays;
  if (windowDays !== undefined && !(Number.isSafeInteger(windowDays) && windowDays >= 1)) {
    throw new RangeError(`window days must be a positive integer, got ${windowDays}`);
  }
  return { scoredDays, windowDays };
}

/** The walk's day step and scoring over one series, exactly as `backtest()` walks it. */
function walker(policy: ThresholdPolicy, series: CandleSeries, windowDays: number | undefined) {
  if (subDayMporHours(policy.marginPeriodOfRiskDays) !== undefined) {
    throw new RangeError(`${series.instrument}: a sub-day MPOR is backtested bar by bar, not walked by day`);
  }
  const daily = toDailyBars(series);
  if ('heldReason' in daily) throw new RangeError(daily.heldReason);
  const bars = daily.series;
  const candles = bars.candles;
  if (candles.length > MAX_BACKTEST_DAYS) {
    throw new RangeError(
      `${series.instrument}: ${candles.length} daily bars; a backtest walks at most ${MAX_BACKTEST_DAYS}`,
    );
  }
  const h = policy.marginPeriodOfRiskDays;
  let windowStart = 0;
  const losses = (t: number): [number, number] => {
    const start = (candles[t - 1] as Candle).close;
    const end = (candles[t + h - 1] as Candle).close;
    return [1 - end / start, end / start - 1];
  };
  return {
    candles,
    h,
    /** Day t's threshold, recalibrated on the window before it, chained on the previous day's. */
    step(t: number, previous: Threshold | undefined): Threshold {
      const today = candles[t] as Candle;
      if (windowDays !== undefined) {
        const from = today.time - windowDays * DAY_MS;
        while ((candles[windowStart] as Candle).time < from) windowStart++;
      }
      const history: CandleSeries = { ...bars, candles: candles.slice(windowStart, t) };
      return recalibrate(policy, history, previous, { asOf: today.time });
    },
    row(t: number, threshold: Threshold): WalkRow {
      const [longLoss, shortLoss] = losses(t);
      return [utcDay((candles[t] as Candle).time), threshold.initialMarginRate, longLoss, shortLoss];
    },
    rowMismatch(t: number, row: WalkRow): string | undefined {
      const day = utcDay((candles[t] as Candle).time);
      if (day !== row[0]) return `gap: the kept walk scored ${row[0]} where the candles have ${day}`;
      const [longLoss, shortLoss] = losses(t);
      if (longLoss !== row[2] || shortLoss !== row[3]) {
        return `the candles around ${day} changed since the kept walk (a venue's revision)`;
      }
      return undefined;
    },
  };
}

function indexOfDay(candles: readonly Candle[], day: string): number | undefined {
  const time = Date.parse(`${day}T00:00:00Z`);
  // Binary search: the bars are in time order.
  let lo = 0;
  let hi = candles.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const at = (candles[mid] as Candle).time;
    if (at === time) return mid;
    if (at < time) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function finish(
  policy: ThresholdPolicy,
  instrument: string,
  scoredDays: number,
  windowDays: number | undefined,
  rows: readonly WalkRow[],
  previous: Threshold,
  walkedDays: number,
): DailyWalk {
  const days: ScoredDay[] = rows.map(([date, initialMarginRate, longLoss, shortLoss]) => ({
    date,
    initialMarginRate,
    longLoss,
    shortLoss,
    longBreach: longLoss > initialMarginRate,
    shortBreach: shortLoss > initialMarginRate,
  }));
  const score = scoreBacktestDays(days, policy.confidence);
  const from = (rows[0] as WalkRow)[0];
  const to = (rows[rows.length - 1] as WalkRow)[0];
  return {
    report: instrumentBacktestReport(instrument, policy, { from, to, ...score }),
    state: {
      instrument,
      policyHash: policyHash(policy),
      scoredDays,
      windowDays: windowDays ?? null,
      lastDay: to,
      previous,
      rows,
    },
    walkedDays,
  };
}

/**
 * Read a kept state back (from JSON): every field checked, so a corrupt one is walked again with the reason,
 * never continued.
 *
 * @throws RangeError naming the instrument and what is wrong.
 */
export function parseDailyWalkState(value: unknown, instrument: string): DailyWalkState {
  const fail = (why: string): never => {
    throw new RangeError(`${instrument}: the kept backtest walk ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('is not an object');
  const v = value as Record<string, unknown>;
  if (v.instrument !== instrument) return fail(`is of ${String(v.instrument)}`);
  if (typeof v.policyHash !== 'string' || v.policyHash === '') return fail('has no policy hash');
  if (!(Number.isSafeInteger(v.scoredDays) && (v.scoredDays as number) >= 1))
    return fail('has no scored days');
  if (v.windowDays !== null && !(Number.isSafeInteger(v.windowDays) && (v.windowDays as number) >= 1)) {
    return fail('has a bad window');
  }
  if (typeof v.lastDay !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v.lastDay)) return fail('has no last day');
  const previous = v.previous as Partial<Threshold> | null | undefined;
  if (
    typeof previous !== 'object' ||
    previous === null ||
    previous.instrument !== instrument ||
    typeof previous.initialMarginRate !== 'number' ||
    !(Number.isFinite(previous.initialMarginRate) && previous.initialMarginRate > 0)
  ) {
    return fail('has no usable threshold for its last day');
  }
  const rows = v.rows;
  if (!Array.isArray(rows) || rows.length === 0 || rows.length > (v.scoredDays as number)) {
    return fail('has no scored rows, or more than its window');
  }
  let before = '';
  for (const row of rows as unknown[]) {
    if (
      !Array.isArray(row) ||
      row.length !== 4 ||
      typeof row[0] !== 'string' ||
      !(row[0] > before) ||
      !row.slice(1).every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      return fail(`has a bad row after ${before || 'the start'}`);
    }
    before = row[0];
  }
  if (before !== v.lastDay) return fail(`ends its rows on ${before}, not on its last day ${v.lastDay}`);
  return value as DailyWalkState;
}
