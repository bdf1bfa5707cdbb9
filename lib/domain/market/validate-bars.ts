/**
 * The validator's checks of each bar's values and of the series' times: prices and volume, order and
 * duplicates, spacing (gaps, misaligned bars), bars dated after the run's clock, staleness. The checks of the
 * path of closes (spikes, jumps, frozen runs) are in `validate-moves.ts`; `validate.ts` runs them all.
 */
import { type Candle, DAY_MS, utcDay } from './candle.ts';
import type { CandleIssue, CandleIssueCode, CandleValidationRules } from './validate.ts';

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;

export type Report = (
  code: CandleIssueCode,
  severity: CandleIssue['severity'],
  message: string,
  time?: number,
) => void;

/** Daily bars are named by their UTC day; intraday bars (or a non-finite time) need more than that. */
export function formatBarTime(time: number): string {
  if (!Number.isFinite(time)) return String(time);
  if (time % DAY_MS === 0) return utcDay(time);
  return `${new Date(time).toISOString().slice(0, 16)}Z`;
}

export function checkValues(candle: Candle, index: number, report: Report): void {
  const hasTime = Number.isFinite(candle.time);
  const time = hasTime ? candle.time : undefined;
  if (!hasTime) report('non-finite', 'error', `candle #${index + 1}: time is ${candle.time}`);

  let pricesValid = true;
  for (const field of PRICE_FIELDS) {
    const value = candle[field];
    if (!Number.isFinite(value)) {
      report('non-finite', 'error', `${field} is ${value}`, time);
      pricesValid = false;
    } else if (value <= 0) {
      report('non-positive', 'error', `${field} is ${value}, prices must be positive`, time);
      pricesValid = false;
    }
  }
  if (pricesValid) {
    const { open, high, low, close } = candle;
    if (high < low) {
      report('high-low', 'error', `high ${high} is below low ${low}`, time);
    } else {
      if (high < Math.max(open, close)) {
        report('high-low', 'error', `high ${high} is below max(open, close) ${Math.max(open, close)}`, time);
      }
      if (low > Math.min(open, close)) {
        report('high-low', 'error', `low ${low} is above min(open, close) ${Math.min(open, close)}`, time);
      }
    }
  }

  // Volume feeds the liquidity add-on: a broken volume would understate the add-on, a zero one only makes
  // the add-on conservative, so the former is an error and the latter a warning.
  const { volume } = candle;
  if (!Number.isFinite(volume)) report('non-finite', 'error', `volume is ${volume}`, time);
  else if (volume < 0) report('non-positive', 'error', `volume is ${volume}, must not be negative`, time);
  else if (volume === 0) report('non-positive', 'warning', 'volume is 0', time);
}

/** Adjacent pairs in series order: the series must be strictly increasing in time. */
export function checkOrdering(candles: readonly Candle[], report: Report): void {
  const firstIndexByTime = new Map<number, number>();
  let previous: { time: number; index: number } | undefined;
  candles.forEach((candle, index) => {
    if (!Number.isFinite(candle.time)) return;
    const seenAt = firstIndexByTime.get(candle.time);
    if (seenAt === undefined) {
      firstIndexByTime.set(candle.time, index);
    } else {
      report(
        'duplicate',
        'error',
        `candles #${seenAt + 1} and #${index + 1} have the same time`,
        candle.time,
      );
    }
    if (previous !== undefined && candle.time < previous.time) {
      report(
        'out-of-order',
        'error',
        `candle #${index + 1} comes after ${formatBarTime(previous.time)} (candle #${previous.index + 1}); candles must be oldest first`,
        candle.time,
      );
    }
    previous = { time: candle.time, index };
  });
}

/**
 * Holes and irregular spacing, measured on the distinct times in time order so a disordered file is not
 * also reported as full of gaps that are only elsewhere in the file.
 */
export function checkSpacing(
  candles: readonly Candle[],
  intervalMs: number,
  rules: CandleValidationRules,
  report: Report,
): void {
  const times = [...new Set(candles.map((candle) => candle.time).filter(Number.isFinite))].sort(
    (a, b) => a - b,
  );
  for (let i = 1; i < times.length; i++) {
    const previous = times[i - 1] as number;
    const time = times[i] as number;
    const bars = (time - previous) / intervalMs;
    if (Math.abs(bars - Math.round(bars)) > 1e-9) {
      report(
        'misaligned',
        'error',
        `${formatBars(bars)} bars after ${formatBarTime(previous)}; candles must be whole bars apart`,
        time,
      );
      continue;
    }
    const missing = Math.round(bars) - 1;
    if (missing > rules.maxGapBars) {
      report(
        'gap',
        rules.gapAction === 'hold' ? 'error' : 'warning',
        `${missing} missing ${missing === 1 ? 'bar' : 'bars'} after ${formatBarTime(previous)} (allowed: ${rules.maxGapBars})`,
        time,
      );
    }
  }
}

/**
 * Candles that open after `asOf` (the run's clock): a series shifted into the future, or dates read in
 * the wrong time zone. They are never used, and the series is held: with its dates wrong, every
 * date-keyed rule (stress scenarios, staleness) would be judged on the wrong days. One issue names them all.
 */
export function checkFutureCandles(candles: readonly Candle[], asOf: number, report: Report): void {
  let first: number | undefined;
  let last: number | undefined;
  let count = 0;
  for (const { time } of candles) {
    if (!(Number.isFinite(time) && time > asOf)) continue;
    count++;
    if (first === undefined || time < first) first = time;
    if (last === undefined || time > last) last = time;
  }
  if (first === undefined || last === undefined) return;
  const span = count === 1 ? '' : ` (${count} candles, to ${formatBarTime(last)})`;
  report(
    'future',
    'error',
    `candle dated after the run's clock ${formatBarTime(asOf)}${span}: misdated series (dates shifted, or a time-zone offset?) (held)`,
    first,
  );
}

export function checkStaleness(
  candles: readonly Candle[],
  intervalMs: number,
  asOf: number,
  rules: CandleValidationRules,
  report: Report,
): void {
  // A loop, not Math.max(...times): spreading a million bars as arguments overflows the stack.
  let lastTime = Number.NEGATIVE_INFINITY;
  for (const { time } of candles) if (Number.isFinite(time) && time > lastTime) lastTime = time;
  if (!Number.isFinite(lastTime)) return;
  const barsBehind = Math.floor((asOf - lastTime - intervalMs) / intervalMs);
  if (barsBehind > rules.maxStalenessBars) {
    report(
      'stale',
      'error',
      `last candle is ${barsBehind} closed bars behind ${formatBarTime(asOf)} (allowed: ${rules.maxStalenessBars})`,
      lastTime,
    );
  }
}

function formatBars(bars: number): string {
  return Number.isInteger(bars) ? String(bars) : bars.toFixed(3).replace(/0+$/, '');
}
