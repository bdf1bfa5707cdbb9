/**
 * Properties of the consensus mark (fast-check, seeded: every counterexample replays). A published mark lies
 * inside the prices of the venues behind it and every one of them agrees with it; one venue, however wrong,
 * cannot move the mark outside what the honest venues print; venue order never matters.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InstrumentMark, VenueMark } from '../../../lib/domain/market/mark.ts';
import {
  DEFAULT_MARK_CONSENSUS_POLICY,
  type MarkConsensusPolicy,
  markConsensus,
  median,
} from '../../../lib/domain/market/mark-consensus.ts';

const NOW = Date.UTC(2026, 11, 3, 14, 0, 0);
const RUNS = { numRuns: 300, seed: 20_261_203 } as const;

const policyArb: fc.Arbitrary<MarkConsensusPolicy> = fc.record({
  quorum: fc.integer({ min: 1, max: 4 }),
  maxDeviation: fc.double({ min: 0.001, max: 0.05, noNaN: true }),
  maxAgeSeconds: fc.integer({ min: 5, max: 120 }),
  jumpLimit: fc.double({ min: 0.02, max: 0.5, noNaN: true }),
});

/** A venue's answer: mostly near 100, sometimes wild, stale, future-dated or not a price. */
const answerArb = (name: string): fc.Arbitrary<VenueMark> =>
  fc.record({
    venue: fc.constant(name),
    instrument: fc.constant('BTC'),
    price: fc.oneof(
      { weight: 6, arbitrary: fc.double({ min: 98, max: 102, noNaN: true }) },
      { weight: 2, arbitrary: fc.double({ min: 1e-6, max: 1e6, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, -1, 0, Number.POSITIVE_INFINITY) },
    ),
    at: fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: NOW - 20_000, max: NOW }) },
      { weight: 1, arbitrary: fc.integer({ min: NOW - 600_000, max: NOW + 600_000 }) },
    ),
  });

const answersArb = fc
  .integer({ min: 0, max: 7 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => answerArb(`venue-${i}`))));

const previousArb: fc.Arbitrary<InstrumentMark | undefined> = fc.option(
  fc.double({ min: 50, max: 200, noNaN: true }).map((price) => ({
    instrument: 'BTC',
    price,
    at: NOW - 60_000,
    source: 'live' as const,
    venues: [],
  })),
  { nil: undefined },
);

