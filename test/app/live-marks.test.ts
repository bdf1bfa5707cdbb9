/**
 * Issue 13, "Marks": the live `MarkSource` asks every venue for every instrument at once under one deadline.
 * One venue failing or hanging never blocks the others or another instrument, and the previous accepted mark
 * of each instrument is the reference for the jump check.
 */
import { describe, expect, it } from 'vitest';
import { LiveMarkSource } from '../../lib/app/live-marks.ts';
import { InstrumentNotListedError, MarketSourceError } from '../../lib/domain/errors.ts';
import type { VenueMark } from '../../lib/domain/market/mark.ts';
import { DEFAULT_MARK_CONSENSUS_POLICY } from '../../lib/domain/market/mark-consensus.ts';
import type { VenueMarkSource } from '../../lib/ports.ts';
import { FixedClock } from './in-memory-ports.ts';

const NOW = Date.UTC(2026, 11, 3, 14, 0, 0);

/** What a fake venue does for one instrument: a price, an error, or never answer (ignoring the signal). */
type Behaviour =
  | number
  | Error
  | 'hang'
  | 'hang-until-aborted'
  | ((signal?: AbortSignal) => Promise<VenueMark>);

/** An in-memory venue: prices per instrument, timed `ageMs` before the clock; every call recorded. */
class FakeVenue implements VenueMarkSource {
  readonly calls: string[] = [];
  constructor(
    readonly venue: string,
    public behaviour: Record<string, Behaviour>,
    private readonly clock: FixedClock,
    private readonly ageMs = 1_000,
  ) {}

  async mark(instrument: string, signal?: AbortSignal): Promise<VenueMark> {
    this.calls.push(instrument);
    const behaviour = this.behaviour[instrument];
    if (behaviour === undefined) throw new InstrumentNotListedError(instrument, this.venue);
    if (behaviour instanceof Error) throw behaviour;
    if (typeof behaviour === 'function') return behaviour(signal);
    if (behaviour === 'hang') return new Promise<never>(() => {});
    if (behaviour === 'hang-until-aborted') {
      return new Promise<never>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
      });
    }
    return { venue: this.venue, instrument, price: behaviour, at: this.clock.now() - this.ageMs };
  }
}

function setup(
  venues: Record<string, Record<string, Behaviour>>,
  options: { deadlineMs?: number; ages?: Record<string, number> } = {},
) {
  const clock = new FixedClock(NOW);
  const fakes = Object.entries(venues).map(
    ([name, behaviour]) => new FakeVenue(name, behaviour, clock, options.ages?.[name]),
  );
  const source = new LiveMarkSource({
    venues: fakes,
    policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
    clock,
    deadlineMs: options.deadlineMs ?? 1_000,
  });
  return { clock, fakes, source };
}

