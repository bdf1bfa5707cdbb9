/**
 * Each function's IAM policy allows every DynamoDB call its code really makes. The use case (sweep worker)
 * or the whole handler (recalibrate, sweep coordinator, idempotency included) runs on DynamoDB Local
 * through a client that records each command and its table; the synthesised stack's role of that function
 * must allow each (action, table). A call the policy misses fails only in AWS, with AccessDenied, never on
 * DynamoDB Local: this test is what catches it (it caught the outbox clear's UpdateItem missing).
 */
import {
  AppConfigDataClient,
  GetLatestConfigurationCommand,
  StartConfigurationSessionCommand,
} from '@aws-sdk/client-appconfigdata';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import type { Template } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import type { QmtStack } from '../../infra/stack.ts';
import { createMarketWatchHandler } from '../../lambdas/market-watch/watch-handler.ts';
import { createRecalibrateHandler } from '../../lambdas/recalibrate/recalibrate-handler.ts';
import { type ConfiguredHandlerOptions, withLiveConfig } from '../../lambdas/shared/live-config.ts';
import type { Observability } from '../../lambdas/shared/observability.ts';
import { createStressHandler } from '../../lambdas/stress-run/stress-handler.ts';
import { createSweepCoordinatorHandler } from '../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { createSweepWorkerHandler } from '../../lambdas/sweep-worker/worker-handler.ts';
import { APPCONFIG_SOURCE_IAM_ACTIONS } from '../../lib/adapters/appconfig/config-document-source.ts';
import {
  ACCOUNT_SOURCE_IAM_ACTIONS,
  DynamoDbAccountSource,
} from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import {
  BACKTEST_REPORT_STORE_IAM_ACTIONS,
  DynamoDbBacktestReportStore,
} from '../../lib/adapters/dynamodb/backtest-report-store.ts';
import { BREACH_INDEX_IAM_ACTIONS, DynamoDbBreachIndex } from '../../lib/adapters/dynamodb/breach-index.ts';
import { CANDLE_STORE_IAM_ACTIONS, DynamoDbCandleStore } from '../../lib/adapters/dynamodb/candle-store.ts';
import { createDynamoDbClient } from '../../lib/adapters/dynamodb/client.ts';
import {
  DynamoDbMarginStatusStore,
  MARGIN_STATUS_STORE_IAM_ACTIONS,
} from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger, RUN_LEDGER_IAM_ACTIONS } from '../../lib/adapters/dynamodb/run-ledger.ts';
import {
  DynamoDbStressReportStore,
  DynamoDbStressRunStore,
  STRESS_REPORT_STORE_IAM_ACTIONS,
  STRESS_RUN_STORE_IAM_ACTIONS,
} from '../../lib/adapters/dynamodb/stress-run-store.ts';
import {
  accountsTable,
  BREACH_INDEX_BY_PRICE,
  breachIndexTableDefinition,
  MARGIN_WATCHLIST_INDEX,
  marginStatusTable,
  runsTable,
  TABLES,
  THRESHOLD_HISTORY_INDEX,
  tableNames,
  thresholdsTable,
  toCreateTableInput,
} from '../../lib/adapters/dynamodb/tables.ts';
import {
  DynamoDbThresholdStore,
  THRESHOLD_STORE_IAM_ACTIONS,
} from '../../lib/adapters/dynamodb/threshold-store.ts';
import {
  DynamoDbIdempotencyStore,
  IDEMPOTENCY_STORE_IAM_ACTIONS,
} from '../../lib/adapters/idempotency/dynamodb-persistence.ts';
import { TARGETED_INVOKER_IAM_ACTIONS } from '../../lib/adapters/lambda/targeted-invoker.ts';
import { StoredCandleSource } from '../../lib/adapters/market/stored.ts';
import { SWEEP_QUEUE_IAM_ACTIONS } from '../../lib/adapters/sqs/sweep-queue.ts';
import { LiveMarkSource } from '../../lib/app/live-marks.ts';
import { watchMarket } from '../../lib/app/market-watch.ts';
import { recalibrate as recalibrateThresholds } from '../../lib/app/recalibrate.ts';
import { ReferenceCloseMarkSource } from '../../lib/app/reference-close-marks.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { InProcessSweepQueue, sqsEvent } from '../../lib/cli/commands/cycle/lambda-runtime.ts';
import { RUNTIME_ENV } from '../../lib/config/runtime.ts';
import type { MarginAlert } from '../../lib/domain/account/account.ts';
import { generateCandles } from '../../lib/domain/market/generated.ts';
import { DEFAULT_MARK_CONSENSUS_POLICY } from '../../lib/domain/market/mark-consensus.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { AlertPublisher, AlertPublishResult, VenueMarkSource } from '../../lib/ports.ts';
import { FixedClock, PreparedMarket, RecordingOps } from '../app/in-memory-ports.ts';
import { book, RecordingStressQueue } from '../app/stress-ports.ts';
import { account } from '../app/sweep-fixtures.ts';
import { AS_OF, thresholdFor } from '../domain/valuation/fixtures.ts';
import { buildStack, grantsOf, logicalId } from '../infra/support.ts';
import {
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  SWEEP_QUEUE_URL,
  sqsRecord,
} from '../lambdas/support.ts';
import { PRICE, RecordingAlertPublisher, seededAccounts, sweepTables } from './faults/support.ts';
import { useDynamoDbLocal } from './support/dynamodb.ts';

const db = useDynamoDbLocal();

/** Fails the first alert it is given once, so the next sweep re-sends it from the outbox. */
class FirstAlertFailsOnce implements AlertPublisher {
  private failed = false;
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    const first = alerts[0];
    if (!this.failed && first) {
      this.failed = true;
      return {
        published: alerts.slice(1).map((a) => a.alertId),
        failed: [{ alertId: first.alertId, reason: 'injected' }],
      };
    }
    return { published: alerts.map((a) => a.alertId), failed: [] };
  }
}

/** Fails every alert of one account (recording what it failed), publishes the rest. */
class UndeliveredFor implements AlertPublisher {
  readonly failed: MarginAlert[] = [];
  constructor(private readonly accountId: string) {}
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    const lost = alerts.filter((a) => a.accountId === this.accountId);
    this.failed.push(...lost);
    return {
      published: alerts.filter((a) => a.accountId !== this.accountId).map((a) => a.alertId),
      failed: lost.map((a) => ({ alertId: a.alertId, reason: 'injected' })),
    };
  }
}

/** The IAM action each item of a transaction is authorised as (DynamoDB has no TransactWriteItems action). */
const TRANSACT_ACTIONS: Readonly<Record<string, string>> = {
  Put: 'dynamodb:PutItem',
  Update: 'dynamodb:UpdateItem',
  Delete: 'dynamodb:DeleteItem',
  ConditionCheck: 'dynamodb:ConditionCheckItem',
  Get: 'dynamodb:GetItem',
};

