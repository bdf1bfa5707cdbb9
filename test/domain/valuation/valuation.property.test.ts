import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, Position } from '../../../lib/domain/account/account.ts';
import { notionalBrackets } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { ValuationPolicyInput } from '../../../lib/domain/valuation/policy.ts';
import { valueAccount } from '../../../lib/domain/valuation/valuation.ts';
import { AS_OF, DAY_MS, snapshotOf, usd } from './fixtures.ts';

/*
 * Properties of the requirement over random accounts: linear, inverse and option positions on BTC and ETH,
 * at realistic thresholds (the default policy's five brackets, a liquidity add-on, open-interest scaling on
 * ETH), under both grids and with or without a BTC–ETH offset.
 */

const MARKS = { BTC: 100_000, ETH: 4_000 } as const;
type Symbol = keyof typeof MARKS;

function snapshotFor(policy: ValuationPolicyInput) {
  return snapshotOf(
    {
      BTC: {
        markPrice: MARKS.BTC,
        initialMarginRate: 0.08,
        maintenanceMarginRate: 0.048,
        brackets: notionalBrackets(DEFAULT_THRESHOLD_POLICY, 0.08, 0.048),
        liquidity: { averageDailyVolume: 2e8, participationRate: 0.1 },
      },
      ETH: {
        markPrice: MARKS.ETH,
        initialMarginRate: 0.1,
        maintenanceMarginRate: 0.06,
        brackets: notionalBrackets(DEFAULT_THRESHOLD_POLICY, 0.1, 0.06),
        liquidity: { averageDailyVolume: 5e7, participationRate: 0.1 },
        openInterestScaling: { lowerCap: 1e9, upperCap: 3e9 },
        openInterestNotional: 1.6e9,
        impliedVolatility: 0.7,
      },
    },
    policy,
  );
}

const policyArb: fc.Arbitrary<ValuationPolicyInput> = fc.record({
  grid: fc.constantFrom({ method: 'deribit' as const }, { method: 'span' as const }),
  correlations: fc.constantFrom([], [{ a: 'BTC', b: 'ETH', rho: 0.8 }], [{ a: 'BTC', b: 'ETH', rho: -0.5 }]),
});

/** A decimal string for a nonzero magnitude in [min, max] with 4 decimals, signed. */
const signed = (min: number, max: number) =>
  fc
    .tuple(fc.integer({ min: Math.round(min * 1e4), max: Math.round(max * 1e4) }), fc.boolean())
    .map(([n, negative]) => (negative ? -n : n) / 1e4);

const symbolArb = fc.constantFrom<Symbol>('BTC', 'ETH');

const futureArb: fc.Arbitrary<Position> = fc
  .record({
    symbol: symbolArb,
    size: signed(0.01, 300),
    entry: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
  })
  .map(({ symbol, size, entry }) => ({
    kind: 'perpetual',
    instrument: symbol,
    quantity: String(size),
    entryPrice: (MARKS[symbol] * entry).toFixed(2),
    settlement: 'linear',
  }));

const inverseArb: fc.Arbitrary<Position> = fc
  .record({
    symbol: symbolArb,
    contracts: signed(1, 1e6),
    entry: fc.double({ min: 0.5, max: 1.5, noNaN: true }),
  })
  .map(({ symbol, contracts, entry }) => ({
    kind: 'future',
    instrument: symbol,
    quantity: String(Math.trunc(contracts) || 1),
    entryPrice: (MARKS[symbol] * entry).toFixed(2),
    settlement: 'inverse',
    contractSize: '10',
  }));

const optionArb: fc.Arbitrary<Position> = fc
  .record({
    symbol: symbolArb,
    call: fc.boolean(),
    moneyness: fc.double({ min: 0.5, max: 1.6, noNaN: true }),
    days: fc.integer({ min: 1, max: 200 }),
    size: signed(0.1, 50),
    vol: fc.option(fc.double({ min: 0.2, max: 1.5, noNaN: true }), { nil: undefined }),
  })
  .map(({ symbol, call, moneyness, days, size, vol }) => ({
    kind: 'option',
    instrument: symbol,
    optionType: call ? 'call' : 'put',
    strike: (MARKS[symbol] * moneyness).toFixed(0),
    expiry: new Date(AS_OF + days * DAY_MS).toISOString(),
    quantity: String(size),
    entryPrice: '0',
    ...(vol === undefined ? {} : { markVolatility: vol }),
  }));

const positionArb = fc.oneof(futureArb, inverseArb, optionArb);

function account(positions: readonly Position[]): Account {
  return { accountId: 'acc-p', collateral: [usd('100000')], positions: [...positions] };
}

function scaled(position: Position, k: number): Position {
  return { ...position, quantity: String(Number(position.quantity) * k) };
}

function negated(position: Position, k: number): Position {
  return { ...position, quantity: String(-Number(position.quantity) * k) };
}

const ONE_UNIT = 1e-8;

