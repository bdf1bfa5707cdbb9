/**
 * Issue 11, item 4: `__proto__`, `constructor` and `prototype` keys. A record or document that uses one as a
 * field name is refused with the key's path; it never changes how the rest of the record is read.
 * Before the fix, `toPlainValue` assigned `out.__proto__ = {...}`, which sets the prototype: the strict
 * schema never saw the key, yet read the inherited fields (a 0.5 haircut; a linear perpetual read as inverse).
 */
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseEnvironmentConfig } from '../../infra/config/environment.ts';
import { DynamoDbAccountSource, readAccount } from '../../lib/adapters/dynamodb/account-source.ts';
import { accountItem } from '../../lib/adapters/dynamodb/account-writer.ts';
import { toPlainValue } from '../../lib/adapters/dynamodb/attributes.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import type { Account } from '../../lib/domain/account/account.ts';
import { PolicyError } from '../../lib/domain/errors.ts';
import { parseThresholdPolicy } from '../../lib/domain/threshold/policy.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { thresholdFor } from '../domain/valuation/fixtures.ts';

const AS_OF = Date.parse('2026-11-24T00:05:00Z');
const SET: ThresholdSet = {
  setId: 'set-1',
  runId: 'run-1',
  createdAt: '2026-11-24T00:01:00.000Z',
  thresholds: [
    thresholdFor('BTC', { referencePrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.06 }),
  ],
};

// Items below write `['__proto__']: …`: a computed key is an own field, as DynamoDB hands it over.
const s = (value: string): AttributeValue => ({ S: value });
const n = (value: string): AttributeValue => ({ N: value });
const m = (fields: Record<string, AttributeValue>): AttributeValue => ({ M: fields });
const item = (accountId: string, collateral: AttributeValue, position: AttributeValue) => ({
  accountId: s(accountId),
  collateral: { L: [collateral] },
  positions: { L: [position] },
});

const LONG_PERP = m({
  kind: s('perpetual'),
  instrument: s('BTC'),
  quantity: s('1'),
  entryPrice: s('100000'),
});
const SHORT_PERP = m({
  kind: s('perpetual'),
  instrument: s('BTC'),
  quantity: s('-1'),
  entryPrice: s('100000'),
});
const BTC_COLLATERAL = m({ asset: s('BTC'), amount: s('0.09') });
const USDT_COLLATERAL = m({ asset: s('USDT'), amount: s('1000') });

/** 0.09 BTC (9,000) against a 6,000 maintenance: ratio 1.5, OK. A 0.5 haircut makes it 0.75: LIQUIDATION. */
const HAIRCUT_TRICK = item(
  'haircut-trick',
  m({ asset: s('BTC'), amount: s('0.09'), ['__proto__']: m({ haircut: n('0.5') }) }),
  LONG_PERP,
);
/** 1,000 USDT against a 1 BTC short (6,000 maintenance): LIQUIDATION. Read as 1 inverse contract of 1 USD: OK. */
const INVERSE_TRICK = item(
  'inverse-trick',
  USDT_COLLATERAL,
  m({
    kind: s('perpetual'),
    instrument: s('BTC'),
    quantity: s('-1'),
    entryPrice: s('100000'),
    ['__proto__']: m({ settlement: s('inverse'), contractSize: s('1') }),
  }),
);

describe('account records (DynamoDB items)', () => {
  const ddb = mockClient(DynamoDBClient);
  beforeEach(() => ddb.reset());

  it('a __proto__ map in a collateral entry is rejected with its path, never read as a 0.5 haircut', () => {
    const result = readAccount(HAIRCUT_TRICK);
    expect(result).toEqual({
      ok: false,
      rejected: { accountKey: 'haircut-trick', reason: 'collateral[0].__proto__: reserved key' },
    });
  });

  it('a __proto__ map in a position is rejected with its path, never read as an inverse perpetual', () => {
    const result = readAccount(INVERSE_TRICK);
    expect(result).toEqual({
      ok: false,
      rejected: { accountKey: 'inverse-trick', reason: 'positions[0].__proto__: reserved key' },
    });
  });

  it.each([
    ['constructor', 'collateral[0].constructor'],
    ['prototype', 'collateral[0].prototype'],
  ])('a %s key is rejected with its path', (key, path) => {
    const result = readAccount(
      item('k', m({ asset: s('USDT'), amount: s('1'), [key]: m({ haircut: n('0.5') }) }), LONG_PERP),
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejected.reason).toBe(`${path}: reserved key`);
  });

  it('a reserved key at the top of the item is named too', () => {
    const result = readAccount({ ...item('k', USDT_COLLATERAL, LONG_PERP), constructor: m({}) });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejected.reason).toBe('constructor: reserved key');
  });

  it('toPlainValue keeps a __proto__ attribute as an own field: the prototype is never set', () => {
    const plain = toPlainValue(m({ a: s('x'), ['__proto__']: m({ haircut: n('0.5') }) }), Number) as object;
    expect(Object.getPrototypeOf(plain)).toBe(Object.prototype);
    expect(Object.hasOwn(plain, '__proto__')).toBe(true);
    expect((plain as { haircut?: unknown }).haircut).toBeUndefined();
  });

  it('a sweep rejects both tricks by key and path, values the honest twins, and changes no tricked state', async () => {
    // Prepare: the same accounts without the trick: OK and LIQUIDATION.
    ddb.on(ScanCommand).resolves({
      Items: [
        HAIRCUT_TRICK,
        INVERSE_TRICK,
        item('haircut-honest', BTC_COLLATERAL, LONG_PERP),
        item('inverse-honest', USDT_COLLATERAL, SHORT_PERP),
      ],
    });
    const thresholds = new InMemoryThresholdStore();
    await thresholds.publishSet(SET, undefined);
    const ports = {
      accounts: new DynamoDbAccountSource(new DynamoDBClient({}), 'accounts'),
      thresholds,
      statuses: new InMemoryMarginStatusStore(),
      alerts: new RecordingAlerts(),
      ops: new RecordingOps(),
      clock: new FixedClock(AS_OF),
    };

    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } });

    // Assess
    expect(result.rejected).toEqual([
      { accountKey: 'haircut-trick', reason: 'collateral[0].__proto__: reserved key' },
      { accountKey: 'inverse-trick', reason: 'positions[0].__proto__: reserved key' },
    ]);
    expect(ports.alerts.published.map((a) => [a.accountId, a.newState])).toEqual([
      ['inverse-honest', 'LIQUIDATION'],
    ]);
    expect(ports.statuses.items.has('haircut-trick')).toBe(false);
    expect(ports.statuses.items.has('inverse-trick')).toBe(false);
  });
});

