/**
 * One full local cycle, through the real Lambda handlers: DynamoDB Local started and stopped here, market
 * data prepared up front, alerts and ops events to the local outbox instead of SNS, and the sweep queue
 * drained in-process instead of by SQS.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context, SQSEvent } from 'aws-lambda';
import { createRecalibrateHandler } from '../../../lambdas/recalibrate/recalibrate-handler.ts';
import type { Adapters } from '../../../lambdas/shared/adapters.ts';
import type { Observability } from '../../../lambdas/shared/observability.ts';
import { createSweepCoordinatorHandler } from '../../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { createSweepWorkerHandler } from '../../../lambdas/sweep-worker/worker-handler.ts';
import { DynamoDbAccountSource } from '../../adapters/dynamodb/account-source.ts';
import {
  type AccountWriteResult,
  deleteAccountsNotIn,
  writeAccounts,
} from '../../adapters/dynamodb/account-writer.ts';
import { DynamoDbBreachIndex } from '../../adapters/dynamodb/breach-index.ts';
import { DynamoDbMarginStatusStore } from '../../adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../adapters/dynamodb/run-ledger.ts';
import { TABLE_NAME_ENV } from '../../adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../adapters/dynamodb/threshold-store.ts';
import { DynamoDbIdempotencyStore } from '../../adapters/idempotency/dynamodb-persistence.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../adapters/local/dynamodb-local.ts';
import { openLocalOutbox } from '../../adapters/local/outbox.ts';
import { StaticMarketSource } from '../../adapters/market/static.ts';
import { ReferenceCloseMarkSource } from '../../app/reference-close-marks.ts';
import { sweepSegment } from '../../app/sweep.ts';
import type { Account, MarginAlert } from '../../domain/account/account.ts';
import { QmtError } from '../../domain/errors.ts';
import { type CandleSeries, DAY_MS } from '../../domain/market/candle.ts';
import { forTerminal } from '../../domain/text.ts';
import type { Threshold } from '../../domain/threshold/threshold.ts';
import type {
  AlertPublisher,
  OpsEvent,
  OpsPublisher,
  RejectedAccountRecord,
  SegmentMessage,
  SweepQueue,
} from '../../ports.ts';
import { formatAlertReport } from '../alert-report.ts';
import { demoAccounts } from '../demo-accounts.ts';
import { loadPolicyBook, UsageError } from '../inputs.ts';
import type { Io } from '../io.ts';
import {
  bookDrift,
  type DemoBookRecord,
  holdsDatabase,
  localDatabaseId,
  readBook,
  staleBookReason,
  writeBook,
} from '../local-state.ts';
import { type MarketDataOptions, marketData, noteForTerminal } from './market-data.ts';
import { formatThresholds } from './thresholds.ts';

export const DEFAULT_DATA_DIR = '.qmt';

export interface CycleOptions extends MarketDataOptions {
  readonly prices?: readonly string[];
  /** Accounts JSON file (an array of account records); without it, demo accounts are seeded. */
  readonly accounts?: string;
  readonly policy?: string;
  readonly offline?: boolean;
  readonly json?: boolean;
  /** Start from an empty database and outbox. */
  readonly fresh?: boolean;
  /**
   * Where the database and the outbox are kept between runs.
   * @default - `.qmt`; with `accounts`, an in-memory database that is new every run (outbox in
   *   `.qmt/accounts-run/outbox`, apart from the demo's)
   */
  readonly dataDir?: string;
  /** Value as of this UTC day (ms). Default: today, or with --prices the day after the files' last candle. */
  readonly asOf?: number;
}

/** Stores account records in the local accounts table. */
export type AccountWriter = (accounts: readonly Account[]) => Promise<AccountWriteResult>;

/** Seams for tests: the same cycle with a fault put into a port or into the account writes. */
export interface CycleHooks {
  /** Ports to use instead of the local ones, given the local ones. @default - the local ports */
  readonly adapters?: (local: Adapters) => Partial<Adapters>;
  /** Wraps the writer that stores the accounts (the demo book or the user's file). @default - no wrapper */
  readonly accountWriter?: (write: AccountWriter) => AccountWriter;
}

