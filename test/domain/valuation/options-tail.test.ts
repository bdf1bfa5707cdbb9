/**
 * Issue 17: options a short-gamma book cannot game. Every expectation is computed here, independently of
 * lib/domain/valuation: a plain Black-76 (Φ by Marsaglia's Taylor series, not lib/domain/math/normal.ts), the
 * Deribit grid written out, the bracket requirement N × rate − cum with cum summed from the table's floors.
 * Tolerance: 1e-9 relative on requirements (the two Φ agree to ~1e-15; the grid sums a few dozen terms).
 */
import { describe, expect, it } from 'vitest';
import type { Position } from '../../../lib/domain/account/account.ts';
import { PolicyError } from '../../../lib/domain/errors.ts';
import { notionalBrackets } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { NotionalBracket } from '../../../lib/domain/threshold/threshold.ts';
import { parseValuationPolicy, type ValuationPolicyInput } from '../../../lib/domain/valuation/policy.ts';
import { deribitGrid, deribitParameters } from '../../../lib/domain/valuation/scenarios.ts';
import { valueAccount } from '../../../lib/domain/valuation/valuation.ts';
import { AS_OF, accountOf, inDays, linear, option, snapshotOf, usd } from './fixtures.ts';

// An independent Black-76 (r = 0).

/** Φ(x) = ½ + φ(x)·(x + x³/3 + x⁵/15 + …) (Marsaglia 2004), 0 or 1 beyond |x| > 10. */
function phi(x: number): number {
  if (x < -10) return 0;
  if (x > 10) return 1;
  let sum = x;
  let term = x;
  for (let i = 3; sum !== sum + term; i += 2) {
    term = (term * x * x) / i;
    sum += term;
  }
  return 0.5 + sum * Math.exp(-0.5 * x * x - 0.9189385332046728);
}

function price(isCall: boolean, f: number, k: number, t: number, sigma: number): number {
  if (f <= 0) return isCall ? 0 : k;
  const s = sigma * Math.sqrt(t);
  const d1 = Math.log(f / k) / s + s / 2;
  const d2 = d1 - s;
  return isCall ? f * phi(d1) - k * phi(d2) : k * phi(-d2) - f * phi(-d1);
}

function delta(isCall: boolean, f: number, k: number, t: number, sigma: number): number {
  if (f <= 0) return isCall ? 0 : -1;
  const s = sigma * Math.sqrt(t);
  const d1 = Math.log(f / k) / s + s / 2;
  return isCall ? phi(d1) : phi(d1) - 1;
}

interface Leg {
  readonly isCall: boolean;
  readonly strike: number;
  readonly quantity: number;
}

/** The default extreme moves (policy.ts): ±8 scan ranges at vol up, 12.5% counted. */
const DEFAULT_EXTREME = { multiple: 8, cover: 0.125 };

/** 30 days to expiry: the Deribit vega-power factor (30/30)^0.13 is 1. */
const DAYS = 30;
const YEARS = DAYS / 365;

/** The Deribit grid at 30 days, written out: (move, σ, weight, scan?) for k = −4…4 × up/same/down, extremes. */
function grid(sigma: number, extreme?: { multiple: number; cover: number }) {
  const up = Math.max(sigma * 1.5, 0.5);
  const down = sigma * 0.75;
  const rows: { move: number; sigma: number; weight: number; scan: boolean }[] = [];
  for (let k = -4; k <= 4; k++) {
    for (const s of [up, sigma, down]) rows.push({ move: k / 4, sigma: s, weight: 1, scan: true });
  }
  if (extreme) {
    for (const move of [extreme.multiple, -extreme.multiple]) {
      rows.push({ move, sigma: up, weight: extreme.cover, scan: false });
    }
  }
  return rows;
}

/** Worst weighted loss and the largest |delta| over the scan scenarios (and today) of options + futures. */
function revalue(
  mark: number,
  scanRange: number,
  sigma: number,
  legs: readonly Leg[],
  futures: number,
  extreme?: { multiple: number; cover: number },
) {
  const today = legs.reduce((v, l) => v + l.quantity * price(l.isCall, mark, l.strike, YEARS, sigma), 0);
  let loss = 0;
  let pathDelta = Math.abs(
    futures + legs.reduce((d, l) => d + l.quantity * delta(l.isCall, mark, l.strike, YEARS, sigma), 0),
  );
  for (const s of grid(sigma, extreme)) {
    const f = Math.max(mark * (1 + s.move * scanRange), 0);
    const value = legs.reduce((v, l) => v + l.quantity * price(l.isCall, f, l.strike, YEARS, s.sigma), 0);
    loss = Math.max(loss, -s.weight * (futures * (f - mark) + value - today));
    if (s.scan) {
      const d =
        futures + legs.reduce((x, l) => x + l.quantity * delta(l.isCall, f, l.strike, YEARS, s.sigma), 0);
      pathDelta = Math.max(pathDelta, Math.abs(d));
    }
  }
  return { loss, pathDelta };
}