describe('account records (accounts JSON file, as `qmt run --accounts` stores them)', () => {
  it('a "__proto__" field parsed from JSON is stored as a field and rejected with its path when read', () => {
    const record = JSON.parse(
      '{"accountId":"file-trick","collateral":[{"asset":"USDT","amount":"1000"}],' +
        '"positions":[{"kind":"perpetual","instrument":"BTC","quantity":"-1","entryPrice":"100000",' +
        '"__proto__":{"settlement":"inverse","contractSize":"1"}}]}',
    ) as Account;
    const result = readAccount(accountItem(record));
    expect(result).toEqual({
      ok: false,
      rejected: { accountKey: 'file-trick', reason: 'positions[0].__proto__: reserved key' },
    });
  });
});

/** The error `parse` throws, checked to be an instance of `type`; fails the test when it throws none. */
function errorOf<E extends Error>(type: new (...args: never[]) => E, parse: () => unknown): E {
  try {
    parse();
  } catch (error) {
    expect(error).toBeInstanceOf(type);
    return error as E;
  }
  throw new Error('expected an error');
}

describe('policy documents', () => {
  it.each(['__proto__', 'constructor', 'prototype'])(
    'a stress scenario named %s is refused with its path (it would vanish from the audit trail)',
    (name) => {
      const error = errorOf(PolicyError, () =>
        parseThresholdPolicy({ stress: { scenarios: [{ name, kind: 'hypothetical', move: -0.5 }] } }),
      );
      expect(error.path).toBe('policy.stress.scenarios.0.name');
      expect(error.message).toContain('policy.stress.scenarios.0.name: reserved key');
    },
  );

  it('a __proto__ key anywhere in a policy document is refused with its path', () => {
    const error = errorOf(PolicyError, () =>
      parseThresholdPolicy(JSON.parse('{"volatility":{"__proto__":{"ewmaLambda":0.5}}}'), 'book.json'),
    );
    expect(error.path).toBe('book.json.volatility.__proto__');
    expect(error.message).toBe('invalid threshold policy: book.json.volatility.__proto__: reserved key');
  });
});

describe('runtime configuration (QMT_CONFIG)', () => {
  it('an instrument policy merged over defaultPolicy cannot smuggle a field in through __proto__', () => {
    // Before: the merge assigned merged.__proto__, and ewmaLambda 0.5 was applied to BTC with no error.
    const text =
      '{"instruments":{"BTC":{"policy":{"volatility":{"__proto__":{"ewmaLambda":0.5}}}}},' +
      '"defaultPolicy":{"volatility":{}}}';
    const error = errorOf(ConfigError, () => loadRuntimeConfig({ QMT_CONFIG: text }));
    expect(error.path).toBe('instruments.BTC.policy.volatility.__proto__');
    expect(error.message).toContain('instruments.BTC.policy.volatility.__proto__: reserved key');
  });

  it.each([
    ['{"instruments":{"__proto__":{"policy":{"confidence":0.95}},"BTC":{}}}', 'instruments.__proto__'],
    [
      '{"instruments":{"BTC":{}},"catalogue":{"__proto__":{"binance":{"symbol":"X"}}}}',
      'catalogue.__proto__',
    ],
    ['{"instruments":{"BTC":{}},"defaultPolicy":{"constructor":{}}}', 'defaultPolicy.constructor'],
  ])('%s is refused, naming %s (a map used to drop the key silently)', (text, path) => {
    const error = errorOf(ConfigError, () => loadRuntimeConfig({ QMT_CONFIG: text }));
    expect(error.path).toBe(path);
    expect(error.message).toContain(`${path}: reserved key`);
  });
});

describe('deployment configuration (infra/config/<env>.json)', () => {
  it.each([
    ['{"qmt":{"instruments":{"BTC":{}}},"tags":{"__proto__":"x"}}', 'tags.__proto__'],
    ['{"qmt":{"instruments":{"BTC":{},"__proto__":{}}}}', 'qmt.instruments.__proto__'],
  ])('%s is refused, naming %s', (text, path) => {
    const error = errorOf(ConfigError, () => parseEnvironmentConfig('dev', JSON.parse(text)));
    expect(error.path).toBe(`dev.json: ${path}`);
    expect(error.message).toContain(`dev.json: ${path}: reserved key`);
  });
});
