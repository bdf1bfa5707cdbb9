/**
 * Market data checks run before any model sees a price. Bad or missing data must never lower a margin
 * (DESIGN §7), so the validator's job is to say, for one instrument, whether its candles can be trusted and,
 * if not, every reason why — each with the candle's time — so the held threshold can carry the reasons.
 */
import { z } from 'zod';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from './candle.ts';

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

const PRICE_FIELDS = ['open', 'high', 'low', 'close'] as const;

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

type Report = (
  code: CandleIssueCode,
  severity: CandleIssue['severity'],
  message: string,
  time?: number,
) => void;

/** Daily bars are named by their UTC day; intraday bars (or a non-finite time) need more than that. */
function formatBarTime(time: number): string {
  if (!Number.isFinite(time)) return String(time);
  if (time % DAY_MS === 0) return utcDay(time);
  return `${new Date(time).toISOString().slice(0, 16)}Z`;
}

function checkValues(candle: Candle, index: number, report: Report): void {
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
function checkOrdering(candles: readonly Candle[], report: Report): void {
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
function checkSpacing(
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

interface IndexedCandle {
  readonly candle: Candle;
  /** Position in the input series. */
  readonly index: number;
}

interface Spike {
  readonly index: number;
  readonly time: number;
  readonly message: string;
}

/**
 * A one-bar spike is a close that jumps by more than `spikeLogMove` and gives back at least
 * `spikeReversionShare` of it on the next bar. A crash that stays down is a real move and must reach the
 * model: holding the previous (lower) margin through a crash is the unsafe direction. The first and last
 * candles are never spikes — with no bar on one side a reversion cannot be seen. An extreme last print is
 * not safe to take (it becomes the reference price every account is marked at): findUnconfirmedJumps
 * holds it unless a second venue confirms it.
 */
function findSpikes(candles: readonly IndexedCandle[], rules: CandleValidationRules): Spike[] {
  const priced = candles.filter(({ candle }) => Number.isFinite(candle.close) && candle.close > 0);
  const spikes: Spike[] = [];
  for (let i = 1; i + 1 < priced.length; i++) {
    const before = (priced[i - 1] as IndexedCandle).candle;
    const { candle, index } = priced[i] as IndexedCandle;
    const after = (priced[i + 1] as IndexedCandle).candle;
    const jump = Math.log(candle.close / before.close);
    const reversion = Math.log(after.close / candle.close);
    const isSpike =
      Math.abs(jump) > rules.spikeLogMove &&
      Math.sign(reversion) === -Math.sign(jump) &&
      Math.abs(reversion) >= rules.spikeReversionShare * Math.abs(jump);
    if (isSpike) {
      spikes.push({
        index,
        time: candle.time,
        message:
          `close ${candle.close} is a one-bar spike: ${formatChange(jump)} from the previous close ${before.close}, ` +
          `then ${formatChange(reversion)} on the next bar`,
      });
    }
  }
  return spikes;
}

/**
 * Candles that open after `asOf` (the run's clock): a series shifted into the future, or dates read in
 * the wrong time zone. They are never used, and the series is held: with its dates wrong, every
 * date-keyed rule (stress scenarios, staleness) would be judged on the wrong days. One issue names them all.
 */
function checkFutureCandles(candles: readonly Candle[], asOf: number, report: Report): void {
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

/** EWMA decay and seed for the σ a jump is measured in: RiskMetrics' daily 0.94 follows a new regime fast. */
const JUMP_LAMBDA = 0.94;
const JUMP_SEED_RETURNS = 30;

/**
 * An unconfirmed jump is a close more than `jumpSigmas` σ from the previous close that nothing confirms:
 * not the next bar (it gives back at least `spikeReversionShare` of the move, or there is no next bar) and
 * not a second venue (`confirmingVenues` < 2). The last bar of a single source can only be confirmed by a
 * second venue, so an extreme last print from one feed is held: taken, it would set the reference price
 * every account is marked at, and the margin. A crash that the next bar keeps, or that several venues
 * print, is a market move and reaches the model. Moves the spike rule already reports are left to it.
 * σ is the EWMA of the returns before the bar (so the jump does not dampen itself); the first 30 returns
 * only seed it and are not judged.
 */
function findUnconfirmedJumps(
  candles: readonly IndexedCandle[],
  rules: CandleValidationRules,
  confirmingVenues: number,
): Spike[] {
  if (confirmingVenues >= 2) return [];
  const priced = candles.filter(({ candle }) => Number.isFinite(candle.close) && candle.close > 0);
  const jumps: Spike[] = [];
  let variance = 0;
  for (let i = 1; i < priced.length; i++) {
    const before = (priced[i - 1] as IndexedCandle).candle;
    const { candle, index } = priced[i] as IndexedCandle;
    const jump = Math.log(candle.close / before.close);
    if (i > JUMP_SEED_RETURNS) {
      const sigmas = Math.abs(jump) / Math.sqrt(variance);
      const after = priced[i + 1]?.candle;
      const reversion = after ? Math.log(after.close / candle.close) : undefined;
      const reverts = reversion !== undefined && givesBack(jump, reversion, rules.spikeReversionShare);
      const isSpike = reverts && Math.abs(jump) > rules.spikeLogMove;
      if (sigmas > rules.jumpSigmas && (after === undefined || reverts) && !isSpike) {
        const next =
          reversion === undefined ? 'the last bar' : `then ${formatChange(reversion)} on the next bar`;
        jumps.push({
          index,
          time: candle.time,
          message:
            `close ${candle.close} is an unconfirmed jump: ${formatChange(jump)} (${sigmas.toFixed(1)}σ, allowed ${rules.jumpSigmas}σ) ` +
            `from the previous close ${before.close}, ${next}, and no second venue confirms it (held)`,
        });
      }
    }
    if (i <= JUMP_SEED_RETURNS) variance += jump ** 2 / JUMP_SEED_RETURNS;
    else variance = JUMP_LAMBDA * variance + (1 - JUMP_LAMBDA) * jump ** 2;
  }
  return jumps;
}

/** Whether the next bar's log move gives back at least `share` of `jump`. */
function givesBack(jump: number, reversion: number, share: number): boolean {
  return Math.sign(reversion) === -Math.sign(jump) && Math.abs(reversion) >= share * Math.abs(jump);
}

/**
 * Runs of more than `maxFrozenBars` bars with the same close. Identical closes, whatever the range: a
 * stuck feed may repeat only the last trade while its high and low still move, and on a 24/7 market even
 * two equal daily closes are rare. The stale check compares the last candle's time with the clock, so it
 * cannot see a feed that keeps stamping new bars with the old price; this is that check.
 */
function findFrozenRuns(
  candles: readonly IndexedCandle[],
  rules: CandleValidationRules,
): { time: number; message: string }[] {
  const runs: { time: number; message: string }[] = [];
  let start = 0;
  for (let i = 1; i <= candles.length; i++) {
    const first = (candles[start] as IndexedCandle).candle;
    if (i < candles.length && (candles[i] as IndexedCandle).candle.close === first.close) continue;
    const length = i - start;
    if (length > rules.maxFrozenBars) {
      const last = (candles[i - 1] as IndexedCandle).candle;
      runs.push({
        time: first.time,
        message: `close ${first.close} repeated on ${length} bars in a row, to ${formatBarTime(last.time)}: a frozen feed, not a market (allowed: ${rules.maxFrozenBars}) (held)`,
      });
    }
    start = i;
  }
  return runs;
}

function checkStaleness(
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

function formatChange(logMove: number): string {
  const percent = (Math.exp(logMove) - 1) * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`;
}

function formatBars(bars: number): string {
  return Number.isInteger(bars) ? String(bars) : bars.toFixed(3).replace(/0+$/, '');
}
