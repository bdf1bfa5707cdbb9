import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Account, MarginState, Position } from '../../../lib/domain/account/account.ts';
import {
  type BreachBand,
  BreachBandCalculator,
  bandCrossed,
  EVERY_SWEEP,
  exposures,
  isWorse,
  SAFE_MOVE_LADDER,
} from '../../../lib/domain/account/breach.ts';
import {
  type MarginLevels,
  nextMarginState,
  ratioForState,
} from '../../../lib/domain/account/state-machine.ts';
import { createMarketSnapshot, type MarketSnapshot } from '../../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../../lib/domain/valuation/valuation.ts';
import { AS_OF, BINANCE_BTCUSDT, inDays, thresholdFor } from '../valuation/fixtures.ts';

const LEVELS: MarginLevels = { warning: 1.2, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 };
const MARKS = { BTC: 30_000, ETH: 2_000, SOL: 40 } as const;
type Symbol = keyof typeof MARKS;
const SYMBOLS = Object.keys(MARKS) as Symbol[];

/** Marks → snapshot, each instrument's asset priced at its mark (as `marketSnapshotFromSet` does). */
function snapshotAt(marks: Readonly<Record<string, number>>, correlations = false): MarketSnapshot {
  return createMarketSnapshot({
    instruments: {
      // BTC: Binance's real brackets (rising rates, cum): convex maintenance in the notional.
      BTC: { markPrice: marks.BTC as number, threshold: thresholdFor('BTC', { brackets: BINANCE_BTCUSDT }) },
      ETH: {
        markPrice: marks.ETH as number,
        threshold: thresholdFor('ETH', { initialMarginRate: 0.12, maintenanceMarginRate: 0.07 }),
      },
      // SOL: thin volume, so large positions pay the √ liquidity factor.
      SOL: {
        markPrice: marks.SOL as number,
        threshold: thresholdFor('SOL', {
          initialMarginRate: 0.2,
          maintenanceMarginRate: 0.12,
          liquidity: { averageDailyVolume: 2e6, participationRate: 0.1 },
        }),
      },
    },
    assetPrices: { USDT: 1, BTC: marks.BTC as number, ETH: marks.ETH as number, SOL: marks.SOL as number },
    ...(correlations ? { policy: { correlations: [{ a: 'BTC', b: 'ETH', rho: 0.8 }] } } : {}),
  });
}

const BASE = snapshotAt(MARKS);
const state = (account: Account, snapshot = BASE): MarginState =>
  nextMarginState('OK', ratioForState(valueAccount(account, snapshot, AS_OF)), LEVELS);

const perp = (instrument: string, quantity: number, entryPrice: number): Position => ({
  kind: 'perpetual',
  instrument,
  quantity: quantity.toFixed(6),
  entryPrice: entryPrice.toFixed(2),
  settlement: 'linear',
});

const futuresAccount = fc
  .record({
    legs: fc.uniqueArray(
      fc.record({
        symbol: fc.constantFrom(...SYMBOLS),
        notional: fc.double({ min: 1_000, max: 3_000_000, noNaN: true }),
        long: fc.boolean(),
        entry: fc.double({ min: 0.9, max: 1.1, noNaN: true }),
        inverse: fc.boolean(),
      }),
      { minLength: 1, maxLength: 3, selector: (l) => l.symbol },
    ),
    collateralShare: fc.double({ min: 0.01, max: 1, noNaN: true }),
    collateralAsset: fc.constantFrom('USDT', 'USDT', 'BTC', 'ETH'),
  })
  .map(({ legs, collateralShare, collateralAsset }): Account => {
    let gross = 0;
    const positions = legs.map((leg): Position => {
      gross += leg.notional;
      const mark = MARKS[leg.symbol];
      const entry = mark * leg.entry;
      if (leg.inverse && leg.symbol === 'BTC') {
        // Inverse: contracts of 100 USD; C·100/E base units.
        const contracts = Math.max(1, Math.round(leg.notional / 100));
        return {
          kind: 'perpetual',
          instrument: 'BTC',
          quantity: String(leg.long ? contracts : -contracts),
          entryPrice: entry.toFixed(2),
          settlement: 'inverse',
          contractSize: '100',
        };
      }
      return perp(leg.symbol, ((leg.long ? 1 : -1) * leg.notional) / mark, entry);
    });
    const value = gross * collateralShare;
    const price = collateralAsset === 'USDT' ? 1 : MARKS[collateralAsset as Symbol];
    return {
      accountId: 'acct',
      collateral: [{ asset: collateralAsset, amount: (value / price).toFixed(8) }],
      positions,
    };
  });

/** Joint relative moves strictly inside the box, one per instrument. */
const movesInside = fc.record({
  BTC: fc.double({ min: -0.999999, max: 0.999999, noNaN: true }),
  ETH: fc.double({ min: -0.999999, max: 0.999999, noNaN: true }),
  SOL: fc.double({ min: -0.999999, max: 0.999999, noNaN: true }),
});