export interface CycleReport {
  readonly thresholds: readonly Threshold[];
  readonly alerts: readonly MarginAlert[];
  readonly errors: readonly { readonly kind: string; readonly key: string; readonly reason: string }[];
  readonly dataNotes: readonly string[];
  /** The demo book: what it was sized on, and whether this run (re)seeded it and why. */
  readonly demoBook?: {
    readonly sizedOn: Readonly<Record<string, number>>;
    readonly seeded: boolean;
    readonly reseeded?: string;
  };
  /** Segments that failed (exit code 1); each is also an ops `sweep.failed` record in `opsFile`. */
  readonly failedSegments: readonly FailedSegment[];
  readonly opsFile: string;
  readonly counts: {
    accounts: number;
    transitions: number;
    alerts: number;
    rejected: number;
    segments: number;
  };
}

export interface FailedSegment {
  readonly runId: string;
  readonly segment: number;
  readonly reason: string;
}

/** A local run that did not complete (exit code 1): the cause is in the message. */
export class LocalRunError extends QmtError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'LocalRunError';
  }
}

/** One or more sweep segments failed; each is named with its cause, and recorded in the ops outbox. */
export class SweepFailedError extends LocalRunError {
  constructor(
    readonly failed: readonly FailedSegment[],
    opsFile: string,
  ) {
    super(
      `${failed.length} sweep segment(s) failed: ` +
        failed.map((f) => `segment ${f.segment} of ${f.runId}: ${f.reason}`).join('; ') +
        `; recorded in ${opsFile}`,
    );
    this.name = 'SweepFailedError';
  }
}

const DEMO_ACCOUNTS = 300;
const DEMO_SEED = 7;
const LOCAL_ARN = (name: string) => `arn:aws:sns:us-east-1:000000000000:${name}`;

/**
 * Run the cycle.
 *  1. Prepare market data (live venues, files, or generated and labelled).
 *  2. Start DynamoDB Local on the data dir's database (a new one if the demo book was sized on other
 *     prices); open the outbox that belongs to that database.
 *  3. Recalibrate through the real handler (idempotent on today's scheduled time).
 *  4. Load accounts: the user's file, or the demo book sized against the thresholds (resumed if cut short).
 *  5. Plan the sweep through the coordinator handler; drain its segments through the worker handler.
 *  6. Print the thresholds, the alerts (most severe first) and what failed; stop DynamoDB Local.
 */