describe('requirement properties', () => {
  it('is never negative; maintenance ≤ initial without offsets; shortfall = max(0, IM − equity)', () => {
    fc.assert(
      fc.property(policyArb, fc.array(positionArb, { maxLength: 8 }), (policy, positions) => {
        const v = valueAccount(account(positions), snapshotFor(policy), AS_OF);
        const im = Number(v.initialRequirement);
        const mm = Number(v.maintenanceRequirement);
        expect(im).toBeGreaterThanOrEqual(0);
        expect(mm).toBeGreaterThanOrEqual(0);
        expect(v.initialRequirement).not.toMatch(/^-/);
        expect(v.maintenanceRequirement).not.toMatch(/^-/);
        if (((policy.correlations as unknown[] | undefined) ?? []).length === 0)
          expect(mm).toBeLessThanOrEqual(im);
        expect(Number(v.shortfallToInitial)).toBeCloseTo(Math.max(0, im - Number(v.equity)), 7);
        if (mm > 0) expect(v.ratio).toBeLessThanOrEqual(Number(v.equity) / mm + ONE_UNIT);
      }),
      { numRuns: 300 },
    );
  });

  it('does not shrink when every position grows by k ≥ 1 (one minor unit of float-noise rounding)', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.array(positionArb, { minLength: 1, maxLength: 6 }),
        fc.double({ min: 1, max: 20, noNaN: true }),
        (policy, positions, k) => {
          const snapshot = snapshotFor(policy);
          const before = valueAccount(account(positions), snapshot, AS_OF);
          const after = valueAccount(account(positions.map((p) => scaled(p, k))), snapshot, AS_OF);
          const tolerance = ONE_UNIT + 1e-12 * Number(before.initialRequirement);
          expect(Number(after.initialRequirement)).toBeGreaterThanOrEqual(
            Number(before.initialRequirement) - tolerance,
          );
          expect(Number(after.maintenanceRequirement)).toBeGreaterThanOrEqual(
            Number(before.maintenanceRequirement) - tolerance,
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('does not shrink when one position grows in its own direction (single-instrument futures, single options)', () => {
    fc.assert(
      fc.property(
        policyArb,
        fc.oneof(futureArb, inverseArb, optionArb),
        fc.double({ min: 1, max: 50, noNaN: true }),
        (policy, position, k) => {
          const snapshot = snapshotFor(policy);
          const small = valueAccount(account([position]), snapshot, AS_OF);
          const large = valueAccount(account([scaled(position, k)]), snapshot, AS_OF);
          expect(Number(large.initialRequirement)).toBeGreaterThanOrEqual(
            Number(small.initialRequirement) - ONE_UNIT,
          );
          expect(Number(large.maintenanceRequirement)).toBeGreaterThanOrEqual(
            Number(small.maintenanceRequirement) - ONE_UNIT,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a hedge (long + short of the same instrument) never costs more than the two legs apart', () => {
    fc.assert(
      fc.property(policyArb, positionArb, fc.double({ min: 0.01, max: 5, noNaN: true }), (policy, leg, k) => {
        const snapshot = snapshotFor(policy);
        const other = negated(leg, k);
        const together = valueAccount(account([leg, other]), snapshot, AS_OF);
        const a = valueAccount(account([leg]), snapshot, AS_OF);
        const b = valueAccount(account([other]), snapshot, AS_OF);
        for (const field of ['initialRequirement', 'maintenanceRequirement'] as const) {
          expect(Number(together[field])).toBeLessThanOrEqual(Number(a[field]) + Number(b[field]) + ONE_UNIT);
          // And never more than the larger leg: the net position is the smaller one.
          expect(Number(together[field])).toBeLessThanOrEqual(
            Math.max(Number(a[field]), Number(b[field])) + ONE_UNIT,
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('futures in opposite directions on one instrument cost at most the legs apart, whatever their mix', () => {
    const sideArb = (sign: 1 | -1) =>
      fc.array(fc.oneof(futureArb, inverseArb), { minLength: 1, maxLength: 4 }).map((ps) =>
        ps.map((p) => ({
          ...p,
          instrument: 'BTC',
          quantity: String(sign * Math.abs(Number(p.quantity))),
        })),
      );
    fc.assert(
      fc.property(policyArb, sideArb(1), sideArb(-1), (policy, longs, shorts) => {
        const snapshot = snapshotFor(policy);
        const together = valueAccount(account([...longs, ...shorts]), snapshot, AS_OF);
        const a = valueAccount(account(longs), snapshot, AS_OF);
        const b = valueAccount(account(shorts), snapshot, AS_OF);
        expect(Number(together.initialRequirement)).toBeLessThanOrEqual(
          Number(a.initialRequirement) + Number(b.initialRequirement) + ONE_UNIT,
        );
      }),
      { numRuns: 200 },
    );
  });

  it('an offset never makes opposite groups cost more than apart, nor less than (1 − cap) of the smaller', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.double({ min: 0.1, max: 3000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (btc, eth, rho) => {
          const long: Position = {
            kind: 'perpetual',
            instrument: 'BTC',
            quantity: btc.toFixed(4),
            entryPrice: '100000',
            settlement: 'linear',
          };
          const short: Position = {
            kind: 'perpetual',
            instrument: 'ETH',
            quantity: (-eth).toFixed(4),
            entryPrice: '4000',
            settlement: 'linear',
          };
          const plain = valueAccount(account([long, short]), snapshotFor({}), AS_OF, { detail: true });
          const offset = valueAccount(
            account([long, short]),
            snapshotFor({ correlations: [{ a: 'BTC', b: 'ETH', rho }] }),
            AS_OF,
          );
          const gross = Number(plain.initialRequirement);
          const smaller = Math.min(...(plain.groups ?? []).map((g) => g.initial));
          expect(Number(offset.initialRequirement)).toBeLessThanOrEqual(gross + ONE_UNIT);
          expect(Number(offset.initialRequirement)).toBeGreaterThanOrEqual(
            gross - 0.5 * smaller - 2 * ONE_UNIT,
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});
