import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../lib/domain/errors.ts';
import {
  formatMarginPeriodOfRisk,
  parseMarginPeriodOfRisk,
  subDayMporHours,
} from '../../../lib/domain/threshold/mpor.ts';
import {
  DEFAULT_THRESHOLD_POLICY,
  parseThresholdPolicy,
  policyHash,
} from '../../../lib/domain/threshold/policy.ts';
import { parsePolicyBook } from '../../../lib/domain/threshold/policy-book.ts';

function policyError(input: unknown): PolicyError {
  try {
    parseThresholdPolicy(input);
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    return error as PolicyError;
  }
  throw new Error(`expected a PolicyError for ${JSON.stringify(input)}`);
}

describe('the margin period of risk as a duration', () => {
  it.each([
    ['1h', 1 / 24],
    ['2h', 2 / 24],
    ['4h', 4 / 24],
    ['23h', 23 / 24],
    ['1d', 1],
    ['2d', 2],
    ['48h', 2],
    ['10d', 10],
    ['4H', 4 / 24],
  ])('reads %s as %f days', (text, days) => {
    expect(parseMarginPeriodOfRisk(text)).toEqual({ days });
  });

  it.each([
    ['0h', /zero/],
    ['25h', /under a day or make whole days/],
    ['11d', /longer than 10 days/],
    ['1.5h', /not a duration/],
    ['1w', /not a duration/],
    ['', /not a duration/],
    [4, /must be a duration/],
  ])('refuses %s', (text, reason) => {
    const parsed = parseMarginPeriodOfRisk(text);
    expect('reason' in parsed && parsed.reason).toMatch(reason);
  });

  it('writes days and hours as the risk team does', () => {
    expect(formatMarginPeriodOfRisk(4 / 24)).toBe('4h');
    expect(formatMarginPeriodOfRisk(2)).toBe('2d');
    expect(subDayMporHours(1 / 24)).toBe(1);
    expect(subDayMporHours(1)).toBeUndefined();
  });
});

describe('marginPeriodOfRisk in the policy', () => {
  it('keeps a daily policy the same document and hash whichever way the MPOR is written', () => {
    const written = parseThresholdPolicy({ marginPeriodOfRisk: '1d' });
    expect(written).toEqual(DEFAULT_THRESHOLD_POLICY);
    expect(policyHash(written)).toBe(policyHash(DEFAULT_THRESHOLD_POLICY));
    expect(parseThresholdPolicy({ marginPeriodOfRisk: '2d' })).toEqual(
      parseThresholdPolicy({ marginPeriodOfRiskDays: 2 }),
    );
  });

  it('stores a sub-day MPOR as whole hours of a day, and the stored policy parses again to itself', () => {
    const policy = parseThresholdPolicy({ marginPeriodOfRisk: '4h' });
    expect(policy.marginPeriodOfRiskDays).toBeCloseTo(4 / 24, 15);
    expect('marginPeriodOfRisk' in policy).toBe(false);
    expect(parseThresholdPolicy(JSON.parse(JSON.stringify(policy)))).toEqual(policy);
  });

  it('accepts both spellings when they agree', () => {
    expect(
      parseThresholdPolicy({ marginPeriodOfRisk: '2d', marginPeriodOfRiskDays: 2 }).marginPeriodOfRiskDays,
    ).toBe(2);
  });

  it('refuses both spellings disagreeing, naming the path', () => {
    const error = policyError({ marginPeriodOfRisk: '4h', marginPeriodOfRiskDays: 1 });
    expect(error.path).toBe('policy.marginPeriodOfRisk');
    expect(error.message).toMatch(/"4h" disagrees with marginPeriodOfRiskDays 1/);
  });

  it('refuses a bad duration, naming the path', () => {
    const error = policyError({ marginPeriodOfRisk: '90m' });
    expect(error.path).toBe('policy.marginPeriodOfRisk');
    expect(error.message).toMatch(/"90m" is not a duration/);
  });

  it('still refuses fractional days that are not whole hours under a day', () => {
    expect(policyError({ marginPeriodOfRiskDays: 0.3 }).path).toBe('policy.marginPeriodOfRiskDays');
  });

  it('lets an instrument of a book override the default MPOR in the other spelling', () => {
    const book = parsePolicyBook({
      default: { marginPeriodOfRiskDays: 2 },
      instruments: { ETH: { marginPeriodOfRisk: '4h' } },
    });
    expect(book.policyFor('ETH').marginPeriodOfRiskDays).toBeCloseTo(4 / 24, 15);
    expect(book.policyFor('BTC').marginPeriodOfRiskDays).toBe(2);
  });
});
