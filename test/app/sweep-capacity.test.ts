import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AttributeValue, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/margin-thresholds.ts';
import { accountItem } from '../../lib/adapters/dynamodb/account-writer.ts';
import {
  DEFAULT_WATCHLIST_LIMIT,
  DynamoDbMarginStatusStore,
} from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { planSweep } from '../../lib/app/plan-sweep.ts';
import {
  MEASURED_WORKER_THROUGHPUT,
  SQS_STANDARD_RAMP,
  type SweepCapacityInput,
  sweepCapacity,
  TYPICAL_ITEM_SIZES,
  US_EAST_1_PRICES,
} from '../../lib/app/sweep-capacity.ts';
import { formatScaleReport, scaleReport } from '../../lib/cli/commands/scale.ts';
import type { Account, MarginTransition } from '../../lib/domain/account/account.ts';
import { marginAlert } from '../../lib/domain/alert/alert.ts';
import { buildApp, resources } from '../infra/support.ts';

const TEN_MILLION = 10_000_000;
const DEADLINE_S = 60;

/** A model input small enough to check by hand. */
const handInput: SweepCapacityInput = {
  accounts: 1_000_000,
  transitionShare: 0.1,
  // Without a watchlist: every status is read.
  watchedShare: 1,
  watchlistLimit: 200_000,
  plan: { totalSegments: 10, accountsPerSegment: 100_000 },
  workerConcurrency: 5,
  workerMemoryMb: 2048,
  ramp: { initialWorkers: 2, addedWorkersPerSecond: 1 },
  throughput: { quietAccountsPerSecond: 10_000, transitionsPerSecond: 500, startupSeconds: 2 },
  sizes: {
    accountItemBytes: 1024,
    statusItemBytes: 256,
    alertBytes: 768,
    consistentStatusReads: true,
    watchlistEntryBytes: 64,
  },
  prices: US_EAST_1_PRICES,
};

describe('sweepCapacity', () => {
  it('adds start-up, the ramp to the first wave and every wave of workers', () => {
    const c = sweepCapacity(handInput);
    // Per worker: 100,000 / 10,000 + 10,000 transitions / 500 = 10 + 20 s; 10 segments on 5 workers: 2 waves;
    // the ramp brings 2 → 5 workers at 1 per second: 3 s.
    expect(c.waves).toBe(2);
    expect(c.rampSeconds).toBe(3);
    expect(c.workerSeconds).toBeCloseTo(30, 12);
    expect(c.sweepSeconds).toBeCloseTo(2 + 3 + 60, 12);
    // Peak: 5 workers × 100,000 accounts / 30 s.
    expect(c.accountsPerSecond).toBeCloseTo(500_000 / 30, 9);
  });

  it("counts read and write units by DynamoDB's rounding, and SNS's 64 KB billing chunks", () => {
    const c = sweepCapacity(handInput);
    // Scan: 1,000,000 × 1 KB / 4 KB × ½ = 125,000; statuses: 1 unit each (consistent, ≤ 4 KB).
    expect(c.readUnits).toBe(125_000 + 1_000_000);
    // 100,000 transitions × (put + clear) × ⌈(256 + 768) / 1024⌉ = 1 unit each.
    expect(c.writeUnits).toBe(200_000);
    // 10,000 PublishBatch requests of 10 × 768 B = 7.5 KB: one billed chunk each.
    expect(c.snsBilledRequests).toBe(10_000);
    expect(c.costUsd.dynamoDbReads).toBeCloseTo(1.125 * 0.125, 12);
    expect(c.costUsd.dynamoDbWrites).toBeCloseTo(0.2 * 0.625, 12);
    expect(c.costUsd.sns).toBeCloseTo(0.01 * 0.5, 12);
    // 10 workers × 30 s × 2 GB + the start-up, and 11 invocations.
    expect(c.lambdaGbSeconds).toBeCloseTo(600 + 2, 9);
    expect(c.costUsd.total).toBeCloseTo(
      c.costUsd.dynamoDbReads + c.costUsd.dynamoDbWrites + c.costUsd.lambda + c.costUsd.sns + c.costUsd.sqs,
      12,
    );
  });

  it('halves status reads when they are eventually consistent, and rounds big items up', () => {
    const eventual = sweepCapacity({
      ...handInput,
      sizes: { ...handInput.sizes, consistentStatusReads: false, statusItemBytes: 5000, alertBytes: 100 },
    });
    // ⌈5000 / 4096⌉ = 2 units, halved: 1 per status.
    expect(eventual.readUnits).toBe(125_000 + 1_000_000);
    // ⌈5100 / 1024⌉ = 5 units per write, 2 writes per transition.
    expect(eventual.writeUnits).toBe(100_000 * 10);
  });

  it('reads only the watched statuses and those about to change, plus each worker’s copy of the watchlist', () => {
    const c = sweepCapacity({ ...handInput, watchedShare: 0.01 });
    // 10,000 watched + 100,000 changing = 110,000 statuses; 10 workers × ⌈10,000 × 64 B / 4 KB⌉ = 157 × ½.
    expect(c.readUnits).toBe(125_000 + 110_000 + 10 * 157 * 0.5);
    // Past the limit (500,000 watched > 200,000) every status is read again.
    expect(sweepCapacity({ ...handInput, watchedShare: 0.5 }).readUnits).toBe(125_000 + 1_000_000);
  });

  it('names a bad input', () => {
    expect(() => sweepCapacity({ ...handInput, accounts: 0 })).toThrow(/accounts must be a positive number/);
    expect(() => sweepCapacity({ ...handInput, transitionShare: 1.5 })).toThrow(/transitionShare/);
    expect(() => sweepCapacity({ ...handInput, watchedShare: -0.1 })).toThrow(/watchedShare/);
    expect(() =>
      sweepCapacity({
        ...handInput,
        throughput: { ...handInput.throughput, transitionsPerSecond: Number.NaN },
      }),
    ).toThrow(/transitionsPerSecond/);
  });
});

