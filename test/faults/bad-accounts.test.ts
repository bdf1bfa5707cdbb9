/**
 * Issue 6, "Bad input" — account records. DESIGN §7: a bad account record is reported with its key and
 * reason; the sweep goes on for the rest.
 *
 * Records are validated in the DynamoDB adapter (`readAccount` → `accountSchema`), and valued in the sweep
 * (`evaluateAccount` → `valueAccount`). So this file checks both: the adapter's validation path record by
 * record, and a whole sweep segment through the REAL `DynamoDbAccountSource` (its client mocked) so the
 * counts, the reasons and the ops event are those a worker would produce.
 */
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbAccountSource, readAccount } from '../../lib/adapters/dynamodb/account-source.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { type Account, accountSchema } from '../../lib/domain/account/account.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import { marketSnapshotFromSet } from '../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../lib/domain/valuation/valuation.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { thresholdFor } from '../domain/valuation/fixtures.ts';

type Item = Record<string, AttributeValue>;
const AS_OF = Date.parse('2026-11-24T00:05:00Z');
const MARKS = { BTC: 100_000, ETH: 4_000 } as const;

const SET: ThresholdSet = {
  setId: 'set-1',
  runId: 'run-1',
  createdAt: '2026-11-24T00:01:00.000Z',
  thresholds: [
    thresholdFor('BTC', { referencePrice: MARKS.BTC, initialMarginRate: 0.1, maintenanceMarginRate: 0.06 }),
    thresholdFor('ETH', { referencePrice: MARKS.ETH, initialMarginRate: 0.12, maintenanceMarginRate: 0.072 }),
  ],
};
const snapshot = marketSnapshotFromSet(SET);

const s = (value: string): AttributeValue => ({ S: value });
const m = (fields: Record<string, AttributeValue>): AttributeValue => ({ M: fields });
const perp = (instrument: string, quantity: string, entryPrice = String(MARKS.BTC)): AttributeValue =>
  m({ kind: s('perpetual'), instrument: s(instrument), quantity: s(quantity), entryPrice: s(entryPrice) });
const usdt = (amount: string): AttributeValue => m({ asset: s('USDT'), amount: s(amount) });

function item(
  accountId: string,
  collateral: AttributeValue[] = [usdt('1000000')],
  positions: AttributeValue[] = [perp('BTC', '1')],
): Item {
  return { accountId: s(accountId), collateral: { L: collateral }, positions: { L: positions } };
}

function without(record: Item, field: string): Item {
  const { [field]: _dropped, ...rest } = record;
  return rest;
}

/** Collateral that puts one long BTC perp at `ratio` × its maintenance requirement. */
function collateralForRatio(ratio: number): string {
  const bare: Account = {
    accountId: 'probe',
    collateral: [],
    positions: [
      { kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: '100000', settlement: 'linear' },
    ],
  };
  return (Number(valueAccount(bare, snapshot, AS_OF).maintenanceRequirement) * ratio).toFixed(2);
}

