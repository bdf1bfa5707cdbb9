/**
 * Intraday bars to UTC days. The threshold model is daily (σ per day, an MPOR in days), so 1-minute to
 * 12-hour bars are summed up into the daily bars it needs rather than held: open = the day's first bar's
 * open, high = the highest high, low = the lowest low, close = the last bar's close, volume = the sum.
 *
 * Missing bars (decided here, documented in the README):
 *  - a day with some bars missing is kept, built from the bars it has, and named in the note;
 *  - the first day is dropped when it lacks its first bar (its open is not the day's open), and the last
 *    day when it lacks its last bar (the day has not closed in the data, so its close is only a last price);
 *  - a day with no bar at all yields no daily bar: the daily validator reports it as a gap.
 * Bars out of order, repeated, off the bar grid, or with prices that cannot be a bar are not repaired: they
 * are returned as problems, and the caller holds the instrument with them as reasons.
 */
import { type Candle, type CandleSeries, DAY_MS, utcDay } from './candle.ts';

export interface DailyAggregation {
  /** The daily series (oldest first), one day apart; its source names the aggregation. */
  readonly series: CandleSeries;
  /** One line for the result: what was aggregated, the days with missing bars, the days dropped. */
  readonly note: string;
  /** Days kept although some of their bars are missing, with the number of bars they have. */
  readonly daysWithMissingBars: readonly { readonly day: string; readonly bars: number }[];
  /** Incomplete first/last days left out. */
  readonly droppedDays: readonly string[];
  /** Bars that make the series unusable (the first few, named); empty when the aggregation can be used. */
  readonly problems: readonly string[];
  /** How many problems there were in all (`problems` keeps the first few). */
  readonly problemCount: number;
}

/** Problems named in full; the rest are counted. A million bad bars must not make a million strings. */
const NAMED_PROBLEMS = 5;
/** Days with missing bars named in the note; the rest are counted. */
const NAMED_DAYS = 5;

/**
 * True for a bar length the model can aggregate: a whole number of milliseconds, shorter than a day, that
 * divides the day (1m, 5m, 15m, 1h, 4h, 12h …; not 7h).
 */
export function isIntradayInterval(intervalMs: number): boolean {
  return Number.isInteger(intervalMs) && intervalMs > 0 && intervalMs < DAY_MS && DAY_MS % intervalMs === 0;
}

/** `1m`, `4h`, `30s` … for notes and reasons. */
export function formatInterval(intervalMs: number): string {
  if (intervalMs % 3_600_000 === 0) return `${intervalMs / 3_600_000}h`;
  if (intervalMs % 60_000 === 0) return `${intervalMs / 60_000}m`;
  if (intervalMs % 1_000 === 0) return `${intervalMs / 1_000}s`;
  return `${intervalMs}ms`;
}

/**
 * Aggregate intraday bars to UTC days in one pass (time and memory linear in the bars, no sort).
 *
 * @throws RangeError when the series' interval is not an intraday one ({@link isIntradayInterval}).
 * @example
 * const { series, note } = aggregateToUtcDays(hourlyEth);
 * series.intervalMs; // 86_400_000
 * note; // 'ETH: 34349 bars of 1h aggregated to 1431 UTC days (…); 1 day with missing bars: 2023-03-24 (23 of 24); …'
 */
