/**
 * One instrument's live mark from the venues' current prices: the median of the venues that agree, or held
 * with the reason. **A bad mark never moves a verdict**: a mark is published only when a quorum of fresh
 * venues agree on it, and a jump since the last accepted mark only when the venues confirm it; anything else
 * holds the instrument (its accounts stay where they are). A move the venues agree on is applied however
 * large: a real crash must produce margin calls. The rules, with examples: docs/MARKS.md.
 */
import { z } from 'zod';
import type { HeldMark, HeldMarkCause, InstrumentMark, VenueMark } from './mark.ts';

/** The risk committee's rules for live marks; part of the threshold policy (`marks`), per instrument. */
export const markConsensusPolicySchema = z.strictObject({
  quorum: z
    .number()
    .int()
    .min(1)
    .max(10)
    .default(2)
    .describe(
      'Venues that must agree for a mark to be published. 2: no single venue can set a price on its own, and with four venues (Deribit, Binance, Coinbase, Kraken) two may be down or excluded before the instrument is held.',
    ),
  maxDeviation: z
    .number()
    .gt(0)
    .max(0.5)
    .default(0.01)
    .describe(
      'Largest relative distance from the median of the venues kept; a venue farther off is excluded. 1%: index, mark and ticker prices of BTC, ETH and SOL normally differ by a few basis points, so 1% leaves room for one venue lagging a fast market, and a kept venue can pull the median by at most this much.',
    ),
  maxAgeSeconds: z
    .number()
    .gt(0)
    .max(3600)
    .default(30)
    .describe(
      'A venue price older than this (by its own timestamp) is dropped, and so is one dated this far in the future (a wrong clock). 30 s: the watch looks every minute and venues timestamp their index and mark prices every second or so; a price half a watch interval old is not the market now.',
    ),
  jumpLimit: z
    .number()
    .gt(0)
    .max(10)
    .default(0.1)
    .describe(
      'A move of more than this (relative) since the last accepted mark is a jump: applied only when the venues agree on it (at least max(quorum, 2) kept, and more than half of the fresh venues), else the instrument is held. 10%: ten times the deviation allowed between venues, and more than BTC, ETH or SOL usually move in the minute between two looks; a real crash passes because every venue prints it.',
    ),
});

export type MarkConsensusPolicy = z.output<typeof markConsensusPolicySchema>;
export type MarkConsensusPolicyInput = z.input<typeof markConsensusPolicySchema>;

/** The committee defaults: quorum 2, 1% deviation, 30 s age, 10% jump. */
export const DEFAULT_MARK_CONSENSUS_POLICY: MarkConsensusPolicy = markConsensusPolicySchema.parse({});

/** A venue that was asked and gave no price (timeout, HTTP error, not listed…). */
export interface VenueFailure {
  readonly venue: string;
  readonly reason: string;
}

/** Why a venue's answer is not behind the mark. */
export type VenueExclusionKind = 'failed' | 'invalid' | 'stale' | 'future' | 'deviation';

export interface ExcludedVenue {
  readonly venue: string;
  readonly kind: VenueExclusionKind;
  readonly reason: string;
  /** The price it answered, when it answered one. */
  readonly price?: number;
}

/** One instrument's consensus: a live mark, or held with the cause; either way every venue left out, and why. */
export type MarkConsensus =
  | {
      readonly status: 'marked';
      readonly mark: InstrumentMark;
      readonly excluded: readonly ExcludedVenue[];
    }
  | {
      readonly status: 'held';
      readonly held: HeldMark & { readonly cause: HeldMarkCause };
      readonly excluded: readonly ExcludedVenue[];
    };

export interface MarkConsensusInput {
  readonly instrument: string;
  /** The venues' answers for this instrument. */
  readonly answers: readonly VenueMark[];
  /** Venues asked that gave no price: only their reasons are reported. */
  readonly failures?: readonly VenueFailure[];
  /** The last mark accepted for this instrument; none on the first look (no jump check then). */
  readonly previous?: InstrumentMark;
  /** The time of the decision (ms since the epoch): ages are measured from it. */
  readonly now: number;
  readonly policy: MarkConsensusPolicy;
}