/** Rows: [what, the DynamoDB item, key reported, reason pattern]. Every one is rejected by the adapter. */
const SCHEMA_REJECTS: [string, Item, string, RegExp][] = [
  [
    'missing positions',
    without(item('no-positions'), 'positions'),
    'no-positions',
    /^positions: Invalid input: expected array, received undefined$/,
  ],
  ['missing collateral', without(item('no-collateral'), 'collateral'), 'no-collateral', /^collateral: /],
  ['missing accountId (keyed "null")', without(item('x'), 'accountId'), 'null', /^accountId: /],
  [
    'collateral of the wrong type (a string)',
    { ...item('coll-type'), collateral: s('lots') },
    'coll-type',
    /^collateral: Invalid input: expected array, received string$/,
  ],
  [
    'a quantity of the wrong type (BOOL)',
    item('qty-type', undefined, [
      m({ kind: s('perpetual'), instrument: s('BTC'), quantity: { BOOL: true }, entryPrice: s('1') }),
    ]),
    'qty-type',
    /^positions\[0\]\.quantity: /,
  ],
  [
    'a haircut of the wrong type (S, not N)',
    item('haircut-type', [m({ asset: s('USDT'), amount: s('1'), haircut: s('0.1') })]),
    'haircut-type',
    /^collateral\[0\]\.haircut: Invalid input: expected number/,
  ],
  [
    'an unknown position kind',
    item('kind', undefined, [m({ kind: s('swap'), instrument: s('BTC') })]),
    'kind',
    /^positions\[0\]\.kind: /,
  ],
  [
    'a lower-case instrument symbol',
    item('symbol', undefined, [perp('btc', '1')]),
    'symbol',
    /^positions\[0\]\.instrument: must be an upper-case symbol/,
  ],
  [
    'a negative collateral amount',
    item('neg-coll', [usdt('-5')]),
    'neg-coll',
    /^collateral\[0\]\.amount: must not be negative$/,
  ],
  [
    'a zero quantity',
    item('zero-qty', undefined, [perp('BTC', '0')]),
    'zero-qty',
    /^positions\[0\]\.quantity: must not be zero$/,
  ],
  [
    'a zero quantity written 0.000',
    item('zero-qty-2', undefined, [perp('BTC', '0.000')]),
    'zero-qty-2',
    /^positions\[0\]\.quantity: must not be zero$/,
  ],
  [
    'a zero entry price',
    item('zero-entry', undefined, [perp('BTC', '1', '0')]),
    'zero-entry',
    /^positions\[0\]\.entryPrice: must be greater than 0$/,
  ],
  [
    'an absurd size in exponent form (1e30)',
    item('exp-qty', undefined, [perp('BTC', '1e30')]),
    'exp-qty',
    /^positions\[0\]\.quantity: must be a decimal string/,
  ],
  [
    'an absurd size of 39 digits',
    item('long-qty', undefined, [perp('BTC', `1${'0'.repeat(38)}`)]),
    'long-qty',
    /^positions\[0\]\.quantity: has more than 38 digits$/,
  ],
  [
    'an option without expiry',
    item('no-expiry', undefined, [
      m({
        kind: s('option'),
        instrument: s('BTC'),
        optionType: s('call'),
        strike: s('1'),
        quantity: s('1'),
        entryPrice: s('1'),
      }),
    ]),
    'no-expiry',
    /^positions\[0\]\.expiry: /,
  ],
  [
    'a huge record (600 positions, max 512)',
    item(
      'huge',
      undefined,
      Array.from({ length: 600 }, () => perp('BTC', '1')),
    ),
    'huge',
    /^positions: Too big: expected array to have <=512 items$/,
  ],
  [
    'too much collateral (65 entries, max 64)',
    item(
      'coll-65',
      Array.from({ length: 65 }, () => usdt('1')),
    ),
    'coll-65',
    /^collateral: Too big: expected array to have <=64 items$/,
  ],
  [
    'an over-long accountId (129 chars)',
    item('a'.repeat(129)),
    `${'a'.repeat(125)}...`,
    /^accountId: Too big/,
  ],
  [
    'an unknown attribute',
    { ...item('extra'), nickname: s('x') },
    'extra',
    /^\(record\): Unrecognized key: "nickname"$/,
  ],
  [
    'an unsupported DynamoDB type',
    { ...item('binary-set'), updatedAt: {} as AttributeValue },
    'binary-set',
    /^unsupported attribute value at updatedAt$/,
  ],
];

describe('the adapter rejects malformed records with key and reason (readAccount → accountSchema)', () => {
  it.each(SCHEMA_REJECTS)('%s', (_what, record, key, reason) => {
    // Act
    const result = readAccount(record);

    // Assess
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejected.accountKey).toBe(key);
    expect(result.rejected.reason).toMatch(reason);
  });

  it('accountSchema.safeParse agrees on the plain objects (the schema the adapter uses)', () => {
    const good = {
      accountId: 'a',
      collateral: [{ asset: 'USDT', amount: '1' }],
      positions: [{ kind: 'perpetual', instrument: 'BTC', quantity: '1', entryPrice: '1' }],
    };
    expect(accountSchema.safeParse(good).success).toBe(true);
    for (const bad of [
      { ...good, collateral: [{ asset: 'USDT', amount: '-1' }] },
      { ...good, positions: [{ ...good.positions[0], quantity: '0' }] },
      { ...good, positions: [{ ...good.positions[0], quantity: 1 }] },
      { ...good, positions: Array.from({ length: 513 }, () => good.positions[0]) },
      { accountId: 'a', collateral: [] },
    ]) {
      expect(accountSchema.safeParse(bad).success).toBe(false);
    }
  });

  it('caps a reason at five issues, so one bad record cannot flood the ops event', () => {
    const record = item(
      'many',
      Array.from({ length: 10 }, () => usdt('-1')),
    );
    const result = readAccount(record);
    if (result.ok) throw new Error('expected a reject');
    expect(result.rejected.reason.split('; ')).toHaveLength(6);
    expect(result.rejected.reason).toMatch(/; and 5 more$/);
  });
});

