/**
 * `qmt replay`: history played through the market watch on DynamoDB Local with a simulated clock (the
 * engine: `lib/app/replay.ts`), and the short crash replay `qmt start` ends with.
 */
import { readFile } from 'node:fs/promises';
import { DeleteTableCommand, type DynamoDBClient, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { DynamoDbAccountSource } from '../../adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../adapters/dynamodb/account-writer.ts';
import { createTables } from '../../adapters/dynamodb/create-tables.ts';
import { DynamoDbMarginStatusStore } from '../../adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../adapters/dynamodb/run-ledger.ts';
import { type TableNames, tableNames } from '../../adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../adapters/dynamodb/threshold-store.ts';
import { InMemoryBreachIndex } from '../../adapters/local/breach-index.ts';
import { startDynamoDbLocal } from '../../adapters/local/dynamodb-local.ts';
import { type ReplayError, type ReplayResult, replay, SimulatedClock } from '../../app/replay.ts';
import type { Account, MarginAlert } from '../../domain/account/account.ts';
import { type CandleSeries, DAY_MS } from '../../domain/market/candle.ts';
import type { MarkSnapshot } from '../../domain/market/mark.ts';
import { ohlcPath } from '../../domain/market/ohlc-path.ts';
import { forTerminal } from '../../domain/text.ts';
import type { RejectedAccountRecord } from '../../ports.ts';
import { demoAccounts } from '../demo-accounts.ts';
import { loadPolicyBook, loadPrices, type PolicyBook, parseDay, UsageError } from '../inputs.ts';
import type { Io } from '../io.ts';
import type { Progress } from '../progress.ts';
import { formatThresholds, thresholdsFor } from './thresholds.ts';

export interface ReplayOptions {
  readonly prices: readonly string[];
  readonly accounts: string;
  readonly from?: string;
  readonly to?: string;
  readonly policy?: string;
  /** `5m`, `1h`, `6h`, `1d` … @default 6h */
  readonly fullSweepEvery?: string;
  readonly venues?: string;
  readonly json?: boolean;
}

/**
 * On bars an hour long, the deployed 5-minute full sweep would run on every bar and the watch would never
 * be exercised: the replay's default leaves room for targeted sweeps between full ones.
 */
export const DEFAULT_FULL_SWEEP_EVERY = '6h';

/** Parse the options, run the replay, print it (alerts as they fire; `--json` at the end). */
export async function runReplayCommand(
  options: ReplayOptions,
  io: Io,
  progress?: Progress,
): Promise<ReplayResult> {
  if (options.prices.length === 0) throw new UsageError('--prices: give at least one SYMBOL=FILE');
  const seriesList = await Promise.all(options.prices.map(loadPrices));
  const accounts = await readAccountsFile(options.accounts);
  const policies = await loadPolicyBook(options.policy);
  const fullSweepEveryMs = parseDuration(
    '--full-sweep-every',
    options.fullSweepEvery ?? DEFAULT_FULL_SWEEP_EVERY,
  );
  const venues = options.venues === undefined ? 3 : Number(options.venues);
  if (!Number.isInteger(venues) || venues < 1 || venues > 10) {
    throw new UsageError(`--venues ${options.venues}: must be a whole number from 1 to 10`);
  }
  const lastClose = Math.max(...seriesList.map((s) => (s.candles.at(-1)?.time ?? 0) + s.intervalMs));
  const lastDay = Math.floor((lastClose - 1) / DAY_MS) * DAY_MS;
  const from = parseDay('--from', options.from) ?? lastDay;
  const toDay = parseDay('--to', options.to);
  // --to names the last day replayed: through its end (the next midnight's recalibration included).
  const to = toDay === undefined ? lastClose : toDay + DAY_MS;
  if (to <= from) throw new UsageError(`--to must be on or after --from`);
  const symbols = [...new Set(seriesList.map((s) => s.instrument))];
  if (symbols.length !== seriesList.length) throw new UsageError('--prices: one file per symbol');
  return replayOnLocalDynamoDb(
    { seriesList, accounts, policies, from, to, fullSweepEveryMs, venues },
    io,
    options.json ? undefined : { printAlerts: true },
    progress,
  );
}

interface LocalReplayInput {
  readonly seriesList: readonly CandleSeries[];
  readonly warmUp?: readonly CandleSeries[];
  readonly accounts: readonly Account[];
  readonly policies: PolicyBook;
  readonly from: number;
  readonly to: number;
  readonly fullSweepEveryMs: number;
  readonly venues: number;
}

/** DynamoDB Local in memory (the same adapters the deployed functions use), the breach index in memory. */
async function replayOnLocalDynamoDb(
  input: LocalReplayInput,
  io: Io,
  terminal: { readonly printAlerts: boolean } | undefined,
  progress?: Progress,
  running?: DynamoDBClient,
): Promise<ReplayResult> {
  return onLocalDynamoDb(running, (client, tables) =>
    replayOn({ client, tables }, input, io, terminal, progress),
  );
}

/**
 * A new in-memory DynamoDB Local, or (`running`, the local cycle's) tables of the replay's own on it, dropped
 * before (a run cut short) and after, so the demo's tables are never touched and no JVM starts twice. TTL
 * stays off: the simulated clock stamps leases and run records years in the past, and DynamoDB Local's TTL
 * job would delete them mid-run (a midnight recalibration then finds its run record gone).
 */
export async function onLocalDynamoDb<T>(
  running: DynamoDBClient | undefined,
  run: (client: DynamoDBClient, tables: TableNames) => Promise<T>,
): Promise<T> {
  if (!running) {
    const db = await startDynamoDbLocal({ timeToLive: false });
    try {
      return await run(db.client, db.tables);
    } finally {
      await db.stop();
    }
  }
  const tables = tableNames('qmt-crash-replay');
  await dropTables(running, tables);
  await createTables(running, tables, { timeToLive: false });
  try {
    return await run(running, tables);
  } finally {
    await dropTables(running, tables);
  }
}

async function dropTables(client: DynamoDBClient, tables: TableNames): Promise<void> {
  await Promise.all(
    Object.values(tables).map(async (TableName) => {
      try {
        await client.send(new DeleteTableCommand({ TableName }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    }),
  );
}

async function replayOn(
  db: { readonly client: DynamoDBClient; readonly tables: TableNames },
  input: LocalReplayInput,
  io: Io,
  terminal: { readonly printAlerts: boolean } | undefined,
  progress?: Progress,
): Promise<ReplayResult> {
  {
    const clock = new SimulatedClock(input.from);
    const written = await writeAccounts(db.client, db.tables.accounts, input.accounts);
    const instruments = input.seriesList.map((s) => ({
      instrument: s.instrument,
      policy: input.policies.policyFor(s.instrument),
    }));
    if (terminal) {
      io.out(
        `replaying ${input.seriesList.map((s) => `${forTerminal(s.instrument)} (${forTerminal(s.source)})`).join(', ')} ` +
          `from ${iso(input.from)} to ${iso(input.to)}, ${input.accounts.length} accounts`,
      );
    }
    const result = await replay(
      {
        thresholds: new DynamoDbThresholdStore(db.client, db.tables.thresholds, { clock }),
        ledger: new DynamoDbRunLedger(db.client, db.tables.runs, { clock }),
        accounts: new DynamoDbAccountSource(db.client, db.tables.accounts),
        statuses: new DynamoDbMarginStatusStore(db.client, db.tables.marginStatus),
        alerts: {
          // Nothing leaves the machine: every alert is "published" to the replay's record.
          async publish(alerts) {
            return { published: alerts.map((a) => a.alertId), failed: [] };
          },
        },
        ops: { publish: async () => undefined },
        breachIndex: new InMemoryBreachIndex(),
        clock,
      },
      {
        series: input.seriesList,
        ...(input.warmUp ? { warmUp: input.warmUp } : {}),
        instruments,
        from: input.from,
        to: input.to,
        fullSweepEveryMs: input.fullSweepEveryMs,
        venues: input.venues,
        markPolicy: (instrument) => input.policies.policyFor(instrument).marks,
        ...(terminal?.printAlerts
          ? {
              onAlert: (alert: MarginAlert, at: number, marks: MarkSnapshot) =>
                io.out(formatAlertLine(alert, at, marks)),
              onThresholdSet: (set) =>
                io.out(
                  `${set.effectiveAt.slice(0, 16)}Z  ${set.trigger} threshold set ${forTerminal(set.setId)}: ` +
                    set.thresholds
                      .map(
                        (t) =>
                          `${forTerminal(t.instrument)} IM ${percent(t.initialMarginRate)} MM ${percent(t.maintenanceMarginRate)}` +
                          (t.status === 'held' ? ' HELD' : ''),
                      )
                      .join(', '),
                ),
            }
          : {}),
        ...(progress ? { onProgress: (done: number, total: number) => progress.update(done, total) } : {}),
      },
    );
    progress?.done();
    const errors: ReplayError[] = [
      ...written.rejected.map((r: RejectedAccountRecord) => ({
        kind: 'account-rejected' as const,
        key: r.accountKey,
        reason: r.reason,
        at: iso(input.from),
      })),
      ...result.errors,
    ];
    const full: ReplayResult = { ...result, errors };
    if (terminal) {
      for (const e of errors.slice(0, 20))
        io.out(`  ${e.kind} ${forTerminal(e.key)} at ${e.at}: ${forTerminal(e.reason)}`);
      if (errors.length > 20) io.out(`  … and ${errors.length - 20} more errors (--json lists them all)`);
      const s = result.stats;
      const scheduledSets = result.thresholdSets.filter((set) => set.trigger === 'scheduled').length;
      io.out(
        `replayed ${s.bars} bars: ${result.thresholdSets.length} threshold set(s) (${scheduledSets} scheduled, ` +
          `${result.thresholdSets.length - scheduledSets} shock), ${s.fullSweeps} full and ` +
          `${s.targetedSweeps} targeted sweeps, ${s.accountsRead} account reads, ${s.accountsValued} valuations, ` +
          `${result.alerts.length} alerts`,
      );
    }
    return full;
  }
}

/** One alert as it fires: the bar's time, the marks, the account and its move. */
export function formatAlertLine(alert: MarginAlert, at: number, marks: MarkSnapshot): string {
  const prices = [...marks.marks.values()]
    .map((m) => `${forTerminal(m.instrument)} ${m.price.toFixed(2)}`)
    .join(' ');
  const ratio = alert.marginRatio === undefined ? '' : `  ratio ${forTerminal(String(alert.marginRatio))}`;
  return `${iso(at).slice(0, 16)}Z  ${prices}  ${forTerminal(alert.accountId)}  ${alert.previousState} → ${alert.newState}${ratio}`;
}

/**
 * BTC-USD, 2020-03-12 ("Black Thursday"), daily open, high, low and close in USD as published by Yahoo
 * Finance (https://finance.yahoo.com/quote/BTC-USD/history, the series in ../shared/data/BTC-USD.csv;
 * test/data checks these figures against it), and the previous day's close.
 */
export const BTC_2020_03_12 = {
  day: Date.UTC(2020, 2, 12),
  previousClose: 7911.43017578125,
  open: 7913.6162109375,
  high: 7929.1162109375,
  low: 4860.35400390625,
  close: 4970.7880859375,
} as const;

/**
 * The crash replay `qmt start` ends with: the demo book (sized on the threshold the replay opens with) through
 * BTC's 2020-03-12 as an hourly path from its daily figures, after four years of GENERATED history scaled to
 * end at the 2020-03-11 close (warm-up only). Needs no file. Prints each margin call as the price falls.
 */
export async function demoCrashReplay(
  io: Io,
  options: { readonly accounts?: number; readonly dynamoDb?: DynamoDBClient } = {},
): Promise<ReplayResult> {
  const { generateCandles } = await import('../../domain/market/generated.ts');
  const crash = BTC_2020_03_12;
  const generated = generateCandles({
    instrument: 'BTC',
    days: 4 * 365,
    endTime: crash.day,
    startPrice: 8_000,
    seed: 1,
    annualVolatility: 0.6,
  });
  const scale = crash.previousClose / (generated.candles.at(-1)?.close ?? crash.previousClose);
  const warmUp = generated.candles.map((c) => ({
    ...c,
    open: c.open * scale,
    high: c.high * scale,
    low: c.low * scale,
    close: c.close * scale,
  }));
  const path = ohlcPath('BTC', crash);
  const warmUpSeries: CandleSeries = { ...generated, candles: warmUp };
  const policies = await loadPolicyBook(undefined);
  const [opening] = thresholdsFor([warmUpSeries], policies, crash.day);
  const accounts = opening
    ? demoAccounts([opening], { count: options.accounts ?? 40, seed: 7, asOf: crash.day })
    : [];
  io.out('');
  io.out(
    `crash replay: BTC on 2020-03-12 (${crash.open.toFixed(0)} → ${crash.close.toFixed(0)}), ${path.source}; ` +
      'the history before it is GENERATED (warm-up only)',
  );
  if (opening) io.out(formatThresholds([opening]));
  return replayOnLocalDynamoDb(
    {
      seriesList: [path],
      warmUp: [warmUpSeries],
      accounts,
      policies,
      from: crash.day,
      to: crash.day + DAY_MS,
      fullSweepEveryMs: 6 * 3_600_000,
      venues: 3,
    },
    io,
    { printAlerts: true },
    undefined,
    options.dynamoDb,
  );
}

const DURATION = /^(\d+)(m|h|d)$/;

/** `5m`, `1h`, `1d` → ms. */
export function parseDuration(option: string, value: string): number {
  const match = DURATION.exec(value);
  const n = Number(match?.[1]);
  if (!match || !(n > 0))
    throw new UsageError(`${option}: expected a duration like 5m, 1h or 1d, got "${value}"`);
  return n * { m: 60_000, h: 3_600_000, d: DAY_MS }[match[2] as 'm' | 'h' | 'd'];
}

async function readAccountsFile(path: string): Promise<Account[]> {
  let document: unknown;
  try {
    document = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new UsageError(`--accounts ${path}: ${(error as Error).message}`, { cause: error });
  }
  const records = Array.isArray(document) ? document : (document as { accounts?: unknown })?.accounts;
  if (!Array.isArray(records))
    throw new UsageError(`--accounts ${path}: expected an array of accounts (or { "accounts": [...] })`);
  // The writer and the sweep reject bad records by key and reason; the others are replayed.
  return records as Account[];
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

function percent(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
