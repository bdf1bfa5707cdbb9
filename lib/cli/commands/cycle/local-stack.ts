/**
 * The ports and environment the real handlers get locally: stores on DynamoDB Local, alerts and ops events
 * to the local outbox (recorded for the report), the in-process sweep queue, and the test seams.
 */
import type { Adapters } from '../../../../lambdas/shared/adapters.ts';
import { DynamoDbAccountSource } from '../../../adapters/dynamodb/account-source.ts';
import { type AccountWriteResult, writeAccounts } from '../../../adapters/dynamodb/account-writer.ts';
import { DynamoDbBacktestReportStore } from '../../../adapters/dynamodb/backtest-report-store.ts';
import { DynamoDbBreachIndex } from '../../../adapters/dynamodb/breach-index.ts';
import { DynamoDbCandleStore } from '../../../adapters/dynamodb/candle-store.ts';
import { DynamoDbMarginStatusStore } from '../../../adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../../adapters/dynamodb/run-ledger.ts';
import { TABLE_NAME_ENV } from '../../../adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../../adapters/dynamodb/threshold-store.ts';
import { DynamoDbIdempotencyStore } from '../../../adapters/idempotency/dynamodb-persistence.ts';
import type { DynamoDbLocal } from '../../../adapters/local/dynamodb-local.ts';
import { type LocalOutbox, openLocalOutbox } from '../../../adapters/local/outbox.ts';
import { StaticMarketSource } from '../../../adapters/market/static.ts';
import { ReferenceCloseMarkSource } from '../../../app/reference-close-marks.ts';
import type { Account, MarginAlert } from '../../../domain/account/account.ts';
import type { CandleSeries } from '../../../domain/market/candle.ts';
import type { AlertPublisher, OpsEvent, OpsPublisher } from '../../../ports.ts';
import { InProcessSweepQueue } from './lambda-runtime.ts';

/** Stores account records in the local accounts table. */
export type AccountWriter = (accounts: readonly Account[]) => Promise<AccountWriteResult>;

/** Seams for tests: the same cycle with a fault put into a port or into the account writes. */
export interface CycleHooks {
  /** Ports to use instead of the local ones, given the local ones. @default - the local ports */
  readonly adapters?: (local: Adapters) => Partial<Adapters>;
  /** Wraps the writer that stores the accounts (the demo book or the user's file). @default - no wrapper */
  readonly accountWriter?: (write: AccountWriter) => AccountWriter;
}

export interface LocalStackOptions {
  readonly db: DynamoDbLocal;
  readonly outboxDirectory: string;
  /** The database the outbox's memory of alertIds belongs to. */
  readonly databaseId: string;
  /** The handlers' clock (ms). */
  readonly clock: number;
  readonly marketSeries: readonly CandleSeries[];
  /** The configuration document the handlers read from `QMT_CONFIG`. */
  readonly config: unknown;
  readonly hooks: CycleHooks;
}

export interface LocalStack {
  /** What every handler is built with: its environment and its ports (the test's overrides applied). */
  readonly common: { readonly env: Record<string, string>; readonly adapters: Adapters };
  readonly queue: InProcessSweepQueue;
  readonly outbox: LocalOutbox;
  /** What the handlers published in this run, for the report. */
  readonly recorded: { readonly alerts: MarginAlert[]; readonly ops: OpsEvent[] };
  /** The outbox's ops lines, held back to print after the alerts. */
  readonly opsLines: readonly string[];
  /** Stores accounts (through the test's wrapper, if any). */
  readonly writer: AccountWriter;
  /** A new idempotency store on the runs table (one per handler, as each Lambda has its own). */
  idempotencyStore(): DynamoDbIdempotencyStore;
}

const LOCAL_ARN = (name: string) => `arn:aws:sns:us-east-1:000000000000:${name}`;