/** DynamoDB's item size: names and string values in UTF-8 bytes, numbers ~1 byte per 2 digits + 1, 3 bytes per map or list plus 1 per element. */
function itemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/[-.]/g, '').replace(/^0+/, '').length / 2) + 1;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.L !== undefined) return 3 + v.L.reduce((sum, e) => sum + 1 + value(e), 0);
    if (v.M !== undefined) return 3 + itemBytes(v.M) + Object.keys(v.M).length;
    throw new Error(`unsized attribute ${JSON.stringify(v)}`);
  };
  return Object.entries(item).reduce((sum, [name, v]) => sum + Buffer.byteLength(name) + value(v), 0);
}

describe("the model's item sizes", () => {
  it('cover an account with 2 collateral assets and 5 perpetuals, a status and its alert', async () => {
    const account: Account = {
      accountId: 'acct-0001234567',
      collateral: [
        { asset: 'USDT', amount: '1250000.12345678' },
        { asset: 'BTC', amount: '12.50000000', haircut: 0.05 },
      ],
      positions: ['BTC', 'ETH', 'SOL', 'BTC', 'ETH'].map((instrument, i) => ({
        kind: 'perpetual' as const,
        instrument,
        quantity: i % 2 ? '-125.12345678' : '3.50000000',
        entryPrice: '96123.12345678',
        settlement: 'linear' as const,
      })),
      updatedAt: '2026-11-24T10:15:00.123Z',
    };
    const accountBytes = itemBytes(accountItem(account));
    expect(accountBytes).toBeGreaterThan(TYPICAL_ITEM_SIZES.accountItemBytes / 2);
    expect(accountBytes).toBeLessThanOrEqual(TYPICAL_ITEM_SIZES.accountItemBytes);

    const alert = marginAlert({
      accountId: account.accountId,
      previousState: 'WARNING',
      newState: 'MARGIN_CALL',
      sequence: 12,
      equity: '1234567.12345678',
      initialRequirement: '1500000.00000000',
      maintenanceRequirement: '1300000.00000000',
      marginRatio: '0.94966700',
      shortfallToInitial: '265432.87654322',
      thresholdSetId: '2026-11-24T00:05:00.000Z',
      runId: 'sweep-2026-11-24T10:15:00.000Z',
      occurredAt: '2026-11-24T10:15:03.456Z',
      // Schema 1.1: the marks of its three instruments (BTC also prices its BTC collateral).
      marks: Object.fromEntries(
        ['BTC', 'ETH', 'SOL'].map((symbol) => [
          symbol,
          { price: '96123.12345678', at: '2026-11-24T10:15:00.000Z' },
        ]),
      ),
    });
    expect(Buffer.byteLength(JSON.stringify(alert))).toBeLessThanOrEqual(TYPICAL_ITEM_SIZES.alertBytes);

    // The status item exactly as the store writes it with a transition.
    const ddb = mockClient(DynamoDBClient);
    ddb.on(PutItemCommand).resolves({});
    const transition: MarginTransition = {
      accountId: account.accountId,
      previousState: 'WARNING',
      newState: 'MARGIN_CALL',
      expectedSequence: 11,
      alert,
    };
    await new DynamoDbMarginStatusStore(new DynamoDBClient({}), 'status').applyTransition(transition);
    const written = ddb.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {};
    ddb.restore();
    const { pendingAlert, ...status } = written;
    expect(pendingAlert).toBeDefined();
    expect(itemBytes(status)).toBeLessThanOrEqual(TYPICAL_ITEM_SIZES.statusItemBytes);
    // Status with its pending alert: one write unit per write.
    expect(itemBytes(written)).toBeLessThanOrEqual(
      TYPICAL_ITEM_SIZES.statusItemBytes + TYPICAL_ITEM_SIZES.alertBytes,
    );
  });
});