export async function runCycle(
  options: CycleOptions,
  io: Io,
  now: number = Date.now(),
  hooks: CycleHooks = {},
): Promise<CycleReport> {
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
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

  // The demo keeps its database between runs, so a rerun announces only what changed; so do the user's
  // accounts given a --data-dir. Without one, the user's accounts get a new in-memory database every run.
  const dbPath = userAccounts && options.dataDir === undefined ? undefined : resolve(dataDir, 'dynamodb');
  // An in-memory database's outbox is kept apart, so a run on the user's accounts never displaces the demo's.
  const outboxDirectory = dbPath ? join(dataDir, 'outbox') : join(dataDir, 'accounts-run', 'outbox');
  if (options.fresh) {
    if (dbPath) await rm(dbPath, { recursive: true, force: true });
    await rm(outboxDirectory, { recursive: true, force: true });
  }
  const reseeded = dbPath
    ? await checkBook(dbPath, dataDir, userAccounts !== undefined, seriesList)
    : undefined;
  if (dbPath) await mkdir(dbPath, { recursive: true });
  // The outbox's memory of alertIds belongs to this database, whose sequences start again at 1.
  const databaseId = dbPath ? await localDatabaseId(dbPath) : randomUUID();
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
    const opsLines: string[] = [];
    const outbox = await openLocalOutbox({
      directory: outboxDirectory,
      databaseId,
      // Alerts are printed at the end, sorted; ops lines after them, so neither interrupts the report.
      echoAlerts: false,
      terminal: { write: (line) => void opsLines.push(line.replace(/\n$/, '')) },
    });
    const queue = new InProcessSweepQueue();
    const localAdapters: Adapters = {
      clock: { now: () => clock },
      market: new StaticMarketSource(marketSeries),
      // No live marks locally: the sweep values at the CURRENT set's reference closes, and says so. The
      // set is read from the store the handlers use (a test's fault-injecting one included).
      marks: new ReferenceCloseMarkSource(
        { currentSet: () => overrides.thresholds.currentSet() },
        { now: () => overrides.clock.now() },
      ),
      thresholds: new DynamoDbThresholdStore(db.client, db.tables.thresholds),
      ledger: new DynamoDbRunLedger(db.client, db.tables.runs),
      accounts: new DynamoDbAccountSource(db.client, db.tables.accounts),
      accountReader: new DynamoDbAccountSource(db.client, db.tables.accounts),
      statuses: new DynamoDbMarginStatusStore(db.client, db.tables.marginStatus),
      // Every full sweep keeps the bands, as in the stack, so a market watch can follow it.
      breachIndex: new DynamoDbBreachIndex(db.client, db.tables.breachIndex),
      alerts: recordingAlerts(outbox.alerts, recorded.alerts),
      ops: recordingOps(outbox.ops, recorded.ops),
      sweepQueue: queue,
    };
    const overrides: Adapters = { ...localAdapters, ...hooks.adapters?.(localAdapters) };
    const storeAccounts: AccountWriter = (accounts) => writeAccounts(db.client, db.tables.accounts, accounts);
    const writer = hooks.accountWriter ? hooks.accountWriter(storeAccounts) : storeAccounts;
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
    if (!set) throw new LocalRunError('the recalibration published no threshold set');
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
    let demoBook: CycleReport['demoBook'];
    // Records the table cannot hold as they are (a repeated id, an id or item past DynamoDB's limits) are
    // refused by the writer, by key and reason; the rest are written and swept.
    let refused: readonly RejectedAccountRecord[] = [];
    if (userAccounts) {
      if (dbPath) await writeBook(dbPath, { kind: 'accounts' });
      refused = (await writer(userAccounts)).rejected;
      // A kept database mirrors the file: an account dropped from it is no longer valued or announced.
      if (dbPath) {
        const dropped = await deleteAccountsNotIn(
          db.client,
          db.tables.accounts,
          new Set(userAccounts.map((a) => a?.accountId).filter((id) => typeof id === 'string')),
        );
        if (quiet && dropped > 0) io.out(`${dropped} account(s) no longer in ${options.accounts} removed`);
      }
    } else if (dbPath) {
      const marks = new Map(
        set.thresholds.flatMap((t) =>
          t.referencePrice === undefined ? [] : [[t.instrument, t.referencePrice]],
        ),
      );
      const { book, seeded, rejected } = await seedDemoBook(dbPath, set.thresholds, clock, writer);
      refused = rejected;
      // Never value a book sized for other prices without saying so (the check before start re-seeds).
      const stale = seeded ? undefined : staleBookReason(book.sizedOn, marks);
      if (stale) {
        throw new LocalRunError(`${stale}; run again with --fresh to size a new demo book on these prices`);
      }
      demoBook = {
        sizedOn: Object.fromEntries(book.sizedOn.map((t) => [t.instrument, t.referencePrice])),
        seeded,
        ...(reseeded === undefined ? {} : { reseeded }),
      };
      if (quiet) {
        if (reseeded) io.out(`demo book re-seeded: ${reseeded}`);
        io.out(
          seeded
            ? `demo book: ${book.count} accounts sized on this run's prices`
            : `demo book: ${book.count} accounts sized on ${new Date(book.asOf).toISOString().slice(0, 10)}'s prices; marks since: ${bookDrift(book.sizedOn, marks)}`,
        );
      }
    }

    // 5. Plan and sweep. A failed segment is recorded and the others still run.
    const coordinator = createSweepCoordinatorHandler({
      ...common,
      observability: silent('sweep-coordinator'),
      idempotencyStore: idempotencyStore(),
    });
    await coordinator({}, lambdaContext('sweep-coordinator'));
    const causes = new Map<string, string>();
    const worker = createSweepWorkerHandler({
      ...common,
      observability: silent('sweep-worker'),
      // The handler logs a failure (silenced here) and reports the record failed: keep the cause to print.
      sweep: async (ports, request) => {
        try {
          return await sweepSegment(ports, request);
        } catch (error) {
          causes.set(`${request.runId}:${request.segment.segment}`, describe(error));
          throw error;
        }
      },
    });
    let segments = 0;
    const failedSegments: FailedSegment[] = [];
    for (let batch = queue.take(10); batch.length > 0; batch = queue.take(10)) {
      segments += batch.length;
      const event = sqsEvent(batch);
      const response = await worker(event, lambdaContext('sweep-worker'));
      for (const failure of response.batchItemFailures) {
        const index = event.Records.findIndex((r) => r.messageId === failure.itemIdentifier);
        const message = batch[index];
        if (!message) continue;
        const reason = causes.get(`${message.runId}:${message.segment}`) ?? 'the segment message was refused';
        failedSegments.push({ runId: message.runId, segment: message.segment, reason });
      }
    }
    // SQS would redeliver and then dead-letter these; here there is no redelivery, so ops hears at once.
    for (const failed of failedSegments) await overrides.ops.publish({ type: 'sweep.failed', ...failed });

    const rejected = [
      ...refused,
      ...recorded.ops.flatMap((e) => (e.type === 'accounts.rejected' ? e.rejected : [])),
    ];
    const completed = recorded.ops.flatMap((e) => (e.type === 'sweep.completed' ? [e.counts] : []));
    const total = (key: string) => completed.reduce((sum, c) => sum + (c[key] ?? 0), 0);
    const alerts = [...new Map(recorded.alerts.map((a) => [a.alertId, a])).values()];
    const report: CycleReport = {
      thresholds: set.thresholds,
      alerts,
      errors: [
        ...set.thresholds
          .filter((t) => t.status === 'held')
          .map((t) => ({ kind: 'threshold-held', key: t.instrument, reason: t.heldReason ?? '' })),
        ...rejected.map((r: RejectedAccountRecord) => ({
          kind: 'account-rejected',
          key: r.accountKey,
          reason: r.reason,
        })),
        ...failedSegments.map((f) => ({
          kind: 'sweep-segment-failed',
          key: `${f.runId} segment ${f.segment}`,
          reason: f.reason,
        })),
      ],
      dataNotes: notes,
      ...(demoBook === undefined ? {} : { demoBook }),
      failedSegments,
      opsFile: outbox.opsFile,
      counts: {
        accounts: total('accounts'),
        transitions: total('transitions'),
        alerts: alerts.length,
        rejected: rejected.length,
        segments,
      },
    };
    if (quiet) {
      io.out('');
      for (const line of formatAlertReport(alerts)) io.out(line);
      for (const r of rejected.slice(0, 20))
        io.out(`  rejected ${forTerminal(r.accountKey)}: ${forTerminal(r.reason)}`);
      if (rejected.length > 20) io.out(`  … and ${rejected.length - 20} more rejected records`);
      io.out('');
      for (const line of opsLines) io.out(line);
      io.out(
        `swept ${report.counts.accounts} accounts in ${segments} segment(s): ${report.counts.transitions} state changes, ` +
          `${report.counts.alerts} alerts, ${report.counts.rejected} records rejected` +
          (failedSegments.length > 0 ? `, ${failedSegments.length} segment(s) FAILED` : ''),
      );
      if (report.counts.alerts === 0 && failedSegments.length === 0)
        io.out('no account changed state since the last run, so nothing was announced');
      if (outbox.previousDirectory)
        io.out(`the outbox held another database's files; moved them to ${outbox.previousDirectory}`);
      // Name only the files this run wrote to.
      const written = [
        ...(report.counts.alerts > 0 ? [`alerts written to ${outbox.alertsFile}`] : []),
        ...(recorded.ops.length > 0 || failedSegments.length > 0 ? [`ops events to ${outbox.opsFile}`] : []),
      ];
      if (written.length > 0) io.out(written.join('; '));
    }
    return report;
  }
}