describe('markConsensus: properties', () => {
  it('a mark lies within the prices of the venues behind it, each fresh and within maxDeviation of it', () => {
    fc.assert(
      fc.property(answersArb, previousArb, policyArb, (answers, previous, policy) => {
        // Act
        const result = markConsensus({ instrument: 'BTC', answers, previous, now: NOW, policy });

        // Assess
        if (result.status === 'held') return;
        const { mark } = result;
        const behind = answers.filter((a) => mark.venues.includes(a.venue));
        const prices = behind.map((a) => a.price);
        expect(behind.length).toBeGreaterThanOrEqual(policy.quorum);
        expect(mark.price).toBeGreaterThanOrEqual(Math.min(...prices));
        expect(mark.price).toBeLessThanOrEqual(Math.max(...prices));
        expect(mark.price).toBe(median(prices));
        expect(mark.at).toBe(Math.min(...behind.map((a) => a.at)));
        for (const answer of behind) {
          expect(Math.abs(NOW - answer.at)).toBeLessThanOrEqual(policy.maxAgeSeconds * 1000);
          expect(Math.abs(answer.price - mark.price)).toBeLessThanOrEqual(
            policy.maxDeviation * mark.price * (1 + 1e-9),
          );
        }
        // A jump beyond the limit is published only when the venues confirm it.
        if (previous && Math.abs(mark.price - previous.price) > policy.jumpLimit * previous.price) {
          expect(behind.length).toBeGreaterThanOrEqual(Math.max(policy.quorum, 2));
        }
      }),
      RUNS,
    );
  });

  it('one rogue venue at any price never moves the mark outside the honest venues’ range (quorum 2, ≥ 3 venues)', () => {
    const honestArb = fc.integer({ min: 2, max: 6 }).chain((n) =>
      fc.array(fc.double({ min: 0, max: 0.999 * DEFAULT_MARK_CONSENSUS_POLICY.maxDeviation, noNaN: true }), {
        minLength: n,
        maxLength: n,
      }),
    );
    fc.assert(
      fc.property(
        fc.double({ min: 1, max: 100_000, noNaN: true }),
        honestArb,
        fc.double({ min: 1e-9, max: 1e9, noNaN: true }),
        fc.integer({ min: 0, max: 6 }),
        (base, spreads, rogue, position) => {
          // Prepare: honest venues within maxDeviation of each other, the rogue anywhere among them
          const honest = spreads.map((u, i) => ({
            venue: `honest-${i}`,
            instrument: 'BTC',
            price: base * (1 + u),
            at: NOW - 1_000,
          }));
          const answers = [...honest];
          answers.splice(position % (honest.length + 1), 0, {
            venue: 'rogue',
            instrument: 'BTC',
            price: rogue,
            at: NOW - 1_000,
          });
          const honestPrices = honest.map((h) => h.price);
          const before = median(honestPrices);
          const previous: InstrumentMark = {
            instrument: 'BTC',
            price: before,
            at: NOW - 60_000,
            source: 'live',
            venues: [],
          };

          // Act
          const result = markConsensus({
            instrument: 'BTC',
            answers,
            previous,
            now: NOW,
            policy: DEFAULT_MARK_CONSENSUS_POLICY,
          });

          // Assess
          expect(result.status).toBe('marked');
          if (result.status !== 'marked') return;
          expect(result.mark.price).toBeGreaterThanOrEqual(Math.min(...honestPrices));
          expect(result.mark.price).toBeLessThanOrEqual(Math.max(...honestPrices));
          expect(Math.abs(result.mark.price - before)).toBeLessThanOrEqual(
            DEFAULT_MARK_CONSENSUS_POLICY.maxDeviation * before,
          );
        },
      ),
      RUNS,
    );
  });

  it('a move every venue prints is applied, however large (a real crash produces margin calls)', () => {
    fc.assert(
      fc.property(
        fc.double({ min: -0.95, max: 3, noNaN: true }),
        fc.array(
          fc.double({ min: 0, max: 0.999 * DEFAULT_MARK_CONSENSUS_POLICY.maxDeviation, noNaN: true }),
          {
            minLength: 2,
            maxLength: 6,
          },
        ),
        (move, spreads) => {
          // Prepare
          const previous: InstrumentMark = {
            instrument: 'BTC',
            price: 60_000,
            at: NOW - 60_000,
            source: 'live',
            venues: [],
          };
          const answers = spreads.map((u, i) => ({
            venue: `venue-${i}`,
            instrument: 'BTC',
            price: 60_000 * (1 + move) * (1 + u),
            at: NOW - 2_000,
          }));

          // Act
          const result = markConsensus({
            instrument: 'BTC',
            answers,
            previous,
            now: NOW,
            policy: DEFAULT_MARK_CONSENSUS_POLICY,
          });

          // Assess
          expect(result.status).toBe('marked');
          if (result.status !== 'marked') return;
          expect(result.mark.venues).toHaveLength(answers.length);
          expect(result.mark.price).toBe(median(answers.map((a) => a.price)));
        },
      ),
      RUNS,
    );
  });

  it('the order the venues answer in never changes the result', () => {
    const withOrder = answersArb.chain((answers) =>
      fc.tuple(fc.constant(answers), fc.shuffledSubarray(answers, { minLength: answers.length })),
    );
    fc.assert(
      fc.property(withOrder, previousArb, policyArb, ([answers, shuffled], previous, policy) => {
        // Act
        const a = markConsensus({ instrument: 'BTC', answers, previous, now: NOW, policy });
        const b = markConsensus({ instrument: 'BTC', answers: shuffled, previous, now: NOW, policy });

        // Assess
        expect(b).toEqual(a);
      }),
      RUNS,
    );
  });
});
