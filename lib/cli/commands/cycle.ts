/**
 * One full local cycle, through the real Lambda handlers: DynamoDB Local started and stopped here, market
 * data prepared up front, alerts and ops events to the local outbox instead of SNS, and the sweep queue
 * drained in-process instead of by SQS.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent } from 'aws-lambda';
import { createRecalibrateHandler } from '../../../lambdas/recalibrate/recalibrate-handler.ts';
import type { Observability } from '../../../lambdas/shared/observability.ts';
import type { SegmentMessage, SweepQueue } from '../../../lambdas/shared/sweep-queue.ts';
import { createSweepCoordinatorHandler } from '../../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { createSweepWorkerHandler } from '../../../lambdas/sweep-worker/worker-handler.ts';
import { DynamoDbAccountSource } from '../../adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../adapters/dynamodb/account-writer.ts';
import { DynamoDbMarginStatusStore } from '../../adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../adapters/dynamodb/run-ledger.ts';
import { TABLE_NAME_ENV } from '../../adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../adapters/dynamodb/threshold-store.ts';
import { DynamoDbIdempotencyStore } from '../../adapters/idempotency/dynamodb-persistence.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../adapters/local/dynamodb-local.ts';
import { openLocalOutbox } from '../../adapters/local/outbox.ts';
import { StaticMarketSource } from '../../adapters/market/static.ts';
import type { Account, MarginAlert } from '../../domain/account/account.ts';
import { DAY_MS } from '../../domain/market/candle.ts';
import { forTerminal } from '../../domain/text.ts';
import type { Threshold } from '../../domain/threshold/threshold.ts';
import type { AlertPublisher, OpsEvent, OpsPublisher, RejectedAccountRecord } from '../../ports.ts';
import { demoAccounts } from '../demo-accounts.ts';
import { loadPolicyBook, UsageError } from '../inputs.ts';
import type { Io } from '../main.ts';
import { type MarketDataOptions, marketData, noteForTerminal } from './market-data.ts';
import { formatThresholds } from './thresholds.ts';

export interface CycleOptions extends MarketDataOptions {
  readonly prices?: readonly string[];
  /** Accounts JSON file (an array of account records); without it, demo accounts are seeded. */
  readonly accounts?: string;
  readonly policy?: string;
  readonly offline?: boolean;
  readonly json?: boolean;
  /** Start from an empty database (the demo keeps its state in `.qmt/` between runs). */
  readonly fresh?: boolean;
  /** @default .qmt */
  readonly dataDir?: string;
  /** Value as of this UTC day (ms). Default: today, or with --prices the day after the files' last candle. */
  readonly asOf?: number;
}

export interface CycleReport {
  readonly thresholds: readonly Threshold[];
  readonly alerts: readonly MarginAlert[];
  readonly errors: readonly { readonly kind: string; readonly key: string; readonly reason: string }[];
  readonly dataNotes: readonly string[];
  readonly counts: {
    accounts: number;
    transitions: number;
    alerts: number;
    rejected: number;
    segments: number;
  };
}

const DEMO_ACCOUNTS = 300;
const LOCAL_ARN = (name: string) => `arn:aws:sns:us-east-1:000000000000:${name}`;

/**
 * Run the cycle.
 *  1. Prepare market data (live venues, files, or generated and labelled).
 *  2. Start DynamoDB Local; create the tables.
 *  3. Recalibrate through the real handler (idempotent on today's scheduled time).
 *  4. Load accounts: the user's file, or demo accounts sized against the new thresholds.
 *  5. Plan the sweep through the coordinator handler; drain its segments through the worker handler.
 *  6. Print the thresholds and the alerts; stop DynamoDB Local.
 */
