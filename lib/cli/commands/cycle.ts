/**
 * One full local cycle (`npm start`, `qmt start`), through the real Lambda handlers: DynamoDB Local started
 * and stopped here, market data prepared up front, alerts and ops events to the local outbox instead of SNS,
 * and the sweep queue drained in-process instead of by SQS. The steps live in `./cycle/`: the local ports
 * (local-stack), the recalibration, the accounts and demo book, the sweep and the report.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../adapters/local/dynamodb-local.ts';
import { DAY_MS } from '../../domain/market/candle.ts';
import { loadPolicyBook } from '../inputs.ts';
import type { Io } from '../io.ts';
import { localDatabaseId } from '../local-state.ts';
import { loadAccounts, readAccounts } from './cycle/accounts.ts';
import { checkBook } from './cycle/demo-book.ts';
import { type CycleHooks, openLocalStack } from './cycle/local-stack.ts';
import { recalibrate } from './cycle/recalibrate.ts';
import { type CycleReport, reportCycle } from './cycle/report.ts';
import { sweep } from './cycle/sweep.ts';
import { type MarketDataOptions, marketData } from './market-data.ts';
import { demoCrashReplay } from './replay.ts';

export { type FailedSegment, LocalRunError, SweepFailedError } from './cycle/errors.ts';
export type { AccountWriter, CycleHooks } from './cycle/local-stack.ts';
export type { CycleReport } from './cycle/report.ts';

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
   * Run the daily backtest after the recalibration, as the function does in AWS, and store it with the set
   * (`qmt backtest-report --set ID` prints it). Off by default: it walks every day of the history.
   */
  readonly backtest?: boolean;
  /**
   * Where the database and the outbox are kept between runs.
   * @default - `.qmt`; with `accounts`, an in-memory database that is new every run (outbox in
   *   `.qmt/accounts-run/outbox`, apart from the demo's)
   */
  readonly dataDir?: string;
  /** Value as of this UTC day (ms). Default: today, or with --prices the day after the files' last candle. */
  readonly asOf?: number;
}

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
  // TTL off on a historical clock: DynamoDB Local would delete its leases and run records at once.
  const local = await startDynamoDbLocal({ ...(dbPath ? { dbPath } : {}), timeToLive: clock === now });
  try {
    return await cycle(local);
  } finally {
    await local.stop();
  }

  async function cycle(db: DynamoDbLocal): Promise<CycleReport> {
    const stack = await openLocalStack({
      db,
      outboxDirectory,
      databaseId,
      clock,
      marketSeries,
      config: { instruments, backtest: { enabled: options.backtest === true } },
      hooks,
    });
    // 3. Recalibrate, as the 00:00 UTC schedule would.
    const set = await recalibrate(stack, today, notes, io, quiet);
    // 4. Accounts: the user's, or the demo book (seeded once; later runs re-value the same accounts).
    stack.queue.clear();
    const { refused, demoBook } = await loadAccounts({
      db,
      writer: stack.writer,
      dbPath,
      userAccounts,
      accountsFile: options.accounts,
      set,
      clock,
      reseeded,
      io,
      quiet,
    });
    // 5. Plan and sweep. A failed segment is recorded and the others still run.
    const swept = await sweep(stack);
    // 6. Report what the run did.
    const report = reportCycle({ stack, set, notes, refused, demoBook, swept }, io, quiet);
    // 7. The demo ends with a crash replay (2020-03-12, `replay.ts`) on the same DynamoDB Local, in tables of
    // its own. Further steps of `npm start` after the sweep go here.
    if (quiet && !userAccounts) await demoCrashReplay(io, { dynamoDb: db.client });
    return report;
  }
}