export function aggregateToUtcDays(series: CandleSeries): DailyAggregation {
  const { instrument, intervalMs, candles } = series;
  if (!isIntradayInterval(intervalMs)) {
    throw new RangeError(`${instrument}: bars of ${intervalMs} ms do not divide a UTC day`);
  }
  const barsPerDay = DAY_MS / intervalMs;
  const label = formatInterval(intervalMs);
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (time: number, reason: string) => {
    problemCount++;
    if (problems.length < NAMED_PROBLEMS) problems.push(`${instrument} ${formatTime(time)}: ${reason}`);
  };

  const days: Candle[] = [];
  const counts: number[] = [];
  const lastBarTimes: number[] = [];
  let firstBarTime = Number.NaN;
  let day: { start: number; open: number; high: number; low: number; close: number; volume: number } | null =
    null;
  let count = 0;
  let lastTime = Number.NEGATIVE_INFINITY;
  let previous = Number.NEGATIVE_INFINITY;
  for (const bar of candles) {
    const { time } = bar;
    if (!Number.isFinite(time)) {
      problem(time, `bar time is ${time}`);
      continue;
    }
    if (time <= previous) {
      problem(
        time,
        time === previous ? 'the same bar twice' : `bar after ${formatTime(previous)}: out of order`,
      );
      continue;
    }
    previous = time;
    if (time % intervalMs !== 0) {
      problem(time, `not on the ${label} bar grid`);
      continue;
    }
    // The comparisons are false for NaN, so a bar with a missing price is caught here too.
    const consistent =
      bar.low > 0 &&
      bar.low <= bar.open &&
      bar.low <= bar.close &&
      bar.high >= bar.open &&
      bar.high >= bar.close &&
      Number.isFinite(bar.high) &&
      bar.volume >= 0 &&
      Number.isFinite(bar.volume);
    if (!consistent) {
      problem(
        time,
        `not a usable bar (open ${bar.open}, high ${bar.high}, low ${bar.low}, close ${bar.close}, volume ${bar.volume})`,
      );
      continue;
    }
    const start = Math.floor(time / DAY_MS) * DAY_MS;
    if (day === null || day.start !== start) {
      if (day !== null) {
        days.push(toCandle(day));
        counts.push(count);
        lastBarTimes.push(lastTime);
      }
      if (day === null) firstBarTime = time;
      day = { start, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: bar.volume };
      count = 0;
    } else {
      if (bar.high > day.high) day.high = bar.high;
      if (bar.low < day.low) day.low = bar.low;
      day.close = bar.close;
      day.volume += bar.volume;
    }
    count++;
    lastTime = time;
  }
  if (day !== null) {
    days.push(toCandle(day));
    counts.push(count);
    lastBarTimes.push(lastTime);
  }

  // First and last day: kept only when they hold their first and last bar respectively.
  const droppedDays: string[] = [];
  let from = 0;
  let to = days.length;
  const firstDay = days[0];
  if (firstDay && firstBarTime !== firstDay.time) {
    droppedDays.push(utcDay(firstDay.time));
    from = 1;
  }
  const lastDay = days[to - 1];
  if (to > from && lastDay && (lastBarTimes[to - 1] as number) !== lastDay.time + DAY_MS - intervalMs) {
    droppedDays.push(utcDay(lastDay.time));
    to -= 1;
  }
  const daily = days.slice(from, to);
  const daysWithMissingBars: { day: string; bars: number }[] = [];
  for (let i = from; i < to; i++) {
    const bars = counts[i] as number;
    if (bars < barsPerDay) daysWithMissingBars.push({ day: utcDay((days[i] as Candle).time), bars });
  }

  const parts = [
    `${instrument}: ${candles.length} bars of ${label} aggregated to ${daily.length} UTC days ` +
      '(open first, high max, low min, close last, volume sum)',
  ];
  if (daysWithMissingBars.length > 0) {
    const named = daysWithMissingBars
      .slice(0, NAMED_DAYS)
      .map(({ day: d, bars }) => `${d} (${bars} of ${barsPerDay})`)
      .join(', ');
    const more = daysWithMissingBars.length - NAMED_DAYS;
    parts.push(
      `${daysWithMissingBars.length} ${daysWithMissingBars.length === 1 ? 'day' : 'days'} with missing bars, ` +
        `kept: ${named}${more > 0 ? ` and ${more} more` : ''}`,
    );
  }
  if (droppedDays.length > 0) parts.push(`incomplete first/last day dropped: ${droppedDays.join(', ')}`);
  return {
    // The source says so too, so the audit trail (and every report that names the source) shows it.
    series: {
      ...series,
      intervalMs: DAY_MS,
      candles: daily,
      source: `${series.source} (${label} bars aggregated to UTC days)`,
    },
    note: parts.join('; '),
    daysWithMissingBars,
    droppedDays,
    problems:
      problemCount > problems.length ? [...problems, `and ${problemCount - problems.length} more`] : problems,
    problemCount,
  };
}

function toCandle(day: {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}): Candle {
  return {
    time: day.start,
    open: day.open,
    high: day.high,
    low: day.low,
    close: day.close,
    volume: day.volume,
  };
}

function formatTime(time: number): string {
  return Number.isFinite(time) ? `${new Date(time).toISOString().slice(0, 16)}Z` : String(time);
}