/** Bracket initial margin N × rate_k − cum_k, cum summed from the floors (the table's own cum is MM's). */
function bracketInitial(brackets: readonly NotionalBracket[], notional: number): number {
  let cum = 0;
  let previous = 0;
  let im = 0;
  for (const b of brackets) {
    cum += b.notionalFloor * (b.initialMarginRate - previous);
    previous = b.initialMarginRate;
    if (b.notionalFloor <= notional) im = notional * b.initialMarginRate - cum;
  }
  return im;
}

function optionPositions(
  instrument: string,
  legs: readonly Leg[],
  scale: number,
  expiry: string,
): Position[] {
  return legs.map((l) =>
    option(instrument, l.isCall ? 'call' : 'put', String(l.strike), String(l.quantity * scale), expiry),
  );
}

function relative(actual: number, expected: number): number {
  return Math.abs(actual - expected) / Math.abs(expected);
}

describe('size on the scenario path (issue 17.1)', () => {
  // SOL at $22.5, R = 15%, the default policy's bracket table, $10M liquidatable per day, IV 80%.
  const MARK = 22.5;
  const R = 0.15;
  const SIGMA = 0.8;
  const BRACKETS = notionalBrackets(DEFAULT_THRESHOLD_POLICY, R, 0.09);
  const PER_DAY = 1e8 * 0.1;
  const market = {
    SOL: {
      markPrice: MARK,
      initialMarginRate: R,
      maintenanceMarginRate: 0.09,
      brackets: BRACKETS,
      liquidity: { averageDailyVolume: 1e8, participationRate: 0.1 },
      impliedVolatility: SIGMA,
    },
  };
  const STRADDLE: Leg[] = [
    { isCall: true, strike: MARK, quantity: -1 },
    { isCall: false, strike: MARK, quantity: -1 },
  ];
  // Delta-neutral today: each straddle hedged with the future against its own (small) delta.
  const HEDGE = -STRADDLE.reduce((d, l) => d + l.quantity * delta(l.isCall, MARK, l.strike, YEARS, SIGMA), 0);
  const straddles = (count: number): Position[] => [
    ...optionPositions('SOL', STRADDLE, count, inDays(DAYS)),
    linear('SOL', String(HEDGE * count), String(MARK)),
  ];
  const initial = (count: number, policy: ValuationPolicyInput) => {
    const v = valueAccount(
      accountOf(straddles(count), [usd('1000000000')]),
      snapshotOf(market, policy),
      AS_OF,
      {
        detail: true,
      },
    );
    return { total: Number(v.initialRequirement), group: v.groups?.[0] };
  };

  it('today’s delta: 3 million delta-neutral short straddles cost exactly 3,000 × 1,000 (the hole)', () => {
    const small = initial(1_000, { optionSizing: 'current-delta' });
    const large = initial(3_000_000, { optionSizing: 'current-delta' });
    expect(relative(large.group?.initial as number, 3000 * (small.group?.initial as number))).toBeLessThan(
      1e-12,
    );
  });

  it('scenario path: the charge rises with size like the futures of the largest scenario delta', () => {
    const policy: ValuationPolicyInput = { optionSizing: 'scenario-path' };
    const count = 3_000_000;
    const { loss, pathDelta } = revalue(MARK, R, SIGMA, STRADDLE, HEDGE, DEFAULT_EXTREME);
    const notional = pathDelta * count * MARK;
    // At ±15% and vol down the hedged book's delta is about 0.7 per straddle: 2.1M SOL, a $47M notional
    // (bracket 4 and 4.7 days to liquidate), where today's delta is 0.
    expect(pathDelta * count).toBeGreaterThan(2_000_000);
    expect(notional).toBeGreaterThan(BRACKETS[3]?.notionalFloor as number);
    const charged = Math.max(loss, 0.01 * MARK) * count;
    const liquidity = notional > PER_DAY ? Math.sqrt(notional / PER_DAY) : 1;
    const expected = ((charged / R) * bracketInitial(BRACKETS, notional) * liquidity) / notional;

    const large = initial(count, policy);
    expect(relative(large.group?.sizingNotional as number, notional)).toBeLessThan(1e-9);
    expect(relative(large.group?.initial as number, expected)).toBeLessThan(1e-9);
    expect(relative(large.total, expected)).toBeLessThan(1e-9);
    // Rising with size: more than 3,000 × the small book (by the bracket rate and the liquidity add-on).
    const small = initial(1_000, policy);
    expect(large.total / small.total).toBeGreaterThan(3000 * 1.5);
    // Like the equivalent futures: the rate and liquidity factor of a future of the same delta notional.
    const future = valueAccount(
      accountOf([linear('SOL', String(pathDelta * count), String(MARK))], [usd('1000000000')]),
      snapshotOf(market),
      AS_OF,
      { detail: true },
    ).groups?.[0];
    expect(large.group?.initialRate).toBeCloseTo(future?.initialRate as number, 12);
    expect(large.group?.liquidityFactor).toBeCloseTo(future?.liquidityFactor as number, 12);
  });

  it('never sizes below today’s delta, and futures only are sized as before', () => {
    const policy: ValuationPolicyInput = { optionSizing: 'scenario-path' };
    const book = [linear('SOL', '1000', String(MARK))];
    const before = valueAccount(accountOf(book), snapshotOf(market), AS_OF, { detail: true });
    const after = valueAccount(accountOf(book), snapshotOf(market, policy), AS_OF, { detail: true });
    expect(after.toJSON()).toEqual(before.toJSON());
    const unhedged = initial(1_000, policy).group;
    expect(unhedged?.sizingNotional).toBeGreaterThanOrEqual(Math.abs(unhedged?.netDelta as number) * MARK);
  });
});

