import { describe, expect, it } from 'vitest';
import {
  checkedVenueMark,
  MAX_VENUE_CLOCK_AHEAD_MS,
} from '../../../../lib/adapters/market/marks/venue-mark.ts';
import { MarketSourceError } from '../../../../lib/domain/errors.ts';
import { NOW } from './bodies.ts';

const mark = { venue: 'coinbase', instrument: 'ETH', price: 3_500, at: NOW - 1_000 };

describe('checkedVenueMark', () => {
  it('passes a positive price at a ms time up to the allowed clock lead', () => {
    expect(checkedVenueMark(mark, NOW)).toBe(mark);
    const ahead = { ...mark, at: NOW + MAX_VENUE_CLOCK_AHEAD_MS };
    expect(checkedVenueMark(ahead, NOW)).toBe(ahead);
  });

  it.each([
    ['a price of zero', { price: 0 }, /price 0 is not a positive number/],
    ['a NaN price', { price: Number.NaN }, /price NaN is not a positive number/],
    ['an infinite price', { price: Number.POSITIVE_INFINITY }, /price Infinity is not a positive number/],
    ['no time', { at: Number.NaN }, /price time NaN is not a time in ms/],
    ['a time in seconds', { at: Math.floor(NOW / 1_000) }, /is before 2010: seconds read as ms/],
    ['a time in µs', { at: NOW * 1_000 }, /s ahead of the clock/],
    ['a time two minutes ahead', { at: NOW + 120_000 }, /120 s ahead of the clock/],
  ])('refuses %s, naming venue and instrument', (_name, patch, message) => {
    const error = (() => {
      try {
        checkedVenueMark({ ...mark, ...patch }, NOW);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(MarketSourceError);
    expect(error).toMatchObject({ venue: 'coinbase', instrument: 'ETH' });
    expect((error as Error).message).toMatch(/^coinbase ETH: /);
    expect((error as Error).message).toMatch(message);
  });
});