describe('ten million accounts within a minute: the plan the deployment produces', () => {
  /** The deployed sweep settings: worker concurrency and memory from the template, segments from planSweep. */
  function deployed(env: string) {
    const { template } = buildApp(env);
    // The sweep worker's queue mapping (the stress run has its own).
    const mappings = Object.values(resources(template, 'AWS::Lambda::EventSourceMapping')).filter((m) =>
      String((m.Properties as { FunctionName: { Ref: string } }).FunctionName.Ref).includes('SweepWorker'),
    );
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]?.Properties as {
      FunctionName: { Ref: string };
      ScalingConfig: { MaximumConcurrency: number };
    };
    const functions = resources(template, 'AWS::Lambda::Function');
    const worker = functions[mapping.FunctionName.Ref]?.Properties as {
      MemorySize: number;
      Environment: { Variables: Record<string, string> };
    };
    // The document the functions read: the AppConfig hosted configuration `cdk deploy` publishes.
    const versions = Object.values(resources(template, 'AWS::AppConfig::HostedConfigurationVersion'));
    const document = JSON.parse(String(versions[0]?.Properties?.Content ?? '{}')) as {
      sweep?: { accountsPerSegment?: number; maxSegments?: number };
    };
    return {
      concurrency: mapping.ScalingConfig.MaximumConcurrency,
      memory: worker.MemorySize,
      sweep: document.sweep ?? {},
    };
  }

  // Synthesising the stacks takes seconds: once per environment.
  const settings = new Map<string, ReturnType<typeof deployed>>();
  beforeAll(() => {
    for (const env of ['dev', 'prod']) settings.set(env, deployed(env));
  }, 120_000);
  const of = (env: string) => {
    const found = settings.get(env);
    if (!found) throw new Error(`no settings for ${env}`);
    return found;
  };

  for (const env of ['dev', 'prod']) {
    it(`${env}: planSweep's segments run in one wave of the stack's workers and a quiet sweep ends within 60 s`, () => {
      const { concurrency, memory, sweep } = of(env);
      const plan = planSweep({ approximateAccounts: TEN_MILLION, ...sweep });
      expect(plan).toEqual({ totalSegments: 100, accountsPerSegment: 100_000 });
      expect(plan.totalSegments).toBeLessThanOrEqual(concurrency);
      const at = (transitionShare: number) =>
        sweepCapacity({
          accounts: TEN_MILLION,
          transitionShare,
          watchedShare: 0.01,
          watchlistLimit: DEFAULT_WATCHLIST_LIMIT,
          plan,
          workerConcurrency: concurrency,
          workerMemoryMb: memory,
          ramp: SQS_STANDARD_RAMP,
          throughput: MEASURED_WORKER_THROUGHPUT,
          sizes: TYPICAL_ITEM_SIZES,
          prices: US_EAST_1_PRICES,
        });
      const quiet = at(0);
      expect(quiet.waves).toBe(1);
      expect(quiet.sweepSeconds).toBeLessThanOrEqual(DEADLINE_S);
      // The crash day (10% change state) is the doc's open point: within 10% of the minute at the rates
      // measured on DynamoDB Local.
      expect(at(0.1).sweepSeconds).toBeLessThanOrEqual(DEADLINE_S * 1.1);
    });
  }

  it('docs/SCALE.md prints what `qmt scale` computes for the deployed settings', () => {
    const { concurrency, memory } = of('prod');
    const report = formatScaleReport(
      scaleReport({
        accounts: TEN_MILLION,
        workerConcurrency: concurrency,
        workerMemoryMb: memory,
        crashShare: 0.1,
        watchedShare: 0.01,
        sweepsPerDay: 288,
        deadlineSeconds: DEADLINE_S,
      }),
    );
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'SCALE.md'), 'utf8');
    const block = /<!-- qmt scale -->\n```text\n([\s\S]*?)\n```/.exec(doc)?.[1];
    expect(block, 'docs/SCALE.md has a ```text block after <!-- qmt scale -->').toBeDefined();
    expect(block).toBe(report);
  });
});
