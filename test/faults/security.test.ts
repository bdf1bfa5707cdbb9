/**
 * Issue 6, security: what leaves qmt is only what the contracts say.
 *  (a) Every alert a sweep publishes validates against lib/schemas/margin-alert.v1.json and carries only the
 *      schema's fields: no positions, no collateral breakdown.
 *  (b) A rejected record reaches ops (and the worker's log, which logs `result.rejected`) as key + reason
 *      only: a secret-like value in a bad field is never echoed.
 *  (c) No source file under lib/, lambdas/ or infra/ holds an AWS access key id or a private key.
 * (d) `npm audit --omit=dev` cannot run offline in a test: it is run by hand and recorded in docs/RELIABILITY.md.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import type { Account, MarginAlert } from '../../lib/domain/account/account.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import { marketSnapshotFromSet } from '../../lib/domain/valuation/snapshot.ts';
import { valueAccount } from '../../lib/domain/valuation/valuation.ts';
import {
  FixedClock,
  InMemoryAccountSource,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { thresholdFor } from '../domain/valuation/fixtures.ts';
import { marginAlertJsonSchema, validateMarginAlert } from '../schemas/ajv.ts';

const AS_OF = Date.parse('2026-11-24T00:05:00Z');
const SECRET = 'AKIAIOSFODNN7EXAMPLE';
const SET: ThresholdSet = {
  setId: 'set-1',
  runId: 'run-1',
  createdAt: '2026-11-24T00:01:00.000Z',
  thresholds: [
    thresholdFor('BTC', { referencePrice: 100_000, initialMarginRate: 0.1, maintenanceMarginRate: 0.06 }),
    thresholdFor('ETH', { referencePrice: 4_000, initialMarginRate: 0.12, maintenanceMarginRate: 0.072 }),
  ],
};
const snapshot = marketSnapshotFromSet(SET);
const LONG_BTC = {
  kind: 'perpetual',
  instrument: 'BTC',
  quantity: '1',
  entryPrice: '100000',
  settlement: 'linear',
} as const;

/** An account with one long BTC perp (at its mark) and USDT collateral at `ratio` × maintenance. */
function accountAt(accountId: string, ratio: number): Account {
  const bare: Account = { accountId, collateral: [], positions: [LONG_BTC] };
  const maintenance = Number(valueAccount(bare, snapshot, AS_OF).maintenanceRequirement);
  return { ...bare, collateral: [{ asset: 'USDT', amount: (maintenance * ratio).toFixed(2) }] };
}

async function portsWith(accounts: DynamoDbAccountSource | InMemoryAccountSource) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(SET, undefined);
  return {
    accounts,
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(AS_OF),
  };
}

describe('(a) alerts carry only the published schema', () => {
  it('every alert of a sweep (all severities, recoveries, a null ratio) validates and has only schema fields', async () => {
    // Prepare: first sweep: into WARNING, MARGIN_CALL and LIQUIDATION; second: recover or close out.
    const first = [accountAt('w', 1.1), accountAt('mc', 0.9), accountAt('liq', 0.5), accountAt('ok', 3)];
    const ports = await portsWith(new InMemoryAccountSource(first));
    await sweepSegment(ports, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } });
    const second = [
      accountAt('w', 3),
      { ...accountAt('mc', 3), positions: [] }, // nothing required: ratio null
      accountAt('liq', 1.1),
    ];
    await sweepSegment(
      { ...ports, accounts: new InMemoryAccountSource(second) },
      { runId: 'sweep-2', segment: { segment: 0, totalSegments: 1 } },
    );
    const alerts: MarginAlert[] = ports.alerts.published;

    // Assess
    expect(alerts.map((a) => `${a.accountId}:${a.previousState}→${a.newState}`).sort()).toEqual([
      'liq:LIQUIDATION→WARNING',
      'liq:OK→LIQUIDATION',
      'mc:MARGIN_CALL→OK',
      'mc:OK→MARGIN_CALL',
      'w:OK→WARNING',
      'w:WARNING→OK',
    ]);
    expect(alerts.some((a) => a.marginRatio === null)).toBe(true);
    const allowed = new Set(Object.keys(marginAlertJsonSchema.properties));
    for (const alert of alerts) {
      // A JSON round trip: what SNS carries, not the in-memory object.
      const wire = JSON.parse(JSON.stringify(alert)) as Record<string, unknown>;
      expect(validateMarginAlert(wire), JSON.stringify(validateMarginAlert.errors)).toBe(true);
      expect(Object.keys(wire).filter((key) => !allowed.has(key))).toEqual([]);
      const text = JSON.stringify(wire);
      for (const leak of ['positions', 'collateral', 'entryPrice', 'USDT', 'perpetual', 'instrument']) {
        expect(text).not.toContain(leak);
      }
    }
  });

  it('the schema forbids additional properties, so a consumer can rely on it', () => {
    expect(marginAlertJsonSchema.additionalProperties).toBe(false);
    const alert = JSON.parse(JSON.stringify(marginAlertJsonSchema.examples[0])) as Record<string, unknown>;
    expect(validateMarginAlert(alert)).toBe(true);
    expect(validateMarginAlert({ ...alert, positions: [] })).toBe(false);
    expect(validateMarginAlert({ ...alert, collateral: [{ asset: 'USDT', amount: '1' }] })).toBe(false);
  });
});