export async function runCycle(
  options: CycleOptions,
  io: Io,
  now: number = Date.now(),
): Promise<CycleReport> {
  const dataDir = options.dataDir ?? '.qmt';
  const userAccounts = options.accounts ? await readAccounts(options.accounts) : undefined;
  const policies = await loadPolicyBook(options.policy);
  const { seriesList, notes } = await marketData(options, Math.floor(now / DAY_MS) * DAY_MS);
  // Files hold history: value as of the morning after their last candle, as the job would have that day.
  const lastCandle = Math.max(
    ...seriesList.map((s) => s.candles[s.candles.length - 1]?.time ?? Number.NEGATIVE_INFINITY),
  );
  const fromFiles = (options.prices?.length ?? 0) > 0 && Number.isFinite(lastCandle);
  // Never later than the real day: a file dated into the future must not move the run's clock with it.
  const realToday = Math.floor(now / DAY_MS) * DAY_MS;
  const today = options.asOf ?? (fromFiles ? Math.min(lastCandle + DAY_MS, realToday) : realToday);
  // A replay as of a past day sees only the candles before it. Otherwise the series go in whole, so a
  // candle dated after the run's clock holds its instrument (validator) instead of being cut off quietly.
  const marketSeries =
    options.asOf === undefined
      ? seriesList
      : seriesList.map((s) => ({ ...s, candles: s.candles.filter((c) => c.time < today) }));
  // The handlers' clock: five past the scheduled midnight on a historical day, the real time otherwise.
  const clock = options.asOf !== undefined || fromFiles ? today + 5 * 60_000 : now;
  const instruments = Object.fromEntries(
    seriesList.map((s) => [s.instrument, { policy: policies.policyFor(s.instrument) }]),
  );

  // The demo keeps its database between runs, so a rerun announces only what changed; a user's own
  // accounts get a fresh in-memory database every time.
  const dbPath = userAccounts ? undefined : resolve(dataDir, 'dynamodb');
  if (options.fresh && dbPath) await rm(dbPath, { recursive: true, force: true });
  if (dbPath) await mkdir(dbPath, { recursive: true });
  const quiet = !options.json;
  if (quiet) io.out('starting DynamoDB Local…');
  const local = await startDynamoDbLocal({ ...(dbPath ? { dbPath } : {}) });
  try {
    return await cycle(local);
  } finally {
    await local.stop();
  }

  async function cycle(db: DynamoDbLocal): Promise<CycleReport> {
    const recorded = { alerts: [] as MarginAlert[], ops: [] as OpsEvent[] };
    const outbox = await openLocalOutbox({
      directory: join(dataDir, 'outbox'),
      terminal: options.json
        ? { write: () => undefined }
        : { write: (line) => io.out(line.replace(/\n$/, '')) },
    });
    const queue = new InProcessSweepQueue();
    const overrides = {
      clock: { now: () => clock },
      market: new StaticMarketSource(marketSeries),
      thresholds: new DynamoDbThresholdStore(db.client, db.tables.thresholds),
      ledger: new DynamoDbRunLedger(db.client, db.tables.runs),
      accounts: new DynamoDbAccountSource(db.client, db.tables.accounts),
      statuses: new DynamoDbMarginStatusStore(db.client, db.tables.marginStatus),
      alerts: recordingAlerts(outbox.alerts, recorded.alerts),
      ops: recordingOps(outbox.ops, recorded.ops),
      sweepQueue: queue,
    };
    const env = {
      QMT_CONFIG: JSON.stringify({ instruments }),
      QMT_ALERTS_TOPIC_ARN: LOCAL_ARN('qmt-local-alerts'),
      QMT_OPS_TOPIC_ARN: LOCAL_ARN('qmt-local-ops'),
      QMT_SWEEP_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/qmt-local-sweep',
      [TABLE_NAME_ENV.thresholds]: db.tables.thresholds,
      [TABLE_NAME_ENV.accounts]: db.tables.accounts,
      [TABLE_NAME_ENV.marginStatus]: db.tables.marginStatus,
      [TABLE_NAME_ENV.runs]: db.tables.runs,
    };
    const idempotencyStore = () =>
      new DynamoDbIdempotencyStore({ client: db.client, tableName: db.tables.runs });
    const common = { env, adapters: overrides };

    // 3. Recalibrate, as the 00:00 UTC schedule would.
    const recalibrate = createRecalibrateHandler({
      ...common,
      observability: silent('recalibrate'),
      idempotencyStore: idempotencyStore(),
    });
    const summary = await recalibrate(
      { scheduledTime: new Date(today).toISOString() },
      lambdaContext('recalibrate'),
    );
    const set = await overrides.thresholds.currentSet();
    if (!set) throw new UsageError('the recalibration published no threshold set');
    if (quiet) {
      io.out(`qmt local cycle, ${new Date(today).toISOString().slice(0, 10)}`);
      for (const note of notes) io.out(`  ${noteForTerminal(note)}`);
      // A rerun on the same day gets the stored result back from the idempotency record: say which set applies.
      const held = set.thresholds.filter((t) => t.status === 'held').length;
      io.out(
        `  threshold set ${set.setId}: ${set.thresholds.length} instruments, ${held} held, computed ${set.createdAt}` +
          (summary.outcome === 'skipped' ? ` (${summary.reason})` : ''),
      );
      io.out('');
      io.out(formatThresholds(set.thresholds));
      io.out('');
    }

    // 4. Accounts: the user's, or the demo book (seeded once; later runs re-value the same accounts).
    queue.clear();
    const accounts =
      userAccounts ??
      ((await overrides.accounts.approximateCount()) > 0
        ? []
        : demoAccounts(set.thresholds, { count: DEMO_ACCOUNTS, seed: 7, asOf: clock }));
    // Records the table cannot hold as they are (a repeated id, an id or item past DynamoDB's limits) are
    // refused here, by key and reason; the rest are written and swept.
    const refused =
      accounts.length > 0 ? (await writeAccounts(db.client, db.tables.accounts, accounts)).rejected : [];

    // 5. Plan and sweep.
    const coordinator = createSweepCoordinatorHandler({
      ...common,
      observability: silent('sweep-coordinator'),
      idempotencyStore: idempotencyStore(),
    });
    await coordinator({}, lambdaContext('sweep-coordinator'));
    const worker = createSweepWorkerHandler({ ...common, observability: silent('sweep-worker') });
    let segments = 0;
    for (let batch = queue.take(10); batch.length > 0; batch = queue.take(10)) {
      segments += batch.length;
      const response = await worker(sqsEvent(batch), lambdaContext('sweep-worker'));
      if (response.batchItemFailures.length > 0) {
        throw new UsageError(
          `${response.batchItemFailures.length} sweep segment(s) failed; see ${outbox.opsFile}`,
        );
      }
    }

    const rejected = [
      ...refused,
      ...recorded.ops.flatMap((e) => (e.type === 'accounts.rejected' ? e.rejected : [])),
    ];
    const completed = recorded.ops.flatMap((e) => (e.type === 'sweep.completed' ? [e.counts] : []));
    const total = (key: string) => completed.reduce((sum, c) => sum + (c[key] ?? 0), 0);
    const report: CycleReport = {
      thresholds: set.thresholds,
      alerts: recorded.alerts,
      errors: [
        ...set.thresholds
          .filter((t) => t.status === 'held')
          .map((t) => ({ kind: 'threshold-held', key: t.instrument, reason: t.heldReason ?? '' })),
        ...rejected.map((r: RejectedAccountRecord) => ({
          kind: 'account-rejected',
          key: r.accountKey,
          reason: r.reason,
        })),
      ],
      dataNotes: notes,
      counts: {
        accounts: total('accounts'),
        transitions: total('transitions'),
        alerts: recorded.alerts.length,
        rejected: rejected.length,
        segments,
      },
    };
    if (quiet) {
      for (const r of rejected.slice(0, 20))
        io.out(`  rejected ${forTerminal(r.accountKey)}: ${forTerminal(r.reason)}`);
      io.out('');
      io.out(
        `swept ${report.counts.accounts} accounts in ${segments} segment(s): ${report.counts.transitions} state changes, ` +
          `${report.counts.alerts} alerts, ${report.counts.rejected} records rejected`,
      );
      if (report.counts.alerts === 0)
        io.out('no account changed state since the last run, so nothing was announced');
      io.out(`alerts written to ${outbox.alertsFile}; ops events to ${outbox.opsFile}`);
    }
    return report;
  }
}

