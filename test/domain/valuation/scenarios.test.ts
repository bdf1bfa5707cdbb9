import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../lib/domain/errors.ts';
import { parseValuationPolicy } from '../../../lib/domain/valuation/policy.ts';
import {
  deribitGrid,
  deribitParameters,
  deribitPriceMoves,
  deribitVolShockFactor,
  deribitVolShocks,
  linearRiskArray,
  scanRisk,
  spanGrid,
  spanParameters,
  spanVolShocks,
} from '../../../lib/domain/valuation/scenarios.ts';
import { expectClose } from '../math/tolerance.ts';

describe('Deribit portfolio-margin grid (margin-methods.md §1.3)', () => {
  it('has 9 price buckets ±4/8/12/16% and 0 at priceRange 0.16, 4 steps', () => {
    const moves = deribitPriceMoves(0.16, 4);
    const expected = [-0.16, -0.12, -0.08, -0.04, 0, 0.04, 0.08, 0.12, 0.16];
    expect(moves).toHaveLength(9);
    moves.forEach((m, i) => {
      expectClose(m, expected[i] as number, { abs: 1e-15 });
    });
  });

  it('has 27 scan scenarios: every bucket at vol up, same and down, all fully weighted', () => {
    const grid = deribitGrid(deribitParameters({ extremeCover: 0 }));
    expect(grid.scenarios).toHaveLength(27);
    expect(new Set(grid.scenarios.map((s) => s.move)).size).toBe(9);
    for (const vol of ['up', 'same', 'down'] as const) {
      expect(grid.scenarios.filter((s) => s.vol === vol)).toHaveLength(9);
    }
    expect(grid.scenarios.every((s) => s.weight === 1)).toBe(true);
    expect(Math.max(...grid.moves)).toBe(1);
    expect(Math.min(...grid.moves)).toBe(-1);
  });

  // margin-methods.md §1.3 "Test vectors for the vol-shock multiplier (30/DTE)^p", 6 decimals as published.
  it.each([
    [1, 2.774191],
    [7, 1.547416],
    [15, 1.231144],
    [30, 1.0],
    [60, 0.913831],
    [90, 0.86691],
    [180, 0.79221],
  ])('vol-shock factor at DTE %d is %f', (dte, factor) => {
    expectClose(deribitVolShockFactor(dte), factor, { abs: 5e-7 });
  });

  it('uses the short-term power below 30 days and the long-term one from 30 days', () => {
    expectClose(deribitVolShockFactor(29.999), (30 / 29.999) ** 0.3, { rel: 1e-15 });
    expect(deribitVolShockFactor(30)).toBe(1);
    expectClose(deribitVolShockFactor(31), (30 / 31) ** 0.13, { rel: 1e-15 });
  });

  it('floors days to expiry at 1 so the shock stays finite near expiry (Paradex max(1, DTE))', () => {
    expect(deribitVolShockFactor(0.01)).toBe(deribitVolShockFactor(1));
    expect(deribitVolShockFactor(0)).toBe(deribitVolShockFactor(1));
  });

  it('gives volUp 1.064225 and volDown 0.367888 at IV 60%, DTE 7 (published example)', () => {
    const shocks = deribitVolShocks(0.6, 7);
    expectClose(shocks.up, 1.064225, { abs: 5e-7 });
    expectClose(shocks.down, 0.367888, { abs: 5e-7 });
  });

  it('never shocks up below minVolForShockUp, nor down below 0', () => {
    expect(deribitVolShocks(0.1, 60).up).toBe(0.5);
    expect(deribitVolShocks(0.1, 60, deribitParameters({ minVolForShockUp: 0 })).up).toBeCloseTo(
      0.1 * (1 + 0.5 * 0.913831),
      6,
    );
    expect(deribitVolShocks(0.8, 1, deribitParameters({ volRangeDown: 0.5 })).down).toBe(0);
  });

  it('reproduces the legacy examples: (30/15)^0.3 × 38% = 46.78%', () => {
    expectClose(deribitVolShockFactor(15, deribitParameters({ shortTermVegaPower: 0.3 })) * 0.38, 0.4678, {
      abs: 5e-5,
    });
  });
});

