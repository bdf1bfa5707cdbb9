import { describe, expect, it } from 'vitest';
import type { Account, Position } from '../../../lib/domain/account/account.ts';
import { AccountRecordError, MarketDataError } from '../../../lib/domain/errors.ts';
import type { PairCorrelation } from '../../../lib/domain/threshold/correlation.ts';
import type { ThresholdSet } from '../../../lib/domain/threshold/threshold.ts';
import { black76Price } from '../../../lib/domain/valuation/black76.ts';
import { ValuationError } from '../../../lib/domain/valuation/errors.ts';
import { parseUnits } from '../../../lib/domain/valuation/money.ts';
import type { ValuationPolicyInput } from '../../../lib/domain/valuation/policy.ts';
import { createMarketSnapshot, marketSnapshotFromSet } from '../../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../../lib/domain/valuation/valuation.ts';
import { expectClose } from '../math/tolerance.ts';
import { AS_OF, accountOf, inDays, linear, option, snapshotOf, thresholdFor, usd } from './fixtures.ts';

const BTC = { markPrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 };

describe('equity', () => {
  it('counts collateral at its price less its haircut', () => {
    const snapshot = snapshotOf({ BTC });
    const account = accountOf(
      [],
      [usd('10000'), { asset: 'BTC', amount: '0.5', haircut: 0.1 }, { asset: 'USDT', amount: '250.25' }],
    );
    const v = valueAccount(account, snapshot, AS_OF);
    expect(v.equity).toBe('55250.25000000');
    expect(v.maintenanceRequirement).toBe('0.00000000');
    expect(v.marginRatio).toBeNull();
    expect(v.ratio).toBeNull();
  });

  it('keeps quote-currency collateral exact to the last of 8 places, however large', () => {
    const v = valueAccount(
      accountOf([], [usd('123456789012345.12345678'), usd('0.000000019')]),
      snapshotOf({ BTC }),
      AS_OF,
    );
    expect(v.equity).toBe('123456789012345.12345679'); // 0.000000019 rounds down to 0.00000001
    expect(Number('123456789012345.12345678').toFixed(8)).not.toBe('123456789012345.12345678');
    expect(parseUnits('-0.000000015')).toBe(-2);
  });

  it('adds linear futures P&L qty × (mark − entry), long and short', () => {
    const snapshot = snapshotOf({ BTC });
    expect(valueAccount(accountOf([linear('BTC', '2', '90000')]), snapshot, AS_OF).equity).toBe(
      '30000.00000000',
    );
    expect(valueAccount(accountOf([linear('BTC', '-2', '90000')]), snapshot, AS_OF).equity).toBe(
      '-10000.00000000',
    );
  });

  it('adds inverse P&L C·size·(1/entry − 1/mark) BTC at the mark, and margins it as C·size/entry BTC', () => {
    const snapshot = snapshotOf({ BTC });
    const inverse: Account['positions'][number] = {
      kind: 'future',
      instrument: 'BTC',
      quantity: '1000',
      entryPrice: '50000',
      settlement: 'inverse',
      contractSize: '10',
    };
    const v = valueAccount(accountOf([inverse]), snapshot, AS_OF, { detail: true });
    // 10,000 USD face: 10000 × (1/50000 − 1/100000) = 0.1 BTC = 10,000 USD.
    expect(v.equity).toBe('20000.00000000');
    // Its quote P&L moves 0.2 USD per USD of BTC: a 10% fall costs 2,000 (the BTC P&L loses value too).
    expectClose(v.groups?.[0]?.netDelta ?? 0, 0.2, { abs: 1e-15 });
    expect(v.initialRequirement).toBe('2000.00000000');
    expect(v.maintenanceRequirement).toBe('1000.00000000');
  });

  it('marks options at Black-76 (long adds, short subtracts) and ignores their entry price', () => {
    const snapshot = snapshotOf({ BTC: { ...BTC, markPrice: 60_000 } });
    const short = option('BTC', 'call', '65000', '-2', inDays(30), 0.6);
    const v = valueAccount(accountOf([short]), snapshot, AS_OF);
    // SciPy (black76.test.ts): call(60000, 65000, 30/365, 0.6) = 2237.86815540466.
    expectClose(Number(v.equity), 10_000 - 2 * 2237.86815540466, { abs: 1.5e-8 });
    const long = valueAccount(accountOf([{ ...short, quantity: '2', entryPrice: '99999' }]), snapshot, AS_OF);
    expectClose(Number(long.equity), 10_000 + 2 * 2237.86815540466, { abs: 1.5e-8 });
  });

  it('settles expired options at intrinsic value with no requirement', () => {
    const snapshot = snapshotOf({ BTC });
    const expired = [
      option('BTC', 'call', '90000', '1', inDays(0), 0.6), // expiry = asOf counts as expired
      option('BTC', 'put', '90000', '-3', inDays(-2), 0.6), // OTM: worthless
      option('BTC', 'call', '95000', '-0.5', inDays(-1), 0.6), // short ITM: pays 2,500
    ];
    const v = valueAccount(accountOf(expired), snapshot, AS_OF, { detail: true });
    expect(v.equity).toBe('17500.00000000');
    expect(v.initialRequirement).toBe('0.00000000');
    expect(v.maintenanceRequirement).toBe('0.00000000');
    expect(v.groups).toEqual([]);
  });

  it('falls back to the threshold’s daily σ × √365 for options without a volatility', () => {
    const snapshot = snapshotOf({ BTC: { ...BTC, effectiveVolatility: 0.03 } });
    const v = valueAccount(accountOf([option('BTC', 'put', '95000', '1', inDays(10))]), snapshot, AS_OF);
    const expected = 10_000 + black76Price(false, 100_000, 95_000, 10 / 365, 0.03 * Math.sqrt(365));
    expectClose(Number(v.equity), expected, { abs: 1.5e-8 });
    const implied = snapshotOf({ BTC: { ...BTC, impliedVolatility: 0.9 } });
    const w = valueAccount(accountOf([option('BTC', 'put', '95000', '1', inDays(10))]), implied, AS_OF);
    expectClose(Number(w.equity), 10_000 + black76Price(false, 100_000, 95_000, 10 / 365, 0.9), {
      abs: 1.5e-8,
    });
  });
});