/** Stands in for SQS: the coordinator and workers enqueue here, and the cycle drains it. */
class InProcessSweepQueue implements SweepQueue {
  private messages: SegmentMessage[] = [];
  async enqueue(messages: readonly SegmentMessage[]): Promise<void> {
    this.messages.push(...messages);
  }
  take(n: number): SegmentMessage[] {
    return this.messages.splice(0, n);
  }
  clear(): void {
    this.messages = [];
  }
}

function sqsEvent(messages: readonly SegmentMessage[]): SQSEvent {
  return {
    Records: messages.map((message, i) => ({
      messageId: `local-${message.runId}-${message.segment}-${i}`,
      receiptHandle: 'local',
      body: JSON.stringify(message),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:qmt-local-sweep',
      awsRegion: 'us-east-1',
    })),
  };
}

function lambdaContext(functionName: string): Context {
  const deadline = Date.now() + 15 * 60_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: `local-${functionName}-${Date.now()}`,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Handlers log and emit metrics for CloudWatch; on a terminal that would bury the report. */
function silent(serviceName: string): Observability {
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  return {
    logger: new Logger({ serviceName, logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'qmt', serviceName }),
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

async function readAccounts(path: string): Promise<Account[]> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--accounts ${path}: ${(error as Error).message}`, { cause: error });
  }
  const records = Array.isArray(document) ? document : (document as { accounts?: unknown })?.accounts;
  if (!Array.isArray(records))
    throw new UsageError(`--accounts ${path}: expected an array of accounts (or { "accounts": [...] })`);
  // Only the key must be usable to store a record; the sweep validates everything else and reports it.
  return records.map((record, i) => {
    const id = (record as { accountId?: unknown })?.accountId;
    if (typeof id !== 'string' || id.length === 0)
      throw new UsageError(`--accounts ${path}: record ${i} has no accountId`);
    return record as Account;
  });
}