describe('(b) rejected records reach ops and logs as key + reason only', () => {
  const ddb = mockClient(DynamoDBClient);
  const captured: string[] = [];
  beforeEach(() => {
    ddb.reset();
    captured.length = 0;
    const record =
      (stream: 'log' | 'info' | 'warn' | 'error' | 'debug') =>
      (...args: unknown[]) => {
        captured.push(
          `${stream}: ${args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ')}`,
        );
      };
    for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation(record(method));
    }
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      vi.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
        captured.push(String(chunk));
        return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write);
    }
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const s = (value: string): AttributeValue => ({ S: value });
  const m = (fields: Record<string, AttributeValue>): AttributeValue => ({ M: fields });
  const goodCollateral = m({ asset: s('USDT'), amount: s('1000000') });
  const goodPosition = m({
    kind: s('perpetual'),
    instrument: s('BTC'),
    quantity: s('1'),
    entryPrice: s('100000'),
  });
  const itemWith = (
    accountId: string,
    collateral: AttributeValue = goodCollateral,
    position: AttributeValue = goodPosition,
    extra: Record<string, AttributeValue> = {},
  ) => ({ accountId: s(accountId), collateral: { L: [collateral] }, positions: { L: [position] }, ...extra });

  /** The secret in every kind of bad field the schema checks. */
  const SECRET_RECORDS: [string, Record<string, AttributeValue>][] = [
    ['a collateral amount', itemWith('k-amount', m({ asset: s('USDT'), amount: s(SECRET) }))],
    [
      'a collateral amount stored as N',
      itemWith('k-amount-n', m({ asset: s('USDT'), amount: { N: SECRET } })),
    ],
    ['a haircut', itemWith('k-haircut', m({ asset: s('USDT'), amount: s('1'), haircut: s(SECRET) }))],
    [
      'a quantity',
      itemWith(
        'k-qty',
        goodCollateral,
        m({ kind: s('perpetual'), instrument: s('BTC'), quantity: s(SECRET), entryPrice: s('1') }),
      ),
    ],
    [
      'an entry price',
      itemWith(
        'k-entry',
        goodCollateral,
        m({ kind: s('perpetual'), instrument: s('BTC'), quantity: s('1'), entryPrice: s(SECRET) }),
      ),
    ],
    ['a position kind', itemWith('k-kind', goodCollateral, m({ kind: s(SECRET), instrument: s('BTC') }))],
    [
      'a settlement',
      itemWith(
        'k-settle',
        goodCollateral,
        m({
          kind: s('future'),
          instrument: s('BTC'),
          quantity: s('1'),
          entryPrice: s('1'),
          settlement: s(SECRET),
        }),
      ),
    ],
    [
      'an option type',
      itemWith(
        'k-type',
        goodCollateral,
        m({
          kind: s('option'),
          instrument: s('BTC'),
          optionType: s(SECRET),
          strike: s('1'),
          expiry: s('2027-01-01T00:00:00Z'),
          quantity: s('1'),
          entryPrice: s('1'),
        }),
      ),
    ],
    [
      'an expiry',
      itemWith(
        'k-expiry',
        goodCollateral,
        m({
          kind: s('option'),
          instrument: s('BTC'),
          optionType: s('call'),
          strike: s('1'),
          expiry: s(SECRET),
          quantity: s('1'),
          entryPrice: s('1'),
        }),
      ),
    ],
    [
      'a mark volatility',
      itemWith(
        'k-vol',
        goodCollateral,
        m({
          kind: s('option'),
          instrument: s('BTC'),
          optionType: s('call'),
          strike: s('1'),
          expiry: s('2027-01-01T00:00:00Z'),
          quantity: s('1'),
          entryPrice: s('1'),
          markVolatility: { N: SECRET },
        }),
      ),
    ],
    [
      'an instrument symbol with lower case',
      itemWith(
        'k-instr',
        goodCollateral,
        m({ kind: s('perpetual'), instrument: s(`x-${SECRET}`), quantity: s('1'), entryPrice: s('1') }),
      ),
    ],
    ['updatedAt', itemWith('k-updated', goodCollateral, goodPosition, { updatedAt: s(SECRET) })],
    [
      'the value of an unknown attribute',
      itemWith('k-extra', goodCollateral, goodPosition, { apiKey: s(SECRET) }),
    ],
    [
      'a nested unknown attribute',
      itemWith('k-nested', m({ asset: s('USDT'), amount: s('1'), note: s(SECRET) })),
    ],
  ];

  it('a secret-like value in any bad field never appears in a reason, an ops event or a log line', async () => {
    // Prepare
    ddb
      .on(ScanCommand)
      .resolves({ Items: [itemWith('good'), ...SECRET_RECORDS.map(([, record]) => record)] });
    const ports = await portsWith(new DynamoDbAccountSource(new DynamoDBClient({}), 'accounts'));

    // Act
    const result = await sweepSegment(ports, { runId: 'sweep-s', segment: { segment: 0, totalSegments: 1 } });

    // Assess: all rejected by key, each with a reason, and the secret nowhere.
    expect(result.counts).toMatchObject({ accounts: 1, rejected: SECRET_RECORDS.length });
    expect(result.rejected.map((r) => r.accountKey).sort()).toEqual(
      SECRET_RECORDS.map(([, record]) => record.accountId?.S).sort(),
    );
    for (const r of result.rejected) {
      expect(Object.keys(r).sort()).toEqual(['accountKey', 'reason']);
      expect(r.reason.length).toBeGreaterThan(0);
    }
    const everything = [JSON.stringify(result), JSON.stringify(ports.ops.events), ...captured].join('\n');
    expect(everything).not.toContain(SECRET);
    expect(everything).not.toMatch(/AKIA[0-9A-Z]{16}/);
    expect(ports.ops.events.map((e) => e.type)).toEqual(['accounts.rejected', 'sweep.completed']);
  });

  it.each(SECRET_RECORDS)('%s: the reason names the field, not its value', async (_what, record) => {
    ddb.on(ScanCommand).resolves({ Items: [record] });
    const page = await new DynamoDbAccountSource(new DynamoDBClient({}), 'accounts').scanPage({
      segment: 0,
      totalSegments: 1,
    });
    expect(page.rejected).toHaveLength(1);
    expect(page.rejected[0]?.reason).not.toContain(SECRET);
    expect(page.rejected[0]?.reason).toMatch(/^(\(record\)|collateral|positions|updatedAt)/);
  });
});