describe('requirements of futures', () => {
  it('charges the instrument’s rates on the notional', () => {
    const v = valueAccount(accountOf([linear('BTC', '1', '100000')]), snapshotOf({ BTC }), AS_OF);
    expect(v.initialRequirement).toBe('10000.00000000');
    expect(v.maintenanceRequirement).toBe('5000.00000000');
    expect(v.marginRatio).toBe('2.00000000');
    expect(v.ratio).toBe(2);
    expect(v.shortfallToInitial).toBe('0.00000000');
  });

  it('nets long and short (perpetual and dated future) on the same instrument', () => {
    const dated: Position = {
      kind: 'future',
      instrument: 'BTC',
      quantity: '-1',
      entryPrice: '95000',
      settlement: 'linear',
      expiry: inDays(90),
    };
    const hedge = [linear('BTC', '1', '100000'), dated];
    const v = valueAccount(accountOf(hedge), snapshotOf({ BTC }), AS_OF);
    expect(v.initialRequirement).toBe('0.00000000');
    expect(v.equity).toBe('5000.00000000');
  });

  it('settles an expired dated future: P&L counts, no requirement', () => {
    const expired: Position = {
      kind: 'future',
      instrument: 'BTC',
      quantity: '2',
      entryPrice: '99000',
      settlement: 'linear',
      expiry: inDays(-1),
    };
    const v = valueAccount(accountOf([expired]), snapshotOf({ BTC }), AS_OF);
    expect(v.equity).toBe('12000.00000000');
    expect(v.initialRequirement).toBe('0.00000000');
    const live = valueAccount(accountOf([{ ...expired, expiry: inDays(1) }]), snapshotOf({ BTC }), AS_OF);
    expect(live.initialRequirement).toBe('20000.00000000');
  });

  it('gives the shortfall to initial margin and a ratio rounded down', () => {
    const v = valueAccount(
      accountOf([linear('BTC', '3', '100000')], [usd('14000')]),
      snapshotOf({ BTC }),
      AS_OF,
    );
    expect(v.initialRequirement).toBe('30000.00000000');
    expect(v.shortfallToInitial).toBe('16000.00000000');
    expect(v.marginRatio).toBe('0.93333333'); // 14000 / 15000
  });

  it('goes negative with the equity: ratio below zero', () => {
    const v = valueAccount(
      accountOf([linear('BTC', '1', '120000')], [usd('5000')]),
      snapshotOf({ BTC }),
      AS_OF,
    );
    expect(v.equity).toBe('-15000.00000000');
    expect(v.marginRatio).toBe('-3.00000000');
    expect(v.shortfallToInitial).toBe('25000.00000000');
  });

  it('charges SPAN’s 35% of a 3× extreme move on futures too (1.05 × the scan range)', () => {
    const v = valueAccount(
      accountOf([linear('BTC', '-1', '100000')]),
      snapshotOf({ BTC }, { grid: { method: 'span' } }),
      AS_OF,
    );
    expect(v.initialRequirement).toBe('10500.00000000');
    expect(v.maintenanceRequirement).toBe('5250.00000000');
  });

  it('reproduces the Aave health factor example: 1.35 (margin-methods.md §7.1)', () => {
    // $10,000 at LT 82.5% and $5,000 at LT 78% (haircut = 1 − LT) against $9,000 "debt": a position whose
    // maintenance requirement is 9,000 (1 BTC at 100,000 with a 9% rate, entered at the mark).
    const snapshot = snapshotOf(
      { BTC: { markPrice: 100_000, initialMarginRate: 0.18, maintenanceMarginRate: 0.09 } },
      undefined,
      { WETH: 2_500, WBTC: 50_000 },
    );
    const account = accountOf(
      [linear('BTC', '1', '100000')],
      [
        { asset: 'WETH', amount: '4', haircut: 0.175 },
        { asset: 'WBTC', amount: '0.1', haircut: 0.22 },
      ],
    );
    const v = valueAccount(account, snapshot, AS_OF);
    expect(v.equity).toBe('12150.00000000');
    expect(v.maintenanceRequirement).toBe('9000.00000000');
    expect(v.marginRatio).toBe('1.35000000');
  });
});

