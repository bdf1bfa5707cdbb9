import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Decimal } from '../../../lib/domain/valuation/decimal.ts';
import { unitsUp } from '../../../lib/domain/valuation/money.ts';
import {
  bracketInitial,
  bracketMaintenance,
  bracketTable,
  deribitSizeRate,
  liquidityFactor,
  openInterestScaledRate,
  openInterestScalingFactor,
  scaleInitialForOpenInterest,
  sizeAddOnBrackets,
} from '../../../lib/domain/valuation/size.ts';
import { valueAccount } from '../../../lib/domain/valuation/valuation.ts';
import { expectClose } from '../math/tolerance.ts';
import { AS_OF, accountOf, BINANCE_BTCUSDT, linear, snapshotOf } from './fixtures.ts';

/** Σ over brackets of the slice of notional in each × its rate: the "tax bracket" sum. */
function marginalSum(notional: number, rate: (i: number) => number): number {
  let total = 0;
  BINANCE_BTCUSDT.forEach((b, i) => {
    const top = Math.min(notional, b.notionalCap ?? Number.POSITIVE_INFINITY);
    if (top > b.notionalFloor) total += (top - b.notionalFloor) * rate(i);
  });
  return total;
}

describe('Binance notional brackets (margin-methods.md §3.2)', () => {
  const table = bracketTable(BINANCE_BTCUSDT);

  it.each([
    [40_000, 160],
    [100_000, 450],
    [500_000, 3_700],
    [5_000_000, 108_700],
  ])('maintenance margin at %d is %d', (notional, mm) => {
    expectClose(bracketMaintenance(table, notional), mm, { abs: 1e-9 });
    expectClose(bracketMaintenance(table, -notional), mm, { abs: 1e-9 }); // shorts by |notional|
  });

  it('the published cum column follows cumₙ = cumₙ₋₁ + floorₙ × (MMRₙ − MMRₙ₋₁)', () => {
    let cum = 0;
    let previous = 0;
    for (const b of BINANCE_BTCUSDT) {
      cum += b.notionalFloor * (b.maintenanceMarginRate - previous);
      previous = b.maintenanceMarginRate;
      expectClose(b.cum, cum, { abs: 1e-6 });
    }
  });

  it('derives the initial cum the same way: IM at 100k is 900, at 500k 7,400', () => {
    expectClose(bracketInitial(table, 100_000), 900, { abs: 1e-9 });
    expectClose(bracketInitial(table, 500_000), 7_400, { abs: 1e-9 });
    expectClose(table.initialCum[2] as number, 2_600, { abs: 1e-9 });
  });

  it('equals the marginal (tax-bracket) sum, so it is continuous and nondecreasing (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 6e8, noNaN: true }), (notional) => {
        const mm = bracketMaintenance(table, notional);
        const im = bracketInitial(table, notional);
        expectClose(
          mm,
          marginalSum(notional, (i) => BINANCE_BTCUSDT[i]?.maintenanceMarginRate ?? 0),
          {
            abs: 1e-6,
            rel: 1e-12,
          },
        );
        expectClose(
          im,
          marginalSum(notional, (i) => BINANCE_BTCUSDT[i]?.initialMarginRate ?? 0),
          {
            abs: 1e-6,
            rel: 1e-12,
          },
        );
        expect(mm).toBeLessThanOrEqual(im);
        expect(bracketMaintenance(table, notional * 1.01)).toBeGreaterThanOrEqual(mm);
      }),
    );
    for (const b of BINANCE_BTCUSDT.slice(1)) {
      const at = b.notionalFloor;
      expectClose(bracketMaintenance(table, at * (1 - 1e-12)), bracketMaintenance(table, at), { rel: 1e-9 });
    }
  });

  it('charges the base rate with no brackets', () => {
    expect(bracketMaintenance(bracketTable([]), 1000, 0.05)).toBe(50);
    expect(bracketInitial(bracketTable([]), -1000, 0.1)).toBe(100);
  });

  it('values a BTCUSDT perpetual at these brackets end to end', () => {
    const snapshot = snapshotOf({
      BTC: {
        markPrice: 50_000,
        initialMarginRate: 0.008,
        maintenanceMarginRate: 0.004,
        brackets: BINANCE_BTCUSDT,
      },
    });
    const valuation = valueAccount(accountOf([linear('BTC', '-100', '50000')]), snapshot, AS_OF);
    expect(valuation.maintenanceRequirement).toBe('108700.00000000'); // 5M notional, short
    expect(valuation.initialRequirement).toBe(`${(5e6 * 0.05 - (table.initialCum[3] as number)).toFixed(8)}`);
  });
});

