import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../lib/domain/errors.ts';
import {
  type CascadeInput,
  notionalText,
  runCascade,
  type StressInstrument,
  squareRootImpact,
} from '../../../lib/domain/stress/cascade.ts';
import { StressInputError } from '../../../lib/domain/stress/errors.ts';
import { parseCascadePolicy } from '../../../lib/domain/stress/policy.ts';
import { parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';
import { unitsToNumber } from '../../../lib/domain/valuation/money.ts';
import { AS_OF, thresholdFor } from '../valuation/fixtures.ts';

const LEVELS = { warning: 1.2, marginCall: 1, liquidation: 0.8 };
const SIGMA = 0.03;

/** BTC at 100, maintenance 5% of notional, σ 3%, 90,000 USD a day. */
function input(accounts: unknown[], overrides: Partial<CascadeInput> = {}): CascadeInput {
  return {
    accounts,
    instruments: [
      {
        symbol: 'BTC',
        threshold: thresholdFor('BTC', { maintenanceMarginRate: 0.05, effectiveVolatility: SIGMA }),
        mark: 100,
        dailyVolatility: SIGMA,
        averageDailyVolume: 90_000,
      },
    ],
    shocks: { BTC: -0.1 },
    levels: LEVELS,
    policy: parseCascadePolicy({}),
    asOf: AS_OF,
    ...overrides,
  };
}

function long(accountId: string, collateral: number, quantity: number, entry = 100) {
  return {
    accountId,
    collateral: [{ asset: 'USD', amount: String(collateral) }],
    positions: [
      { kind: 'perpetual', instrument: 'BTC', quantity: String(quantity), entryPrice: String(entry) },
    ],
  };
}

describe('runCascade on hand-computed books', () => {
  it('a book without leverage liquidates nobody and the cascade multiplier is 1', () => {
    const report = runCascade(
      input([long('cash', 10_000, 1), long('cash2', 500, 5)], { shocks: { BTC: -0.5 } }),
    );
    expect(report.rounds).toHaveLength(1);
    expect(report.rounds[0]?.liquidatedAccounts).toEqual([]);
    expect(report.rounds[0]?.marks.BTC).toBe(50);
    expect(report.cascadeMultiplier.BTC).toBe(1);
    expect(report.badDebtUnits).toBe(0);
    expect(report.settled).toBe(true);
  });

  it('identical longs liquidate in round 0 and their sale moves the price by Y·σ·√(Q/V)', () => {
    // Ten accounts, 10 USD on 1 BTC bought at 100: at 90 equity is 0, ratio 0, LIQUIDATION.
    const book = Array.from({ length: 10 }, (_, i) => long(`L${i}`, 10, 1));
    const report = runCascade(input(book));
    // They sell 10 BTC at 90 = 900 USD against 90,000 a day: impact 0.03 × √0.01 = 0.3%.
    const final = 90 * Math.exp(-0.003);
    expect(report.rounds).toHaveLength(1);
    expect(report.rounds[0]?.liquidatedAccounts).toHaveLength(10);
    expect(report.rounds[0]?.flows.BTC?.sellNotional).toBeCloseTo(900, 9);
    expect(report.rounds[0]?.flows.BTC?.volumeShare).toBeCloseTo(0.01, 12);
    expect(report.finalMarks.BTC).toBeCloseTo(final, 10);
    expect(report.cascadeMultiplier.BTC).toBeCloseTo((final / 100 - 1) / -0.1, 10);
    // Each closes out at the impacted price with equity 10 + (final − 100) < 0.
    expect(unitsToNumber(report.badDebtUnits)).toBeCloseTo(10 * (100 - final - 10), 6);
    expect(report.contributors).toHaveLength(10);
  });

  it('a two-round cascade: the first close-out pushes a second account under', () => {
    const book = [
      long('A', 1_000, 100), // at 90: equity 0 → LIQUIDATION in round 0
      long('B', 140, 10), // at 90: (140 − 100) / 45 = 0.889 ≥ 0.8; after A's sale below 0.8
      long('C', 10_000, 1), // never
    ];
    const report = runCascade(input(book));
    const mark1 = 90 * Math.exp(-squareRootImpact(1, SIGMA, 9_000, 90_000));
    const ratioB1 = (140 + 10 * (mark1 - 100)) / (10 * mark1 * 0.05);
    expect(ratioB1).toBeLessThan(0.8);
    const mark2 = 90 * Math.exp(-squareRootImpact(1, SIGMA, 9_000 + 10 * mark1, 90_000));
    expect(report.rounds.map((r) => r.liquidatedAccounts)).toEqual([['A'], ['B'], []]);
    expect(report.rounds[1]?.marks.BTC).toBeCloseTo(mark1, 10);
    expect(report.rounds[1]?.flows.BTC?.sellNotional).toBeCloseTo(10 * mark1, 9);
    expect(report.finalMarks.BTC).toBeCloseTo(mark2, 10);
    // A's equity at the final marks: 1000 + 100 × (mark2 − 100) < 0; B's is still positive.
    expect(unitsToNumber(report.badDebtUnits)).toBeCloseTo(-(1_000 + 100 * (mark2 - 100)), 6);
    expect(report.contributors.map((c) => c.accountId)).toEqual(['A']);
    expect(report.cascadeMultiplier.BTC).toBeCloseTo((mark2 / 100 - 1) / -0.1, 10);
  });

  it('stops at the policy round limit and says the cascade did not settle', () => {
    const book = [long('A', 1_000, 100), long('B', 140, 10), long('C', 10_000, 1)];
    const report = runCascade(input(book, { policy: parseCascadePolicy({ maxRounds: 1 }) }));
    expect(report.rounds).toHaveLength(1);
    expect(report.settled).toBe(false);
  });

  it('moves an unshocked instrument by its stressed correlation times the shock, scaled by the σ ratio', () => {
    const base = input([]);
    const report = runCascade({
      ...base,
      instruments: [
        ...base.instruments,
        {
          symbol: 'ETH',
          threshold: thresholdFor('ETH', { effectiveVolatility: 0.06 }),
          mark: 10,
          dailyVolatility: 0.06,
          averageDailyVolume: 1e6,
        },
      ],
      policy: parseCascadePolicy({ correlations: [{ a: 'BTC', b: 'ETH', rho: 0.5 }] }),
    });
    // β = 0.5 × 0.06 / 0.03 = 1: ETH takes BTC's log move.
    expect(report.rounds[0]?.marks.ETH).toBeCloseTo(9, 12);
    expect(report.initialMoves.ETH?.source).toContain('ρ 0.5');
  });
});

describe('runCascade on bad input', () => {
  it('refuses a shock on a symbol it has no prices for, naming it', () => {
    expect(() => runCascade(input([], { shocks: { DOGE: -0.2 } }))).toThrow(StressInputError);
    expect(() => runCascade(input([], { shocks: { DOGE: -0.2 } }))).toThrow(/DOGE/);
  });

  it.each([-1, -1.5, Number.NaN])('refuses a move of %s: not above −100 percent', (move) => {
    expect(() => runCascade(input([], { shocks: { BTC: move } }))).toThrow(/above −100%/);
  });

  it('reports bad book records by id and reason and stresses the rest', () => {
    const book = [
      long('good', 10, 1),
      { accountId: 'bad', collateral: [], positions: [{ kind: 'perpetual', instrument: 'BTC' }] },
      42,
      long('good', 10, 1),
    ];
    const report = runCascade(input(book));
    expect(report.errors.map((e) => [e.kind, e.key])).toEqual([
      ['account-rejected', 'bad'],
      ['account-rejected', '#2'],
      ['account-rejected', 'good'],
    ]);
    expect(report.errors[0]?.reason).toMatch(/positions\.0/);
    expect(report.rounds[0]?.liquidatedAccounts).toEqual(['good']);
  });

  it('refuses an instrument without volume for impact, naming it, and still counts its close-outs', () => {
    const base = input([long('L', 10, 1)]);
    const [btc] = base.instruments;
    const report = runCascade({
      ...base,
      instruments: [{ ...(btc as StressInstrument), averageDailyVolume: undefined }],
    });
    expect(report.errors).toEqual([expect.objectContaining({ kind: 'no-volume', key: 'BTC' })]);
    expect(report.rounds[0]?.liquidatedAccounts).toEqual(['L']);
    expect(report.rounds[0]?.flows.BTC?.volumeShare).toBeNull();
    expect(report.finalMarks.BTC).toBe(90);
  });

  it('names the path of a bad cascade setting, alone and inside the threshold policy', () => {
    expect(() => parseCascadePolicy({ maxRounds: 0 })).toThrow(PolicyError);
    expect(() => parseCascadePolicy({ maxRounds: 0 })).toThrow(/policy\.stress\.cascade\.maxRounds/);
    expect(() => parseThresholdPolicy({ stress: { cascade: { impactCoefficent: 1 } } })).toThrow(
      /policy\.stress\.cascade\.impactCoefficent/,
    );
    expect(parseThresholdPolicy({ stress: { cascade: {} } }).stress.cascade?.impactCoefficient).toBe(1);
    expect(parseThresholdPolicy({}).stress.cascade).toBeUndefined();
  });
});

const leveragedLong = fc.record({
  collateral: fc.integer({ min: 1, max: 5_000 }),
  quantity: fc.integer({ min: 1, max: 200 }),
  entry: fc.integer({ min: 60, max: 140 }),
});

describe('runCascade properties', () => {
  it('a larger shock never liquidates fewer accounts nor leaves less bad debt', () => {
    fc.assert(
      fc.property(
        fc.array(leveragedLong, { minLength: 1, maxLength: 25 }),
        fc.double({ min: 0, max: 0.6, noNaN: true }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        (book, small, extra) => {
          const accounts = book.map((a, i) => long(`A${i}`, a.collateral, a.quantity, a.entry));
          const mild = runCascade(input(accounts, { shocks: { BTC: -small } }));
          const severe = runCascade(input(accounts, { shocks: { BTC: -(small + extra) } }));
          expect(severe.accountsLiquidated).toBeGreaterThanOrEqual(mild.accountsLiquidated);
          expect(unitsToNumber(severe.badDebtUnits)).toBeGreaterThanOrEqual(unitsToNumber(mild.badDebtUnits));
        },
      ),
      { seed: 15, numRuns: 150 },
    );
  });

  it('more volume never gives a larger impact', () => {
    fc.assert(
      fc.property(
        fc.array(leveragedLong, { minLength: 1, maxLength: 25 }),
        fc.double({ min: 0.01, max: 0.6, noNaN: true }),
        fc.double({ min: 1e4, max: 1e7, noNaN: true }),
        fc.double({ min: 1, max: 100, noNaN: true }),
        (book, shock, volume, factor) => {
          const accounts = book.map((a, i) => long(`A${i}`, a.collateral, a.quantity, a.entry));
          const run = (v: number) => {
            const base = input(accounts, { shocks: { BTC: -shock } });
            const [btc] = base.instruments;
            return runCascade({
              ...base,
              instruments: [{ ...(btc as StressInstrument), averageDailyVolume: v }],
            });
          };
          const thin = run(volume);
          const deep = run(volume * factor);
          const impact = (r: typeof thin) =>
            (r.rounds[0]?.marks.BTC as number) / (r.finalMarks.BTC as number);
          expect(impact(deep)).toBeLessThanOrEqual(impact(thin) * (1 + 1e-12));
        },
      ),
      { seed: 15, numRuns: 150 },
    );
  });
});

describe('notionalText', () => {
  it('prints a notional above $90M (beyond 2⁵³ minor units) instead of throwing', () => {
    expect(notionalText(357_250_420.65234375)).toBe('357250420.65234376'); // rounded up to the minor unit
    expect(notionalText(900)).toBe('900.00000000');
  });
});