describe('records the schema accepts but the valuation must handle', () => {
  const parse = (record: Item): Account => {
    const result = readAccount(record);
    if (!result.ok) throw new Error(result.rejected.reason);
    return result.account;
  };

  it('an unknown instrument: a ValuationError naming the account, the position and the instrument', () => {
    const account = parse(item('doge', undefined, [perp('DOGE', '1')]));
    expect(() => valueAccount(account, snapshot, AS_OF)).toThrow(
      /^account doge.*: no market data for instrument DOGE$/,
    );
  });

  it('an expired option: valued at intrinsic value against the mark, with no requirement', () => {
    // A long 90k call on BTC (mark 100k) that expired yesterday, and a short 110k call (worthless).
    const expired = (optionType: string, strike: string, quantity: string) =>
      m({
        kind: s('option'),
        instrument: s('BTC'),
        optionType: s(optionType),
        strike: s(strike),
        expiry: s('2026-11-23T08:00:00Z'),
        quantity: s(quantity),
        entryPrice: s('500'),
      });
    const account = parse(
      item('expired', [usdt('1000')], [expired('call', '90000', '2'), expired('call', '110000', '-1')]),
    );
    const valuation = valueAccount(account, snapshot, AS_OF);
    expect(valuation.equity).toBe('21000.00000000'); // 1000 + 2 × (100000 − 90000) + 0
    expect(valuation.initialRequirement).toBe('0.00000000');
    expect(valuation.maintenanceRequirement).toBe('0.00000000');
    expect(valuation.marginRatio).toBeNull();
  });

  it('an absurd size (1e30 BTC): rejected with a reason, never a NaN or Infinity requirement', () => {
    const account = parse(item('absurd', undefined, [perp('BTC', `1${'0'.repeat(30)}`)]));
    expect(() => valueAccount(account, snapshot, AS_OF)).toThrow(
      /^account absurd.*: an amount does not fit in 38 digits/,
    );
  });

  it('a large but representable size (1e12 BTC) is valued with finite amounts', () => {
    const account = parse(item('large', [usdt('1')], [perp('BTC', `1${'0'.repeat(12)}`)]));
    const valuation = valueAccount(account, snapshot, AS_OF);
    for (const amount of [valuation.equity, valuation.initialRequirement, valuation.maintenanceRequirement]) {
      expect(Number.isFinite(Number(amount))).toBe(true);
    }
    expect(Number(valuation.initialRequirement)).toBeGreaterThan(0);
    expect(valuation.ratio).not.toBeNaN();
  });
});

