/**
 * Shock recalibration, the pure part: whether a live mark has moved an instrument beyond the policy's trigger
 * since its threshold's reference price, and the daily series the model reads with the move in it as today's
 * return so far. The use case (ports, lease, publishing) is `lib/app/shock-recalibration.ts`.
 */
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../market/candle.ts';
import type { InstrumentMark, MarkSnapshot } from '../market/mark.ts';
import type { ShockPolicy } from './policy.ts';
import type { Threshold } from './threshold.ts';

/** One instrument's answer to "does this snapshot trigger a shock recalibration?". */
export type ShockAssessment =
  | {
      readonly instrument: string;
      readonly verdict: 'triggered';
      readonly mark: InstrumentMark;
      readonly referencePrice: number;
      /** Relative move mark / reference − 1. */
      readonly move: number;
      readonly triggerLogMove: number;
      /** UTC day of the mark, and the shock runs the instrument has already had that day. */
      readonly day: string;
      readonly runsToday: number;
    }
  | {
      readonly instrument: string;
      readonly verdict: 'below-trigger' | 'daily-cap' | 'not-marked' | 'no-threshold';
      readonly reason: string;
    };

/**
 * The log move that triggers for `threshold`: `sigmas` × its effective daily σ, or the policy's fallback
 * when the model never ran (a new listing held at the cap has no σ).
 */
export function triggerLogMove(policy: ShockPolicy, threshold: Threshold): number {
  const sigma = threshold.components.effectiveVolatility;
  return sigma !== undefined && Number.isFinite(sigma) && sigma > 0
    ? policy.sigmas * sigma
    : policy.fallbackMove;
}

/** Shock runs `threshold`'s instrument has had on UTC `day` (0 when its last shock was another day). */
export function shockRunsOn(threshold: Threshold, day: string): number {
  return threshold.shock?.day === day ? threshold.shock.runOfDay : 0;
}

/**
 * Does `snapshot` trigger a shock recalibration of `instrument`? Only a live consensus mark can: a held
 * instrument (no quorum, stale, an unconfirmed jump) never triggers, and a reference close is no move.
 * Both directions count: a short loses on a squeeze as a long does on a crash.
 */
export function assessShock(
  policy: ShockPolicy,
  instrument: string,
  threshold: Threshold | undefined,
  snapshot: MarkSnapshot,
): ShockAssessment {
  const held = snapshot.held.get(instrument);
  if (held) return { instrument, verdict: 'not-marked', reason: `mark held: ${held.reason}` };
  const mark = snapshot.marks.get(instrument);
  if (mark?.source !== 'live') {
    return { instrument, verdict: 'not-marked', reason: 'no live mark in the snapshot' };
  }
  const referencePrice = threshold?.referencePrice;
  if (!threshold || referencePrice === undefined || !(referencePrice > 0)) {
    return {
      instrument,
      verdict: 'no-threshold',
      reason: threshold ? 'the threshold has no reference price' : 'no threshold in the CURRENT set',
    };
  }
  const logMove = Math.log(mark.price / referencePrice);
  const trigger = triggerLogMove(policy, threshold);
  const move = mark.price / referencePrice - 1;
  if (!(Math.abs(logMove) >= trigger)) {
    return {
      instrument,
      verdict: 'below-trigger',
      reason: `move ${formatMove(move)} is within the trigger (|ln| ${Math.abs(logMove).toFixed(4)} < ${trigger.toFixed(4)})`,
    };
  }
  const day = utcDay(mark.at);
  const runsToday = shockRunsOn(threshold, day);
  if (runsToday >= policy.maxRunsPerDay) {
    return {
      instrument,
      verdict: 'daily-cap',
      reason: `move ${formatMove(move)} is beyond the trigger, but ${runsToday} of ${policy.maxRunsPerDay} shock runs on ${day} are used: the daily run recalibrates it`,
    };
  }
  return {
    instrument,
    verdict: 'triggered',
    mark,
    referencePrice,
    move,
    triggerLogMove: trigger,
    day,
    runsToday,
  };
}

/**
 * The daily series with today's return so far: `daily` (complete UTC days, ending yesterday) plus a
 * provisional candle for the mark's day, opening at yesterday's close and closing at the mark. Its volume is
 * yesterday's (a day still forming has no volume to compare; zero would read as a dead feed and skew the
 * liquidity add-on). A live mark of two or more venues confirms the provisional close against the validator's
 * jump rule (a real crash beyond `jumpSigmas` must still raise margins) when `historyPassedJumpRule`. Undefined, with the reason, when the series does not end yesterday: the return would
 * span more than a day.
 */
export function withProvisionalCandle(
  daily: CandleSeries,
  mark: InstrumentMark,
  historyPassedJumpRule: boolean,
): { readonly series: CandleSeries } | { readonly reason: string } {
  const dayStart = Math.floor(mark.at / DAY_MS) * DAY_MS;
  const candles = daily.candles.filter((c) => c.time < dayStart);
  const last = candles[candles.length - 1];
  if (!last || last.time !== dayStart - DAY_MS) {
    const lastDay = last ? utcDay(last.time) : 'nothing';
    return {
      reason: `${daily.instrument}: the candles end at ${lastDay}, not ${utcDay(dayStart - DAY_MS)}: no close to measure today's return from`,
    };
  }
  const today: Candle = {
    time: dayStart,
    open: last.close,
    high: Math.max(last.close, mark.price),
    low: Math.min(last.close, mark.price),
    close: mark.price,
    volume: last.volume,
  };
  // The provisional close is a consensus of the mark's venues, so it is confirmed as a second venue's print
  // would confirm it. The validator's flag covers the whole series, so it is set only when the history has
  // already passed the jump rule (the caller's previous threshold was computed from it).
  const venues = historyPassedJumpRule
    ? Math.max(daily.confirmingVenues ?? 0, mark.venues.length)
    : (daily.confirmingVenues ?? 0);
  return {
    series: { ...daily, candles: [...candles, today], ...(venues >= 2 ? { confirmingVenues: venues } : {}) },
  };
}

function formatMove(move: number): string {
  return `${move >= 0 ? '+' : ''}${(move * 100).toFixed(2)}%`;
}