// Two deviations this close are the same: ties are excluded together, never by list order.
const TIE_EPSILON = 1e-12;

/**
 * The consensus mark of one instrument.
 *  1. Refuse answers that are not a finite positive price at a finite time for this instrument, and every
 *     answer of a venue that answered twice.
 *  2. Drop answers older than `maxAgeSeconds` or dated that far in the future.
 *  3. Trim: while the farthest fresh price is more than `maxDeviation` from the median of those left,
 *     exclude it (and any tied with it). The venues left **agree**: each is within `maxDeviation` of their
 *     median. A wild venue cannot drag the median the others are judged against.
 *  4. Fewer than `quorum` left: held (`stale` when the stale answers would have made the quorum).
 *  5. The mark is the median of those left (the mean of the middle two for an even count), timed at the
 *     OLDEST of their times: the mark is no fresher than its oldest input, so a staleness check on it is
 *     never too lenient.
 *  6. A jump (more than `jumpLimit` from `previous`) is applied only when the venues agree on it: at least
 *     max(quorum, 2) venues left — one venue never confirms its own jump — and more than half of the fresh
 *     venues, so those left out (still at the old price, or elsewhere) are outnumbered. Otherwise held.
 *
 * @example
 * const result = markConsensus({
 *   instrument: 'BTC',
 *   answers: [
 *     { venue: 'deribit', instrument: 'BTC', price: 60_010, at: now - 2_000 },
 *     { venue: 'binance', instrument: 'BTC', price: 60_000, at: now - 1_000 },
 *     { venue: 'kraken', instrument: 'BTC', price: 6_000, at: now - 1_000 }, // a decimal slip: excluded
 *   ],
 *   now,
 *   policy: DEFAULT_MARK_CONSENSUS_POLICY,
 * });
 * // { status: 'marked', mark: { price: 60_005, at: now - 2_000, venues: ['binance', 'deribit'], … }, excluded: [kraken…] }
 */
export function markConsensus(input: MarkConsensusInput): MarkConsensus {
  const { instrument, now, policy, previous } = input;
  const excluded: ExcludedVenue[] = (input.failures ?? []).map((failure) => ({
    venue: failure.venue,
    kind: 'failed',
    reason: failure.reason,
  }));

  const answersOf = new Map<string, VenueMark[]>();
  for (const answer of input.answers) {
    answersOf.set(answer.venue, [...(answersOf.get(answer.venue) ?? []), answer]);
  }
  const valid: VenueMark[] = [];
  for (const [venue, answers] of answersOf) {
    const [answer] = answers;
    if (answer === undefined) continue;
    if (answers.length > 1) {
      // Counted once it could fake a quorum; which answer is right nobody knows.
      excluded.push({ venue, kind: 'invalid', reason: `answered ${answers.length} times for one look` });
      continue;
    }
    const invalid = invalidReason(answer, instrument);
    if (invalid !== undefined) {
      excluded.push({ venue, kind: 'invalid', reason: invalid, price: answer.price });
      continue;
    }
    valid.push(answer);
  }

  const maxAgeMs = policy.maxAgeSeconds * 1000;
  const fresh: VenueMark[] = [];
  for (const answer of valid) {
    const age = now - answer.at;
    if (age > maxAgeMs) {
      excluded.push({
        venue: answer.venue,
        kind: 'stale',
        reason: `stale: ${seconds(age)} old (max ${policy.maxAgeSeconds} s)`,
        price: answer.price,
      });
    } else if (-age > maxAgeMs) {
      excluded.push({
        venue: answer.venue,
        kind: 'future',
        reason: `dated ${seconds(-age)} in the future (max ${policy.maxAgeSeconds} s): a wrong clock`,
        price: answer.price,
      });
    } else {
      fresh.push(answer);
    }
  }

  const { kept, trimmed } = trim(fresh, policy.maxDeviation);
  excluded.push(...trimmed);
  // Venue order never matters: sort by name, so equal inputs give equal results.
  excluded.sort((a, b) => compareText(a.venue, b.venue));
  const held = (cause: HeldMarkCause, reason: string): MarkConsensus => ({
    status: 'held',
    held: { instrument, reason, cause },
    excluded,
  });
  const why = excluded.length > 0 ? ` (${excluded.map((e) => `${e.venue}: ${e.reason}`).join('; ')})` : '';

  if (kept.length < policy.quorum) {
    const needed = `${policy.quorum} needed`;
    if (input.answers.length === 0) {
      return held('no-quorum', `no quorum: no venue answered with a price, ${needed}${why}`);
    }
    if (fresh.length < policy.quorum && valid.length >= policy.quorum) {
      return held('stale', `stale: ${fresh.length} fresh venue price(s), ${needed}${why}`);
    }
    return held(
      'no-quorum',
      `no quorum: ${kept.length} venue(s) agree within ${percent(policy.maxDeviation)} of their median, ${needed}${why}`,
    );
  }

  const price = median(kept.map((k) => k.price));
  const at = Math.min(...kept.map((k) => k.at));
  if (previous !== undefined) {
    const move = price / previous.price - 1;
    const confirmations = Math.max(policy.quorum, 2);
    const agreed = kept.length >= confirmations && 2 * kept.length > fresh.length;
    // Compared as distances, not ratios: a move of exactly the limit (110 from 100) is not a jump.
    const jump = Math.abs(price - previous.price) > policy.jumpLimit * previous.price;
    if (jump && !agreed) {
      return held(
        'unconfirmed-jump',
        `unconfirmed jump: ${signedPercent(move)} since the last accepted mark ${previous.price} (${new Date(previous.at).toISOString()}), beyond the ${percent(policy.jumpLimit)} limit, and only ${kept.length} of ${fresh.length} fresh venue(s) agree on it (a jump needs ${confirmations} and more than half)${why}`,
      );
    }
  }
  const venues = kept.map((k) => k.venue).sort(compareText);
  return { status: 'marked', mark: { instrument, price, at, source: 'live', venues }, excluded };
}