describe('SPAN 16 scenarios (margin-methods.md §2.1)', () => {
  it('lists the scenarios in CME order with 35% of the extreme moves counted', () => {
    const grid = spanGrid();
    expect(grid.scenarios).toHaveLength(16);
    const moves = [0, 0, 1 / 3, 1 / 3, -1 / 3, -1 / 3, 2 / 3, 2 / 3, -2 / 3, -2 / 3, 1, 1, -1, -1, 3, -3];
    grid.scenarios.forEach((s, i) => {
      expect(s.move, `scenario ${i + 1}`).toBe(moves[i]);
      expect(s.vol).toBe(i >= 14 ? 'same' : i % 2 === 0 ? 'up' : 'down');
      expect(s.weight).toBe(i >= 14 ? 0.35 : 1);
    });
  });

  it('shocks volatility relatively, never below 0', () => {
    expect(spanVolShocks(0.8)).toEqual({ up: 1, down: 0.6000000000000001 });
    expect(spanVolShocks(0.8, spanParameters({ volScanRange: 1 })).down).toBe(0);
  });

  // McMillan, Options as a Strategic Investment: S&P futures, scan range $10,000, extreme = 35% × 2 × range.
  const MCMILLAN_FUTURE = [
    0, 0, 3330, 3330, -3330, -3330, 6670, 6670, -6670, -6670, 10000, 10000, -10000, -10000, 7000, -7000,
  ];
  const MCMILLAN_COVERED_WRITE = [
    -460, 610, 690, 1600, -2060, -990, 1460, 2130, -4130, -3240, 1940, 2360, -6620, -6010, 3870, -5500,
  ];

  it('reproduces McMillan’s long-future risk array from the grid (extreme multiple 2)', () => {
    const array = linearRiskArray(10_000, 1, spanGrid(spanParameters({ extremeMultiple: 2 })));
    // Published to the nearest $10 (3,333.33 → 3,330).
    array.forEach((value, i) => {
      expectClose(value, MCMILLAN_FUTURE[i] as number, { abs: 5 });
    });
  });

  it('finds the covered write’s scan risk 6,620 at scenario 13 from the published arrays', () => {
    // The short Dec 410 call's array is the covered write's minus the future's; sum the two legs back.
    const shortCall = MCMILLAN_COVERED_WRITE.map((v, i) => v - (MCMILLAN_FUTURE[i] as number));
    expect(scanRisk([MCMILLAN_FUTURE, shortCall])).toEqual({ risk: 6620, scenario: 13 });
    expect(scanRisk([MCMILLAN_COVERED_WRITE])).toEqual({ risk: 6620, scenario: 13 });
    // Same with a long-call array and quantity −1, and with the future's array built by the grid.
    const longCall = shortCall.map((v) => -v);
    expect(scanRisk([MCMILLAN_FUTURE, longCall], [1, -1])).toEqual({ risk: 6620, scenario: 13 });
    const future = linearRiskArray(10_000, 1, spanGrid(spanParameters({ extremeMultiple: 2 })));
    const computed = scanRisk([future, shortCall]);
    expect(computed.scenario).toBe(13);
    expectClose(computed.risk, 6620, { abs: 1e-9 });
    // The future alone loses most at −3/3 (scenario 13), the call alone at +3/3 vol up (scenario 11).
    expect(scanRisk([MCMILLAN_FUTURE])).toEqual({ risk: 10000, scenario: 13 });
    expect(scanRisk([shortCall])).toEqual({ risk: 8060, scenario: 11 });
  });

  it('reports no risk for arrays that never lose and rejects ragged arrays', () => {
    expect(scanRisk([[0, 5, 10]])).toEqual({ risk: 0, scenario: null });
    expect(scanRisk([])).toEqual({ risk: 0, scenario: null });
    expect(() => scanRisk([[1, 2], [1]])).toThrow(RangeError);
  });
});

describe('valuation policy', () => {
  it('fills in the documented defaults', () => {
    const policy = parseValuationPolicy({});
    expect(policy.grid).toEqual({
      method: 'deribit',
      priceRangeSteps: 4,
      volRangeUp: 0.5,
      volRangeDown: 0.25,
      minVolForShockUp: 0.5,
      shortTermVegaPower: 0.3,
      longTermVegaPower: 0.13,
      shortTermDays: 30,
      minDaysToExpiry: 1,
      extremeMultiple: 8,
      extremeCover: 0.125,
    });
    expect(policy.optionSizing).toBe('scenario-path');
    expect(policy.shortOptionMinimumNetting).toBe('spreads');
    expect(policy.shortOptionMinimum).toBe(0.01);
    expect(policy.correlations).toEqual([]);
    expect(policy.offsetCreditCap).toBe(0.5);
    expect(policy.marginPeriodOfRiskDays).toBe(1);
    expect(parseValuationPolicy({ grid: { method: 'span' } }).grid).toEqual({
      method: 'span',
      volScanRange: 0.25,
      extremeMultiple: 3,
      extremeCover: 0.35,
    });
  });

  it('rejects bad values naming the path', () => {
    const bad = (input: unknown, path: string) => {
      try {
        parseValuationPolicy(input);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(PolicyError);
        expect((error as PolicyError).path).toBe(path);
      }
    };
    bad({ offsetCreditCap: 1.5 }, 'valuation.offsetCreditCap');
    bad({ correlations: [{ a: 'BTC', b: 'BTC', rho: 0.5 }] }, 'valuation.correlations.0.b');
    bad(
      {
        correlations: [
          { a: 'BTC', b: 'ETH', rho: 0.5 },
          { a: 'ETH', b: 'BTC', rho: 0.7 },
        ],
      },
      'valuation.correlations.1',
    );
    bad({ grid: { method: 'span', extremeCover: 2 } }, 'valuation.grid.extremeCover');
    bad({ grid: { method: 'var' } }, 'valuation.grid.method');
  });
});