/**
 * Before the database starts: does the data dir's database hold the right book? The demo book is re-seeded
 * (in a new database, with its outbox) when the prices in use are not those it was sized on, or when an
 * older qmt left a database without a book record; a database of the other kind is refused.
 * @returns why the demo book is re-seeded, if it is
 */
async function checkBook(
  dbPath: string,
  dataDir: string,
  userAccounts: boolean,
  seriesList: readonly CandleSeries[],
): Promise<string | undefined> {
  const book = await readBook(dbPath);
  const hasData = await holdsDatabase(dbPath);
  if (userAccounts) {
    if (book?.kind === 'demo' || (book === undefined && hasData)) {
      throw new UsageError(
        `--data-dir ${dataDir} holds the demo book: give your accounts another --data-dir, or add --fresh to replace it`,
      );
    }
    return undefined;
  }
  if (book?.kind === 'accounts') {
    throw new UsageError(
      `--data-dir ${dataDir} holds accounts loaded with --accounts: run the demo with another --data-dir, or add --fresh to replace them`,
    );
  }
  const reason =
    book === undefined
      ? hasData
        ? 'the database has no record of the prices its demo book was sized on'
        : undefined
      : staleBookReason(book.sizedOn, lastCloses(seriesList));
  if (reason) await rm(dbPath, { recursive: true, force: true });
  return reason;
}