describe('a sweep over a segment full of bad records reports each and goes on', () => {
  const ddb = mockClient(DynamoDBClient);
  beforeEach(() => {
    ddb.reset();
  });

  it('values the good accounts, rejects every bad one by key and reason, and tells ops', async () => {
    // Prepare: two pages from the real adapter; good records between the bad ones.
    const good = [
      item('good-ok'),
      item('good-warning', [usdt(collateralForRatio(1.1))]),
      item(
        'good-expired',
        [usdt('10')],
        [
          m({
            kind: s('option'),
            instrument: s('ETH'),
            optionType: s('put'),
            strike: s('5000'),
            expiry: s('2026-11-01T08:00:00Z'),
            quantity: s('1'),
            entryPrice: s('100'),
          }),
        ],
      ),
    ];
    const schemaBad = SCHEMA_REJECTS.map(([, record]) => record);
    const valuationBad = [
      item('bad-doge', undefined, [perp('DOGE', '1')]),
      item('bad-absurd', undefined, [perp('BTC', `1${'0'.repeat(30)}`)]),
    ];
    const page1 = [good[0], ...schemaBad.slice(0, 10), good[1], valuationBad[0]] as Item[];
    const page2 = [...schemaBad.slice(10), good[2], valuationBad[1]] as Item[];
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: page1, LastEvaluatedKey: { accountId: s('page-1-end') } })
      .resolvesOnce({ Items: page2 });
    const thresholds = new InMemoryThresholdStore();
    await thresholds.publishSet(SET, undefined);
    const ops = new RecordingOps();
    const alerts = new RecordingAlerts();
    const ports = {
      accounts: new DynamoDbAccountSource(new DynamoDBClient({}), 'accounts'),
      thresholds,
      statuses: new InMemoryMarginStatusStore(),
      alerts,
      ops,
      clock: new FixedClock(AS_OF),
    };

    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } });

    // Assess: the three good accounts valued (one WARNING alert), every bad one reported.
    expect(result.done).toBe(true);
    // toMatchObject: the counts may grow fields (alertsResent, deferred) without changing these.
    expect(result.counts).toMatchObject({
      accounts: 3,
      rejected: SCHEMA_REJECTS.length + 2,
      transitions: 1,
      stale: 0,
      alertsPublished: 1,
      alertsFailed: 0,
    });
    expect(alerts.published.map((a) => [a.accountId, a.newState])).toEqual([['good-warning', 'WARNING']]);
    const expectedRejects = [
      ...SCHEMA_REJECTS.map(([, , key, reason]) => ({
        accountKey: key,
        reason: expect.stringMatching(reason),
      })),
      { accountKey: 'bad-doge', reason: expect.stringMatching(/no market data for instrument DOGE$/) },
      { accountKey: 'bad-absurd', reason: expect.stringMatching(/an amount does not fit in 38 digits/) },
    ];
    expect(result.rejected).toHaveLength(expectedRejects.length);
    expect(result.rejected).toEqual(expect.arrayContaining(expectedRejects));
    // Ops hears every reject (key + reason only) and the completed counts.
    const rejectedEvent = ops.events.find((e) => e.type === 'accounts.rejected');
    expect(rejectedEvent).toEqual({ type: 'accounts.rejected', runId: 'sweep-1', rejected: result.rejected });
    for (const r of result.rejected) expect(Object.keys(r).sort()).toEqual(['accountKey', 'reason']);
    expect(ops.events.find((e) => e.type === 'sweep.completed')).toEqual({
      type: 'sweep.completed',
      runId: 'sweep-1',
      segment: 0,
      counts: result.counts,
      marks: result.marks,
    });
    // The good accounts' statuses: the warning one stored at sequence 1, the others untouched (OK, unseen).
    expect((await ports.statuses.get(['good-warning'])).get('good-warning')).toMatchObject({
      state: 'WARNING',
      sequence: 1,
    });
  });

  it('an account holding an instrument held without a price (new listing) is reported, not valued at 0', async () => {
    const { referencePrice: _price, ...unpriced } = thresholdFor('DOGE');
    const thresholds = new InMemoryThresholdStore();
    await thresholds.publishSet(
      { ...SET, thresholds: [...SET.thresholds, { ...unpriced, status: 'held' }] },
      undefined,
    );
    ddb
      .on(ScanCommand)
      .resolves({ Items: [item('holds-doge', undefined, [perp('DOGE', '5')]), item('fine')] });
    const ops = new RecordingOps();
    const result = await sweepSegment(
      {
        accounts: new DynamoDbAccountSource(new DynamoDBClient({}), 'accounts'),
        thresholds,
        statuses: new InMemoryMarginStatusStore(),
        alerts: new RecordingAlerts(),
        ops,
        clock: new FixedClock(AS_OF),
      },
      { runId: 'sweep-2', segment: { segment: 0, totalSegments: 1 } },
    );
    expect(result.counts.accounts).toBe(1);
    expect(result.rejected).toEqual([
      { accountKey: 'holds-doge', reason: expect.stringMatching(/no market data for instrument DOGE$/) },
    ]);
  });
});

describe('rejected record keys', () => {
  it('are cut to 128 characters so a batch of reports stays within the ops message limit', () => {
    const result = readAccount({ accountId: { S: 'k'.repeat(2_000) }, collateral: { S: 'not a list' } });
    if (result.ok) throw new Error('a record with a string for collateral must be rejected');
    expect(result.rejected.accountKey).toHaveLength(128);
    expect(result.rejected.accountKey.endsWith('...')).toBe(true);
  });
});