describe('LiveMarkSource', () => {
  it('marks every instrument from the venues that agree, timed at the oldest of them', async () => {
    // Prepare
    const { source } = setup(
      {
        deribit: { BTC: 60_000, ETH: 3_000 },
        binance: { BTC: 60_020, ETH: 3_001 },
        kraken: { BTC: 60_010, ETH: 3_002 },
      },
      { ages: { deribit: 4_000 } },
    );

    // Act
    const snapshot = await source.snapshot(['BTC', 'ETH']);

    // Assess
    expect(snapshot.takenAt).toBe(NOW);
    expect(snapshot.held.size).toBe(0);
    expect(snapshot.marks.get('BTC')).toEqual({
      instrument: 'BTC',
      price: 60_010,
      at: NOW - 4_000,
      source: 'live',
      venues: ['binance', 'deribit', 'kraken'],
    });
    expect(snapshot.marks.get('ETH')?.price).toBe(3_001);
  });

  it('one venue wildly off: excluded, the mark from the others, the evidence in the look', async () => {
    // Prepare
    const { source } = setup({ a: { BTC: 60_000 }, b: { BTC: 60_010 }, c: { BTC: 600_000 } });

    // Act
    const look = await source.look(['BTC']);

    // Assess
    expect(look.snapshot.marks.get('BTC')).toMatchObject({ price: 60_005, venues: ['a', 'b'] });
    expect(look.consensus.get('BTC')?.excluded).toEqual([
      expect.objectContaining({ venue: 'c', kind: 'deviation' }),
    ]);
  });

  it('every venue down: the instrument is held with each venue’s reason, the others are marked', async () => {
    // Prepare
    const down = (venue: string) =>
      new MarketSourceError(`${venue}: HTTP 503 after 3 attempts`, venue, 'SOL');
    const { source } = setup({
      a: { BTC: 60_000, SOL: down('a') },
      b: { BTC: 60_010, SOL: down('b') },
    });

    // Act
    const snapshot = await source.snapshot(['BTC', 'SOL']);

    // Assess
    expect(snapshot.marks.get('BTC')?.price).toBe(60_005);
    expect(snapshot.marks.has('SOL')).toBe(false);
    expect(snapshot.held.get('SOL')).toMatchObject({ instrument: 'SOL', cause: 'no-quorum' });
    expect(snapshot.held.get('SOL')?.reason).toContain('a: a: HTTP 503 after 3 attempts');
    expect(snapshot.held.get('SOL')?.reason).toContain('b: b: HTTP 503 after 3 attempts');
  });

  it('a venue that does not list the instrument is one venue fewer, not an error', async () => {
    // Prepare: c lists BTC only
    const { source } = setup({ a: { SOL: 150 }, b: { SOL: 150.1 }, c: { BTC: 60_000 } });

    // Act
    const look = await source.look(['SOL']);

    // Assess
    expect(look.snapshot.marks.get('SOL')?.venues).toEqual(['a', 'b']);
    expect(look.consensus.get('SOL')?.excluded).toEqual([
      expect.objectContaining({ venue: 'c', kind: 'failed' }),
    ]);
  });

  it.each([
    ['ignores the abort signal', 'hang'],
    ['rejects when aborted', 'hang-until-aborted'],
  ] as const)('a venue hanging past the deadline (it %s) never blocks the others', async (_name, hang) => {
    // Prepare
    const { source } = setup(
      { a: { BTC: 60_000, ETH: 3_000 }, b: { BTC: 60_010, ETH: 3_001 }, slow: { BTC: hang, ETH: hang } },
      { deadlineMs: 50 },
    );

    // Act
    const started = performance.now();
    const look = await source.look(['BTC', 'ETH']);
    const elapsed = performance.now() - started;

    // Assess
    expect(elapsed).toBeLessThan(1_000);
    expect(look.snapshot.marks.get('BTC')).toMatchObject({ price: 60_005, venues: ['a', 'b'] });
    expect(look.snapshot.marks.get('ETH')).toMatchObject({ price: 3_000.5, venues: ['a', 'b'] });
    expect(look.consensus.get('BTC')?.excluded).toEqual([
      expect.objectContaining({ venue: 'slow', kind: 'failed', reason: 'no answer within 50 ms' }),
    ]);
  });

  it('a hanging venue that leaves too few: held at the deadline, not waited for', async () => {
    // Prepare
    const { source } = setup({ a: { BTC: 60_000 }, slow: { BTC: 'hang' } }, { deadlineMs: 50 });

    // Act
    const snapshot = await source.snapshot(['BTC']);

    // Assess
    expect(snapshot.held.get('BTC')?.reason).toContain('slow: no answer within 50 ms');
  });

  it('asks every venue for every instrument concurrently, once each', async () => {
    // Prepare: each answer waits until all six requests have started
    let started = 0;
    let release: () => void = () => {};
    const allStarted = new Promise<void>((resolve) => {
      release = resolve;
    });
    const clock = new FixedClock(NOW);
    const gated = (venue: string, instrument: string, price: number) => async (): Promise<VenueMark> => {
      started += 1;
      if (started === 6) release();
      await allStarted;
      return { venue, instrument, price, at: NOW };
    };
    const venues = ['a', 'b', 'c'].map(
      (name, i) =>
        new FakeVenue(
          name,
          { BTC: gated(name, 'BTC', 60_000 + i), ETH: gated(name, 'ETH', 3_000 + i) },
          clock,
        ),
    );
    const source = new LiveMarkSource({
      venues,
      policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
      clock,
      deadlineMs: 1_000,
    });

    // Act
    const snapshot = await source.snapshot(['BTC', 'ETH', 'BTC']);

    // Assess: sequential requests would have waited for the deadline and held both
    expect(snapshot.marks.get('BTC')?.price).toBe(60_001);
    expect(snapshot.marks.get('ETH')?.price).toBe(3_001);
    for (const venue of venues) expect(venue.calls.sort()).toEqual(['BTC', 'ETH']);
  });

  it('a stale venue is dropped; with two fresh ones left the quorum is met', async () => {
    // Prepare
    const { source } = setup(
      { a: { BTC: 60_000 }, b: { BTC: 60_010 }, old: { BTC: 55_000 } },
      { ages: { old: 120_000 } },
    );

    // Act
    const look = await source.look(['BTC']);

    // Assess
    expect(look.snapshot.marks.get('BTC')?.venues).toEqual(['a', 'b']);
    expect(look.consensus.get('BTC')?.excluded).toEqual([
      expect.objectContaining({ venue: 'old', kind: 'stale' }),
    ]);
  });

  it('a jump on one venue only moves no mark; a 40% crash every venue prints is applied next look', async () => {
    // Prepare
    const { clock, fakes, source } = setup({ a: { BTC: 60_000 }, b: { BTC: 60_010 } });
    const first = await source.snapshot(['BTC']);
    expect(first.marks.get('BTC')?.price).toBe(60_005);
    const [a, b] = fakes;
    if (!a || !b) throw new Error('two venues');

    // Act 1: b prints a 40% fall alone
    clock.time += 60_000;
    b.behaviour = { BTC: 36_000 };
    const lone = await source.snapshot(['BTC']);

    // Assess 1: held; the reference stays the first mark
    expect(lone.marks.has('BTC')).toBe(false);
    expect(lone.held.has('BTC')).toBe(true);
    expect(source.lastAccepted('BTC')?.price).toBe(60_005);

    // Act 2: both venues print the crash
    clock.time += 60_000;
    a.behaviour = { BTC: 36_010 };
    const crash = await source.snapshot(['BTC']);

    // Assess 2
    expect(crash.marks.get('BTC')).toMatchObject({ price: 36_005, venues: ['a', 'b'] });
    expect(source.lastAccepted('BTC')?.price).toBe(36_005);
  });

  it('a jump from the one venue a quorum-of-one policy accepts is held until a second venue confirms it', async () => {
    // Prepare
    const clock = new FixedClock(NOW);
    const only = new FakeVenue('only', { BTC: 60_000 }, clock);
    const other = new FakeVenue('other', { BTC: new MarketSourceError('timeout', 'other', 'BTC') }, clock);
    const source = new LiveMarkSource({
      venues: [only, other],
      policyFor: () => ({ ...DEFAULT_MARK_CONSENSUS_POLICY, quorum: 1 }),
      clock,
    });
    await source.snapshot(['BTC']);

    // Act
    only.behaviour = { BTC: 600_000 };
    const jump = await source.snapshot(['BTC']);
    other.behaviour = { BTC: 600_100 };
    const confirmed = await source.snapshot(['BTC']);

    // Assess
    expect(jump.held.get('BTC')?.cause).toBe('unconfirmed-jump');
    expect(confirmed.marks.get('BTC')?.price).toBe(600_050);
  });

  it('starts from the marks it is given: the first look already checks the jump', async () => {
    // Prepare
    const clock = new FixedClock(NOW);
    const source = new LiveMarkSource({
      venues: [new FakeVenue('a', { BTC: 90_000 }, clock), new FakeVenue('b', { BTC: 'hang' }, clock)],
      policyFor: () => ({ ...DEFAULT_MARK_CONSENSUS_POLICY, quorum: 1 }),
      clock,
      deadlineMs: 50,
      previous: [{ instrument: 'BTC', price: 60_000, at: NOW - 60_000, source: 'live', venues: ['a', 'b'] }],
    });

    // Act
    const snapshot = await source.snapshot(['BTC']);

    // Assess
    expect(snapshot.held.get('BTC')?.cause).toBe('unconfirmed-jump');
  });

  it.each([
    ['NaN', Number.NaN],
    ['a negative price', -1],
  ])('%s from a venue is refused and never becomes the mark', async (_name, price) => {
    // Prepare
    const { source } = setup({ a: { BTC: 60_000 }, b: { BTC: price } });

    // Act
    const look = await source.look(['BTC']);

    // Assess
    expect(look.snapshot.marks.has('BTC')).toBe(false);
    expect(look.consensus.get('BTC')?.excluded).toEqual([
      expect.objectContaining({ venue: 'b', kind: 'invalid' }),
    ]);
  });

  it('an error no venue is expected to raise (a bug) fails the look instead of passing for a venue down', async () => {
    // Prepare
    const bug = new TypeError('cannot read properties of undefined');
    const { source } = setup({ a: { BTC: 60_000 }, b: { BTC: bug } });

    // Act / Assess
    await expect(source.snapshot(['BTC'])).rejects.toBe(bug);
  });

  it('a look failed by a bug aborts the requests still running, so no venue works on for nothing', async () => {
    // Prepare
    let seen: AbortSignal | undefined;
    const slow = (signal?: AbortSignal) => {
      seen = signal;
      return new Promise<never>(() => {});
    };
    const { source } = setup(
      { slow: { BTC: slow }, buggy: { BTC: new TypeError('bug') } },
      { deadlineMs: 10_000 },
    );

    // Act
    await expect(source.snapshot(['BTC'])).rejects.toThrow('bug');

    // Assess
    expect(seen?.aborted).toBe(true);
  });

  it('the caller’s abort ends the look with its reason', async () => {
    // Prepare
    const { source } = setup({ a: { BTC: 'hang' }, b: { BTC: 60_000 } }, { deadlineMs: 10_000 });
    const controller = new AbortController();
    const reason = new Error('sweep cancelled');

    // Act
    const look = source.snapshot(['BTC'], controller.signal);
    controller.abort(reason);

    // Assess
    await expect(look).rejects.toBe(reason);
  });

  it('refuses no venues and two venues with one name', () => {
    const clock = new FixedClock(NOW);
    const policyFor = () => DEFAULT_MARK_CONSENSUS_POLICY;
    expect(() => new LiveMarkSource({ venues: [], policyFor, clock })).toThrow(/at least one venue/);
    const twice = [new FakeVenue('a', {}, clock), new FakeVenue('a', {}, clock)];
    expect(() => new LiveMarkSource({ venues: twice, policyFor, clock })).toThrow(/distinct names/);
  });
});
