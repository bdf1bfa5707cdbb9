import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, Position } from '../../../lib/domain/account/account.ts';
import { notionalBrackets } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import { black76Delta, black76Price, YEAR_MS } from '../../../lib/domain/valuation/black76.ts';
import type { ValuationPolicyInput } from '../../../lib/domain/valuation/policy.ts';
import { deribitVolShocks, scenarioGrid, spanVolShocks } from '../../../lib/domain/valuation/scenarios.ts';
import type { InstrumentMarket, MarketSnapshot } from '../../../lib/domain/valuation/snapshot.ts';
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
  // Issue 17: the minimum netted per series or as spreads, options sized today or on the scenario path.
  shortOptionMinimumNetting: fc.constantFrom('series' as const, 'spreads' as const),
  optionSizing: fc.constantFrom('current-delta' as const, 'scenario-path' as const),
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
            snapshotFor({ correlations: [{ a: 'BTC', b: 'ETH', rho }], offsetMethod: 'smaller-leg' }),
            AS_OF,
          );
          const gross = Number(plain.initialRequirement);
          const smaller = Math.min(...(plain.groups ?? []).map((g) => g.initial));
          expect(Number(offset.initialRequirement)).toBeLessThanOrEqual(gross + ONE_UNIT);
          expect(Number(offset.initialRequirement)).toBeGreaterThanOrEqual(
            gross - 0.5 * smaller - 2 * ONE_UNIT,
          );
          // The default, correlation-aggregated: never above the legs, never below 30% of them (cap 0.7).
          const aggregated = valueAccount(
            account([long, short]),
            snapshotFor({ correlations: [{ a: 'BTC', b: 'ETH', rho }] }),
            AS_OF,
          );
          expect(Number(aggregated.initialRequirement)).toBeLessThanOrEqual(gross + ONE_UNIT);
          expect(Number(aggregated.initialRequirement)).toBeGreaterThanOrEqual(0.3 * gross - 2 * ONE_UNIT);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/*
 * The scenario revaluation prices each option per price level with `black76ScenarioPrices` and nets option
 * series without key strings. This is the computation it replaced, written plainly (black76Price per
 * scenario, a Map of series keys): the group's scenario loss, worst scenario, short option minimum and net
 * delta must be the same floats, bit for bit, so no requirement moves.
 */