/** Open the outbox and wire the local ports and environment onto the started database. */
export async function openLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { db, clock, hooks } = options;
  const recorded = { alerts: [] as MarginAlert[], ops: [] as OpsEvent[] };
  const opsLines: string[] = [];
  const outbox = await openLocalOutbox({
    directory: options.outboxDirectory,
    databaseId: options.databaseId,
    // Alerts are printed at the end, sorted; ops lines after them, so neither interrupts the report.
    echoAlerts: false,
    terminal: { write: (line) => void opsLines.push(line.replace(/\n$/, '')) },
  });
  const queue = new InProcessSweepQueue();
  const localAdapters: Adapters = {
    clock: { now: () => clock },
    market: new StaticMarketSource(options.marketSeries),
    // The local market is a file, read whole each run: nothing to keep.
    keptMarket: new StaticMarketSource(options.marketSeries),
    // An hourly MPOR reads the same files: an intraday file computes, a daily one is held.
    keptHourlyMarket: new StaticMarketSource(options.marketSeries),
    candles: new DynamoDbCandleStore(db.client, db.tables.candles),
    candleNotes: { revisions: [], warnings: [] },
    // No live marks locally: the sweep values at the CURRENT set's reference closes, and says so. The
    // set is read from the store the handlers use (a test's fault-injecting one included).
    marks: new ReferenceCloseMarkSource(
      { currentSet: () => overrides.thresholds.currentSet() },
      { now: () => overrides.clock.now() },
    ),
    thresholds: new DynamoDbThresholdStore(db.client, db.tables.thresholds),
    backtestReports: new DynamoDbBacktestReportStore(db.client, db.tables.thresholds),
    ledger: new DynamoDbRunLedger(db.client, db.tables.runs),
    accounts: new DynamoDbAccountSource(db.client, db.tables.accounts),
    accountReader: new DynamoDbAccountSource(db.client, db.tables.accounts),
    statuses: new DynamoDbMarginStatusStore(db.client, db.tables.marginStatus),
    // Every full sweep keeps the bands, as in the stack, so a market watch can follow it.
    breachIndex: new DynamoDbBreachIndex(db.client, db.tables.breachIndex),
    alerts: recordingAlerts(outbox.alerts, recorded.alerts),
    ops: recordingOps(outbox.ops, recorded.ops),
    sweepQueue: queue,
    targetedQueue: queue,
    // No function to invoke locally: a crash minute's segments go to the in-process queue.
    targetedInvoker: undefined,
  };
  const overrides: Adapters = { ...localAdapters, ...hooks.adapters?.(localAdapters) };
  const storeAccounts: AccountWriter = (accounts) => writeAccounts(db.client, db.tables.accounts, accounts);
  const env = {
    QMT_CONFIG: JSON.stringify(options.config),
    QMT_ALERTS_TOPIC_ARN: LOCAL_ARN('qmt-local-alerts'),
    QMT_OPS_TOPIC_ARN: LOCAL_ARN('qmt-local-ops'),
    QMT_SWEEP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/qmt-local-sweep',
    [TABLE_NAME_ENV.thresholds]: db.tables.thresholds,
    [TABLE_NAME_ENV.accounts]: db.tables.accounts,
    [TABLE_NAME_ENV.marginStatus]: db.tables.marginStatus,
    [TABLE_NAME_ENV.runs]: db.tables.runs,
  };
  return {
    common: { env, adapters: overrides },
    queue,
    outbox,
    recorded,
    opsLines,
    writer: hooks.accountWriter ? hooks.accountWriter(storeAccounts) : storeAccounts,
    idempotencyStore: () => new DynamoDbIdempotencyStore({ client: db.client, tableName: db.tables.runs }),
  };
}

function recordingAlerts(inner: AlertPublisher, into: MarginAlert[]): AlertPublisher {
  return {
    async publish(alerts) {
      const result = await inner.publish(alerts);
      const published = new Set(result.published);
      into.push(...alerts.filter((a) => published.has(a.alertId)));
      return result;
    },
  };
}

function recordingOps(inner: OpsPublisher, into: OpsEvent[]): OpsPublisher {
  return {
    async publish(event) {
      into.push(event);
      await inner.publish(event);
    },
  };
}