const INSIDE = 0.999999;
const CORNERS = [0, 1, 2, 3, 4, 5, 6, 7].map((m) => ({
  BTC: m & 1 ? INSIDE : -INSIDE,
  ETH: m & 2 ? INSIDE : -INSIDE,
  SOL: m & 4 ? INSIDE : -INSIDE,
}));

function moved(moves: Readonly<Record<Symbol, number>>, delta: number, correlations = false): MarketSnapshot {
  return snapshotAt(
    {
      BTC: MARKS.BTC * (1 + moves.BTC * delta),
      ETH: MARKS.ETH * (1 + moves.ETH * delta),
      SOL: MARKS.SOL * (1 + moves.SOL * delta),
    },
    correlations,
  );
}

function bandOf(account: Account, current: MarginState, snapshot = BASE): BreachBand {
  return new BreachBandCalculator(snapshot, LEVELS, { asOf: AS_OF }).band(account, current);
}

describe('BreachBandCalculator', () => {
  it('gives a single linear perpetual the ladder value just below the exact breach move', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.5, max: 20, noNaN: true }),
        fc.boolean(),
        fc.double({ min: 0.075, max: 0.5, noNaN: true }),
        (quantity, long, collateralShare) => {
          // ETH: one bracket at 7% maintenance, no liquidity add-on. Entry at the mark: equity = C + q(p − M).
          const mark = MARKS.ETH;
          const q = long ? quantity : -quantity;
          const collateral = Number((quantity * mark * collateralShare).toFixed(2));
          const account: Account = {
            accountId: 'one',
            collateral: [{ asset: 'USDT', amount: collateral.toFixed(2) }],
            positions: [perp('ETH', q, mark)],
          };
          const m = 0.07;
          const level = LEVELS.warning;
          const qty = Number(q.toFixed(6));
          // equity(p) = level × MM(p): C + q(p − M) = level × |q| × p × m.
          const breach = (collateral - qty * mark) / (Math.abs(qty) * level * m - qty);
          const exact = long ? 1 - breach / mark : breach / mark - 1;
          fc.pre(state(account) === 'OK');
          // Away from ladder values, so the 10⁻⁸ rounding cannot decide the rung.
          fc.pre(SAFE_MOVE_LADDER.every((d) => Math.abs(d - exact) > 1e-5));
          const expected = [...SAFE_MOVE_LADDER].reverse().find((d) => d < exact) ?? 0;
          const band = bandOf(account, 'OK');
          expect(band.method).toBe('separable');
          expect(band.safeMove).toBe(Math.min(expected, 0.5));
          expect(band.entries).toEqual([
            {
              accountId: 'one',
              instrument: 'ETH',
              below: mark * (1 - band.safeMove),
              above: mark * (1 + band.safeMove),
            },
          ]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never lets a joint move inside the box worsen a futures account (any state)', () => {
    let checked = 0;
    fc.assert(
      fc.property(futuresAccount, fc.array(movesInside, { minLength: 8, maxLength: 8 }), (account, moves) => {
        const current = state(account);
        const band = bandOf(account, current);
        if (band.safeMove === 0) return;
        // The random interior moves, and every corner just inside the box (where a concave minimum sits).
        for (const move of [...moves, ...CORNERS]) {
          const after = nextMarginState(
            current,
            valueAccount(account, moved(move, band.safeMove), AS_OF).ratio,
            LEVELS,
          );
          expect(
            isWorse(current, after),
            `${current} → ${after} at ${JSON.stringify(move)} (δ ${band.safeMove})`,
          ).toBe(false);
          checked++;
        }
      }),
      { numRuns: 400 },
    );
    expect(checked).toBeGreaterThan(3000);
  });

  it('sees recoveries coming on futures accounts below OK (empirical: sampled axes)', () => {
    let recoveries = 0;
    let checked = 0;
    fc.assert(
      fc.property(futuresAccount, fc.array(movesInside, { minLength: 8, maxLength: 8 }), (account, moves) => {
        const current = state(account);
        fc.pre(current !== 'OK');
        const band = bandOf(account, current);
        for (const move of [...moves, ...CORNERS]) {
          const after = nextMarginState(
            current,
            valueAccount(account, moved(move, band.safeMove), AS_OF).ratio,
            LEVELS,
          );
          checked++;
          if (after !== current) recoveries++;
        }
      }),
      { numRuns: 300, seed: 11 },
    );
    expect(checked).toBeGreaterThan(1000);
    expect(recoveries).toBe(0);
  });

  it('is not needlessly small: one ladder step further, a corner worsens an OK futures account', () => {
    fc.assert(
      fc.property(futuresAccount, (account) => {
        fc.pre(state(account) === 'OK');
        const band = bandOf(account, 'OK');
        const rung = SAFE_MOVE_LADDER.indexOf(band.safeMove);
        fc.pre(rung < SAFE_MOVE_LADDER.length - 1);
        const next = SAFE_MOVE_LADDER[rung + 1] as number;
        const held = exposures(account, BASE) as Symbol[];
        let worst = Number.POSITIVE_INFINITY;
        for (let mask = 0; mask < 1 << held.length; mask++) {
          const move = { BTC: 0, ETH: 0, SOL: 0 };
          held.forEach((s, j) => {
            move[s] = mask & (1 << j) ? 1 : -1;
          });
          worst = Math.min(
            worst,
            valueAccount(account, moved(move, next), AS_OF).ratio ?? Number.POSITIVE_INFINITY,
          );
        }
        // Within the 10⁻⁶ margin the calculator keeps above the level.
        expect(worst).toBeLessThan(LEVELS.warning + 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('is joint: a long BTC / short ETH pair gets a narrower band than either leg alone', () => {
    const pair: Account = {
      accountId: 'pair',
      collateral: [{ asset: 'USDT', amount: '9000' }],
      positions: [perp('BTC', 1, 30_000), perp('ETH', -15, 2_000)],
    };
    const alone = (position: Position, collateral: string) =>
      bandOf(
        { accountId: 'leg', collateral: [{ asset: 'USDT', amount: collateral }], positions: [position] },
        'OK',
      ).safeMove;
    const joint = bandOf(pair, 'OK').safeMove;
    expect(joint).toBeGreaterThan(0);
    expect(joint).toBeLessThan(alone(perp('BTC', 1, 30_000), '9000'));
    expect(joint).toBeLessThan(alone(perp('ETH', -15, 2_000), '9000'));
  });

  it('counts collateral priced at an instrument mark as an exposure', () => {
    const account: Account = {
      accountId: 'btc-collateral',
      collateral: [{ asset: 'BTC', amount: '0.2' }],
      positions: [perp('ETH', 10, 2_000)],
    };
    const band = bandOf(account, state(account));
    expect(band.entries.map((e) => e.instrument)).toEqual(['BTC', 'ETH']);
  });

  it('sends an unvaluable account to every targeted sweep, with the reason', () => {
    const account: Account = {
      accountId: 'doge',
      collateral: [{ asset: 'USDT', amount: '100' }],
      positions: [perp('DOGE', 100, 0.1)],
    };
    const band = bandOf(account, 'OK');
    expect(band).toMatchObject({
      method: 'every-sweep',
      safeMove: 0,
      entries: [{ instrument: EVERY_SWEEP }],
    });
    expect(band.reason).toMatch(/DOGE/);
    expect(bandCrossed(band.entries, new Map())).toBe(true);
  });

  it('gives an account with nothing a price can move no entries', () => {
    const band = bandOf(
      { accountId: 'cash', collateral: [{ asset: 'USDT', amount: '5' }], positions: [] },
      'OK',
    );
    expect(band).toMatchObject({ method: 'no-exposure', entries: [] });
  });

  it('bands a LIQUIDATION account by its recovery only, and a stale state at zero', () => {
    const deep: Account = {
      accountId: 'deep',
      collateral: [{ asset: 'USDT', amount: '100' }],
      positions: [perp('ETH', 10, 2_000)],
    };
    expect(state(deep)).toBe('LIQUIDATION');
    const band = bandOf(deep, 'LIQUIDATION');
    expect(band.method).toBe('separable');
    // Recovery to MARGIN_CALL needs equity ≥ 0.85 × 7% × notional: ETH up about 5.3%, so δ is 5%.
    expect(band.safeMove).toBe(0.05);
    // Stored as OK while its ratio says LIQUIDATION (e.g. a lost transition): revisit on any move.
    expect(bandOf(deep, 'OK').safeMove).toBe(0);
    const always = bandOf(deep, 'OK').entries[0];
    expect(bandCrossed([always as NonNullable<typeof always>], new Map([['ETH', 2_000]]))).toBe(true);
  });

  it('gives an account under 0.2% from its level a band of 0.15%, which a quiet minute rarely crosses, not 0', () => {
    // ETH long of 10 at 2,000 (maintenance 7%): WARNING once the price falls far enough for the ratio to go
    // under 1.2. Collateral set so that happens between 0.15% and 0.2% below the mark.
    const account: Account = {
      accountId: 'close',
      collateral: [{ asset: 'USDT', amount: '1707.50' }],
      positions: [perp('ETH', 10, 2_000)],
    };
    expect(state(account)).toBe('OK');
    expect(state(account, moved({ BTC: 0, ETH: -1, SOL: 0 }, 0.0015))).toBe('OK');
    expect(state(account, moved({ BTC: 0, ETH: -1, SOL: 0 }, 0.002))).toBe('WARNING');
    // A minute's σ is about 0.08% for BTC at 60% a year: a band of 0 is crossed every minute, 0.15% rarely.
    expect(bandOf(account, 'OK').safeMove).toBe(0.0015);
  });

  it('stops the band of a netted account (nothing required) before a move makes its equity negative', () => {
    // BTC futures netted to zero that have lost 2,600, against 0.1 BTC of collateral (3,000): equity +400
    // and nothing required, so OK. Below BTC 26,000 (−13.3%) it is insolvent: LIQUIDATION.
    const netted: Account = {
      accountId: 'netted',
      collateral: [{ asset: 'BTC', amount: '0.1' }],
      positions: [perp('BTC', 1, 30_000), perp('BTC', -1, 27_400)],
    };
    expect(state(netted)).toBe('OK');
    expect(state(netted, moved({ BTC: -1, ETH: 0, SOL: 0 }, 0.15))).toBe('LIQUIDATION');
    const band = bandOf(netted, 'OK');
    expect(band.safeMove).toBe(0.1);
    expect(bandCrossed(band.entries, new Map([['BTC', 26_000]]))).toBe(true);
    // Insolvent with nothing required and quote collateral: no move restores its equity, nor its state.
    const insolvent: Account = { ...netted, collateral: [{ asset: 'USDT', amount: '2000' }] };
    expect(state(insolvent)).toBe('LIQUIDATION');
    expect(bandOf(insolvent, 'LIQUIDATION').safeMove).toBe(SAFE_MOVE_LADDER.at(-1));
  });

  it('samples when correlation offsets couple instruments, and still holds on joint moves', () => {
    const correlated = snapshotAt(MARKS, true);
    fc.assert(
      fc.property(futuresAccount, fc.array(movesInside, { minLength: 5, maxLength: 5 }), (account, moves) => {
        const current = state(account, correlated);
        const band = bandOf(account, current, correlated);
        if (band.method === 'no-exposure') return;
        expect(band.method === 'sampled' || band.method === 'every-sweep').toBe(true);
        for (const move of moves) {
          const ratio = valueAccount(account, moved(move, band.safeMove, true), AS_OF).ratio;
          expect(isWorse(current, nextMarginState(current, ratio, LEVELS))).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('holds on sampled option books (empirical: Black-76 is not concave)', () => {
    const option = fc.record({
      call: fc.boolean(),
      long: fc.boolean(),
      strike: fc.double({ min: 0.7, max: 1.3, noNaN: true }),
      days: fc.integer({ min: 2, max: 120 }),
      quantity: fc.double({ min: 0.1, max: 20, noNaN: true }),
    });
    const book = fc
      .record({
        options: fc.array(option, { minLength: 1, maxLength: 3 }),
        hedge: fc.double({ min: -10, max: 10, noNaN: true }),
        collateral: fc.double({ min: 500, max: 60_000, noNaN: true }),
      })
      .map(
        ({ options, hedge, collateral }): Account => ({
          accountId: 'opt',
          collateral: [{ asset: 'USDT', amount: collateral.toFixed(2) }],
          positions: [
            ...options.map(
              (o): Position => ({
                kind: 'option',
                instrument: 'ETH',
                optionType: o.call ? 'call' : 'put',
                strike: (MARKS.ETH * o.strike).toFixed(2),
                expiry: inDays(o.days),
                quantity: ((o.long ? 1 : -1) * o.quantity).toFixed(4),
                entryPrice: '50',
                markVolatility: 0.7,
              }),
            ),
            ...(Math.abs(hedge) > 0.5 ? [perp('ETH', hedge, 2_000)] : []),
          ],
        }),
      );
    let misses = 0;
    let checks = 0;
    fc.assert(
      fc.property(book, fc.array(movesInside, { minLength: 10, maxLength: 10 }), (account, moves) => {
        const current = state(account);
        const band = bandOf(account, current);
        for (const move of moves) {
          const ratio = valueAccount(account, moved(move, band.safeMove), AS_OF).ratio;
          checks++;
          if (nextMarginState(current, ratio, LEVELS) !== current) misses++;
        }
      }),
      { numRuns: 200, seed: 7 },
    );
    expect(checks).toBe(2000);
    expect(misses).toBe(0);
  });
});

describe('bandCrossed', () => {
  const entries = [{ accountId: 'a', instrument: 'BTC', below: 29_000, above: 31_000 }];
  it.each([
    [29_000, true],
    [29_000.01, false],
    [30_999.99, false],
    [31_000, true],
  ])('mark %s crosses: %s', (mark, crossed) => {
    expect(bandCrossed(entries, new Map([['BTC', mark]]))).toBe(crossed);
  });
});