describe('requirements of options (scenario grid)', () => {
  // Threshold scan range 16%, so the grid is Deribit's own ±4/8/12/16%.
  const market = { markPrice: 100_000, initialMarginRate: 0.16, maintenanceMarginRate: 0.08 };
  const call = option('BTC', 'call', '110000', '-1', inDays(30), 0.6);

  /*
   * SciPy reference (/usr/bin/python3, SciPy 1.10.1): worst loss over the grid, 1-based scenario.
   *
   *   def b76(cp, F, K, T, s): ... (as in black76.test.ts; intrinsic when s·√T = 0)
   *   def deribit(iv, dte, ext=False):
   *       d = max(dte, 1); pw = 0.30 if d < 30 else 0.13; f = (30 / d) ** pw; up = max(iv * (1 + 0.5 * f), 0.5)
   *       g = [(k / 4, v, 1.0) for k in range(-4, 5) for v in (up, iv, max(iv * (1 - 0.25 * f), 0))]
   *       return g + ([(8, up, 0.125), (-8, up, 0.125)] if ext else [])   # the default extreme moves
   *   def span(iv):
   *       out = []
   *       for m in (0, 1/3, -1/3, 2/3, -2/3, 1, -1): out += [(m, iv * 1.25, 1.0), (m, iv * 0.75, 1.0)]
   *       return out + [(3, iv, 0.35), (-3, iv, 0.35)]
   *   def worst(legs, fut, F, R, grid):
   *       best, arg = 0.0, None
   *       for j, (m, s, w) in enumerate(grid):
   *           Fj = max(F * (1 + m * R), 0)
   *           pnl = fut * (Fj - F) + sum(q * (b76(cp, Fj, K, T, s) - b76(cp, F, K, T, iv)) for cp, K, T, iv, q in legs)
   *           if -w * pnl > best: best, arg = -w * pnl, j + 1
   *       return best, arg
   *   call = ('c', 110000.0, 30 / 365, 0.6, -1.0)
   *   worst([call], 0, 1e5, 0.16, deribit(0.6, 30))   # (11572.741336635965, 25)
   *   worst([call], 1.0, 1e5, 0.16, deribit(0.6, 30)) # (14614.506930235577, 1)
   *   worst([call], 0, 1e5, 0.16, span(0.6))          # (12287.174763462714, 15)
   *   legs = [('p', 90000.0, 7/365, 0.8, 3.0), ('c', 115000.0, 7/365, 0.8, -2.0)]
   *   worst(legs, 0, 1e5, 0.1, deribit(0.8, 7))       # (10085.586612550633, 25)
   *   worst([call], 0, 1e5, 0.16, deribit(0.6, 30, True))  # (14344.767796320355, 28)   (SciPy 1.17.1)
   *   worst(legs, 0, 1e5, 0.1, deribit(0.8, 7, True))      # (16490.153994559787, 28)
   * The 27-scenario figures are read with the extreme moves off (`SCAN_ONLY`); the default adds them.
   */
  const SCAN_ONLY = { grid: { method: 'deribit', extremeCover: 0 } } as const;
  it('revalues a short call over the 27 Deribit scenarios (SciPy: 11,572.74 at +16%, vol up)', () => {
    const v = valueAccount(accountOf([call], [usd('20000')]), snapshotOf({ BTC: market }, SCAN_ONLY), AS_OF, {
      detail: true,
    });
    const group = v.groups?.[0];
    expectClose(group?.scenarioLoss ?? 0, 11572.741336635965, { rel: 1e-11 });
    expect(group?.worstScenario).toBe(25);
    expectClose(Number(v.initialRequirement), 11572.741336635965, { abs: 1.5e-8 });
    expectClose(Number(v.maintenanceRequirement), 11572.741336635965 / 2, { abs: 1.5e-8 });
    expectClose(Number(v.equity), 20_000 - 3270.260504709415, { abs: 1.5e-8 });
    // Directed rounding: requirements never below the reference by more than float noise.
    expect(Number(v.initialRequirement)).toBeGreaterThanOrEqual(11572.74133663 - 1e-12);
  });

  it('adds the default extreme moves, +8 × 16% at vol up with 12.5% counted (SciPy: 14,344.77, scenario 28)', () => {
    const v = valueAccount(accountOf([call], [usd('20000')]), snapshotOf({ BTC: market }), AS_OF, {
      detail: true,
    });
    expectClose(v.groups?.[0]?.scenarioLoss ?? 0, 14344.767796320355, { rel: 1e-11 });
    expect(v.groups?.[0]?.worstScenario).toBe(28);
  });

  it('offsets a covered position inside the group (SciPy: 14,614.51, below future 16,000 + call 11,572.74)', () => {
    const covered = [linear('BTC', '1', '100000'), call];
    const v = valueAccount(accountOf(covered, [usd('20000')]), snapshotOf({ BTC: market }), AS_OF, {
      detail: true,
    });
    expectClose(v.groups?.[0]?.scenarioLoss ?? 0, 14614.506930235577, { rel: 1e-11 });
    expect(v.groups?.[0]?.worstScenario).toBe(1);
    expectClose(Number(v.initialRequirement), 14614.506930235577, { abs: 1.5e-8 });
    expectClose(v.groups?.[0]?.netDelta ?? 0, 1 - 0.31986568569555507, { rel: 1e-12 });
    const future = valueAccount(
      accountOf([covered[0] as Account['positions'][number]]),
      snapshotOf({ BTC: market }),
      AS_OF,
    );
    expect(future.initialRequirement).toBe('16000.00000000');
  });

  it('uses each option’s own 7-day vol shock (SciPy risk reversal: 10,085.59)', () => {
    const legs = [
      option('BTC', 'put', '90000', '3', inDays(7), 0.8),
      option('BTC', 'call', '115000', '-2', inDays(7), 0.8),
    ];
    const btc = { BTC: { markPrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 } };
    const v = valueAccount(accountOf(legs), snapshotOf(btc, SCAN_ONLY), AS_OF, { detail: true });
    expectClose(v.groups?.[0]?.scenarioLoss ?? 0, 10085.586612550633, { rel: 1e-11 });
    expect(v.groups?.[0]?.worstScenario).toBe(25);
    const extreme = valueAccount(accountOf(legs), snapshotOf(btc), AS_OF, { detail: true });
    expectClose(extreme.groups?.[0]?.scenarioLoss ?? 0, 16490.153994559787, { rel: 1e-11 });
    expect(extreme.groups?.[0]?.worstScenario).toBe(28);
  });

  it('revalues over SPAN’s 16 scenarios when the policy says so (SciPy: 12,287.17 at the +3× extreme)', () => {
    const snapshot = snapshotOf({ BTC: market }, { grid: { method: 'span' } });
    const v = valueAccount(accountOf([call]), snapshot, AS_OF, { detail: true });
    expectClose(v.groups?.[0]?.scenarioLoss ?? 0, 12287.174763462714, { rel: 1e-11 });
    expect(v.groups?.[0]?.worstScenario).toBe(15);
  });

  it('floors a far-OTM short option at the short option minimum (1% of the underlying per option)', () => {
    // With the extreme moves off: at −8 × 10% the default grid reaches this strike (issue 17).
    const puts = option('BTC', 'put', '20000', '-2', inDays(7), 0.5);
    const v = valueAccount(accountOf([puts]), snapshotOf({ BTC }, SCAN_ONLY), AS_OF, { detail: true });
    expect(v.groups?.[0]?.scenarioLoss).toBeLessThan(1e-20); // SciPy: 7.3e-32
    expect(v.groups?.[0]?.shortOptionMinimum).toBe(2000);
    expect(v.initialRequirement).toBe('2000.00000000');
    expect(v.maintenanceRequirement).toBe('1000.00000000'); // × maintenance / initial rate
  });

  it('counts max(net short calls, net short puts) for the minimum, netting each series first', () => {
    const strangle = [
      option('BTC', 'put', '20000', '-2', inDays(7), 0.5),
      option('BTC', 'call', '400000', '-1', inDays(7), 0.5),
      option('BTC', 'call', '400000', '0.5', inDays(7), 0.5), // nets the call series to −0.5
      option('BTC', 'put', '20000', '1', inDays(8), 0.5), // another expiry: a separate series
    ];
    const v = valueAccount(accountOf(strangle), snapshotOf({ BTC }), AS_OF, { detail: true });
    expect(v.groups?.[0]?.shortOptionMinimum).toBe(2000); // max(0.5 calls, 2 puts) × 1% × 100,000
    const flat = [
      option('BTC', 'put', '20000', '-2', inDays(7), 0.5),
      option('BTC', 'put', '20000', '2', inDays(7), 0.5),
    ];
    const w = valueAccount(accountOf(flat), snapshotOf({ BTC }), AS_OF);
    expect(w.initialRequirement).toBe('0.00000000');
  });

  it('charges a long option at most its value', () => {
    const long = option('BTC', 'call', '100000', '1', inDays(30), 0.6);
    const v = valueAccount(accountOf([long], [usd('0')]), snapshotOf({ BTC: market }), AS_OF);
    expect(Number(v.initialRequirement)).toBeGreaterThan(0);
    expect(Number(v.initialRequirement)).toBeLessThanOrEqual(Number(v.equity));
  });
});

