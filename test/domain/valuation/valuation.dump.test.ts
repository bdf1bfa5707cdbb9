import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Account, Collateral, FuturePosition, Position } from '../../../lib/domain/account/account.ts';
import { seededRandom } from '../../../lib/domain/math/random.ts';
import { notionalBrackets } from '../../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../../lib/domain/threshold/policy.ts';
import type { ValuationPolicyInput } from '../../../lib/domain/valuation/policy.ts';
import type { MarketSnapshot } from '../../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../../lib/domain/valuation/valuation.ts';
import { AS_OF, DAY_MS, snapshotOf } from './fixtures.ts';

/*
 * The valuation dump: a fixed book of generated accounts (linear, inverse and dated futures, options long
 * and short, expired legs, big sizes spilling into BigInt, haircut collateral, accounts that cannot be
 * valued) valued with detail under four policies and two times, each result (or error) hashed. The hashes
 * in `valuation.dump.json` were written by the code before the valuation was split into pricers, grid,
 * offsets and cache (issue 12): a refactor must reproduce every float, bit for bit.
 *
 * Issue 17 changed three defaults (extreme moves, options sized on the scenario path, the short option minimum
 * netted as spreads), which moved 190 of the 248 valuations under each policy (futures-only and unvaluable
 * accounts cannot move: all three act only on groups with options, and cover × multiple = 1 leaves a future's
 * loss as it was). `valuation.dump.json` was regenerated for them;
 * the issue-12 hashes are kept in `valuation.dump.before-issue-17.json`, which the same book must still
 * reproduce with those three settings put back, so the new code paths, switched off, change no bit.
 *
 * Regenerate (only for an intended change of results): QMT_WRITE_VALUATION_DUMP=1 npx vitest run <this file>
 */

const DUMP_FILE = new URL('./valuation.dump.json', import.meta.url);
const BEFORE_ISSUE_17_FILE = new URL('./valuation.dump.before-issue-17.json', import.meta.url);

/** A policy with the settings of before issue 17: no extreme moves, today's delta, the minimum per series. */
function beforeIssue17(input: ValuationPolicyInput): ValuationPolicyInput {
  const grid = input.grid ?? { method: 'deribit' as const };
  return {
    ...input,
    optionSizing: 'current-delta',
    shortOptionMinimumNetting: 'series',
    grid: grid.method === 'deribit' ? { ...grid, extremeCover: 0 } : grid,
  };
}
const ACCOUNTS = 120;
const TIMES = [AS_OF, AS_OF + 3.5 * DAY_MS] as const;
const MARKS = { BTC: 100_000, ETH: 4_000, SOL: 150 } as const;
type Symbol = keyof typeof MARKS;
const SYMBOLS = Object.keys(MARKS) as Symbol[];

const POLICIES: Readonly<Record<string, ValuationPolicyInput>> = {
  deribit: {},
  span: { grid: { method: 'span' } },
  'deribit-offsets': {
    correlations: [
      { a: 'BTC', b: 'ETH', rho: 0.8 },
      { a: 'ETH', b: 'SOL', rho: -0.4 },
      { a: 'BTC', b: 'SOL', rho: 0.6 },
    ],
    offsetCreditCap: 0.7,
    // The dumps were written with the smaller-leg credit (the default before issue 14 item 4).
    offsetMethod: 'smaller-leg',
  },
  'span-offsets-mpor2-r3': {
    grid: { method: 'span', extremeMultiple: 2 },
    correlations: [{ a: 'BTC', b: 'ETH', rho: 0.9 }],
    offsetMethod: 'smaller-leg',
    marginPeriodOfRiskDays: 2,
    riskFreeRate: 0.03,
    shortOptionMinimum: 0.02,
  },
};

function snapshotFor(policy: ValuationPolicyInput): MarketSnapshot {
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
      // One bracket at the base rates, no liquidity data: the closed-form path without a table walk.
      SOL: { markPrice: MARKS.SOL, initialMarginRate: 0.15, maintenanceMarginRate: 0.09 },
    },
    policy,
    { USDT: 1, USDC: 1 },
  );
}

/** A decimal string of `x` with up to `places` decimals, never zero. */
function decimal(x: number, places: number): string {
  const text = x.toFixed(places);
  return Number(text) === 0 ? (10 ** -places).toFixed(places) : text;
}