describe('(c) no credentials in the source tree', () => {
  const ROOT = new URL('../../', import.meta.url).pathname;
  const SKIP = new Set(['node_modules', 'cdk.out', 'dist', 'coverage', '.git']);

  function filesUnder(dir: string): string[] {
    return readdirSync(dir).flatMap((name) => {
      if (SKIP.has(name)) return [];
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : [path];
    });
  }

  const files = ['lib', 'lambdas', 'infra'].flatMap((dir) => filesUnder(join(ROOT, dir)));

  it('scans a real tree (not vacuous)', () => {
    expect(files.length).toBeGreaterThan(20);
    expect(files.some((f) => f.endsWith('.ts'))).toBe(true);
  });

  it.each([
    ['an AWS access key id', /\b(AKIA|ASIA)[0-9A-Z]{16}\b/],
    ['a private key header', /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/],
    ['an AWS secret access key assignment', /aws_secret_access_key\s*[=:]\s*['"]?[A-Za-z0-9/+=]{40}/i],
  ])('no file under lib/, lambdas/, infra/ contains %s', (_what, pattern) => {
    const offenders = files.filter((file) => pattern.test(readFileSync(file, 'latin1')));
    expect(offenders.map((f) => relative(ROOT, f))).toEqual([]);
  });
});
