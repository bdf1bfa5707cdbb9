/**
 * Market data checks run before any model sees a price. Bad or missing data must never lower a margin
 * (DESIGN §7), so the validator's job is to say, for one instrument, whether its candles can be trusted and,
 * if not, every reason why — each with the candle's time — so the held threshold can carry the reasons.
 *
 * This file holds the rules, the issue types and the run of the checks; the checks themselves are in
 * `validate-bars.ts` (each bar's values, the series' times) and `validate-moves.ts` (the path of closes).
 */
import { z } from 'zod';
import type { Candle, CandleSeries } from './candle.ts';
import {
  checkFutureCandles,
  checkOrdering,
  checkSpacing,
  checkStaleness,
  checkValues,
  formatBarTime,
} from './validate-bars.ts';
import { findFrozenRuns, findSpikes, findUnconfirmedJumps } from './validate-moves.ts';

/**
 * What the risk committee accepts as usable data. Parse policy/config input with this schema: unknown keys
 * are rejected (a misspelt rule must not silently fall back to its default).
 */
export const candleValidationRulesSchema = z.strictObject({
  minCandles: z
    .number()
    .int()
    .min(1)
    .default(30)
    .describe('Fewer usable candles than this and the instrument is held (too little history for a model).'),
  maxGapBars: z
    .number()
    .int()
    .min(0)
    .default(0)
    .describe('Missing bars allowed between two consecutive candles; 0 reports any gap.'),
  gapAction: z
    .enum(['hold', 'warn'])
    .default('hold')
    .describe('A gap beyond maxGapBars: hold the threshold (error) or only warn.'),
  maxStalenessBars: z
    .number()
    .int()
    .min(0)
    .default(2)
    .describe('Completed bars that may be missing after the last candle before the data counts as stale.'),
  spikeLogMove: z
    .number()
    .positive()
    .default(Math.log(3))
    .describe('A close that moves more than this (|ln ratio|) and reverts on the next bar is a bad print.'),
  spikeReversionShare: z
    .number()
    .gt(0)
    .max(1)
    .default(0.75)
    .describe('Share of the jump the next bar must give back for the move to count as a spike, not a crash.'),
  spikeAction: z
    .enum(['hold', 'drop'])
    .default('hold')
    .describe('A spike: hold the threshold (error) or drop the bar and warn.'),
  jumpSigmas: z
    .number()
    .positive()
    .default(25)
    .describe(
      'A close more than this many σ from the previous close (σ: EWMA, λ 0.94, of the returns before it) needs confirming, by the next bar keeping the move or by a second venue; otherwise it is an unconfirmed jump and the threshold is held. The largest real move in the shared BTC/ETH/SOL daily files is 15σ (BTC, 2020-03-12).',
    ),
  maxFrozenBars: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      'Consecutive bars that may share one close; a longer run is a frozen feed and the threshold is held. Crypto trades 24/7: the shared daily files never repeat a close more than twice in a row.',
    ),
});

export type CandleValidationRules = z.infer<typeof candleValidationRulesSchema>;

/** The defaults, as a committee-approved baseline for callers without a policy. */
export const DEFAULT_CANDLE_VALIDATION_RULES: CandleValidationRules = candleValidationRulesSchema.parse({});

/**
 * Why a series (or one candle of it) is not fit for a model. Beyond the base list: `misaligned` (two
 * candles not a whole number of bars apart — the models assume equal spacing), `incomplete` (a bar that
 * has not closed at `asOf`, so its close is only a last price; it is dropped with a warning),
 * `unconfirmed-jump` (an extreme move neither the next bar nor a second venue confirms), `frozen` (the same
 * close bar after bar: a feed that stopped, not a market) and `future` (a candle that opens after `asOf`:
 * the dates are wrong).
 */
export type CandleIssueCode =
  | 'empty'
  | 'too-short'
  | 'non-finite'
  | 'non-positive'
  | 'high-low'
  | 'out-of-order'
  | 'duplicate'
  | 'gap'
  | 'misaligned'
  | 'stale'
  | 'spike'
  | 'unconfirmed-jump'
  | 'frozen'
  | 'future'
  | 'incomplete';

export interface CandleIssue {
  readonly instrument: string;
  /** Open time (ms) of the candle at fault; absent for whole-series issues such as `empty`. */
  readonly time?: number;
  readonly code: CandleIssueCode;
  /** `error` makes the series unusable; `warning` is reported but the model may still run. */
  readonly severity: 'error' | 'warning';
  /** The reason, without instrument or date (see {@link describeIssue}). */
  readonly message: string;
}

export interface CandleValidationReport {
  /** True when no issue has severity `error`. */
  readonly usable: boolean;
  /** Every issue found, ordered by candle time (series-wide issues first). */
  readonly issues: readonly CandleIssue[];
  /** The candles the model may use (spikes dropped when spikeAction='drop', unfinished bars dropped), oldest first */
  readonly candles: readonly Candle[];
}

