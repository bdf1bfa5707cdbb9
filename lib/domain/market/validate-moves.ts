/**
 * The validator's checks of the path of closes: one-bar spikes that revert, extreme jumps nothing confirms,
 * and frozen runs of one close. The checks of each bar and of the series' times are in `validate-bars.ts`;
 * `validate.ts` runs them all.
 */
import type { Candle } from './candle.ts';
import type { CandleValidationRules } from './validate.ts';
import { formatBarTime } from './validate-bars.ts';

export interface IndexedCandle {
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
export function findSpikes(candles: readonly IndexedCandle[], rules: CandleValidationRules): Spike[] {
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
export function findUnconfirmedJumps(
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
export function findFrozenRuns(
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

function formatChange(logMove: number): string {
  const percent = (Math.exp(logMove) - 1) * 100;
  return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`;
}