describe('dYdX open-interest scaling (margin-methods.md §3.1, liquidity_tier_test.go)', () => {
  /**
   * IMR in quote quantums, rounded up as dYdX does: the float result goes through the valuation's money
   * rounding (8 dp, float noise snapped: 0.2 + 0.5 × 0.8 is 0.6000000000000001), then up to a whole quantum.
   */
  const imr = (basePpm: number, lower: number, upper: number, oi: number, quantums: number) => {
    const amount = quantums * openInterestScaledRate(basePpm / 1e6, oi, { lowerCap: lower, upperCap: upper });
    return Decimal.fromUnits(BigInt(unitsUp(amount, amount)), 8)
      .round(0, 'ceil')
      .toNumber();
  };

  it.each([
    [200_000, 0, 0, 1.5e12, 500_000, 100_000],
    [200_000, 1e12, 2e12, 1.5e12, 500_000, 300_000],
    [200_000, 25e12, 50e12, 80e12, 500_000, 500_000],
    [200_000, 25e12, 50e12, 25e12, 500_000, 100_000],
    [200_000, 25e12, 60e12, 28_123_456_789_123, 500_000, 135_697],
    [567_243, 0, 0, 0, 123_456, 70_030],
    [100_000, 0, 0, 0, 1, 1],
  ])('base %d ppm, caps %d–%d, OI %d, %d quantums → IMR %d', (base, lower, upper, oi, quantums, expected) => {
    expect(imr(base, lower, upper, oi, quantums)).toBe(expected);
  });

  it('adjusted IMF ppm 387,653 (rounded down) for base 200,000, caps 1e6–2e6, OI 1,234,567', () => {
    const rate = openInterestScaledRate(0.2, 1_234_567, { lowerCap: 1_000_000, upperCap: 2_000_000 });
    expect(
      Decimal.fromNumber(rate * 1e6)
        .round(0, 'floor')
        .toNumber(),
    ).toBe(387_653);
  });

  it('is off without scaling, without open interest or with upperCap ≤ lowerCap; clamps to [0, 1]', () => {
    expect(openInterestScalingFactor(undefined, 1e12)).toBe(0);
    expect(openInterestScalingFactor({ lowerCap: 0, upperCap: 10 }, undefined)).toBe(0);
    expect(openInterestScalingFactor({ lowerCap: 10, upperCap: 10 }, 20)).toBe(0);
    expect(openInterestScalingFactor({ lowerCap: 10, upperCap: 20 }, 5)).toBe(0);
    expect(openInterestScalingFactor({ lowerCap: 10, upperCap: 20 }, 15)).toBe(0.5);
    expect(openInterestScalingFactor({ lowerCap: 10, upperCap: 20 }, 25)).toBe(1);
    expect(scaleInitialForOpenInterest(100, 1000, 0.5)).toBe(550);
    expect(scaleInitialForOpenInterest(100, -1000, 0)).toBe(100);
  });

  it('scales the initial but not the maintenance requirement of a position (end to end)', () => {
    const snapshot = snapshotOf({
      BTC: {
        markPrice: 100_000,
        initialMarginRate: 0.2,
        maintenanceMarginRate: 0.1,
        openInterestScaling: { lowerCap: 25e12, upperCap: 60e12 },
        openInterestNotional: 28_123_456_789_123,
      },
    });
    const valuation = valueAccount(accountOf([linear('BTC', '5', '100000')]), snapshot, AS_OF);
    expectClose(Number(valuation.initialRequirement), 135_696.64901854857, { abs: 1.5e-8 }); // Python Fraction
    expect(Decimal.parse(valuation.initialRequirement).round(0, 'ceil').toString()).toBe('135697');
    expect(valuation.maintenanceRequirement).toBe('50000.00000000');
  });
});