describe('extreme moves (issue 17.2)', () => {
  // BTC the day before 2020-03-12: close 7,911.43, R 9.30%, σ 58.7% (the default backtest's figures).
  const MARK = 7911.43;
  const R = 0.093;
  const SIGMA = 0.587;
  const EXTREME = DEFAULT_EXTREME;
  const PUT: Leg[] = [{ isCall: false, strike: 0.51 * MARK, quantity: -1 }];
  const market = { BTC: { markPrice: MARK, initialMarginRate: R, impliedVolatility: SIGMA } };
  const initial = (positions: Position[], policy: ValuationPolicyInput) =>
    Number(valueAccount(accountOf(positions), snapshotOf(market, policy), AS_OF).initialRequirement);

  it('lists the Deribit extended moves after the 27 scan scenarios, vol up, the cover counted', () => {
    const g = deribitGrid(deribitParameters({ extremeMultiple: 8, extremeCover: 0.125 }));
    expect(g.scenarios).toHaveLength(29);
    expect(g.scenarios.slice(27)).toEqual([
      { move: 8, vol: 'up', weight: 0.125, extreme: true },
      { move: -8, vol: 'up', weight: 0.125, extreme: true },
    ]);
    expect([...g.scan]).toEqual([...Array(27).fill(1), 0, 0]);
    expect(deribitGrid(deribitParameters({ extremeCover: 0 })).scenarios).toHaveLength(27);
  });

  it('charges a put 49% out of the money for a COVID-like day, not only the 1% minimum', () => {
    const positions = optionPositions('BTC', PUT, 1, inDays(DAYS));
    const base = revalue(MARK, R, SIGMA, PUT, 0).loss;
    const withExtremes = revalue(MARK, R, SIGMA, PUT, 0, EXTREME).loss;
    expect(base).toBeLessThan(0.01 * MARK); // the scan grid never reaches the strike
    const before = initial(positions, { grid: { method: 'deribit', extremeCover: 0 } });
    const after = initial(positions, {
      grid: { method: 'deribit', extremeMultiple: 8, extremeCover: 0.125 },
    });
    expect(relative(before, 0.01 * MARK)).toBeLessThan(1e-9); // one bracket at R: IM = the charged loss
    expect(relative(after, withExtremes)).toBeLessThan(1e-9);
    // The COVID day: −37.2% to the next close, σ to 120%, a day less to expiry.
    const covid =
      price(false, MARK * (1 - 0.372), 0.51 * MARK, (DAYS - 1) / 365, 1.2) -
      price(false, MARK, 0.51 * MARK, YEARS, SIGMA);
    expect(covid / before).toBeGreaterThan(3); // the hole: ~3 × the requirement
    expect(after).toBeGreaterThan(covid); // covered now
    expect(after / before).toBeGreaterThan(3);
  });

  it('leaves a future’s requirement unchanged when cover × multiple ≤ 1', () => {
    for (const quantity of ['1', '-1', '250']) {
      const positions = [linear('BTC', quantity, String(MARK))];
      expect(
        initial(positions, { grid: { method: 'deribit', extremeMultiple: 8, extremeCover: 0.125 } }),
      ).toBe(initial(positions, { grid: { method: 'deribit', extremeCover: 0 } }));
    }
  });

  it('rejects bad extreme settings naming the path', () => {
    const path = (input: unknown) => {
      try {
        parseValuationPolicy(input);
      } catch (error) {
        expect(error).toBeInstanceOf(PolicyError);
        return (error as PolicyError).path;
      }
      return null;
    };
    expect(path({ grid: { method: 'deribit', extremeCover: 1.5 } })).toBe('valuation.grid.extremeCover');
    expect(path({ grid: { method: 'deribit', extremeMultiple: 0.5 } })).toBe(
      'valuation.grid.extremeMultiple',
    );
    expect(path({ optionSizing: 'gamma' })).toBe('valuation.optionSizing');
    expect(path({ shortOptionMinimumNetting: 'box' })).toBe('valuation.shortOptionMinimumNetting');
  });
});

