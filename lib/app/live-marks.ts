/**
 * The live `MarkSource`: every venue asked for every instrument at once, under one deadline, and a
 * consensus per instrument (`lib/domain/market/mark-consensus.ts`). One venue failing or hanging never
 * blocks the others or another instrument: at the deadline whatever has not answered counts as failed.
 */
import {
  InstrumentNotListedError,
  MarketDataError,
  MarketSourceError,
  UnknownInstrumentError,
} from '../domain/errors.ts';
import type { InstrumentMark, MarkSnapshot, VenueMark } from '../domain/market/mark.ts';
import { createMarkSnapshot } from '../domain/market/mark.ts';
import {
  type MarkConsensus,
  type MarkConsensusPolicy,
  markConsensus,
  type VenueFailure,
} from '../domain/market/mark-consensus.ts';
import type { Clock, MarkSource, VenueMarkSource } from '../ports.ts';

export interface LiveMarkSourceOptions {
  readonly venues: readonly VenueMarkSource[];
  /** The consensus rules per instrument: the threshold policy's `marks` (`book.policyFor(i).marks`). */
  readonly policyFor: (instrument: string) => MarkConsensusPolicy;
  readonly clock: Clock;
  /**
   * How long the venues have, together, to answer one look; a venue still silent then is a failure.
   * @default 5000 ms: a tenth of the one-minute watch, longer than a venue adapter's own timeout
   */
  readonly deadlineMs?: number;
  /**
   * Marks accepted before this instance started (a stored snapshot), for the jump check.
   * @default none: the first look is accepted on quorum and deviation alone
   */
  readonly previous?: Iterable<InstrumentMark>;
  /** @default `live(<venue names>)` */
  readonly name?: string;
}

/** One look: the snapshot, and per instrument the consensus behind it (every venue left out, and why). */
export interface LiveMarkLook {
  readonly snapshot: MarkSnapshot;
  readonly consensus: ReadonlyMap<string, MarkConsensus>;
}

export const DEFAULT_MARK_DEADLINE_MS = 5_000;

type Answer =
  | { readonly ok: true; readonly mark: VenueMark }
  | { readonly ok: false; readonly failure: VenueFailure };

/**
 * Live marks from a consensus of venues. The last accepted mark of each instrument is kept in memory (per
 * instance) as the reference for the jump check; a held instrument keeps its previous reference, so a jump
 * the venues never confirm stays held however many looks it lasts.
 *
 * @example
 * const marks = new LiveMarkSource({ venues, policyFor: (i) => book.policyFor(i).marks, clock });
 * const snapshot = await marks.snapshot(['BTC', 'ETH']);
 * snapshot.held.get('ETH')?.reason; // 'no quorum: …' — ETH's accounts stay where they are
 */
export class LiveMarkSource implements MarkSource {
  readonly name: string;
  private readonly deadlineMs: number;
  private readonly accepted = new Map<string, InstrumentMark>();

  constructor(private readonly options: LiveMarkSourceOptions) {
    const names = options.venues.map((v) => v.venue);
    if (names.length === 0) throw new RangeError('live marks need at least one venue');
    if (new Set(names).size !== names.length) {
      throw new RangeError(`venues must have distinct names, got ${names.join(', ')}`);
    }
    this.deadlineMs = options.deadlineMs ?? DEFAULT_MARK_DEADLINE_MS;
    if (!(this.deadlineMs > 0)) throw new RangeError(`deadlineMs must be > 0, got ${this.deadlineMs}`);
    this.name = options.name ?? `live(${names.join(',')})`;
    for (const mark of options.previous ?? []) this.accepted.set(mark.instrument, mark);
  }

  async snapshot(instruments: readonly string[], signal?: AbortSignal): Promise<MarkSnapshot> {
    return (await this.look(instruments, signal)).snapshot;
  }

  /** The last mark accepted for `instrument`, if any. */
  lastAccepted(instrument: string): InstrumentMark | undefined {
    return this.accepted.get(instrument);
  }

  /**
   * Ask every venue for every instrument, then decide each instrument.
   *  1. Start every request at once, under one deadline (and the caller's signal).
   *  2. At the deadline, a request still pending is a failure; its late answer is ignored.
   *  3. Per instrument: the consensus against the last accepted mark, at the clock's time after the answers.
   *  4. Remember the accepted marks; return the snapshot and the evidence.
   *
   * @throws the caller's abort reason when `signal` aborts; any error a venue is not expected to raise (a bug).
   */
  async look(instruments: readonly string[], signal?: AbortSignal): Promise<LiveMarkLook> {
    signal?.throwIfAborted();
    const wanted = [...new Set(instruments)];
    const deadline = new AbortController();
    const onAbort = () => deadline.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => deadline.abort(new Error(`no answer within ${this.deadlineMs} ms`)),
      this.deadlineMs,
    );
    const expired = new Promise<void>((resolve) => {
      deadline.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    let answers: Answer[][];
    try {
      answers = await Promise.all(
        wanted.map((instrument) =>
          Promise.all(
            this.options.venues.map((venue) => this.ask(venue, instrument, deadline.signal, expired)),
          ),
        ),
      );
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Nothing waits for a request still running (the look failed on a bug): let its venue stop.
      if (!deadline.signal.aborted) deadline.abort(new Error('the look is over'));
    }
    signal?.throwIfAborted();

    const now = this.options.clock.now();
    const consensus = new Map<string, MarkConsensus>();
    wanted.forEach((instrument, i) => {
      const row = answers[i] ?? [];
      const result = markConsensus({
        instrument,
        answers: row.flatMap((a) => (a.ok ? [a.mark] : [])),
        failures: row.flatMap((a) => (a.ok ? [] : [a.failure])),
        previous: this.accepted.get(instrument),
        now,
        policy: this.options.policyFor(instrument),
      });
      consensus.set(instrument, result);
    });
    const results = [...consensus.values()];
    const snapshot = createMarkSnapshot({
      takenAt: now,
      marks: results.flatMap((r) => (r.status === 'marked' ? [r.mark] : [])),
      held: results.flatMap((r) => (r.status === 'held' ? [r.held] : [])),
    });
    // Only after the snapshot is built: a mark it refuses is never remembered as accepted.
    for (const mark of snapshot.marks.values()) this.accepted.set(mark.instrument, mark);
    return { snapshot, consensus };
  }

  /** One venue's answer for one instrument, or its failure; settles by the deadline whatever the venue does. */
  private async ask(
    venue: VenueMarkSource,
    instrument: string,
    signal: AbortSignal,
    expired: Promise<void>,
  ): Promise<Answer> {
    const timedOut = (): Answer => ({
      ok: false,
      failure: { venue: venue.venue, reason: reasonOf(signal.reason) },
    });
    try {
      const answer = await Promise.race([venue.mark(instrument, signal), expired.then(() => undefined)]);
      if (answer === undefined) return timedOut();
      return { ok: true, mark: answer };
    } catch (error) {
      // A venue aborted by the deadline may reject with anything (an AbortError): it simply did not answer.
      if (signal.aborted) return timedOut();
      if (isVenueError(error)) {
        return { ok: false, failure: { venue: venue.venue, reason: reasonOf(error) } };
      }
      throw error;
    }
  }
}

/** The errors a venue raises for one instrument it cannot price; anything else is a bug and fails the look. */
function isVenueError(error: unknown): boolean {
  return (
    error instanceof MarketSourceError ||
    error instanceof MarketDataError ||
    error instanceof UnknownInstrumentError ||
    error instanceof InstrumentNotListedError
  );
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