/** The median of a non-empty list (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[mid - 1] ?? Number.NaN) + upper) / 2;
}

function invalidReason(answer: VenueMark, instrument: string): string | undefined {
  if (answer.instrument !== instrument) {
    return `a price filed under ${answer.instrument}, asked for ${instrument}`;
  }
  if (typeof answer.price !== 'number' || !Number.isFinite(answer.price) || !(answer.price > 0)) {
    return `price must be a positive number, got ${String(answer.price)}`;
  }
  if (typeof answer.at !== 'number' || !Number.isFinite(answer.at)) {
    return `time must be a time, got ${String(answer.at)}`;
  }
  return undefined;
}

/** Exclude the farthest venue(s) from the median of those left until every one is within `maxDeviation`. */
function trim(
  fresh: readonly VenueMark[],
  maxDeviation: number,
): { kept: VenueMark[]; trimmed: ExcludedVenue[] } {
  let kept = [...fresh];
  const trimmed: ExcludedVenue[] = [];
  while (kept.length > 0) {
    const reference = median(kept.map((k) => k.price));
    // Distances, not ratios: a venue exactly maxDeviation off (101 against 100 at 1%) is kept.
    const distances = kept.map((k) => Math.abs(k.price - reference));
    const worst = Math.max(...distances);
    if (!(worst > maxDeviation * reference)) break;
    const next: VenueMark[] = [];
    kept.forEach((answer, i) => {
      const distance = distances[i] ?? 0;
      if (distance < worst - TIE_EPSILON * reference) {
        next.push(answer);
        return;
      }
      trimmed.push({
        venue: answer.venue,
        kind: 'deviation',
        reason: `${signedPercent(answer.price / reference - 1)} off the median ${reference} of the venues left (max ${percent(maxDeviation)})`,
        price: answer.price,
      });
    });
    kept = next;
  }
  return { kept, trimmed };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 10_000) / 100}%`;
}

function signedPercent(fraction: number): string {
  return `${fraction >= 0 ? '+' : '−'}${percent(Math.abs(fraction))}`;
}