describe('short option minimum netted as spreads (issue 17.3)', () => {
  const MARK = 100;
  const R = 0.1;
  const SIGMA = 0.6;
  const market = { ETH: { markPrice: MARK, initialMarginRate: R, impliedVolatility: SIGMA } };
  const SPREADS: ValuationPolicyInput = { shortOptionMinimumNetting: 'spreads' };
  const SERIES: ValuationPolicyInput = { shortOptionMinimumNetting: 'series' };
  const group = (legs: Leg[], policy: ValuationPolicyInput, expiries?: string[]) => {
    const positions = legs.map((l, i) =>
      option(
        'ETH',
        l.isCall ? 'call' : 'put',
        String(l.strike),
        String(l.quantity),
        expiries?.[i] ?? inDays(DAYS),
      ),
    );
    return valueAccount(accountOf(positions), snapshotOf(market, policy), AS_OF, { detail: true })
      .groups?.[0];
  };

  it('charges a net-long put spread no minimum, only what a scenario can lose', () => {
    const legs: Leg[] = [
      { isCall: false, strike: 60, quantity: 1 },
      { isCall: false, strike: 50, quantity: -1 },
    ];
    const { loss } = revalue(MARK, R, SIGMA, legs, 0, DEFAULT_EXTREME);
    expect(loss).toBeLessThan(0.01 * MARK);
    expect(group(legs, SERIES)?.shortOptionMinimum).toBeCloseTo(1, 12); // per series: still charged
    const g = group(legs, SPREADS);
    expect(g?.shortOptionMinimum).toBe(0);
    expect(relative(g?.initial as number, loss)).toBeLessThan(1e-9);
  });

  it('nets calls the mirror way, and caps a credit spread’s minimum at its width', () => {
    const longCalls: Leg[] = [
      { isCall: true, strike: 150, quantity: 2 },
      { isCall: true, strike: 160, quantity: -2 },
    ];
    expect(group(longCalls, SPREADS)?.shortOptionMinimum).toBe(0);
    const credit: Leg[] = [
      { isCall: false, strike: 50, quantity: -3 },
      { isCall: false, strike: 49.5, quantity: 2 },
    ];
    // Two spreads 0.5 wide (0.5 each, under the 1.00 minimum) and one naked short (1.00).
    expect(group(credit, SPREADS)?.shortOptionMinimum).toBeCloseTo(2 * 0.5 + 1, 12);
  });

  it('pairs only within an expiry, and never charges below the scenario loss', () => {
    const legs: Leg[] = [
      { isCall: false, strike: 60, quantity: 1 },
      { isCall: false, strike: 50, quantity: -1 },
    ];
    const g = group(legs, SPREADS, [inDays(60), inDays(DAYS)]);
    expect(g?.shortOptionMinimum).toBeCloseTo(1, 12);
    const nearMoney: Leg[] = [
      { isCall: false, strike: 100, quantity: -1 },
      { isCall: false, strike: 90, quantity: 1 },
    ];
    const { loss } = revalue(MARK, R, SIGMA, nearMoney, 0, DEFAULT_EXTREME);
    const near = group(nearMoney, SPREADS);
    expect(loss).toBeGreaterThan(near?.shortOptionMinimum as number);
    expect(relative(near?.initial as number, loss)).toBeLessThan(1e-9);
  });
});
