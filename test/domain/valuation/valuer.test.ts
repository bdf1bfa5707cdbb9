import { describe, expect, it } from 'vitest';
import type { Account, Position } from '../../../lib/domain/account/account.ts';
import type { MarketSnapshot } from '../../../lib/domain/valuation/snapshot.ts';
import {
  type AccountValuationJson,
  createValuer,
  valueAccount,
  valuerFor,
} from '../../../lib/domain/valuation/valuation.ts';
import { AS_OF, inDays, linear, option, snapshotOf, usd } from './fixtures.ts';

/*
 * Re-entrancy: each snapshot has its own valuer (grid scratch, prepared instruments, groups and sums), so
 * valuing against two snapshots in turn, or one inside the other, gives what each gives alone.
 */

function deribitSnapshot(): MarketSnapshot {
  return snapshotOf({
    BTC: { markPrice: 100_000, initialMarginRate: 0.08, maintenanceMarginRate: 0.05 },
    ETH: { markPrice: 4_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.06, impliedVolatility: 0.7 },
  });
}

function spanSnapshot(): MarketSnapshot {
  return snapshotOf(
    {
      BTC: { markPrice: 92_000, initialMarginRate: 0.12, maintenanceMarginRate: 0.07 },
      ETH: { markPrice: 3_500, initialMarginRate: 0.15, maintenanceMarginRate: 0.09 },
    },
    { grid: { method: 'span' }, correlations: [{ a: 'BTC', b: 'ETH', rho: 0.8 }], riskFreeRate: 0.02 },
  );
}

const ACCOUNTS: readonly Account[] = [
  {
    accountId: 'covered',
    collateral: [usd('50000')],
    positions: [linear('BTC', '1.5', '95000'), option('BTC', 'call', '110000', '-1.5', inDays(20), 0.6)],
  },
  {
    accountId: 'hedged',
    collateral: [usd('20000')],
    positions: [linear('BTC', '0.4', '90000'), linear('ETH', '-10', '3800')],
  },
  {
    accountId: 'strangle',
    collateral: [usd('8000')],
    positions: [
      option('ETH', 'put', '3200', '-5', inDays(3)),
      option('ETH', 'call', '4800', '-5', inDays(45)),
    ],
  },
];

const json = (account: Account, snapshot: MarketSnapshot): AccountValuationJson =>
  valueAccount(account, snapshot, AS_OF, { detail: true }).toJSON();

describe('valuer per snapshot', () => {
  it('two snapshots valued in turn, account by account, give what each gives alone', () => {
    const deribit = deribitSnapshot();
    const span = spanSnapshot();
    // Alone: every account against one snapshot, each on fresh snapshots (fresh valuers and caches).
    const aloneDeribit = ACCOUNTS.map((a) => json(a, deribitSnapshot()));
    const aloneSpan = ACCOUNTS.map((a) => json(a, spanSnapshot()));
    const interleaved = ACCOUNTS.map((a) => [json(a, deribit), json(a, span)] as const);
    expect(interleaved.map(([d]) => d)).toEqual(aloneDeribit);
    expect(interleaved.map(([, s]) => s)).toEqual(aloneSpan);
    // The two really differ, so the comparison above could catch a mix-up.
    expect(aloneDeribit[0]?.initialRequirement).not.toBe(aloneSpan[0]?.initialRequirement);
  });

  it('a valuation inside another (a record getter valuing against another snapshot) disturbs neither', () => {
    const deribit = deribitSnapshot();
    const span = spanSnapshot();
    const [covered, hedged, strangle] = ACCOUNTS as [Account, Account, Account];
    let inner: AccountValuationJson | undefined;
    // The outer account's last position reads its quantity through a getter that values another account
    // mid-way: after the outer account's collateral and first positions are in its scratch sums.
    const last = strangle.positions[1] as Position;
    const reentrant: Account = {
      ...strangle,
      positions: [
        ...hedged.positions,
        strangle.positions[0] as Position,
        Object.defineProperty({ ...last }, 'quantity', {
          get: () => {
            inner = json(covered, span);
            return last.quantity;
          },
          enumerable: true,
        }) as Position,
      ],
    };
    const plain: Account = { ...reentrant, positions: [...hedged.positions, ...strangle.positions] };
    const expected = json(plain, deribitSnapshot());
    expect(json(reentrant, deribit)).toEqual(expected);
    expect(inner).toEqual(json(covered, spanSnapshot()));
  });

  it('a valuation inside another against the same snapshot takes a valuer of its own', () => {
    const snapshot = deribitSnapshot();
    const [covered, , strangle] = ACCOUNTS as [Account, Account, Account];
    let inner: AccountValuationJson | undefined;
    const first = strangle.positions[1] as Position;
    const reentrant: Account = {
      ...strangle,
      positions: [
        strangle.positions[0] as Position,
        Object.defineProperty({ ...first }, 'quantity', {
          get: () => {
            inner = json(covered, snapshot);
            return first.quantity;
          },
          enumerable: true,
        }) as Position,
      ],
    };
    expect(json(reentrant, snapshot)).toEqual(json(strangle, deribitSnapshot()));
    expect(inner).toEqual(json(covered, deribitSnapshot()));
  });

  it('createValuer gives a valuer of its own with the same results; valuerFor keeps one per snapshot', () => {
    const snapshot = spanSnapshot();
    const own = createValuer(snapshot);
    expect(own).not.toBe(valuerFor(snapshot));
    expect(valuerFor(snapshot)).toBe(valuerFor(snapshot));
    for (const account of ACCOUNTS) {
      expect(own.value(account, AS_OF, { detail: true }).toJSON()).toEqual(json(account, snapshot));
    }
  });

  it('a valuer still refuses a bad time and values on after an account it could not value', () => {
    const snapshot = deribitSnapshot();
    const valuer = createValuer(snapshot);
    expect(() => valuer.value(ACCOUNTS[0] as Account, Number.NaN)).toThrow(RangeError);
    const unknown: Account = { accountId: 'unknown', collateral: [], positions: [linear('DOGE', '1', '1')] };
    expect(() => valuer.value(unknown, AS_OF)).toThrow(/no market data for instrument DOGE/);
    expect(valuer.value(ACCOUNTS[1] as Account, AS_OF, { detail: true }).toJSON()).toEqual(
      json(ACCOUNTS[1] as Account, deribitSnapshot()),
    );
  });
});