/**
 * Check one instrument's candles against the rules and report every problem, not just the first.
 *
 * With `asOf` (the time the thresholds are computed for), bars that have not closed by `asOf`
 * (`time + intervalMs > asOf`) are dropped with an `incomplete` warning, and the series is stale when more
 * than `maxStalenessBars` whole bars have closed after the last candle:
 * `floor((asOf − lastTime − intervalMs) / intervalMs) > maxStalenessBars`. On a bar boundary this is the
 * rule `lastTime < asOf − (maxStalenessBars + 1)·intervalMs`; within a bar it does not count the bar that is
 * still forming. So a run on day D at any hour, with the D−1 bar present, is 0 bars behind.
 *
 * @example
 * const report = validateCandles(series, candleValidationRulesSchema.parse({}), Date.UTC(2023, 7, 1));
 * if (!report.usable) console.error(report.issues.map(describeIssue).join('\n'));
 */
export function validateCandles(
  series: CandleSeries,
  rules: CandleValidationRules,
  asOf?: number,
): CandleValidationReport {
  const { instrument, intervalMs, candles } = series;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(
      `${instrument}: intervalMs must be a positive number of milliseconds, got ${intervalMs}`,
    );
  }
  if (asOf !== undefined && !Number.isFinite(asOf)) {
    throw new RangeError(`${instrument}: asOf must be a finite timestamp, got ${asOf}`);
  }

  const issues: CandleIssue[] = [];
  const report = (
    code: CandleIssueCode,
    severity: CandleIssue['severity'],
    message: string,
    time?: number,
  ) => {
    issues.push(
      time === undefined
        ? { instrument, code, severity, message }
        : { instrument, time, code, severity, message },
    );
  };

  if (candles.length === 0) {
    report('empty', 'error', 'no candles');
    return { usable: false, issues, candles: [] };
  }

  candles.forEach((candle, index) => {
    checkValues(candle, index, report);
  });
  checkOrdering(candles, report);
  checkSpacing(candles, intervalMs, rules, report);

  // Unfinished bars go first so that neither the spike check nor the staleness check looks past `asOf`
  // (in a backtest that would be look-ahead).
  const dropped = new Set<number>();
  if (asOf !== undefined) {
    candles.forEach((candle, index) => {
      // A bar opening after `asOf` cannot exist yet: reported by checkFutureCandles, never used.
      if (Number.isFinite(candle.time) && candle.time > asOf) dropped.add(index);
      else if (Number.isFinite(candle.time) && candle.time + intervalMs > asOf) {
        dropped.add(index);
        report(
          'incomplete',
          'warning',
          `bar has not closed by ${formatBarTime(asOf)} (dropped)`,
          candle.time,
        );
      }
    });
    checkFutureCandles(candles, asOf, report);
  }

  const complete = candles
    .map((candle, index) => ({ candle, index }))
    .filter(({ index }) => !dropped.has(index));
  for (const spike of findSpikes(complete, rules)) {
    const dropping = rules.spikeAction === 'drop';
    if (dropping) dropped.add(spike.index);
    report(
      'spike',
      dropping ? 'warning' : 'error',
      `${spike.message} (${dropping ? 'dropped' : 'held'})`,
      spike.time,
    );
  }

  for (const jump of findUnconfirmedJumps(complete, rules, series.confirmingVenues ?? 1)) {
    report('unconfirmed-jump', 'error', jump.message, jump.time);
  }
  for (const run of findFrozenRuns(complete, rules)) report('frozen', 'error', run.message, run.time);

  const usableCandles = candles.filter((_, index) => !dropped.has(index));
  if (usableCandles.length < rules.minCandles) {
    report(
      'too-short',
      'error',
      `only ${usableCandles.length} usable candles, at least ${rules.minCandles} needed`,
    );
  }
  if (asOf !== undefined) checkStaleness(usableCandles, intervalMs, asOf, rules, report);

  const ordered = issues
    .map((issue, position) => ({ issue, position }))
    .sort((a, b) => (a.issue.time ?? -Infinity) - (b.issue.time ?? -Infinity) || a.position - b.position)
    .map(({ issue }) => issue);
  return {
    usable: !ordered.some((issue) => issue.severity === 'error'),
    issues: ordered,
    candles: usableCandles,
  };
}

/**
 * One line per issue, for CLI errors and held-threshold reasons: instrument, the bar's UTC day (or time for
 * intraday bars), and the reason.
 *
 * @example
 * describeIssue({ instrument: 'BTC', time: Date.UTC(2022, 10, 9), code: 'non-finite', severity: 'error', message: 'close is NaN' });
 * // → 'BTC 2022-11-09: close is NaN'
 */
export function describeIssue(issue: CandleIssue): string {
  return issue.time === undefined
    ? `${issue.instrument}: ${issue.message}`
    : `${issue.instrument} ${formatBarTime(issue.time)}: ${issue.message}`;
}
