import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import { notionalBrackets, recalibrate } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { NotionalBracket, Threshold } from '../../../lib/domain/threshold/threshold.ts';
import { scaleReturns, withRate } from './fixtures.ts';

/**
 * Properties of the threshold model on synthetic GARCH/Student-t candles (`generateCandles`, seeded, so every
 * counterexample fast-check prints can be replayed). The series end on 2023-07-31, so the longer ones contain
 * the default policy's 2021–2022 stress scenarios and the stress floor takes part.
 */
const END = Date.UTC(2023, 7, 1);
const policy = DEFAULT_THRESHOLD_POLICY;

const market = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  days: fc.integer({ min: 60, max: 900 }),
  annualVolatility: fc.double({ min: 0.1, max: 2.5, noNaN: true }),
});

function synthetic({
  seed,
  days,
  annualVolatility,
}: {
  seed: number;
  days: number;
  annualVolatility: number;
}) {
  return generateCandles({
    instrument: 'SYN',
    days,
    endTime: END,
    startPrice: 20_000,
    seed,
    annualVolatility,
  });
}

// 40 runs of up to two recalibrations each (a GARCH fit each); ≈ 1 s.
const RUNS = { numRuns: 40, seed: 20_260_731 } as const;

describe('recalibrate: properties', () => {
  it('never lowers the initial margin rate when every return is scaled up (no previous threshold)', () => {
    fc.assert(
      fc.property(market, fc.double({ min: 1.01, max: 4, noNaN: true }), (m, k) => {
        // Prepare
        const calm = synthetic(m);
        const wild = scaleReturns(calm, k);

        // Act
        const a = recalibrate(policy, calm);
        const b = recalibrate(policy, wild);

        // Assess
        expect(b.initialMarginRate).toBeGreaterThanOrEqual(a.initialMarginRate);
        if (a.status === 'computed' && b.status === 'computed') {
          // σ scales by k exactly (up to rounding), the FHS multiplier is scale-free
          expect(b.components.effectiveVolatility).toBeGreaterThan(
            a.components.effectiveVolatility as number,
          );
          expect(
            Math.abs((b.components.riskMultiplier as number) / (a.components.riskMultiplier as number) - 1),
          ).toBeLessThan(1e-9);
          expect(b.components.modelRate).toBeGreaterThan(a.components.modelRate);
        }
      }),
      RUNS,
    );
  });

  it('keeps every rate in (0, 1] and the levels in order, with or without a previous threshold', () => {
    fc.assert(
      fc.property(market, fc.option(fc.double({ min: 0.001, max: 1, noNaN: true })), (m, previousRate) => {
        // Prepare: a previous threshold at an arbitrary rate
        const candles = synthetic(m);
        const base = recalibrate(policy, { ...candles, candles: candles.candles.slice(0, -1) });
        const previous: Threshold | undefined =
          previousRate === null ? undefined : withRate(base, previousRate);

        // Act
        const t = recalibrate(policy, candles, previous);

        // Assess
        const rates = [
          t.initialMarginRate,
          t.maintenanceMarginRate,
          t.warningMarginRate,
          t.liquidationMarginRate,
        ];
        for (const rate of rates) {
          expect(rate).toBeGreaterThan(0);
          expect(Number.isFinite(rate)).toBe(true);
        }
        expect(t.initialMarginRate).toBeLessThanOrEqual(1);
        expect(t.maintenanceMarginRate).toBeLessThan(t.initialMarginRate);
        expect(t.warningMarginRate).toBeGreaterThan(t.maintenanceMarginRate);
        expect(t.maintenanceMarginRate).toBeGreaterThan(t.liquidationMarginRate);
        for (const bracket of t.brackets) {
          expect(bracket.initialMarginRate).toBeLessThanOrEqual(1);
          expect(bracket.maintenanceMarginRate).toBeLessThanOrEqual(bracket.initialMarginRate);
        }
        // Step limits: within [−5%, +25%] of the previous rate unless the house floor or cap overrides.
        if (previous && t.activeBound !== 'floor' && t.activeBound !== 'cap') {
          const ratio = t.initialMarginRate / previous.initialMarginRate;
          expect(ratio).toBeGreaterThanOrEqual(0.95 - 1e-12);
          expect(ratio).toBeLessThanOrEqual(1.25 + 1e-12);
        }
        if (t.status === 'computed') {
          expect(t.initialMarginRate).toBeGreaterThanOrEqual(policy.bounds.minInitialMarginRate);
        }
      }),
      RUNS,
    );
  });

  it('is deterministic', () => {
    fc.assert(
      fc.property(market, (m) => {
        // Prepare
        const candles = synthetic(m);

        // Act
        const a = recalibrate(policy, candles);
        const b = recalibrate(policy, synthetic(m));

        // Assess
        expect(b).toEqual(a);
        expect(b.inputs.pricesHash).toBe(a.inputs.pricesHash);
      }),
      RUNS,
    );
  });
});

describe('notionalBrackets: properties', () => {
  it('keeps maintenance margin continuous and non-decreasing in notional for any base rates', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        (initialRate, fraction) => {
          // Act
          const brackets = notionalBrackets(policy, initialRate, initialRate * fraction);

          // Assess: MM(cap) from both sides agrees to 1e-12 relative; cum and the rates never fall
          brackets.slice(0, -1).forEach((b, i) => {
            const next = brackets[i + 1] as NotionalBracket;
            const cap = b.notionalCap as number;
            const left = cap * b.maintenanceMarginRate - b.cum;
            const right = cap * next.maintenanceMarginRate - next.cum;
            expect(Math.abs(left - right)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(left)));
            expect(next.cum).toBeGreaterThanOrEqual(b.cum);
            expect(next.maintenanceMarginRate).toBeGreaterThanOrEqual(b.maintenanceMarginRate);
          });
        },
      ),
      { numRuns: 200 },
    );
  });
});