describe('scenario revaluation matches black76Price per scenario', () => {
  interface Leg {
    isCall: boolean;
    strike: number;
    expiry: number;
    years: number;
    days: number;
    quantity: number;
    volatility: number;
    value: number;
  }

  function referenceGroups(
    positions: readonly Position[],
    snapshot: MarketSnapshot,
    asOf: number,
  ): Map<string, { loss: number; worst: number | null; minimum: number; netDelta: number }> {
    const policy = snapshot.policy;
    const grid = scenarioGrid(policy.grid);
    const rate = policy.riskFreeRate;
    const groups = new Map<string, { futures: number; delta: number; legs: Leg[] }>();
    for (const position of positions) {
      const market = snapshot.instruments.get(position.instrument) as InstrumentMarket;
      const mark = market.markPrice;
      let group = groups.get(position.instrument);
      if (!group) {
        group = { futures: 0, delta: 0, legs: [] };
        groups.set(position.instrument, group);
      }
      if (position.kind !== 'option') {
        const entry = Number(position.entryPrice);
        let quantity = Number(position.quantity);
        if (position.settlement === 'inverse') quantity = (quantity * Number(position.contractSize)) / entry;
        group.futures += quantity;
        continue;
      }
      const isCall = position.optionType === 'call';
      const strike = Number(position.strike);
      const quantity = Number(position.quantity);
      const expiry = Date.parse(position.expiry);
      if (expiry <= asOf) continue; // expired: intrinsic value to equity, no leg
      const years = (expiry - asOf) / YEAR_MS;
      const volatility =
        position.markVolatility ??
        market.impliedVolatility ??
        (market.threshold.components.effectiveVolatility as number) * Math.sqrt(365);
      const value = black76Price(isCall, mark, strike, years, volatility, rate);
      group.delta += quantity * black76Delta(isCall, mark, strike, years, volatility, rate);
      group.legs.push({
        isCall,
        strike,
        expiry,
        years,
        days: (expiry - asOf) / DAY_MS,
        quantity,
        volatility,
        value,
      });
    }
    const out = new Map<string, { loss: number; worst: number | null; minimum: number; netDelta: number }>();
    for (const [instrument, group] of groups) {
      if (group.legs.length === 0) continue;
      const market = snapshot.instruments.get(instrument) as InstrumentMarket;
      const mark = market.markPrice;
      const scanRange = market.threshold.initialMarginRate;
      const pnl = Array.from(grid.moves, (move) => {
        const price = Math.max(mark * (1 + move * scanRange), 0);
        return group.futures * (price - mark);
      });
      for (const leg of group.legs) {
        const shocks =
          grid.parameters.method === 'deribit'
            ? deribitVolShocks(leg.volatility, leg.days, grid.parameters)
            : spanVolShocks(leg.volatility, grid.parameters);
        grid.moves.forEach((move, j) => {
          const price = Math.max(mark * (1 + move * scanRange), 0);
          const v = grid.volIndex[j];
          const volatility = v === 0 ? leg.volatility : v === 1 ? shocks.up : shocks.down;
          const value = black76Price(leg.isCall, price, leg.strike, leg.years, volatility, rate);
          pnl[j] = (pnl[j] as number) + leg.quantity * (value - leg.value);
        });
      }
      let loss = 0;
      let worst: number | null = null;
      pnl.forEach((p, j) => {
        const scenarioLoss = -(grid.weights[j] as number) * p;
        if (scenarioLoss > loss) {
          loss = scenarioLoss;
          worst = j + 1;
        }
      });
      const net = new Map<string, number>();
      for (const leg of group.legs) {
        const key = `${leg.isCall ? 'C' : 'P'}|${leg.strike}|${leg.expiry}`;
        net.set(key, (net.get(key) ?? 0) + leg.quantity);
      }
      let calls = 0;
      let puts = 0;
      for (const [key, quantity] of net) {
        if (quantity >= 0) continue;
        if (key.startsWith('C')) calls -= quantity;
        else puts -= quantity;
      }
      const count =
        group.legs.length === 1 ? Math.max(-(group.legs[0] as Leg).quantity, 0) : Math.max(calls, puts);
      out.set(instrument, {
        loss,
        worst,
        minimum: policy.shortOptionMinimum * mark * count,
        netDelta: group.futures + group.delta,
      });
    }
    return out;
  }

  // Options first, with some legs repeated in the same series (same type, strike, expiry) at another size,
  // so the short option minimum nets them; sometimes more than 32 legs (series netted by key, not pairwise).
  const bookArb = fc
    .tuple(
      fc.oneof(
        { arbitrary: fc.array(optionArb, { minLength: 1, maxLength: 6 }), weight: 4 },
        { arbitrary: fc.array(optionArb, { minLength: 30, maxLength: 60 }), weight: 1 },
      ),
      fc.array(fc.oneof(futureArb, inverseArb), { maxLength: 3 }),
      fc.array(fc.tuple(fc.nat(), fc.double({ min: -2, max: 2, noNaN: true })), { maxLength: 12 }),
    )
    .map(([options, futures, repeats]) => [
      ...options,
      ...repeats.map(([i, k]) => scaled(options[i % options.length] as Position, Math.round(k * 8) / 8 || 1)),
      ...futures,
    ]);

  it('gives the same scenario loss, worst scenario, short option minimum and net delta (property)', () => {
    fc.assert(
      fc.property(policyArb, bookArb, fc.integer({ min: 0, max: 3 * DAY_MS }), (policy, positions, later) => {
        const snapshot = snapshotFor(policy);
        const asOf = AS_OF + later; // options 1–200 days out: a few have expired by then
        const v = valueAccount(account(positions), snapshot, asOf, { detail: true });
        const want = referenceGroups(positions, snapshot, asOf);
        for (const group of v.groups ?? []) {
          const reference = want.get(group.instrument);
          if (!reference) continue; // futures only: closed form, not revalued
          expect(Object.is(group.scenarioLoss, reference.loss), group.instrument).toBe(true);
          expect(group.worstScenario).toBe(reference.worst);
          if (snapshot.policy.shortOptionMinimumNetting === 'series') {
            expect(Object.is(group.shortOptionMinimum, reference.minimum), group.instrument).toBe(true);
          } else {
            // Spreads pair shorts with longs that cap their loss: never more than per-series netting.
            expect(group.shortOptionMinimum).toBeLessThanOrEqual(reference.minimum * (1 + 1e-12));
          }
          expect(Object.is(group.netDelta, reference.netDelta), group.instrument).toBe(true);
        }
        expect(v.groups?.filter((g) => g.optionCount > 0).length).toBe(want.size);
      }),
      { numRuns: 400 },
    );
  });
});
