/**
 * Issue 13, "Marks": the consensus mark per instrument. A bad mark never moves a verdict (no quorum, a stale
 * venue, a jump the venues do not agree on: held, with the reason), and a move the venues agree on is
 * applied however large.
 */
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../lib/domain/errors.ts';
import type { InstrumentMark, VenueMark } from '../../../lib/domain/market/mark.ts';
import {
  DEFAULT_MARK_CONSENSUS_POLICY,
  type MarkConsensus,
  type MarkConsensusInput,
  markConsensus,
  median,
} from '../../../lib/domain/market/mark-consensus.ts';
import { DEFAULT_THRESHOLD_POLICY, parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import { parsePolicyBook } from '../../../lib/domain/threshold/policy-book.ts';

const NOW = Date.UTC(2026, 11, 3, 14, 0, 0);
const policy = DEFAULT_MARK_CONSENSUS_POLICY;

/** `venue`'s BTC price, `ageMs` before NOW. */
function venue(name: string, price: number, ageMs = 1_000): VenueMark {
  return { venue: name, instrument: 'BTC', price, at: NOW - ageMs };
}

function previousMark(price: number): InstrumentMark {
  return { instrument: 'BTC', price, at: NOW - 60_000, source: 'live', venues: ['a', 'b', 'c'] };
}

function consensus(input: Partial<MarkConsensusInput> & Pick<MarkConsensusInput, 'answers'>): MarkConsensus {
  return markConsensus({ instrument: 'BTC', now: NOW, policy, ...input });
}

function marked(result: MarkConsensus): InstrumentMark {
  if (result.status !== 'marked') throw new Error(`expected a mark, held: ${result.held.reason}`);
  return result.mark;
}

function held(result: MarkConsensus) {
  if (result.status !== 'held') throw new Error(`expected held, marked at ${result.mark.price}`);
  return result.held;
}

describe('markConsensus', () => {
  it('one venue wildly off is excluded and the mark is the median of the others', () => {
    // Act
    const result = consensus({
      answers: [venue('deribit', 60_010), venue('binance', 60_000), venue('kraken', 6_000)],
      previous: previousMark(60_000),
    });

    // Assess
    const mark = marked(result);
    expect(mark.price).toBe(60_005);
    expect(mark.venues).toEqual(['binance', 'deribit']);
    expect(mark.source).toBe('live');
    expect(result.excluded).toEqual([
      expect.objectContaining({ venue: 'kraken', kind: 'deviation', price: 6_000 }),
    ]);
    expect(result.excluded[0]?.reason).toMatch(/−90% off the median/);
  });

  it('every venue down: held, the reason naming each venue and why', () => {
    // Act
    const result = consensus({
      answers: [],
      failures: [
        { venue: 'deribit', reason: 'HTTP 503 after 3 attempts' },
        { venue: 'binance', reason: 'no answer within 5000 ms' },
      ],
      previous: previousMark(60_000),
    });

    // Assess
    const entry = held(result);
    expect(entry).toMatchObject({ instrument: 'BTC', cause: 'no-quorum' });
    expect(entry.reason).toContain('no venue answered');
    expect(entry.reason).toContain('binance: no answer within 5000 ms');
    expect(entry.reason).toContain('deribit: HTTP 503 after 3 attempts');
  });

  it('a stale venue is dropped and the quorum of the fresh ones still makes the mark', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 100), venue('b', 100.2), venue('c', 90, 31_000)],
    });

    // Assess
    expect(marked(result)).toMatchObject({ price: 100.1, venues: ['a', 'b'] });
    expect(result.excluded).toEqual([expect.objectContaining({ venue: 'c', kind: 'stale' })]);
    expect(result.excluded[0]?.reason).toBe('stale: 31 s old (max 30 s)');
  });

  it('a stale venue that leaves too few fresh ones: held as stale', () => {
    // Act
    const result = consensus({ answers: [venue('a', 100), venue('b', 100.2, 45_000)] });

    // Assess
    const entry = held(result);
    expect(entry.cause).toBe('stale');
    expect(entry.reason).toMatch(/^stale: 1 fresh venue price\(s\), 2 needed \(b: stale: 45 s old/);
  });

  it('a price dated in the future (a wrong clock) is dropped', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 100), venue('b', 100.2), venue('c', 100.1, -3_600_000)],
    });

    // Assess
    expect(marked(result).venues).toEqual(['a', 'b']);
    expect(result.excluded).toEqual([expect.objectContaining({ venue: 'c', kind: 'future' })]);
  });

  it('a jump on one venue only never moves the mark: that venue is excluded', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 100), venue('b', 100.1), venue('c', 150)],
      previous: previousMark(100),
    });

    // Assess
    expect(marked(result)).toMatchObject({ price: 100.05, venues: ['a', 'b'] });
  });

  it('a jump on one of two venues: neither can be trusted, held', () => {
    // Act
    const result = consensus({ answers: [venue('a', 100), venue('b', 150)], previous: previousMark(100) });

    // Assess
    expect(held(result).cause).toBe('no-quorum');
  });

  it('a jump from a single venue is held even when the policy asks a quorum of one', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 150)],
      failures: [{ venue: 'b', reason: 'timeout' }],
      previous: previousMark(100),
      policy: { ...policy, quorum: 1 },
    });

    // Assess
    const entry = held(result);
    expect(entry.cause).toBe('unconfirmed-jump');
    expect(entry.reason).toMatch(/^unconfirmed jump: \+50% since the last accepted mark 100 /);
    expect(entry.reason).toContain('beyond the 10% limit');
    expect(entry.reason).toContain('a jump needs 2 and more than half');
  });

  it('a quorum of one still marks a small move from a single venue', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 105)],
      previous: previousMark(100),
      policy: { ...policy, quorum: 1 },
    });

    // Assess
    expect(marked(result).price).toBe(105);
  });

  it('a jump two venues agree on but two of four fresh venues do not: held (not a majority)', () => {
    // Act: trimming keeps 140 and 140.1 (100 and 180 are far off), 2 of 4 fresh venues
    const answers = [venue('a', 140), venue('b', 140.1), venue('c', 100), venue('d', 180)];
    const result = consensus({ answers, previous: previousMark(100) });

    // Assess
    expect(held(result).cause).toBe('unconfirmed-jump');
    expect(held(result).reason).toContain('only 2 of 4 fresh venue(s) agree');
    // The same venues with no previous mark are no jump: the quorum alone decides.
    expect(marked(consensus({ answers })).price).toBe(140.05);
  });

  it('a 40% crash every venue prints is applied, however large', () => {
    // Act
    const result = consensus({
      answers: [
        venue('deribit', 36_000),
        venue('binance', 36_020),
        venue('coinbase', 35_990),
        venue('kraken', 36_010),
      ],
      previous: previousMark(60_000),
    });

    // Assess
    expect(marked(result)).toMatchObject({
      price: 36_005,
      venues: ['binance', 'coinbase', 'deribit', 'kraken'],
    });
  });

  it('a crash two of three venues print, the third frozen at the old price: applied', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 60), venue('b', 60.2), venue('c', 100)],
      previous: previousMark(100),
    });

    // Assess
    expect(marked(result)).toMatchObject({ price: 60.1, venues: ['a', 'b'] });
  });

  it('no previous mark (the first look): marked on quorum and deviation alone', () => {
    // Act
    const result = consensus({ answers: [venue('a', 91_000), venue('b', 91_100)] });

    // Assess
    expect(marked(result).price).toBe(91_050);
  });

  it('quorum not met: held, naming how many agree and how many are needed', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 100)],
      failures: [{ venue: 'b', reason: 'HTTP 429' }],
      previous: previousMark(100),
    });

    // Assess
    const entry = held(result);
    expect(entry.cause).toBe('no-quorum');
    expect(entry.reason).toBe(
      'no quorum: 1 venue(s) agree within 1% of their median, 2 needed (b: HTTP 429)',
    );
  });

  it.each([
    ['NaN', Number.NaN],
    ['a negative price', -60_000],
    ['zero', 0],
    ['Infinity', Number.POSITIVE_INFINITY],
  ])('%s is refused with the venue and the value, and never counts towards the quorum', (_name, price) => {
    // Act
    const result = consensus({ answers: [venue('a', 100), venue('b', price)] });

    // Assess
    expect(held(result).cause).toBe('no-quorum');
    expect(result.excluded).toEqual([
      expect.objectContaining({
        venue: 'b',
        kind: 'invalid',
        reason: `price must be a positive number, got ${price}`,
      }),
    ]);
  });

  it('refuses a price without a time, one filed under another instrument, and a venue answering twice', () => {
    // Act
    const result = consensus({
      answers: [
        venue('a', 100),
        venue('b', 100.1),
        { ...venue('c', 100), at: Number.NaN },
        { ...venue('d', 100), instrument: 'ETH' },
        venue('e', 100),
        venue('e', 100.1),
      ],
    });

    // Assess
    expect(marked(result).venues).toEqual(['a', 'b']);
    expect(result.excluded.map((e) => [e.venue, e.reason])).toEqual([
      ['c', 'time must be a time, got NaN'],
      ['d', 'a price filed under ETH, asked for BTC'],
      ['e', 'answered 2 times for one look'],
    ]);
  });

  it('an even number of venues: the mean of the middle two', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 100.6), venue('b', 100), venue('c', 100.4), venue('d', 100.2)],
    });

    // Assess
    expect(marked(result).price).toBeCloseTo(100.3, 10);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('is timed at the oldest time of the venues kept, not of those excluded', () => {
    // Act
    const result = consensus({
      answers: [venue('a', 100, 2_000), venue('b', 100.1, 9_000), venue('c', 200, 20_000)],
    });

    // Assess
    expect(marked(result).at).toBe(NOW - 9_000);
  });

  it('keeps a venue exactly maxDeviation from the median and excludes one just beyond it', () => {
    // Act
    const atLimit = consensus({ answers: [venue('a', 100), venue('b', 100), venue('c', 101)] });
    const beyond = consensus({ answers: [venue('a', 100), venue('b', 100), venue('c', 101.0001)] });

    // Assess
    expect(marked(atLimit).venues).toEqual(['a', 'b', 'c']);
    expect(marked(beyond).venues).toEqual(['a', 'b']);
  });

  it('a jump exactly at the limit is not a jump; a unconfirmed one just beyond it is held', () => {
    // Act: quorum 1, a single venue (a jump would need two)
    const single = { ...policy, quorum: 1 };
    const atLimit = consensus({ answers: [venue('a', 110)], previous: previousMark(100), policy: single });
    const beyond = consensus({ answers: [venue('a', 110.01)], previous: previousMark(100), policy: single });

    // Assess
    expect(marked(atLimit).price).toBe(110);
    expect(held(beyond).cause).toBe('unconfirmed-jump');
  });
});