/** The last usable close of each series: the mark the recalibration will publish for a computed instrument. */
function lastCloses(seriesList: readonly CandleSeries[]): Map<string, number> {
  const marks = new Map<string, number>();
  for (const series of seriesList) {
    const last = series.candles.findLast((c) => Number.isFinite(c.close) && c.close > 0);
    if (last) marks.set(series.instrument, last.close);
  }
  return marks;
}

/**
 * The demo book of the database in `dbPath`, seeded if missing and finished if a run was cut short. The book
 * record (what it is sized on) is written first and marked complete last, so a failure part-way leaves a
 * record the next run regenerates the same accounts from; writes are puts by accountId, so repeats are harmless.
 */
async function seedDemoBook(
  dbPath: string,
  thresholds: readonly Threshold[],
  asOf: number,
  write: AccountWriter,
): Promise<{ book: DemoBookRecord; seeded: boolean; rejected: readonly RejectedAccountRecord[] }> {
  const existing = await readBook(dbPath);
  if (existing?.kind === 'demo' && existing.complete) return { book: existing, seeded: false, rejected: [] };
  const book: DemoBookRecord =
    existing?.kind === 'demo'
      ? existing
      : {
          kind: 'demo',
          seed: DEMO_SEED,
          count: DEMO_ACCOUNTS,
          asOf,
          sizedOn: thresholds.flatMap(({ instrument, referencePrice, maintenanceMarginRate }) =>
            referencePrice !== undefined && referencePrice > 0
              ? [{ instrument, referencePrice, maintenanceMarginRate }]
              : [],
          ),
          complete: false,
        };
  await writeBook(dbPath, book);
  const accounts = demoAccounts(book.sizedOn, { count: book.count, seed: book.seed, asOf: book.asOf });
  let result: AccountWriteResult;
  try {
    result = await write(accounts);
  } catch (error) {
    throw new LocalRunError(
      `seeding the demo book (${accounts.length} accounts) failed: ${describe(error)}; the next run finishes it`,
      { cause: error },
    );
  }
  const complete: DemoBookRecord = { ...book, complete: true };
  await writeBook(dbPath, complete);
  return { book: complete, seeded: true, rejected: result.rejected };
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
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
  // The writer refuses a record without a usable key by its place in the file; the sweep validates the rest
  // and reports it. One bad record never stops the others.
  return records as Account[];
}