/** A client that records the IAM actions it needs, per table name, for every command it sends. */
function recordingClient(endpoint: string): { client: DynamoDBClient; calls: Map<string, Set<string>> } {
  const client = createDynamoDbClient({ endpoint });
  const calls = new Map<string, Set<string>>();
  const record = (table: string, action: string) => {
    const actions = calls.get(table) ?? new Set<string>();
    actions.add(action);
    calls.set(table, actions);
  };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as {
        TableName?: string;
        IndexName?: string;
        RequestItems?: Record<string, unknown>;
        TransactItems?: Record<string, { TableName?: string }>[];
      };
      if (input.TransactItems) {
        for (const item of input.TransactItems) {
          for (const [kind, body] of Object.entries(item)) {
            record(body.TableName ?? '?', TRANSACT_ACTIONS[kind] ?? `dynamodb:${kind}`);
          }
        }
        return next(args);
      }
      const action = `dynamodb:${(context.commandName ?? 'Unknown').replace(/Command$/, '')}`;
      const tables = input.TableName ? [input.TableName] : Object.keys(input.RequestItems ?? {});
      // A Query on an index is authorised on the index's ARN, not the table's.
      const index = input.IndexName ? `/index/${input.IndexName}` : '';
      for (const table of tables) record(`${table}${index}`, action);
      return next(args);
    },
    { step: 'initialize', name: 'qmtRecordCalls' },
  );
  return { client, calls };
}

/** Every (action, table) in `calls` is allowed to `role` on that table's resource. */
function expectAllowed(
  template: Template,
  role: unknown,
  calls: ReadonlyMap<string, ReadonlySet<string>>,
  resources: ReadonlyMap<string, string>,
): void {
  if (!role) throw new Error('the function has no role');
  const granted = grantsOf(template, logicalId(role as never));
  expect(
    [...calls.keys()].every((table) => resources.has(table)),
    [...calls.keys()].join(', '),
  ).toBe(true);
  for (const [table, actions] of calls) {
    const resource = resources.get(table) as string;
    for (const action of actions)
      expect(granted[resource] ?? [], `${action} on ${resource}`).toContain(action);
  }
}

/**
 * Every (action, table) in `calls` is in the IAM actions the adapters using that table export: the lists
 * the stack composes the roles from (infra/constructs/functions.ts).
 */
function expectDeclared(
  calls: ReadonlyMap<string, ReadonlySet<string>>,
  declared: ReadonlyMap<string, readonly string[]>,
): void {
  for (const [table, actions] of calls) {
    for (const action of actions)
      expect(declared.get(table) ?? [], `${action} on ${table}, declared by its adapters`).toContain(action);
  }
}

