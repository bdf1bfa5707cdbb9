import { describe, expect, it } from 'vitest';
import { notionalBrackets } from '../../../lib/domain/threshold/model.ts';
import {
  DEFAULT_THRESHOLD_POLICY,
  parseThresholdPolicy,
  type ThresholdPolicy,
} from '../../../lib/domain/threshold/policy.ts';
import type { NotionalBracket } from '../../../lib/domain/threshold/threshold.ts';
import { expectClose } from '../math/tolerance.ts';

// The threshold model on the real price files: test/data/domain/threshold/model.test.ts.

describe('notionalBrackets: Binance BTCUSDT (margin-methods §3.2)', () => {
  // Base MM 0.4%, IM = 2 × MM. Caps in USDT; the last bracket (300M–500M on Binance) is open here.
  const caps = [50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6, null];
  const multipliers = [1, 1.25, 2.5, 6.25, 12.5, 25, 31.25, 37.5, 62.5, 125];
  const binance = caps.map((notionalCap, i) => ({ notionalCap, multiplier: multipliers[i] as number }));
  // The schema refuses multiplier 125 (see the failing test below), so this policy is built directly:
  // notionalBrackets reads only `brackets`.
  const binancePolicy: ThresholdPolicy = { ...DEFAULT_THRESHOLD_POLICY, brackets: binance };

  /** Binance: MM = notional × MMR − cum in the bracket floor < notional ≤ cap. */
  function maintenanceMargin(brackets: readonly NotionalBracket[], notional: number): number {
    const bracket = brackets.find((b) => b.notionalCap === null || notional <= b.notionalCap);
    if (!bracket) throw new Error(`no bracket for ${notional}`);
    return notional * bracket.maintenanceMarginRate - bracket.cum;
  }

  /** The same MM as a marginal (tax-bracket) sum: each slice of notional at its own bracket's MMR. */
  function marginalSum(brackets: readonly NotionalBracket[], notional: number): number {
    return brackets.reduce((sum, b) => {
      const top = Math.min(notional, b.notionalCap ?? Number.POSITIVE_INFINITY);
      return sum + Math.max(0, top - b.notionalFloor) * b.maintenanceMarginRate;
    }, 0);
  }

  it('reproduces the published MMR and IMR columns and the computed cum column', () => {
    // Act
    const brackets = notionalBrackets(binancePolicy, 0.008, 0.004);

    // Assess: rates to 1e-15 absolute, cum to 1e-6 USDT (binary fractions of 0.004 × multiplier)
    const mmr = [0.004, 0.005, 0.01, 0.025, 0.05, 0.1, 0.125, 0.15, 0.25, 0.5];
    const cum = [0, 50, 1_300, 16_300, 266_300, 1_266_300, 2_516_300, 5_016_300, 25_016_300, 100_016_300];
    expect(brackets).toHaveLength(10);
    brackets.forEach((b, i) => {
      expectClose(b.maintenanceMarginRate, mmr[i] as number, { abs: 1e-15 });
      expectClose(b.initialMarginRate, 2 * (mmr[i] as number), { abs: 1e-15 });
      expectClose(b.cum, cum[i] as number, { abs: 1e-6 });
      expect(b.notionalFloor).toBe(i === 0 ? 0 : caps[i - 1]);
      expect(b.notionalCap).toBe(caps[i]);
    });
  });

  it.each([
    [40_000, 160],
    [100_000, 450],
    [500_000, 3_700],
    [5_000_000, 108_700],
  ])('MM at %s USDT is %s (bracket formula = marginal sum)', (notional, expected) => {
    // Prepare
    const brackets = notionalBrackets(binancePolicy, 0.008, 0.004);

    // Act
    const mm = maintenanceMargin(brackets, notional);

    // Assess: 1e-6 USDT
    expectClose(mm, expected, { abs: 1e-6 });
    expectClose(marginalSum(brackets, notional), expected, { abs: 1e-6 });
  });

  it('keeps MM continuous at every cap and caps the rates at 100%', () => {
    // Prepare: base rates so high that the top brackets hit 100%
    const brackets = notionalBrackets(binancePolicy, 0.05, 0.03);

    // Assess: left and right limits of MM at each cap agree to 1e-6 (relative to the notional)
    brackets.slice(0, -1).forEach((b, i) => {
      const next = brackets[i + 1] as NotionalBracket;
      const cap = b.notionalCap as number;
      expectClose(cap * b.maintenanceMarginRate - b.cum, cap * next.maintenanceMarginRate - next.cum, {
        rel: 1e-12,
      });
    });
    for (const b of brackets) {
      expect(b.initialMarginRate).toBeLessThanOrEqual(1);
      expect(b.maintenanceMarginRate).toBeLessThanOrEqual(b.initialMarginRate);
    }
    expect(brackets.at(-1)?.initialMarginRate).toBe(1);
  });

  // Regression guard (was a bug in policy.ts bracketSchema: `multiplier: z.number().min(1).max(100)`): Binance's own BTCUSDT
  // ladder runs from 0.4% to 50% MMR, a ratio of 125, so the policy cannot express the reference venue.
  // Rates are capped at 100% anyway; the multiplier needs no upper bound below 1 / (smallest base rate).
  it('accepts the Binance ladder as a policy', () => {
    // Act
    const parsed = parseThresholdPolicy({ brackets: binance });

    // Assess
    expect(parsed.brackets).toEqual(binance);
  });
});