describe('correlation offsets', () => {
  const markets = {
    BTC,
    ETH: { markPrice: 4_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
    SOL: { markPrice: 200, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
  };
  const btcLong = linear('BTC', '1', '100000'); // IM 10,000, MM 5,000
  const ethShort = linear('ETH', '-30', '4000'); // IM 12,000, MM 6,000
  const correlated = (rho: number, extra: object = {}) =>
    snapshotOf(markets, {
      correlations: [{ a: 'BTC', b: 'ETH', rho }],
      offsetMethod: 'smaller-leg',
      ...extra,
    });

  it('credits opposite directions min(ρ, cap) × the smaller requirement', () => {
    const v = valueAccount(accountOf([btcLong, ethShort]), correlated(0.8), AS_OF, { detail: true });
    expect(v.initialRequirement).toBe('17000.00000000'); // 22,000 − 0.5 × 10,000
    expect(v.maintenanceRequirement).toBe('8500.00000000');
    expect(v.offsets).toEqual([
      { a: 'BTC', b: 'ETH', strength: 0.8, initialCredit: 5000, maintenanceCredit: 2500 },
    ]);
    const weak = valueAccount(accountOf([btcLong, ethShort]), correlated(0.3), AS_OF);
    expect(weak.initialRequirement).toBe('19000.00000000');
    const uncapped = valueAccount(
      accountOf([btcLong, ethShort]),
      correlated(0.8, { offsetCreditCap: 1 }),
      AS_OF,
    );
    expect(uncapped.initialRequirement).toBe('14000.00000000');
  });

  it('gives nothing for the same direction, no correlation, or a delta-neutral group', () => {
    const same = valueAccount(accountOf([btcLong, linear('ETH', '30', '4000')]), correlated(0.8), AS_OF);
    expect(same.initialRequirement).toBe('22000.00000000');
    const none = valueAccount(accountOf([btcLong, ethShort]), snapshotOf(markets), AS_OF);
    expect(none.initialRequirement).toBe('22000.00000000');
    const neutral = [btcLong, linear('BTC', '-1', '100000'), ethShort];
    expect(valueAccount(accountOf(neutral), correlated(0.8), AS_OF).initialRequirement).toBe(
      '12000.00000000',
    );
  });

  it('treats a negative correlation between same-direction positions as a hedge', () => {
    const v = valueAccount(accountOf([btcLong, linear('ETH', '30', '4000')]), correlated(-0.6), AS_OF);
    expect(v.initialRequirement).toBe('17000.00000000');
  });

  it('uses each requirement only once across pairs, strongest hedge first', () => {
    const snapshot = snapshotOf(markets, {
      correlations: [
        { a: 'BTC', b: 'ETH', rho: 0.8 },
        { a: 'SOL', b: 'BTC', rho: 0.7 },
      ],
      offsetMethod: 'smaller-leg',
    });
    const solShort = linear('SOL', '-250', '200'); // IM 5,000
    const v = valueAccount(accountOf([btcLong, ethShort, solShort]), snapshot, AS_OF, { detail: true });
    // BTC–ETH first: BTC's 10,000 used up, credit 5,000; BTC–SOL then has nothing left to offset.
    expect(v.initialRequirement).toBe('22000.00000000');
    expect(v.offsets?.map((o) => o.initialCredit)).toEqual([5000, 0]);
  });
});

describe('offsets from the correlations estimated with the set', () => {
  const markets = {
    BTC,
    ETH: { markPrice: 4_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
  };
  const btcLong = linear('BTC', '1', '100000'); // IM 10,000, MM 5,000
  const ethShort = linear('ETH', '-30', '4000'); // IM 12,000, MM 6,000
  const estimate = (rho: number) => ({ rho, days: 730, from: '2024-11-24', to: '2026-11-23' });
  const estimated = (lookback: number, stressed: number): PairCorrelation => ({
    a: 'BTC',
    b: 'ETH',
    lookback: estimate(lookback),
    stressed: { ...estimate(stressed), days: 9 },
    rho: Math.min(lookback, stressed),
  });
  const withSet = (correlations: readonly PairCorrelation[], policy: ValuationPolicyInput = {}) => ({
    ...snapshotOf(markets, {
      estimatedCorrelations: true,
      offsetMethod: 'smaller-leg',
      offsetCreditCap: 1,
      ...policy,
    }),
    correlations,
  });
  const hedge = accountOf([btcLong, ethShort]);

  it('offsets opposite positions with the lower of the lookback and stressed correlations, capped', () => {
    const v = valueAccount(hedge, withSet([estimated(0.8, 0.6)]), AS_OF, { detail: true });
    expect(v.offsets).toEqual([
      { a: 'BTC', b: 'ETH', strength: 0.6, initialCredit: 6000, maintenanceCredit: 3000 },
    ]);
    expect(v.initialRequirement).toBe('16000.00000000'); // 22,000 − 0.6 × 10,000
    const stressedHigher = valueAccount(hedge, withSet([estimated(0.55, 0.9)]), AS_OF);
    expect(stressedHigher.initialRequirement).toBe('16500.00000000');
    const capped = valueAccount(hedge, withSet([estimated(0.8, 0.6)], { offsetCreditCap: 0.5 }), AS_OF);
    expect(capped.initialRequirement).toBe('17000.00000000');
  });

  it('takes the lowest when the policy configures the pair by hand too', () => {
    const both = withSet([estimated(0.8, 0.7)], { correlations: [{ a: 'ETH', b: 'BTC', rho: 0.4 }] });
    expect(valueAccount(hedge, both, AS_OF).initialRequirement).toBe('18000.00000000');
  });

  it('gives no offset for a pair the recalibration refused, even one configured by hand', () => {
    const refused: PairCorrelation = {
      a: 'BTC',
      b: 'ETH',
      lookback: estimate(0.9),
      refused: 'BTC/ETH: 40 common daily returns, fewer than 60',
    };
    expect(valueAccount(hedge, withSet([refused]), AS_OF).initialRequirement).toBe('22000.00000000');
    const byHand = withSet([refused], { correlations: [{ a: 'BTC', b: 'ETH', rho: 0.8 }] });
    expect(valueAccount(hedge, byHand, AS_OF).initialRequirement).toBe('22000.00000000');
  });

  it('never lowers a margin with NaN or a value outside [−1, 1]', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, 1.5]) {
      const pair = { ...estimated(0.8, 0.8), stressed: estimate(bad), rho: bad };
      expect(valueAccount(hedge, withSet([pair]), AS_OF).initialRequirement).toBe('22000.00000000');
    }
  });

  it('offsets with the estimates under the default policy: correlation-aggregated, the lower ρ', () => {
    const byDefault = { ...snapshotOf(markets), correlations: [estimated(0.8, 0.7)] };
    // √(10,000² + 12,000² − 2 × 0.7 × 10,000 × 12,000) = √76,000,000 (smaller-leg, the old default: 17,000).
    expect(Number(valueAccount(hedge, byDefault, AS_OF).initialRequirement)).toBeCloseTo(Math.sqrt(76e6), 6);
  });

  it('ignores the estimates while estimatedCorrelations is off', () => {
    const off = withSet([estimated(0.8, 0.8)], { estimatedCorrelations: false });
    expect(valueAccount(hedge, off, AS_OF).initialRequirement).toBe('22000.00000000');
  });

  it('reaches the valuation from the set: marketSnapshotFromSet carries the set’s correlations', () => {
    const set: ThresholdSet = {
      setId: 's',
      runId: 's',
      createdAt: '2026-11-24T00:00:00.000Z',
      thresholds: [thresholdFor('BTC', markets.BTC), thresholdFor('ETH', markets.ETH)],
      correlations: [estimated(0.8, 0.6)],
    };
    const snapshot = marketSnapshotFromSet(set, {
      markPrices: { BTC: 100_000, ETH: 4_000 },
      policy: { estimatedCorrelations: true },
    });
    // The default method with ρ 0.6: √(10,000² + 12,000² − 2 × 0.6 × 10,000 × 12,000) = 10,000.
    expect(valueAccount(hedge, snapshot, AS_OF).initialRequirement).toBe('10000.00000000');
  });
});