describe('IAM against real calls', () => {
  it("the sweep worker's role allows every DynamoDB action its sweep sends, on the table it sends it to", async () => {
    const tables = await sweepTables(
      db,
      seededAccounts(12).map((s) => s.account),
    );
    const { client, calls } = recordingClient(db.local.endpoint);
    const ports = {
      accounts: new DynamoDbAccountSource(client, tables.accounts),
      thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
      statuses: new DynamoDbMarginStatusStore(client, tables.statuses),
      alerts: new FirstAlertFailsOnce(),
      ops: new RecordingOps(),
      clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
    };
    const segment = { segment: 0, totalSegments: 1 };
    const first = await sweepSegment(ports, { runId: 'sweep-1', segment, pageSize: 5 });
    const second = await sweepSegment(ports, { runId: 'sweep-2', segment, pageSize: 5 });
    client.destroy();
    // The paths the test means to exercise all ran.
    expect(first.counts.transitions).toBe(9);
    expect(first.counts.alertsFailed).toBe(1);
    expect(second.counts.alertsResent).toBe(1);

    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    const tableIds = new Map([
      [tables.accounts, logicalId(qmt.accountsTable as never)],
      [tables.statuses, logicalId(qmt.marginStatusTable)],
      [
        `${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`,
        `\${${logicalId(qmt.marginStatusTable)}}/index/${MARGIN_WATCHLIST_INDEX}`,
      ],
      [tables.thresholds, logicalId(qmt.thresholdsTable)],
    ]);
    expect([...calls.keys()].sort()).toEqual([...tableIds.keys()].sort());
    expectDeclared(
      calls,
      new Map<string, readonly string[]>([
        [tables.accounts, ACCOUNT_SOURCE_IAM_ACTIONS.scan],
        [tables.statuses, MARGIN_STATUS_STORE_IAM_ACTIONS.table],
        [
          `${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`,
          MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex,
        ],
        [tables.thresholds, THRESHOLD_STORE_IAM_ACTIONS.read],
      ]),
    );
    expectAllowed(template, (qmt.sweepWorkerFunction as NodejsFunction).role, calls, tableIds);
  }, 60_000);

  it("the market watch's and the worker's roles allow what they send to the breach index and the tables", async () => {
    const tables = await sweepTables(
      db,
      seededAccounts(12).map((s) => s.account),
    );
    const breachIndex = await db.freshTable(breachIndexTableDefinition());
    const { client, calls } = recordingClient(db.local.endpoint);
    const clock = new FixedClock(Date.UTC(2026, 10, 24, 0, 5));
    const thresholds = new DynamoDbThresholdStore(client, tables.thresholds);
    const ports = {
      accounts: new DynamoDbAccountSource(client, tables.accounts),
      breachIndex: new DynamoDbBreachIndex(client, breachIndex),
      thresholds,
      statuses: new DynamoDbMarginStatusStore(client, tables.statuses),
      alerts: new FirstAlertFailsOnce(),
      ops: new RecordingOps(),
      clock,
      marks: new ReferenceCloseMarkSource(thresholds, clock),
    };
    await sweepSegment(ports, { runId: 'sweep-1', segment: { segment: 0, totalSegments: 1 } });
    client.destroy();
    // The watch on a client of its own: the worker's role and the watch's are checked apart.
    const watchClient = recordingClient(db.local.endpoint);
    const watchThresholds = new DynamoDbThresholdStore(watchClient.client, tables.thresholds);
    const watched = await watchMarket(
      {
        ...ports,
        accounts: new DynamoDbAccountSource(watchClient.client, tables.accounts),
        breachIndex: new DynamoDbBreachIndex(watchClient.client, breachIndex),
        thresholds: watchThresholds,
        statuses: new DynamoDbMarginStatusStore(watchClient.client, tables.statuses),
        marks: new ReferenceCloseMarkSource(watchThresholds, clock),
      },
      { runId: 'watch-1' },
    );
    watchClient.client.destroy();
    // The failed alert is re-sent by the watch: it read accounts by id and wrote the index.
    expect(watched.sweep?.counts.revisited).toBeGreaterThan(0);

    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    const index = `${breachIndex}/index/${BREACH_INDEX_BY_PRICE}`;
    expect(watchClient.calls.get(index)).toEqual(new Set(BREACH_INDEX_IAM_ACTIONS.crossed));
    // The watch re-indexes what it revisits; the worker's full sweep also reads the stamps first.
    expect(watchClient.calls.get(breachIndex)).toEqual(new Set(BREACH_INDEX_IAM_ACTIONS.record));
    expect(calls.get(breachIndex)).toEqual(
      new Set([...BREACH_INDEX_IAM_ACTIONS.record, ...BREACH_INDEX_IAM_ACTIONS.stamps]),
    );
    // The watch reads statuses through the watchlist index too.
    expect(watchClient.calls.get(`${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`)).toEqual(
      new Set(MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex),
    );
    const watchCalls = new Map(watchClient.calls);
    for (const action of ['dynamodb:Scan']) watchCalls.get(tables.accounts)?.delete(action);
    expectAllowed(
      template,
      (qmt.marketWatchFunction as NodejsFunction).role,
      watchCalls,
      new Map([
        [tables.accounts, logicalId(qmt.accountsTable as never)],
        [tables.statuses, logicalId(qmt.marginStatusTable)],
        [
          `${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`,
          `\${${logicalId(qmt.marginStatusTable)}}/index/${MARGIN_WATCHLIST_INDEX}`,
        ],
        [tables.thresholds, logicalId(qmt.thresholdsTable)],
        [breachIndex, logicalId(qmt.breachIndexTable)],
        [index, `\${${logicalId(qmt.breachIndexTable)}}/index/${BREACH_INDEX_BY_PRICE}`],
      ]),
    );
    const workerCalls = new Map([[breachIndex, calls.get(breachIndex) ?? new Set<string>()]]);
    expectAllowed(
      template,
      (qmt.sweepWorkerFunction as NodejsFunction).role,
      workerCalls,
      new Map([[breachIndex, logicalId(qmt.breachIndexTable)]]),
    );
  }, 60_000);

  it('a crash minute fans out through the handlers: each change announced once; the watch may queue, the worker read by id', async () => {
    // Twelve accounts one 10% fall moves out of OK; the watch sweeps 5 itself, so it queues 3 segments of 4.
    const crashAccounts = Array.from({ length: 12 }, (_, i) =>
      account(`crash-${String(i).padStart(2, '0')}`, 2_300),
    );
    const tables = await sweepTables(db, crashAccounts);
    const breachIndex = await db.freshTable(breachIndexTableDefinition());
    const clock = new FixedClock(Date.UTC(2026, 10, 24, 0, 5));
    const setup = db.local.client;
    const alerts = new RecordingAlertPublisher();
    const ops = new RecordingOps();
    await sweepSegment(
      {
        accounts: new DynamoDbAccountSource(setup, tables.accounts),
        breachIndex: new DynamoDbBreachIndex(setup, breachIndex),
        thresholds: new DynamoDbThresholdStore(setup, tables.thresholds),
        statuses: new DynamoDbMarginStatusStore(setup, tables.statuses),
        alerts,
        ops,
        clock,
      },
      { runId: 'full-1', segment: { segment: 0, totalSegments: 1 } },
    );
    expect(alerts.published).toHaveLength(0);

    const env = lambdaEnv({
      QMT_CONFIG: JSON.stringify({
        instruments: { BTC: {} },
        sweep: { targeted: { inlineAccounts: 5, accountsPerSegment: 4 } },
      }),
    });
    const crash = PRICE * 0.9;
    const venue = (name: string): VenueMarkSource => ({
      venue: name,
      mark: async (instrument) => ({ venue: name, instrument, price: crash, at: clock.now() - 1_000 }),
    });
    const queue = new InProcessSweepQueue();
    const watchClient = recordingClient(db.local.endpoint);
    const watchAccounts = new DynamoDbAccountSource(watchClient.client, tables.accounts);
    const watch = createMarketWatchHandler({
      env,
      observability: recordedObservability(),
      // No shock run here: the 10% move is the targeted sweep's.
      onMarks: async () => undefined,
      adapters: {
        clock,
        marks: new LiveMarkSource({
          venues: ['deribit', 'binance', 'kraken'].map(venue),
          policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
          clock,
        }),
        thresholds: new DynamoDbThresholdStore(watchClient.client, tables.thresholds),
        accounts: watchAccounts,
        accountReader: watchAccounts,
        breachIndex: new DynamoDbBreachIndex(watchClient.client, breachIndex),
        statuses: new DynamoDbMarginStatusStore(watchClient.client, tables.statuses),
        alerts,
        ops,
        targetedQueue: queue,
      },
    });
    // Scheduler delivers the minute twice, before any worker has run: every segment is queued twice.
    const first = await watch({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());
    await watch({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());
    watchClient.client.destroy();
    expect(first.sweep?.counts).toMatchObject({ crossed: 12, revisited: 0, fannedOut: 3 });
    expect(queue.size).toBe(6);

    const workerClient = recordingClient(db.local.endpoint);
    const workerAccounts = new DynamoDbAccountSource(workerClient.client, tables.accounts);
    const worker = createSweepWorkerHandler({
      env,
      observability: recordedObservability(),
      adapters: {
        clock,
        thresholds: new DynamoDbThresholdStore(workerClient.client, tables.thresholds),
        accounts: workerAccounts,
        accountReader: workerAccounts,
        breachIndex: new DynamoDbBreachIndex(workerClient.client, breachIndex),
        statuses: new DynamoDbMarginStatusStore(workerClient.client, tables.statuses),
        alerts,
        ops,
        sweepQueue: queue,
      },
    });
    for (let batch = queue.take(4); batch.length > 0; batch = queue.take(4)) {
      const response = await worker(sqsEvent(batch), lambdaContext());
      expect(response.batchItemFailures).toEqual([]);
    }
    workerClient.client.destroy();
    expect(alerts.published.map((a) => a.alertId).sort()).toEqual(
      crashAccounts.map((a) => `${a.accountId}:1`),
    );
    const segments = ops.events.filter(
      (e) => e.type === 'sweep.completed' && e.runId.startsWith('watch-') && e.segment !== undefined,
    );
    expect(segments).toHaveLength(6);
    expect(ops.events.filter((e) => e.type === 'sweep.failed')).toEqual([]);

    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    // The watch's new sends go to the sweep queue, which its role may send to (SendMessageBatch is SendMessage).
    const watchGrants = grantsOf(
      template,
      logicalId((qmt.marketWatchFunction as NodejsFunction).role as never),
    );
    for (const action of SWEEP_QUEUE_IAM_ACTIONS)
      expect(watchGrants[logicalId(qmt.sweepQueue as never)]).toContain(action);
    // The worker reads a segment's accounts by id (BatchGetItem): its role must allow it.
    expect(workerClient.calls.get(tables.accounts)).toEqual(new Set(ACCOUNT_SOURCE_IAM_ACTIONS.get));
    expectDeclared(
      workerClient.calls,
      new Map<string, readonly string[]>([
        [tables.accounts, ACCOUNT_SOURCE_IAM_ACTIONS.get],
        [tables.statuses, MARGIN_STATUS_STORE_IAM_ACTIONS.table],
        [
          `${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`,
          MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex,
        ],
        [tables.thresholds, THRESHOLD_STORE_IAM_ACTIONS.read],
        [breachIndex, [...BREACH_INDEX_IAM_ACTIONS.record, ...BREACH_INDEX_IAM_ACTIONS.stamps]],
        [`${breachIndex}/index/${BREACH_INDEX_BY_PRICE}`, BREACH_INDEX_IAM_ACTIONS.crossed],
      ]),
    );
    expectAllowed(
      template,
      (qmt.sweepWorkerFunction as NodejsFunction).role,
      workerClient.calls,
      new Map([
        [tables.accounts, logicalId(qmt.accountsTable as never)],
        [tables.statuses, logicalId(qmt.marginStatusTable)],
        [
          `${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`,
          `\${${logicalId(qmt.marginStatusTable)}}/index/${MARGIN_WATCHLIST_INDEX}`,
        ],
        [tables.thresholds, logicalId(qmt.thresholdsTable)],
        [breachIndex, logicalId(qmt.breachIndexTable)],
        [
          `${breachIndex}/index/${BREACH_INDEX_BY_PRICE}`,
          `\${${logicalId(qmt.breachIndexTable)}}/index/${BREACH_INDEX_BY_PRICE}`,
        ],
      ]),
    );
  }, 120_000);

  it('a crash minute invoked directly: each change announced once, a failed invoke queued instead; the watch may invoke the worker and nothing else may', async () => {
    // Twelve accounts one 10% fall moves out of OK; the watch sweeps 5 itself, so it sends 3 segments of 4.
    const crashAccounts = Array.from({ length: 12 }, (_, i) =>
      account(`direct-${String(i).padStart(2, '0')}`, 2_300),
    );
    const tables = await sweepTables(db, crashAccounts);
    const breachIndex = await db.freshTable(breachIndexTableDefinition());
    const clock = new FixedClock(Date.UTC(2026, 10, 24, 0, 5));
    const setup = db.local.client;
    const alerts = new RecordingAlertPublisher();
    const ops = new RecordingOps();
    const stores = (client: DynamoDBClient) => {
      const accounts = new DynamoDbAccountSource(client, tables.accounts);
      return {
        thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
        accounts,
        accountReader: accounts,
        breachIndex: new DynamoDbBreachIndex(client, breachIndex),
        statuses: new DynamoDbMarginStatusStore(client, tables.statuses),
      };
    };
    await sweepSegment(
      { ...stores(setup), alerts, ops, clock },
      { runId: 'full-1', segment: { segment: 0, totalSegments: 1 } },
    );

    // Lambda (mocked: the one AWS service here without a local stand-in) accepts every invoke but segment 1's,
    // which stays throttled past the invoker's retries.
    const lambda = mockClient(LambdaClient);
    const invoked: { functionName: string; event: unknown }[] = [];
    lambda.on(InvokeCommand).callsFake(async (input: { FunctionName?: string; Payload?: Uint8Array }) => {
      const event = JSON.parse(Buffer.from(input.Payload ?? new Uint8Array()).toString('utf8')) as {
        segment: number;
      };
      if (event.segment === 1)
        throw new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
      invoked.push({ functionName: input.FunctionName ?? '', event });
      return { StatusCode: 202 };
    });
    const WORKER = 'qmt-test-sweep-worker';
    const env = lambdaEnv({
      QMT_CONFIG: JSON.stringify({
        instruments: { BTC: {} },
        sweep: { targeted: { inlineAccounts: 5, accountsPerSegment: 4 } },
      }),
      [RUNTIME_ENV.sweepWorkerFunction]: WORKER,
    });
    const crash = PRICE * 0.9;
    const venue = (name: string): VenueMarkSource => ({
      venue: name,
      mark: async (instrument) => ({ venue: name, instrument, price: crash, at: clock.now() - 1_000 }),
    });
    const queue = new InProcessSweepQueue();
    try {
      const watchObservability = recordedObservability();
      const watch = createMarketWatchHandler({
        env,
        observability: watchObservability,
        onMarks: async () => undefined,
        // The invoker is the real one the adapters build from the environment (its client mocked).
        adapters: {
          clock,
          marks: new LiveMarkSource({
            venues: ['deribit', 'binance', 'kraken'].map(venue),
            policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
            clock,
          }),
          ...stores(setup),
          alerts,
          ops,
          targetedQueue: queue,
        },
      });
      const look = await watch({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());
      expect(look.sweep?.counts).toMatchObject({ crossed: 12, revisited: 0, fannedOut: 3, queuedInstead: 1 });
      expect(invoked.map((i) => i.functionName)).toEqual([WORKER, WORKER]);
      expect(queue.size).toBe(1);
      expect(watchObservability.metric('TargetedSegmentsQueued')).toBe(3);
      expect(watchObservability.metric('TargetedSegmentsNotInvoked')).toBe(1);
      expect(ops.events.find((e) => e.type === 'sweep.targeted-fallback')).toMatchObject({
        segments: 1,
        totalSegments: 3,
        reason: 'TooManyRequestsException: Rate exceeded',
      });

      const worker = createSweepWorkerHandler({
        env,
        observability: recordedObservability(),
        adapters: { clock, ...stores(setup), alerts, ops, sweepQueue: queue },
      });
      for (const { event } of invoked) await worker(event, lambdaContext());
      const response = await worker(sqsEvent(queue.take(10)), lambdaContext());
      expect(response.batchItemFailures).toEqual([]);
      expect(alerts.published.map((a) => a.alertId).sort()).toEqual(
        crashAccounts.map((a) => `${a.accountId}:1`),
      );
      expect(ops.events.filter((e) => e.type === 'sweep.failed')).toEqual([]);
    } finally {
      lambda.restore();
    }

    // IAM: the action each Invoke needs is the invoker's declared list, granted to the watch on the worker it
    // names (its environment points at the worker), and no role of the stack may invoke the worker otherwise.
    expect(lambda.commandCalls(InvokeCommand).length).toBeGreaterThan(0);
    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    const workerId = logicalId(qmt.sweepWorkerFunction as never);
    const watchRole = logicalId((qmt.marketWatchFunction as NodejsFunction).role as never);
    const watchFn = template.toJSON().Resources[logicalId(qmt.marketWatchFunction as never)];
    expect(watchFn.Properties.Environment.Variables[RUNTIME_ENV.sweepWorkerFunction]).toEqual({
      Ref: workerId,
    });
    expect(grantsOf(template, watchRole)[workerId]).toEqual([...TARGETED_INVOKER_IAM_ACTIONS]);
    const invokers = Object.keys(template.findResources('AWS::IAM::Role')).filter((role) =>
      Object.entries(grantsOf(template, role)).some(
        ([resource, actions]) =>
          resource.startsWith(workerId) && actions.some((a) => a.startsWith('lambda:')),
      ),
    );
    expect(invokers).toEqual([watchRole]);
  }, 120_000);

  it("the market watch's role allows what its shock recalibration sends: the set, its history, the lease, the sweep's size", async () => {
    const today = Date.UTC(2026, 10, 24);
    const clock = new FixedClock(today + 5 * 60_000);
    const market = new PreparedMarket({
      BTC: generateCandles({ instrument: 'BTC', days: 800, endTime: today, startPrice: 30_000, seed: 1 }),
    });
    const tables = {
      accounts: await db.freshTable(accountsTable),
      statuses: await db.freshTable(marginStatusTable),
      thresholds: await db.freshTable(thresholdsTable),
      runs: await db.freshTable(runsTable),
      breachIndex: await db.freshTable(breachIndexTableDefinition()),
    };
    // The daily run's set, and a book indexed by a full sweep at its reference close (set-up: not recorded).
    const setup = db.local.client;
    await recalibrateThresholds(
      {
        market,
        thresholds: new DynamoDbThresholdStore(setup, tables.thresholds, { clock }),
        ledger: new DynamoDbRunLedger(setup, tables.runs, { clock }),
        ops: new RecordingOps(),
        clock,
      },
      {
        runId: 'daily',
        holder: 'daily',
        instruments: [{ instrument: 'BTC', policy: DEFAULT_THRESHOLD_POLICY }],
      },
    );
    const reference = (await new DynamoDbThresholdStore(setup, tables.thresholds).currentSet())?.thresholds[0]
      ?.referencePrice as number;
    // One account under water at any margin rate (1 USD against a whole BTC bought at the close): the set-up
    // sweep moves it to LIQUIDATION whatever the policy, and its alert is lost (left pending, in the outbox).
    // Before, the scenario relied on a seeded account breaching at the reference close; the default policy
    // qmt-default-2026.12 no longer breaches it, so no alert failed and the watch read no account by id.
    const underwater = 'acc-under';
    await writeAccounts(setup, tables.accounts, [
      ...seededAccounts(6).map(({ account }) => ({
        ...account,
        positions: account.positions.map((p) => ({ ...p, entryPrice: reference.toFixed(2) })),
      })),
      {
        accountId: underwater,
        collateral: [{ asset: 'USD', amount: '1.00' }],
        positions: [
          {
            kind: 'perpetual',
            instrument: 'BTC',
            quantity: '1',
            entryPrice: reference.toFixed(2),
            settlement: 'linear',
          },
        ],
      },
    ]);
    const lostOnce = new UndeliveredFor(underwater);
    const daily = await sweepSegment(
      {
        accounts: new DynamoDbAccountSource(setup, tables.accounts),
        breachIndex: new DynamoDbBreachIndex(setup, tables.breachIndex),
        thresholds: new DynamoDbThresholdStore(setup, tables.thresholds),
        statuses: new DynamoDbMarginStatusStore(setup, tables.statuses),
        alerts: lostOnce,
        ops: new RecordingOps(),
        clock,
      },
      { runId: 'full-daily', segment: { segment: 0, totalSegments: 1 } },
    );
    expect(daily.counts.alertsFailed).toBe(1);
    expect(lostOnce.failed.map((a) => a.newState)).toEqual(['LIQUIDATION']);

    const { client, calls } = recordingClient(db.local.endpoint);
    clock.time = today + 14 * 3_600_000;
    let price = reference;
    const venue = (name: string): VenueMarkSource => ({
      venue: name,
      mark: async (instrument) => ({ venue: name, instrument, price, at: clock.now() - 1_000 }),
    });
    const queued: unknown[] = [];
    const accounts = new DynamoDbAccountSource(client, tables.accounts);
    const watchAlerts = new RecordingAlertPublisher();
    const watch = createMarketWatchHandler({
      env: lambdaEnv({ QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} } }) }),
      observability: recordedObservability(),
      adapters: {
        market,
        clock,
        marks: new LiveMarkSource({
          venues: ['deribit', 'binance', 'kraken'].map(venue),
          policyFor: () => DEFAULT_MARK_CONSENSUS_POLICY,
          clock,
        }),
        thresholds: new DynamoDbThresholdStore(client, tables.thresholds, { clock }),
        ledger: new DynamoDbRunLedger(client, tables.runs, { clock }),
        accounts,
        accountReader: accounts,
        breachIndex: new DynamoDbBreachIndex(client, tables.breachIndex),
        statuses: new DynamoDbMarginStatusStore(client, tables.statuses),
        alerts: watchAlerts,
        ops: new RecordingOps(),
        sweepQueue: { enqueue: async (messages) => void queued.push(...messages) },
      },
    });
    // A quiet look (the targeted sweep's calls, its outbox re-send among them), then a 30% crash (the shock
    // run's). No full sweep runs in between: the watch itself must deliver the lost alert.
    const quiet = await watch({ scheduledTime: '2026-11-24T13:59:00Z' }, lambdaContext());
    expect(quiet.sweep?.revisited).toEqual([underwater]);
    expect(quiet.sweep?.counts).toMatchObject({ alertsResent: 1, alertsFailed: 0, transitions: 0 });
    expect(watchAlerts.published.map((a) => a.alertId)).toEqual(lostOnce.failed.map((a) => a.alertId));
    const status = (await new DynamoDbMarginStatusStore(setup, tables.statuses).get([underwater])).get(
      underwater,
    );
    expect(status?.state).toBe('LIQUIDATION');
    expect(status?.pendingAlert).toBeUndefined();
    price = reference * 0.7;
    const shocked = await watch({ scheduledTime: '2026-11-24T14:00:00Z' }, lambdaContext());
    client.destroy();
    expect(shocked.recalibrated).toEqual(['BTC']);
    expect(queued.length).toBeGreaterThan(0);
    // Delivered once: the crash look re-sends nothing.
    expect(watchAlerts.published).toHaveLength(1);

    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    const history = `${tables.thresholds}/index/${THRESHOLD_HISTORY_INDEX}`;
    const byPrice = `${tables.breachIndex}/index/${BREACH_INDEX_BY_PRICE}`;
    const watchlist = `${tables.statuses}/index/${MARGIN_WATCHLIST_INDEX}`;
    expect(calls.get(history)).toEqual(new Set(THRESHOLD_STORE_IAM_ACTIONS.history));
    expect(calls.get(watchlist)).toEqual(new Set(MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex));
    // Exactly: the quiet look reads the lost alert's account by id, the shock run sizes its sweep.
    expect(calls.get(tables.accounts)).toEqual(
      new Set([...ACCOUNT_SOURCE_IAM_ACTIONS.get, ...ACCOUNT_SOURCE_IAM_ACTIONS.count]),
    );
    expectDeclared(
      calls,
      new Map<string, readonly string[]>([
        [tables.accounts, [...ACCOUNT_SOURCE_IAM_ACTIONS.get, ...ACCOUNT_SOURCE_IAM_ACTIONS.count]],
        [tables.statuses, MARGIN_STATUS_STORE_IAM_ACTIONS.table],
        [watchlist, MARGIN_STATUS_STORE_IAM_ACTIONS.watchlistIndex],
        [tables.thresholds, THRESHOLD_STORE_IAM_ACTIONS.publish],
        [history, THRESHOLD_STORE_IAM_ACTIONS.history],
        [tables.runs, RUN_LEDGER_IAM_ACTIONS],
        [tables.breachIndex, BREACH_INDEX_IAM_ACTIONS.record],
        [byPrice, BREACH_INDEX_IAM_ACTIONS.crossed],
      ]),
    );
    expectAllowed(
      template,
      (qmt.marketWatchFunction as NodejsFunction).role,
      calls,
      new Map([
        [tables.accounts, logicalId(qmt.accountsTable as never)],
        [tables.statuses, logicalId(qmt.marginStatusTable)],
        [watchlist, `\${${logicalId(qmt.marginStatusTable)}}/index/${MARGIN_WATCHLIST_INDEX}`],
        [tables.thresholds, logicalId(qmt.thresholdsTable)],
        [history, `\${${logicalId(qmt.thresholdsTable)}}/index/${THRESHOLD_HISTORY_INDEX}`],
        [tables.runs, logicalId(qmt.runsTable)],
        [tables.breachIndex, logicalId(qmt.breachIndexTable)],
        [byPrice, `\${${logicalId(qmt.breachIndexTable)}}/index/${BREACH_INDEX_BY_PRICE}`],
      ]),
    );
  }, 120_000);

  it("recalibrate's role, with discovery on in the stack, allows the Scan that names a delisting's holders", async () => {
    // Tables of their own (the next test creates the `qmt-test` ones).
    const names = tableNames('qmt-discovery');
    for (const table of TABLES) {
      await db.local.client.send(new CreateTableCommand(toCreateTableInput(table, names[table.id])));
    }
    // Three accounts hold BTC, which the venue stops listing on the second day.
    await writeAccounts(
      db.local.client,
      names.accounts,
      seededAccounts(3, 'holder').map((s) => s.account),
    );
    const today = Date.UTC(2026, 10, 24);
    const market = new PreparedMarket({
      BTC: generateCandles({ instrument: 'BTC', days: 800, endTime: today, startPrice: 30_000, seed: 1 }),
      ETH: generateCandles({ instrument: 'ETH', days: 800, endTime: today, startPrice: 2_000, seed: 2 }),
    });
    const perpetual = (base: string) => ({
      name: `${base}USDT`,
      base,
      quote: 'USDT',
      kind: 'perpetual' as const,
      trading: true,
    });
    let listed = ['BTC', 'ETH'];
    const document = {
      instruments: { BTC: {}, ETH: {} },
      discovery: { enabled: true, filter: { quotes: ['USDT'], venues: ['binance' as const] } },
      backtest: { enabled: false },
    };
    const { client, calls } = recordingClient(db.local.endpoint);
    const ops = new RecordingOps();
    const handler = createRecalibrateHandler({
      env: lambdaEnv({ QMT_TABLE_PREFIX: 'qmt-discovery', QMT_CONFIG: JSON.stringify(document) }),
      observability: recordedObservability(),
      adapters: {
        market: new StoredCandleSource(market, { store: new DynamoDbCandleStore(client, names.candles) }),
        clock: new FixedClock(today + 5 * 60_000),
        thresholds: new DynamoDbThresholdStore(client, names.thresholds),
        ledger: new DynamoDbRunLedger(client, names.runs),
        accounts: new DynamoDbAccountSource(client, names.accounts),
        ops,
        sweepQueue: { enqueue: async () => {} },
      },
      idempotencyStore: new DynamoDbIdempotencyStore({ client, tableName: names.runs }),
      instrumentLists: {
        read: async () => [{ venue: 'binance', instruments: listed.map(perpetual) }],
      },
    });
    await handler({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());
    listed = ['ETH'];
    await handler({ scheduledTime: '2026-11-25T00:05:00Z' }, lambdaContext());
    client.destroy();
    // The path this test means to exercise ran: the delisting named its holders, read by a Scan.
    expect(ops.events.find((e) => e.type === 'instruments.delisted')).toMatchObject({
      delisted: [{ instrument: 'BTC', holders: ['holder-0000', 'holder-0001', 'holder-0002'] }],
    });
    expect(calls.get(names.accounts)).toContain('dynamodb:Scan');

    const { stack, template } = buildStack({ qmt: document });
    const qmt = stack.marginThresholds;
    expectDeclared(
      calls,
      new Map<string, readonly string[]>([
        [names.accounts, [...ACCOUNT_SOURCE_IAM_ACTIONS.count, ...ACCOUNT_SOURCE_IAM_ACTIONS.scan]],
        [names.thresholds, THRESHOLD_STORE_IAM_ACTIONS.publish],
        [names.runs, [...RUN_LEDGER_IAM_ACTIONS, ...IDEMPOTENCY_STORE_IAM_ACTIONS]],
        [names.candles, CANDLE_STORE_IAM_ACTIONS],
      ]),
    );
    expectAllowed(
      template,
      (qmt.recalibrateFunction as NodejsFunction).role,
      calls,
      new Map([
        [names.accounts, logicalId(qmt.accountsTable as never)],
        [names.thresholds, logicalId(qmt.thresholdsTable)],
        [names.runs, logicalId(qmt.runsTable)],
        [names.candles, logicalId(qmt.candlesTable)],
      ]),
    );
  }, 120_000);

  it("recalibrate's and the coordinator's roles allow what their handlers send, idempotency included", async () => {
    // The tables as `lambdaEnv()` names them (prefix `qmt-test`), so the handlers' configuration finds them.
    const names = tableNames('qmt-test');
    for (const table of TABLES) {
      await db.local.client.send(new CreateTableCommand(toCreateTableInput(table, names[table.id])));
    }
    await writeAccounts(
      db.local.client,
      names.accounts,
      seededAccounts(3, 'handler').map((s) => s.account),
    );
    const today = Date.UTC(2026, 10, 24);
    const market = new PreparedMarket({
      BTC: generateCandles({ instrument: 'BTC', days: 800, endTime: today, startPrice: 30_000, seed: 1 }),
      ETH: generateCandles({ instrument: 'ETH', days: 800, endTime: today, startPrice: 2_000, seed: 2 }),
    });
    const queue = { enqueue: async () => {} };
    const clock = new FixedClock(today + 5 * 60_000);

    const recalibrateCalls = recordingClient(db.local.endpoint);
    const r = recalibrateCalls.client;
    const recalibrate = createRecalibrateHandler({
      env: lambdaEnv(),
      observability: recordedObservability(),
      adapters: {
        // The stack's market keeps each venue's candles in the candles table: the prepared market stands in
        // for one venue behind the same store.
        keptMarket: new StoredCandleSource(market, { store: new DynamoDbCandleStore(r, names.candles) }),
        clock,
        thresholds: new DynamoDbThresholdStore(r, names.thresholds),
        backtestReports: new DynamoDbBacktestReportStore(r, names.thresholds),
        ledger: new DynamoDbRunLedger(r, names.runs),
        accounts: new DynamoDbAccountSource(r, names.accounts),
        ops: new RecordingOps(),
        sweepQueue: queue,
      },
      idempotencyStore: new DynamoDbIdempotencyStore({ client: r, tableName: names.runs }),
    });
    // A new set, then the same scheduled time again (answered from the idempotency record), then a new day.
    const first = await recalibrate({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());
    await recalibrate({ scheduledTime: '2026-11-24T00:05:00Z' }, lambdaContext());
    await recalibrate({ scheduledTime: '2026-11-25T00:05:00Z' }, lambdaContext());
    expect(first).toMatchObject({ outcome: 'published' });

    const coordinatorCalls = recordingClient(db.local.endpoint);
    const c = coordinatorCalls.client;
    const coordinator = createSweepCoordinatorHandler({
      env: lambdaEnv(),
      observability: recordedObservability(),
      adapters: {
        clock,
        accounts: new DynamoDbAccountSource(c, names.accounts),
        // The sweep's one mark snapshot: the CURRENT set's instruments at their reference closes.
        thresholds: new DynamoDbThresholdStore(c, names.thresholds),
        sweepQueue: queue,
      },
      idempotencyStore: new DynamoDbIdempotencyStore({ client: c, tableName: names.runs }),
    });
    await coordinator({ scheduledTime: '2026-11-24T00:10:00Z' }, lambdaContext());
    await coordinator({ scheduledTime: '2026-11-24T00:10:00Z' }, lambdaContext());
    r.destroy();
    c.destroy();

    const { stack, template } = buildStack();
    const qmt = stack.marginThresholds;
    const resources = new Map([
      [names.accounts, logicalId(qmt.accountsTable as never)],
      [names.thresholds, logicalId(qmt.thresholdsTable)],
      [names.runs, logicalId(qmt.runsTable)],
      [names.candles, logicalId(qmt.candlesTable)],
    ]);
    expect([...recalibrateCalls.calls.keys()].sort()).toEqual(
      [names.accounts, names.candles, names.runs, names.thresholds].sort(),
    );
    // The second day's run read the stored candles and wrote only the new bar.
    expect([...(recalibrateCalls.calls.get(names.candles) ?? [])].sort()).toEqual([
      'dynamodb:BatchWriteItem',
      'dynamodb:Query',
    ]);
    // The run ledger's lease is a transaction: recorded as the item actions IAM authorises.
    expect([...(recalibrateCalls.calls.get(names.runs) ?? [])].sort()).toEqual([
      'dynamodb:DeleteItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expectDeclared(
      recalibrateCalls.calls,
      new Map<string, readonly string[]>([
        [names.accounts, ACCOUNT_SOURCE_IAM_ACTIONS.count],
        [
          names.thresholds,
          [...THRESHOLD_STORE_IAM_ACTIONS.publish, ...BACKTEST_REPORT_STORE_IAM_ACTIONS.record],
        ],
        [names.runs, [...RUN_LEDGER_IAM_ACTIONS, ...IDEMPOTENCY_STORE_IAM_ACTIONS]],
        [names.candles, CANDLE_STORE_IAM_ACTIONS],
      ]),
    );
    expectAllowed(
      template,
      (qmt.recalibrateFunction as NodejsFunction).role,
      recalibrateCalls.calls,
      resources,
    );
    expect([...coordinatorCalls.calls.keys()].sort()).toEqual(
      [names.accounts, names.runs, names.thresholds].sort(),
    );
    expectDeclared(
      coordinatorCalls.calls,
      new Map<string, readonly string[]>([
        [names.accounts, ACCOUNT_SOURCE_IAM_ACTIONS.count],
        [names.thresholds, THRESHOLD_STORE_IAM_ACTIONS.read],
        [names.runs, IDEMPOTENCY_STORE_IAM_ACTIONS],
      ]),
    );
    expectAllowed(
      template,
      (qmt.sweepCoordinatorFunction as NodejsFunction).role,
      coordinatorCalls.calls,
      resources,
    );
  }, 120_000);

  it("the stress run's role allows exactly what its handler sends: the scan, the set, the run's items, the report", async () => {
    const tables = {
      accounts: await db.freshTable(accountsTable),
      thresholds: await db.freshTable(thresholdsTable),
      runs: await db.freshTable(runsTable),
    };
    // Set-up, not recorded: the book and a CURRENT set with reference closes, σ and volumes.
    const setup = db.local.client;
    await writeAccounts(setup, tables.accounts, book());
    const liquidity = { averageDailyVolume: 20_000, participationRate: 0.1 };
    await new DynamoDbThresholdStore(setup, tables.thresholds).publishSet(
      {
        setId: 'set-1',
        runId: 'run-1',
        createdAt: '2026-11-24T00:00:00.000Z',
        thresholds: [
          thresholdFor('BTC', { maintenanceMarginRate: 0.05, effectiveVolatility: 0.03, liquidity }),
          thresholdFor('ETH', {
            referencePrice: 10,
            maintenanceMarginRate: 0.08,
            effectiveVolatility: 0.05,
            liquidity,
          }),
        ],
      },
      undefined,
    );

    const { client, calls } = recordingClient(db.local.endpoint);
    const queue = new RecordingStressQueue();
    const reports = new DynamoDbStressReportStore(client, tables.thresholds);
    const handler = createStressHandler({
      env: lambdaEnv({
        QMT_CONFIG: JSON.stringify({
          instruments: { BTC: {}, ETH: {} },
          levels: { warning: 1.2, marginCall: 1, liquidation: 0.8 },
          stress: {
            shocks: { BTC: -0.1 },
            insuranceFund: 50,
            segments: 3,
            cascade: { correlations: [{ a: 'BTC', b: 'ETH', rho: 0.6 }] },
          },
        }),
      }),
      observability: recordedObservability(),
      adapters: {
        accounts: new DynamoDbAccountSource(client, tables.accounts),
        thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
        ops: new RecordingOps(),
        clock: new FixedClock(AS_OF),
      },
      stores: { runs: new DynamoDbStressRunStore(client, tables.runs), reports, queue },
    });
    // The schedule's start (twice: the same scheduled time starts nothing twice), then every step off the
    // queue, each message delivered twice as SQS may.
    const scheduled = { scheduledTime: new Date(AS_OF).toISOString() };
    const started = await handler(scheduled, lambdaContext());
    await handler(scheduled, lambdaContext());
    for (let n = 0; queue.pending.length > 0 && n < 50; n += 1) {
      const batch = queue.pending.splice(0);
      const records = batch.map((m, i) => sqsRecord(`m${n}-${i}`, m));
      await handler({ Records: records }, lambdaContext());
      await handler({ Records: records.slice(0, 1) }, lambdaContext());
    }
    client.destroy();
    expect(started).toMatchObject({ setId: 'set-1', started: true });
    // Read back on the set-up client: not one of the function's calls.
    const report = await new DynamoDbStressReportStore(setup, tables.thresholds).load(
      'set-1',
      (started as { runId: string }).runId,
    );
    expect(report?.rounds.length).toBeGreaterThanOrEqual(2);

    const { stack, template } = buildStack({
      qmt: { instruments: { BTC: {}, ETH: {} }, stress: { shocks: { BTC: -0.1 }, insuranceFund: 50 } },
    });
    const qmt = stack.marginThresholds;
    const resources = new Map([
      [tables.accounts, logicalId(qmt.accountsTable as never)],
      [tables.thresholds, logicalId(qmt.thresholdsTable)],
      [tables.runs, logicalId(qmt.runsTable)],
    ]);
    expect([...calls.keys()].sort()).toEqual([...resources.keys()].sort());
    // Exactly the declared actions: each one used (no grant nobody needs), none beyond them.
    expect(calls.get(tables.accounts)).toEqual(new Set(ACCOUNT_SOURCE_IAM_ACTIONS.scan));
    expect(calls.get(tables.runs)).toEqual(new Set(STRESS_RUN_STORE_IAM_ACTIONS));
    expect(calls.get(tables.thresholds)).toEqual(
      new Set([...THRESHOLD_STORE_IAM_ACTIONS.read, ...STRESS_REPORT_STORE_IAM_ACTIONS.save]),
    );
    const run = qmt.stressRunFunction as NodejsFunction | undefined;
    expect(run).toBeDefined();
    expectAllowed(template, run?.role, calls, resources);
  }, 120_000);
});

/**
 * Every function reads its configuration from AppConfig before its handler runs (`withLiveConfig`), so
 * each role needs the two AppConfig Data calls on its profile. The environment names the profile by its
 * names (ids would close a CloudFormation cycle: function → environment → alarm → function), while the
 * Service Authorization Reference defines AppConfig's `configuration` resource only in the id form
 * (`application/${ApplicationId}/environment/${EnvironmentId}/configuration/${ConfigurationProfileId}`);
 * the StartConfigurationSession API reference accepts "the ID or the name" and neither page says which
 * form IAM evaluates a call made with names against. The role must therefore allow both: the ARN as the
 * call names it, and the same ARN resolved to the stack's ids.
 */
describe('IAM against real AppConfig calls', () => {
  const appConfig = mockClient(AppConfigDataClient);
  afterAll(() => appConfig.restore());

  type Create = (options: ConfiguredHandlerOptions & { observability: Observability }) => unknown;
  const functions = (qmt: QmtStack['marginThresholds']): [string, IFunction | undefined, Create][] => [
    ['recalibrate', qmt.recalibrateFunction, createRecalibrateHandler],
    ['sweep coordinator', qmt.sweepCoordinatorFunction, createSweepCoordinatorHandler],
    ['sweep worker', qmt.sweepWorkerFunction, createSweepWorkerHandler],
    ['market watch', qmt.marketWatchFunction, createMarketWatchHandler],
    ['stress run', qmt.stressRunFunction, createStressHandler],
  ];

  it("each function's role allows exactly the AppConfig calls its live configuration makes, on its profile", async () => {
    // With a `stress` section, so the stress run exists too.
    const { stack, template } = buildStack({
      qmt: { instruments: { BTC: {}, ETH: {} }, stress: { shocks: { BTC: -0.1 }, insuranceFund: 50 } },
    });
    const resources = template.toJSON().Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    const byType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
    // The document AppConfig serves: the stack's own first version.
    const [[, version] = []] = byType('AWS::AppConfig::HostedConfigurationVersion');
    const served = String(version?.Properties.Content);
    // A name in a call, as the id IAM knows it by: the logical id of the resource of that type and name.
    const idOf = (type: string, name: string) => {
      const found = byType(type).filter(([, r]) => r.Properties.Name === name);
      expect(found, `one ${type} named ${name}`).toHaveLength(1);
      return `\${${found[0]?.[0]}}`;
    };
    const arn = (application: string, environment: string, profile: string) =>
      `arn:\${AWS::Partition}:appconfig:\${AWS::Region}:\${AWS::AccountId}:application/${application}/environment/${environment}/configuration/${profile}`;

    for (const [name, fn, create] of functions(stack.marginThresholds)) {
      expect(fn, name).toBeDefined();
      // The AppConfig location exactly as the stack sets it in this function's environment.
      const variables = resources[logicalId(fn as never)]?.Properties.Environment as {
        Variables: Record<string, unknown>;
      };
      const location = Object.fromEntries(
        Object.entries(variables.Variables).filter(([key]) => key.startsWith('QMT_APPCONFIG_')),
      );
      expect(Object.keys(location).sort(), name).toEqual(
        [
          RUNTIME_ENV.appConfigApplication,
          RUNTIME_ENV.appConfigEnvironment,
          RUNTIME_ENV.appConfigProfile,
        ].sort(),
      );
      for (const value of Object.values(location)) expect(typeof value, name).toBe('string');

      appConfig.reset();
      appConfig.on(StartConfigurationSessionCommand).resolves({ InitialConfigurationToken: `${name}-0` });
      appConfig.on(GetLatestConfigurationCommand).resolves({
        // The SDK types the body as its blob adapter; on the wire (and to Powertools) it is the bytes.
        Configuration: new TextEncoder().encode(served) as never,
        NextPollConfigurationToken: `${name}-1`,
      });
      const built: ConfiguredHandlerOptions[] = [];
      const handler = withLiveConfig(
        (options) => {
          // The function's real factory: it parses the served document as the deployed function does.
          create({ ...options, observability: recordedObservability() });
          built.push(options);
          return async () => options.document?.source;
        },
        {
          env: {
            ...lambdaEnv({ QMT_CONFIG: undefined, QMT_STRESS_QUEUE_URL: SWEEP_QUEUE_URL }),
            ...(location as Record<string, string>),
          },
        },
      );
      await handler({}, lambdaContext());
      expect(built, name).toHaveLength(1);
      expect(built[0]?.document?.text, name).toBe(served);

      // The calls made, as IAM actions on the ARN each one targets (a token stands for its session's profile).
      const sessions = new Map<string, string[]>();
      const calls = new Map<string, Set<string>>();
      for (const call of appConfig.calls()) {
        const command = call.args[0] as unknown as {
          constructor: { name: string };
          input: Record<string, string | undefined>;
        };
        const action = `appconfig:${command.constructor.name.replace(/Command$/, '')}`;
        let target: string[] | undefined;
        if (command instanceof StartConfigurationSessionCommand) {
          const {
            ApplicationIdentifier: a,
            EnvironmentIdentifier: e,
            ConfigurationProfileIdentifier: p,
          } = command.input;
          if (!a || !e || !p) throw new Error(`${name}: a session without its profile`);
          target = [
            arn(a, e, p),
            arn(
              idOf('AWS::AppConfig::Application', a),
              idOf('AWS::AppConfig::Environment', e),
              idOf('AWS::AppConfig::ConfigurationProfile', p),
            ),
          ];
          sessions.set(`${name}-0`, target);
        } else {
          target = sessions.get(command.input.ConfigurationToken ?? '');
        }
        expect(target, `${action} of ${name} on a session it started`).toBeDefined();
        for (const resource of target ?? [])
          calls.set(resource, (calls.get(resource) ?? new Set()).add(action));
      }
      expect([...(calls.values().next().value ?? [])].sort(), name).toEqual(
        [...APPCONFIG_SOURCE_IAM_ACTIONS].sort(),
      );

      // Allowed on both forms, and nothing else of AppConfig granted.
      const granted = grantsOf(template, logicalId((fn as NodejsFunction).role as never));
      for (const [resource, actions] of calls)
        for (const action of actions)
          expect(granted[resource] ?? [], `${name}: ${action} on ${resource}`).toContain(action);
      const appConfigGrants = Object.fromEntries(
        Object.entries(granted)
          .map(
            ([resource, actions]) => [resource, actions.filter((a) => a.startsWith('appconfig:'))] as const,
          )
          .filter(([, actions]) => actions.length > 0),
      );
      expect(appConfigGrants, name).toEqual(
        Object.fromEntries([...calls].map(([resource, actions]) => [resource, [...actions].sort()])),
      );
    }
  });
});