describe('Deribit size add-on (margin-methods.md §1.1)', () => {
  it.each([
    ['BTC IM, 25 BTC', 0.02, 0.00005, 25, 0.02125],
    ['BTC MM, 25 BTC', 0.01, 0.00005, 25, 0.01125],
    ['BTC IM, 350 BTC', 0.02, 0.00005, 350, 0.0375],
    ['SOL IM, 6000 SOL', 0.04, 0.000005, 6000, 0.07],
  ])('%s: rate %f + size × %f = %f', (_name, base, perUnit, size, rate) => {
    expectClose(deribitSizeRate(base, perUnit, size), rate, { abs: 1e-15 });
    expectClose(deribitSizeRate(base, perUnit, -size), rate, { abs: 1e-15 });
  });

  it('caps the rate at 100%', () => {
    expect(deribitSizeRate(0.02, 0.00005, 1e6)).toBe(1);
  });

  const btcBrackets = sizeAddOnBrackets({
    price: 100_000,
    initialBaseRate: 0.02,
    maintenanceBaseRate: 0.01,
    perUnitRate: 0.00005,
    stepSize: 25,
    steps: 40,
  });
  const btc = snapshotOf({
    BTC: { markPrice: 100_000, initialMarginRate: 0.02, maintenanceMarginRate: 0.01, brackets: btcBrackets },
  });

  it.each([
    ['25', '53125.00000000', '28125.00000000'],
    ['350', '1312500.00000000', '962500.00000000'],
    ['-25', '53125.00000000', '28125.00000000'],
  ])('as brackets: %s BTC at 100,000 USD → IM %s, MM %s (exact at bracket bounds)', (size, im, mm) => {
    const valuation = valueAccount(accountOf([linear('BTC', size, '100000')]), btc, AS_OF);
    expect(valuation.initialRequirement).toBe(im);
    expect(valuation.maintenanceRequirement).toBe(mm);
  });

  it('as brackets: never below Deribit’s own requirement between the bounds (chords of a convex curve)', () => {
    const table = bracketTable(btcBrackets);
    for (let size = 0.5; size < 1000; size += 7.3) {
      const notional = size * 100_000;
      expect(bracketInitial(table, notional)).toBeGreaterThanOrEqual(
        notional * deribitSizeRate(0.02, 0.00005, size) * (1 - 1e-12),
      );
      expect(bracketMaintenance(table, notional)).toBeGreaterThanOrEqual(
        notional * deribitSizeRate(0.01, 0.00005, size) * (1 - 1e-12),
      );
    }
  });

  it('as brackets: SOL 6000 at $200 → IM 84,000 (7%)', () => {
    const brackets = sizeAddOnBrackets({
      price: 200,
      initialBaseRate: 0.04,
      maintenanceBaseRate: 0.02,
      perUnitRate: 0.000005,
      stepSize: 1000,
      steps: 30,
    });
    const snapshot = snapshotOf({
      SOL: { markPrice: 200, initialMarginRate: 0.04, maintenanceMarginRate: 0.02, brackets },
    });
    const valuation = valueAccount(accountOf([linear('SOL', '6000', '200')]), snapshot, AS_OF);
    expect(valuation.initialRequirement).toBe('84000.00000000');
    expect(valuation.maintenanceRequirement).toBe('60000.00000000'); // 6000 × 200 × (2% + 3%)
  });
});

describe('liquidity add-on', () => {
  it('scales by √(days to liquidate / MPOR) beyond the MPOR', () => {
    expect(liquidityFactor(4e6, 1e7, 0.1, 1)).toBe(2); // 4 days at $1M a day
    expect(liquidityFactor(-4e6, 1e7, 0.1, 1)).toBe(2);
    expect(liquidityFactor(4e6, 1e7, 0.1, 2)).toBe(Math.SQRT2);
    expect(liquidityFactor(1e6, 1e7, 0.1, 1)).toBe(1); // exactly one day: no add-on, continuous
    expect(liquidityFactor(5e5, 1e7, 0.1, 1)).toBe(1);
  });

  it('has no add-on without usable volume', () => {
    expect(liquidityFactor(1e9, 0, 0.1)).toBe(1);
    expect(liquidityFactor(1e9, Number.NaN, 0.1)).toBe(1);
    expect(liquidityFactor(1e9, 1e7, 0)).toBe(1);
  });

  it('applies to both requirements of a large position (end to end)', () => {
    const snapshot = snapshotOf({
      BTC: {
        markPrice: 100_000,
        initialMarginRate: 0.1,
        maintenanceMarginRate: 0.05,
        liquidity: { averageDailyVolume: 1e7, participationRate: 0.1 },
      },
    });
    // 40 BTC = $4M, 4 days at 10% of a $10M ADV: ×2.
    const big = valueAccount(accountOf([linear('BTC', '40', '100000')]), snapshot, AS_OF);
    expect(big.initialRequirement).toBe('800000.00000000');
    expect(big.maintenanceRequirement).toBe('400000.00000000');
    // 10 BTC = $1M: one day, no add-on.
    const small = valueAccount(accountOf([linear('BTC', '10', '100000')]), snapshot, AS_OF);
    expect(small.initialRequirement).toBe('100000.00000000');
  });
});
