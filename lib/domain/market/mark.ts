/**
 * Market data apart from risk parameters: the price each instrument is marked at, when and by whom.
 *
 * A threshold (the risk parameters) keeps its reference price (the last daily close the model used) for
 * audit. What a sweep values accounts at is a `MarkSnapshot`: live consensus marks from the venues, or, when
 * no live marks are taken, each threshold's reference close, said so by `source: 'reference-close'`.
 */
import { MarketDataError } from '../errors.ts';
import type { ThresholdSet } from '../threshold/threshold.ts';

/** `live`: a consensus of venues' current prices. `reference-close`: the threshold's last daily close. */
export type MarkSourceKind = 'live' | 'reference-close';

/** One instrument's mark. */
export interface InstrumentMark {
  readonly instrument: string;
  /** Price of one unit of the underlying in the quote currency (USD). */
  readonly price: number;
  /** When the price was observed (ms since the epoch): the venues' time, or the reference candle's close. */
  readonly at: number;
  readonly source: MarkSourceKind;
  /** Venues behind a live price (at least the quorum); empty for a reference close. */
  readonly venues: readonly string[];
}

/** Why live marks hold an instrument (`lib/domain/market/mark-consensus.ts`), for metrics and alarms. */
export type HeldMarkCause = 'no-quorum' | 'stale' | 'unconfirmed-jump';

/** An instrument with no usable mark, and why (no quorum, stale, an unconfirmed jump…). */
export interface HeldMark {
  readonly instrument: string;
  readonly reason: string;
  /** Set by the live consensus; absent for a threshold with no reference close. */
  readonly cause?: HeldMarkCause;
}

/** The marks one sweep values every account at: all workers of a sweep share one snapshot. */
export interface MarkSnapshot {
  /** When the snapshot was taken (ms since the epoch). */
  readonly takenAt: number;
  readonly marks: ReadonlyMap<string, InstrumentMark>;
  /** Instruments without a usable mark: accounts holding them are held where they are, never re-valued. */
  readonly held: ReadonlyMap<string, HeldMark>;
}

/** One venue's current price for one instrument, before consensus. */
export interface VenueMark {
  readonly venue: string;
  readonly instrument: string;
  readonly price: number;
  /** The venue's own timestamp for the price (ms since the epoch). */
  readonly at: number;
}

/**
 * Build a snapshot, checking every mark: a finite positive price, a finite time, filed under its own
 * instrument, and an instrument not both marked and held. A bad value throws `MarketDataError` naming the
 * instrument.
 */
export function createMarkSnapshot(input: {
  readonly takenAt: number;
  readonly marks: readonly InstrumentMark[];
  readonly held?: readonly HeldMark[];
}): MarkSnapshot {
  const marks = new Map<string, InstrumentMark>();
  for (const mark of input.marks) {
    if (!(mark.price > 0) || !Number.isFinite(mark.price)) {
      throw new MarketDataError(
        `${mark.instrument}: mark price must be a positive number, got ${mark.price}`,
        mark.instrument,
      );
    }
    if (!Number.isFinite(mark.at)) {
      throw new MarketDataError(`${mark.instrument}: mark time is not a time`, mark.instrument);
    }
    if (marks.has(mark.instrument)) {
      throw new MarketDataError(`${mark.instrument}: marked twice in one snapshot`, mark.instrument);
    }
    marks.set(mark.instrument, mark);
  }
  const held = new Map<string, HeldMark>();
  for (const entry of input.held ?? []) {
    if (marks.has(entry.instrument)) {
      throw new MarketDataError(
        `${entry.instrument}: both marked and held in one snapshot`,
        entry.instrument,
      );
    }
    held.set(entry.instrument, entry);
  }
  return { takenAt: input.takenAt, marks, held };
}

/**
 * The snapshot of a sweep that takes no live marks: each threshold's reference close, timed at the end of
 * its `asOf` day (a shock threshold's reference price is the mark that triggered it, timed when observed). A threshold held with no reference price has no mark: it is listed in `held`.
 */
export function referenceCloseMarks(set: ThresholdSet, takenAt: number): MarkSnapshot {
  const marks: InstrumentMark[] = [];
  const held: HeldMark[] = [];
  for (const threshold of set.thresholds) {
    const price = threshold.referencePrice;
    if (price === undefined || !(price > 0)) {
      held.push({ instrument: threshold.instrument, reason: 'no reference close to mark at' });
      continue;
    }
    const dayStart = Date.parse(`${threshold.asOf}T00:00:00Z`);
    // A shock threshold's reference price is the live mark that triggered it, observed mid-day.
    const shockAt = threshold.shock ? Date.parse(threshold.shock.markAt) : Number.NaN;
    const at = Number.isFinite(shockAt)
      ? shockAt
      : Number.isFinite(dayStart)
        ? dayStart + 86_400_000
        : takenAt;
    marks.push({ instrument: threshold.instrument, price, at, source: 'reference-close', venues: [] });
  }
  return createMarkSnapshot({ takenAt, marks, held });
}

/**
 * A price as a plain decimal string (no exponent), the shortest that reads back as the same number, so a
 * mark survives a message or an alert exactly: `Number(priceText(p)) === p`.
 *
 * @example
 * priceText(101_250.5); // '101250.5'
 * priceText(1e-7); // '0.0000001'
 */
export function priceText(price: number): string {
  if (!Number.isFinite(price)) throw new RangeError(`not a finite number: ${price}`);
  const text = String(price);
  const exponent = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exponent) return text;
  const [, sign = '', whole = '', fraction = '', power = '0'] = exponent;
  const digits = whole + fraction;
  const point = whole.length + Number(power);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