function bookOf(seed: number): Account[] {
  const next = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const signed = (x: string): string => (next() < 0.5 ? `-${x}` : x);
  const accounts: Account[] = [];
  for (let a = 0; a < ACCOUNTS; a++) {
    const collateral: Collateral[] = [{ asset: 'USDT', amount: decimal(next() * 200_000, 6) }];
    if (next() < 0.3) collateral.push({ asset: 'BTC', amount: decimal(next() * 3, 8), haircut: 0.1 });
    if (next() < 0.2) collateral.push({ asset: 'USD', amount: decimal(next() * 5_000, 2) });
    // Every 10th account is big enough for its minor units to leave the safe integers.
    const scale = a % 10 === 9 ? 1e5 : 1;
    const positions: Position[] = [];
    // A few accounts carry many legs on one underlying: series netting by key beyond 32 legs.
    const count = a % 17 === 5 ? 40 : 1 + Math.floor(next() * 8);
    for (let i = 0; i < count; i++) {
      const instrument = a % 17 === 5 ? 'ETH' : pick(SYMBOLS);
      const mark = MARKS[instrument];
      const roll = next();
      if (roll < 0.3 || (a % 17 === 5 && i % 4 === 0)) {
        positions.push({
          kind: 'perpetual',
          instrument,
          quantity: signed(decimal((next() * scale * 20_000) / mark, 4)),
          entryPrice: decimal(mark * (0.8 + 0.4 * next()), 2),
          settlement: 'linear',
        });
      } else if (roll < 0.4) {
        positions.push({
          kind: 'perpetual',
          instrument,
          quantity: signed(String(1 + Math.floor(next() * 500 * scale))),
          entryPrice: decimal(mark * (0.8 + 0.4 * next()), 1),
          settlement: 'inverse',
          contractSize: pick(['10', '100']),
        });
      } else if (roll < 0.5) {
        positions.push({
          kind: 'future',
          instrument,
          quantity: signed(decimal((next() * scale * 10_000) / mark, 4)),
          entryPrice: decimal(mark * (0.9 + 0.2 * next()), 2),
          settlement: 'linear',
          // Some have expired by the later valuation time, one before both.
          expiry: new Date(AS_OF + pick([-1, 2, 30, 90]) * DAY_MS).toISOString(),
        });
      } else {
        positions.push({
          kind: 'option',
          instrument,
          optionType: next() < 0.5 ? 'call' : 'put',
          strike: decimal(mark * pick([0.7, 0.9, 1, 1.1, 1.3]), 2),
          expiry: new Date(AS_OF + pick([-2, 1, 3, 7, 29, 31, 90, 365]) * DAY_MS).toISOString(),
          quantity: signed(decimal(next() * 20 * scale, 2)),
          entryPrice: '0',
          ...(next() < 0.4 ? { markVolatility: 0.3 + next() } : {}),
        });
      }
    }
    accounts.push({ accountId: `dump-${a}`, collateral, positions });
  }
  // Accounts that cannot be valued: the error is part of the dump too.
  const [first] = accounts as [Account];
  accounts.push(
    { ...first, accountId: 'dump-unknown', positions: [...first.positions, { ...perp('DOGE') }] },
    {
      ...first,
      accountId: 'dump-inverse-no-size',
      positions: [{ ...perp('BTC'), settlement: 'inverse' }],
    },
    { ...first, accountId: 'dump-no-asset', collateral: [{ asset: 'EUR', amount: '10' }] },
    {
      ...first,
      accountId: 'dump-huge',
      positions: [{ ...perp('BTC'), quantity: '1'.padEnd(30, '0') }],
    },
  );
  return accounts;
}

function perp(instrument: string): FuturePosition {
  return { kind: 'perpetual', instrument, quantity: '1.5', entryPrice: '100', settlement: 'linear' };
}

/** One valuation as text: every field of the result (units as exact integers) or the error's name and text. */
function dumpOf(account: Account, snapshot: MarketSnapshot, asOf: number): string {
  try {
    const v = valueAccount(account, snapshot, asOf, { detail: true });
    const units = [v.equityUnits, v.initialUnits, v.maintenanceUnits, v.shortfallUnits, v.ratioUnits];
    return JSON.stringify({ ...v.toJSON(), units: units.map((u) => (u === null ? null : String(u))) });
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

function currentDump(
  adjust: (policy: ValuationPolicyInput) => ValuationPolicyInput = (policy) => policy,
): Record<string, string> {
  const accounts = bookOf(20261203);
  const dump: Record<string, string> = {};
  for (const [name, policy] of Object.entries(POLICIES)) {
    const snapshot = snapshotFor(adjust(policy));
    for (const asOf of TIMES) {
      for (const account of accounts) {
        const text = dumpOf(account, snapshot, asOf);
        dump[`${name}@${new Date(asOf).toISOString()}/${account.accountId}`] = createHash('sha256')
          .update(text)
          .digest('hex')
          .slice(0, 32);
      }
    }
  }
  return dump;
}

describe('valuation dump', () => {
  it('values the fixed book exactly as the code the dump was written from: every float, bit for bit', () => {
    const dump = currentDump();
    if (process.env.QMT_WRITE_VALUATION_DUMP === '1') {
      writeFileSync(DUMP_FILE, `${JSON.stringify(dump, null, 2)}\n`);
    }
    const expected = JSON.parse(readFileSync(DUMP_FILE, 'utf8')) as Record<string, string>;
    expect(Object.keys(dump)).toHaveLength(4 * 2 * (ACCOUNTS + 4));
    expect(dump).toEqual(expected);
  });

  it('still gives the issue-12 hashes, bit for bit, with the settings of before issue 17', () => {
    const expected = JSON.parse(readFileSync(BEFORE_ISSUE_17_FILE, 'utf8')) as Record<string, string>;
    expect(currentDump(beforeIssue17)).toEqual(expected);
  });
});
