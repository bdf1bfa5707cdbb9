/**
 * A new instrument (no previous threshold) whose data is unusable is held at the policy cap. The threshold
 * must be storable as it is: DynamoDB refuses NaN, and one unstorable threshold would stop the whole set.
 */
import { describe, expect, it } from 'vitest';
import type { CandleSeries } from '../../../lib/domain/market/candle.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { END, lastClose, UNUSABLE_SHAPES } from './unusable-shapes.ts';

/** Every number in `value`, with its path. */
function numbers(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => numbers(inner, `${path}.${key}`));
}

describe('a new instrument held with no previous threshold', () => {
  it.each(UNUSABLE_SHAPES)('$name: held at the policy cap with no NaN or infinite field', ({ series }) => {
    // Act
    const threshold = recalibrate(DEFAULT_THRESHOLD_POLICY, series, undefined, { asOf: END });
    // Assess
    const cap = DEFAULT_THRESHOLD_POLICY.bounds.maxInitialMarginRate;
    const maintenance = cap * DEFAULT_THRESHOLD_POLICY.maintenanceFraction;
    expect(threshold).toMatchObject({
      instrument: 'SOL',
      status: 'held',
      activeBound: 'held',
      initialMarginRate: cap,
      maintenanceMarginRate: maintenance,
      warningMarginRate: maintenance * DEFAULT_THRESHOLD_POLICY.levels.warning,
      liquidationMarginRate: maintenance * DEFAULT_THRESHOLD_POLICY.levels.liquidation,
    });
    expect(threshold.heldReason).toMatch(/^SOL.*no previous threshold: held at the policy cap/);
    const bad = numbers(threshold).filter(([, n]) => !Number.isFinite(n));
    expect(bad).toEqual([]);
    // What a store writes is what it reads back: no field silently turned into null.
    expect(JSON.parse(JSON.stringify(threshold))).toEqual(threshold);
  });

  it('has no reference price when the data has no trustworthy close, and the last close otherwise', () => {
    const [headerOnly, gap] = UNUSABLE_SHAPES;
    const none = recalibrate(DEFAULT_THRESHOLD_POLICY, headerOnly?.series as CandleSeries, undefined, {
      asOf: END,
    });
    expect(none.referencePrice).toBeUndefined();
    expect(none.components.effectiveVolatility).toBeUndefined();
    const priced = recalibrate(DEFAULT_THRESHOLD_POLICY, gap?.series as CandleSeries, undefined, {
      asOf: END,
    });
    expect(priced.referencePrice).toBe(lastClose);
  });
});