describe('correlation-aggregated offsets (offsetMethod correlation-aggregated)', () => {
  const markets = {
    BTC,
    ETH: { markPrice: 4_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
    SOL: { markPrice: 200, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
  };
  const btcLong = linear('BTC', '1', '100000'); // IM 10,000, MM 5,000
  const ethShort = linear('ETH', '-30', '4000'); // IM 12,000, MM 6,000
  const ethLong = linear('ETH', '30', '4000');
  const aggregated = (correlations: readonly PairCorrelation[], extra: ValuationPolicyInput = {}) => ({
    ...snapshotOf(markets, { offsetMethod: 'correlation-aggregated', ...extra }),
    correlations,
  });
  const estimate = (rho: number, days = 730) => ({ rho, days, from: '2024-11-24', to: '2026-11-23' });
  const pair = (lookback: number, stressed: number): PairCorrelation => ({
    a: 'BTC',
    b: 'ETH',
    lookback: estimate(lookback),
    stressed: estimate(stressed, 9),
    rho: Math.min(lookback, stressed),
  });
  const im = (v: { initialRequirement: string }) => Number(v.initialRequirement);

  it('charges a hedged pair √(a² + b² − 2ρab) with the lower ρ', () => {
    const v = valueAccount(accountOf([btcLong, ethShort]), aggregated([pair(0.8, 0.9)]), AS_OF, {
      detail: true,
    });
    // √(10,000² + 12,000² − 2 × 0.8 × 10,000 × 12,000) = √52,000,000 = 7,211.10; the smaller-leg rule gave 17,000.
    expect(im(v)).toBeCloseTo(Math.sqrt(52e6), 6);
    expect(Number(v.maintenanceRequirement)).toBeCloseTo(Math.sqrt(13e6), 6);
    expect(v.offsets?.[0]?.strength).toBe(0.8);
  });

  it('never charges a pair less than (1 − spreadCreditCap) × the sum of its legs', () => {
    // ρ 0.95: √16,000,000 = 4,000 would be a credit of 18,000; the default cap of 0.7 leaves 6,600.
    const v = valueAccount(accountOf([btcLong, ethShort]), aggregated([pair(0.95, 0.97)]), AS_OF);
    expect(v.initialRequirement).toBe('6600.00000000');
    expect(v.maintenanceRequirement).toBe('3300.00000000');
    const tighter = aggregated([pair(0.95, 0.97)], { spreadCreditCap: 0.5 });
    expect(valueAccount(accountOf([btcLong, ethShort]), tighter, AS_OF).initialRequirement).toBe(
      '11000.00000000',
    );
  });

  it('gives same-side legs their diversification with the higher ρ, and none at ρ = 1', () => {
    const v = valueAccount(accountOf([btcLong, ethLong]), aggregated([pair(0.5, 0.8)]), AS_OF);
    expect(im(v)).toBeCloseTo(Math.sqrt(244e6 + 2 * 0.8 * 120e6), 6); // 20,880.61, not 22,000
    const one = valueAccount(accountOf([btcLong, ethLong]), aggregated([pair(0.9, 1)]), AS_OF);
    expect(one.initialRequirement).toBe('22000.00000000');
  });

  it('takes an unknown stressed ρ (thin stress windows) as 1: the lookback for a hedge, nothing same-side', () => {
    const thin: PairCorrelation = {
      a: 'BTC',
      b: 'ETH',
      lookback: estimate(0.8),
      stressed: estimate(0.2, 3),
      rho: 0.8,
      stressedThin: 'BTC/ETH: 3 common daily returns in the stress windows, fewer than 5',
    };
    expect(im(valueAccount(accountOf([btcLong, ethShort]), aggregated([thin]), AS_OF))).toBeCloseTo(
      Math.sqrt(52e6),
      6,
    );
    expect(valueAccount(accountOf([btcLong, ethLong]), aggregated([thin]), AS_OF).initialRequirement).toBe(
      '22000.00000000',
    );
    // The smaller-leg rule still refuses such a pair.
    const smaller = aggregated([thin], { offsetMethod: 'smaller-leg' });
    expect(valueAccount(accountOf([btcLong, ethShort]), smaller, AS_OF).initialRequirement).toBe(
      '22000.00000000',
    );
  });

  it('credits a group in one pair at most, strongest hedge first; a refused or bad ρ never lowers a margin', () => {
    const solShort = linear('SOL', '-250', '200'); // IM 5,000
    const sol: PairCorrelation = { ...pair(0.7, 0.75), b: 'SOL' };
    const v = valueAccount(
      accountOf([btcLong, ethShort, solShort]),
      aggregated([pair(0.8, 0.9), sol]),
      AS_OF,
      {
        detail: true,
      },
    );
    expect(v.offsets?.map((o) => `${o.a}|${o.b}`)).toEqual(['BTC|ETH']);
    expect(im(v)).toBeCloseTo(Math.sqrt(52e6) + 5_000, 6);
    const refused: PairCorrelation = {
      a: 'BTC',
      b: 'ETH',
      lookback: estimate(0.9),
      refused: 'BTC/ETH: held',
    };
    expect(
      valueAccount(accountOf([btcLong, ethShort]), aggregated([refused]), AS_OF).initialRequirement,
    ).toBe('22000.00000000');
    for (const bad of [Number.NaN, 1.5]) {
      const p = { ...pair(0.8, 0.8), stressed: estimate(bad), rho: bad };
      expect(valueAccount(accountOf([btcLong, ethShort]), aggregated([p]), AS_OF).initialRequirement).toBe(
        '22000.00000000',
      );
    }
  });
});

describe('the valuation object', () => {
  it('holds exact minor units and formats the strings on read; JSON gives the plain record', () => {
    const v = valueAccount(
      accountOf([linear('BTC', '3', '100000')], [usd('14000')]),
      snapshotOf({ BTC }),
      AS_OF,
    );
    expect(v.equityUnits).toBe(1_400_000_000_000);
    expect(v.initialUnits).toBe(3_000_000_000_000);
    expect(v.maintenanceUnits).toBe(1_500_000_000_000);
    expect(v.shortfallUnits).toBe(1_600_000_000_000);
    expect(v.ratioUnits).toBe(93_333_333);
    expect(v.ratio).toBe(Number(v.marginRatio));
    expect(JSON.parse(JSON.stringify(v))).toEqual({
      accountId: 'acc-1',
      equity: '14000.00000000',
      initialRequirement: '30000.00000000',
      maintenanceRequirement: '15000.00000000',
      shortfallToInitial: '16000.00000000',
      marginRatio: '0.93333333',
      ratio: 0.93333333,
    });
    expect(v.groups).toBeUndefined();
  });

  it('is not disturbed by the scratch state of the previous call (no leaks between accounts)', () => {
    const snapshot = snapshotOf({
      BTC,
      ETH: { markPrice: 4_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.05 },
    });
    const alone = valueAccount(accountOf([linear('ETH', '1', '4000')]), snapshot, AS_OF);
    const crowded = accountOf([
      linear('BTC', '5', '100000'),
      option('BTC', 'call', '120000', '-3', inDays(9), 0.7),
      linear('ETH', '-2', '4000'),
    ]);
    valueAccount(crowded, snapshot, AS_OF);
    expect(() => valueAccount(accountOf([linear('DOGE', '1', '1')]), snapshot, AS_OF)).toThrow(
      ValuationError,
    );
    const again = valueAccount(accountOf([linear('ETH', '1', '4000')]), snapshot, AS_OF);
    expect(again.toJSON()).toEqual(alone.toJSON());
  });
});

describe('errors', () => {
  const snapshot = snapshotOf({ BTC });

  it('names the account, the position index and the instrument for an unknown instrument', () => {
    const account = accountOf([linear('BTC', '1', '1'), linear('DOGE', '1', '1')]);
    try {
      valueAccount(account, snapshot, AS_OF);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ValuationError);
      expect(error).toBeInstanceOf(AccountRecordError);
      const e = error as ValuationError;
      expect(e.accountKey).toBe('acc-1');
      expect(e.positionIndex).toBe(1);
      expect(e.instrument).toBe('DOGE');
      expect(e.message).toBe('account acc-1, position 1 (DOGE): no market data for instrument DOGE');
    }
  });

  it('names the collateral index and asset for an unpriced asset', () => {
    const account = accountOf([], [usd('1'), { asset: 'PEPE', amount: '1000' }]);
    expect(() => valueAccount(account, snapshot, AS_OF)).toThrow(
      expect.objectContaining({ collateralIndex: 1, asset: 'PEPE', accountKey: 'acc-1' }),
    );
  });

  it('refuses an inverse position without a contract size', () => {
    const position = {
      kind: 'perpetual' as const,
      instrument: 'BTC',
      quantity: '5',
      entryPrice: '1',
      settlement: 'inverse' as const,
    };
    expect(() => valueAccount(accountOf([position]), snapshot, AS_OF)).toThrow(/needs contractSize/);
  });

  it('refuses amounts that are not numbers, and a bad asOf', () => {
    expect(() => valueAccount(accountOf([linear('BTC', 'abc', '1')]), snapshot, AS_OF)).toThrow(
      ValuationError,
    );
    expect(() => valueAccount(accountOf([], [usd('1e5')]), snapshot, AS_OF)).toThrow(ValuationError);
    expect(() => valueAccount(accountOf([]), snapshot, Number.NaN)).toThrow(RangeError);
  });
});

describe('market snapshots', () => {
  const set: ThresholdSet = {
    setId: 'set-1',
    runId: 'run-1',
    createdAt: '2026-11-24T00:00:00Z',
    thresholds: [
      thresholdFor('BTC', { referencePrice: 90_000 }),
      thresholdFor('ETH', { referencePrice: 3_000 }),
    ],
  };

  it('marks instruments at their reference price (or a live mark) and prices their assets and stablecoins', () => {
    const snapshot = marketSnapshotFromSet(set, { markPrices: { ETH: 3_100 } });
    expect(snapshot.instruments.get('BTC')?.markPrice).toBe(90_000);
    expect(snapshot.instruments.get('ETH')?.markPrice).toBe(3_100);
    expect(Object.fromEntries(snapshot.assetPrices)).toEqual({
      USD: 1,
      USDT: 1,
      USDC: 1,
      BTC: 90_000,
      ETH: 3_100,
    });
    const account = accountOf(
      [],
      [
        { asset: 'BTC', amount: '1' },
        { asset: 'USDC', amount: '5' },
      ],
    );
    expect(valueAccount(account, snapshot, AS_OF).equity).toBe('90005.00000000');
    const override = marketSnapshotFromSet(set, { assetPrices: { USDT: 0.99 }, stablecoins: ['USDT'] });
    expect(override.assetPrices.get('USDT')).toBe(0.99);
    expect(override.assetPrices.has('USDC')).toBe(false);
    expect(override.assetPrices.get('USD')).toBe(1);
  });

  it('rejects bad market data naming the instrument', () => {
    const threshold = thresholdFor('BTC');
    const bad = (input: Parameters<typeof createMarketSnapshot>[0], instrument: string) => {
      try {
        createMarketSnapshot(input);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(MarketDataError);
        expect((error as MarketDataError).instrument).toBe(instrument);
      }
    };
    bad({ instruments: { BTC: { threshold, markPrice: 0 } } }, 'BTC');
    bad({ instruments: { BTC: { threshold, markPrice: Number.NaN } } }, 'BTC');
    bad({ instruments: { ETH: { threshold } } }, 'ETH');
    bad({ instruments: { BTC: { threshold, impliedVolatility: -1 } } }, 'BTC');
    bad({ instruments: { BTC: { threshold, openInterestNotional: -1 } } }, 'BTC');
    bad({ instruments: {}, assetPrices: { USDT: -1 } }, 'USDT');
    bad({ instruments: { BTC: { threshold: { ...threshold, initialMarginRate: 0 } } } }, 'BTC');
  });
});