describe('the policy’s marks section', () => {
  it('defaults to quorum 2, 1% deviation, 30 s age and a 10% jump limit', () => {
    expect(DEFAULT_THRESHOLD_POLICY.marks).toEqual({
      quorum: 2,
      maxDeviation: 0.01,
      maxAgeSeconds: 30,
      jumpLimit: 0.1,
    });
    expect(DEFAULT_MARK_CONSENSUS_POLICY).toEqual(DEFAULT_THRESHOLD_POLICY.marks);
  });

  it('is overridden per instrument in a book, field by field over the default', () => {
    // Act
    const book = parsePolicyBook({
      default: { marks: { quorum: 3 } },
      instruments: { SOL: { marks: { maxDeviation: 0.02 } } },
    });

    // Assess
    expect(book.policyFor('SOL').marks).toEqual({
      ...DEFAULT_MARK_CONSENSUS_POLICY,
      quorum: 3,
      maxDeviation: 0.02,
    });
    expect(book.policyFor('BTC').marks).toEqual({ ...DEFAULT_MARK_CONSENSUS_POLICY, quorum: 3 });
  });

  it.each([
    ['a quorum of 0', { marks: { quorum: 0 } }, 'policy.marks.quorum'],
    ['a fractional quorum', { marks: { quorum: 1.5 } }, 'policy.marks.quorum'],
    ['a deviation of 0', { marks: { maxDeviation: 0 } }, 'policy.marks.maxDeviation'],
    ['a deviation of 60%', { marks: { maxDeviation: 0.6 } }, 'policy.marks.maxDeviation'],
    ['a negative age', { marks: { maxAgeSeconds: -1 } }, 'policy.marks.maxAgeSeconds'],
    ['a jump limit of 0', { marks: { jumpLimit: 0 } }, 'policy.marks.jumpLimit'],
    ['a jump limit as text', { marks: { jumpLimit: '10%' } }, 'policy.marks.jumpLimit'],
    ['a misspelt rule', { marks: { quorom: 3 } }, 'policy.marks.quorom'],
  ])('refuses %s (%j), naming %s', (_name, input, path) => {
    // Act
    let error: unknown;
    try {
      parseThresholdPolicy(input);
    } catch (thrown) {
      error = thrown;
    }

    // Assess
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).path).toBe(path);
    expect((error as PolicyError).message).toContain(path);
  });

  it('names the instrument of a bad override in a book', () => {
    expect(() => parsePolicyBook({ instruments: { SOL: { marks: { quorum: 0 } } } }, 'book.json')).toThrow(
      /book\.json:instruments\.SOL\.marks\.quorum/,
    );
  });
});
