/**
 * The market watch's economy (`npm run bench -- watch`), three parts:
 *
 * (a) Quiet minutes, measured in memory: a book of synthetic accounts (the breach-index bench's
 *     `syntheticBook`) is swept and indexed at a day's open, then `sweepMoved` runs at every minute's marks
 *     for 1,440 minutes. Paths: real daily closes of BTC, ETH and SOL (`../shared/data`, as the breach-index
 *     bench reads them) bridged to minutes (a Brownian bridge in log price from one close to the next at the
 *     day's realised σ, Parkinson's estimator from its high and low; correlated 0.7 across instruments,
 *     seeded), on days spread evenly over 2021-01 … 2023-06; and a seeded random walk at 60% (BTC), 75% (ETH)
 *     and 100% (SOL) annualised volatility. Each minute's DynamoDB read units are counted as the adapters
 *     would bill them and set against what the full sweep (Scan + watchlist) reads, at the bench's N and
 *     scaled to ten million accounts (the index queries are a fixed cost; the accounts read grow with N).
 * (b) The crash minute, measured on DynamoDB Local: accounts indexed by a full sweep, then a 10% fall that
 *     moves every one of them out of OK, swept by `sweepMoved` with every port timed: what one transition
 *     costs, and where. From those rates, modelled at ten million accounts: workers and table throughput
 *     for every state change to be announced within 60 s.
 * (c) The cost per day of the one-minute watch at ten million accounts, quiet and crash day (modelled from
 *     (a) and (b) and `lib/app/sweep-capacity.ts`'s measured rates and prices).
 *
 * What is measured and what is modelled is written out in docs/SCALE.md ("The market watch").
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { parseCandlesCsv } from '../../lib/adapters/csv-file.ts';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import { BREACH_INDEX_SHARDS, DynamoDbBreachIndex } from '../../lib/adapters/dynamodb/breach-index.ts';
import { createDynamoDbClient } from '../../lib/adapters/dynamodb/client.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { breachIndexTableDefinition, toCreateTableInput } from '../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { startDynamoDbLocal } from '../../lib/adapters/local/dynamodb-local.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import {
  DEFAULT_TABLE_THROUGHPUT_QUOTA,
  MEASURED_WORKER_THROUGHPUT,
  TYPICAL_ITEM_SIZES,
  US_EAST_1_PRICES,
} from '../../lib/app/sweep-capacity.ts';
import { sweepMoved } from '../../lib/app/targeted-sweep.ts';
import type { Account, MarginAlert } from '../../lib/domain/account/account.ts';
import { type Candle, type CandleSeries, DAY_MS, utcDay } from '../../lib/domain/market/candle.ts';
import { seededRandom } from '../../lib/domain/math/random.ts';
import { recalibrate } from '../../lib/domain/threshold/model.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type { AlertPublisher, AlertPublishResult } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { liveMarks } from '../app/marks.ts';
import { btcSet, PRICE } from '../integration/faults/support.ts';
import { InMemoryAccounts, syntheticBook } from './support/accounts.ts';
import { median, round, timed } from './support/fixtures.ts';
import { brownianBridge, correlatedSteps, parkinsonSigma, randomWalk } from './support/minute-paths.ts';
import type { Bench, BenchFigure } from './types.ts';

/** Accounts of the in-memory book; the shares do not depend on N (independent draws), only run time does. */
const ACCOUNTS = Number(process.env.QMT_BENCH_WATCH_ACCOUNTS ?? 4_000);
/** Real days replayed minute by minute, spread evenly over the data. */
const REAL_DAYS = Number(process.env.QMT_BENCH_WATCH_DAYS ?? 3);
/** Random-walk days. */
const WALK_DAYS = Number(process.env.QMT_BENCH_WATCH_WALK_DAYS ?? 1);
/** Accounts of the crash minute on DynamoDB Local (all of them change state). */
const CRASH_ACCOUNTS = Number(process.env.QMT_BENCH_WATCH_CRASH_ACCOUNTS ?? 1_000);
/**
 * `quiet` runs part (a) only (in memory, exact and seeded, a few minutes): its read shares and the quiet
 * day's DynamoDB reads and writes, without the DynamoDB Local crash minute and the Lambda time it measures.
 */
const QUIET_ONLY = process.env.QMT_BENCH_WATCH_PARTS === 'quiet';
const MINUTES = 1_440;
const SYMBOLS = ['BTC', 'ETH', 'SOL'] as const;
const FIRST_DAY = '2021-01-01';
const LAST_DAY = '2023-06-30';
const CORRELATION = 0.7;
const WALK_VOLATILITY: Readonly<Record<(typeof SYMBOLS)[number], number>> = { BTC: 0.6, ETH: 0.75, SOL: 1 };
const TARGET_SHARE = 0.05;
const DATA = fileURLToPath(new URL('../../../shared/data/', import.meta.url));

// The scale modelled, and DynamoDB's billing and limits (developer guide: "Read/write capacity mode",
// "Local secondary indexes: provisioned throughput considerations", "Service quotas").
const AT_SCALE = 10_000_000;
const SEGMENTS_AT_SCALE = 100;
const CRASH_SHARE = 0.1;
/** Share of accounts whose band a crash minute crosses: the targeted sweep's escalation point (BREACH-INDEX.md). */
const CRASH_CROSSED_SHARE = 0.25;
const UNIT = 4096;
const INDEX_ITEM_BYTES = 70;
const WATCHLIST_ENTRY_BYTES = TYPICAL_ITEM_SIZES.watchlistEntryBytes;
/** An index item rewritten at a new price: the table write plus the LSI's delete and put. */
const WCU_PER_INDEX_REWRITE = 3;
const PARTITION_WRITE_UNITS = 1_000;
const PARTITION_READ_UNITS = 3_000;
/** A transition today: the conditional status write with its pending alert, then the outbox clear. */
const WCU_PER_TRANSITION = 2;
/** The watch function: memory (as the sweep worker) and what an invocation waits for besides the sweep. */
const WATCH_MEMORY_GB = 1;
/** Fetching the venues' marks (four venues in parallel, each bounded by its timeout): an assumption. */
const WATCH_MARKS_SECONDS = 0.5;
const SCHEDULER_PER_MILLION = 1;
const FULL_SWEEPS_PER_DAY = 288;

class CountingAlerts implements AlertPublisher {
  count = 0;
  /** performance.now() when the last alert went out: when the crash minute's announcements ended. */
  lastAt = 0;
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    this.count += alerts.length;
    this.lastAt = performance.now();
    return { published: alerts.map((a) => a.alertId), failed: [] };
  }
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

interface DayPath {
  readonly label: string;
  readonly open: Record<string, number>;
  /** Marks at the close of each minute. */
  readonly minutes: Record<string, number>[];
  readonly set: ThresholdSet;
}

async function loadSeries(): Promise<Map<string, CandleSeries>> {
  const out = new Map<string, CandleSeries>();
  for (const symbol of SYMBOLS) {
    const text = await readFile(`${DATA}${symbol}-USD.csv`, 'utf8');
    out.set(symbol, parseCandlesCsv(text, symbol, { source: `file:${symbol}-USD.csv` }));
  }
  return out;
}

/** The default policy's thresholds from each series up to (not including) `day`. */
function setAsOf(series: Map<string, CandleSeries>, day: string): ThresholdSet {
  const thresholds = SYMBOLS.map((symbol) => {
    const all = series.get(symbol) as CandleSeries;
    const candles = all.candles.filter((c) => utcDay(c.time) < day);
    return recalibrate(DEFAULT_THRESHOLD_POLICY, { ...all, candles }, undefined, {
      asOf: Date.parse(`${day}T00:00:00Z`),
    });
  });
  return { setId: `set-${day}`, runId: `bench-${day}`, createdAt: `${day}T00:00:00Z`, thresholds };
}

/** Real days: previous close to this close through a Brownian bridge at the day's Parkinson σ. */
function realDays(series: Map<string, CandleSeries>): DayPath[] {
  const byDay = SYMBOLS.map(
    (s) => new Map((series.get(s) as CandleSeries).candles.map((c) => [utcDay(c.time), c] as const)),
  );
  const days: string[] = [];
  for (let t = Date.parse(`${FIRST_DAY}T00:00:00Z`); t <= Date.parse(`${LAST_DAY}T00:00:00Z`); t += DAY_MS) {
    const day = utcDay(t);
    const previous = utcDay(t - DAY_MS);
    if (byDay.every((m) => m.has(day) && m.has(previous))) days.push(day);
  }
  const picked = Array.from(
    { length: REAL_DAYS },
    (_, k) => days[Math.floor(((k + 0.5) * days.length) / REAL_DAYS)] as string,
  );
  return picked.map((day, k) => {
    const previous = utcDay(Date.parse(`${day}T00:00:00Z`) - DAY_MS);
    const today = byDay.map((m) => m.get(day) as Candle);
    const before = byDay.map((m) => m.get(previous) as Candle);
    // Parkinson: σ² = ln(H/L)² / (4 ln 2), per day; per minute over 1,440 minutes.
    const sigmas = today.map((c) => parkinsonSigma(c.high, c.low) / Math.sqrt(MINUTES));
    const steps = correlatedSteps(seededRandom(20261203 + k), sigmas, MINUTES, CORRELATION);
    const minutes: Record<string, number>[] = Array.from({ length: MINUTES }, () => ({}));
    SYMBOLS.forEach((symbol, i) => {
      const bridge = brownianBridge(
        (before[i] as Candle).close,
        (today[i] as Candle).close,
        steps[i] as number[],
      );
      bridge.forEach((price, m) => {
        (minutes[m] as Record<string, number>)[symbol] = price;
      });
    });
    const open = Object.fromEntries(SYMBOLS.map((s, i) => [s, (before[i] as Candle).close]));
    const realised = SYMBOLS.map(
      (s, i) => `${s} ${round((sigmas[i] as number) * Math.sqrt(MINUTES * 365) * 100, 0)}%`,
    );
    return {
      label: `${day} (σ ${realised.join(', ')} annualised)`,
      open,
      minutes,
      set: setAsOf(series, day),
    };
  });
}

/** Random-walk days from the last close of the data, at the walk's annualised volatilities. */
function walkDays(series: Map<string, CandleSeries>): DayPath[] {
  const day = utcDay(Date.parse(`${LAST_DAY}T00:00:00Z`) + DAY_MS);
  const set = setAsOf(series, day);
  const open = Object.fromEntries(
    SYMBOLS.map((s) => [
      s,
      ((series.get(s) as CandleSeries).candles.filter((c) => utcDay(c.time) < day).at(-1) as Candle).close,
    ]),
  );
  const perMinute = SYMBOLS.map((s) => WALK_VOLATILITY[s] / Math.sqrt(365 * MINUTES));
  return Array.from({ length: WALK_DAYS }, (_, k) => {
    const steps = correlatedSteps(seededRandom(777 + k), perMinute, MINUTES, CORRELATION);
    const minutes: Record<string, number>[] = Array.from({ length: MINUTES }, () => ({}));
    SYMBOLS.forEach((symbol, i) => {
      randomWalk(open[symbol] as number, steps[i] as number[]).forEach((price, m) => {
        (minutes[m] as Record<string, number>)[symbol] = price;
      });
    });
    return { label: `random walk ${k + 1} (σ BTC 60%, ETH 75%, SOL 100%)`, open, minutes, set };
  });
}

/** One minute of the watch, as DynamoDB would bill it. */
interface Minute {
  readonly crossed: number;
  readonly revisited: number;
  readonly transitions: number;
  /** Revisited accounts whose band was written (a band already stored as "every sweep" is not). */
  readonly reindexed: number;
  /** Index entries written (each 2 items, table and LSI). */
  readonly entriesWritten: number;
  /** Band stamps written (one item each, not in the LSI). */
  readonly stampsWritten: number;
  readonly bandValuations: number;
  /** Read units of the index Queries' minimum (0.5 a Query page): fixed whatever N. */
  readonly fixedUnits: number;
  /** Read units that grow with the accounts revisited: index entries returned, accounts, statuses. */
  readonly variableUnits: number;
  /** Write units: re-indexed bands (table + LSI), stamps and transitions. */
  readonly writeUnits: number;
  readonly seconds: number;
}

interface Book {
  readonly accountBytes: number;
  readonly watched: number;
  readonly entriesPerAccount: number;
}

async function replayDay(
  path: DayPath,
  seed: number,
  log: (line: string) => void,
): Promise<{ minutes: Minute[]; book: Book }> {
  const asOf = Date.parse(path.set.createdAt);
  const accounts = syntheticBook(ACCOUNTS, { marks: path.open, asOf, optionShare: 0.01, seed });
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(path.set, undefined);
  const index = new InMemoryBreachIndex();
  // With the watchlist, as deployed: the targeted sweep reads the statuses of watched accounts and of those
  // about to change state only.
  const statuses = new InMemoryMarginStatusStore({ watchlist: true });
  const ports = {
    accounts: new InMemoryAccounts(accounts),
    breachIndex: index,
    thresholds,
    statuses,
    alerts: new CountingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(asOf),
  };
  const t0 = performance.now();
  const full = await sweepSegment(ports, {
    runId: `full-${seed}`,
    segment: { segment: 0, totalSegments: 1 },
    pageSize: 500,
    marks: liveMarks(path.open, asOf, path.set),
  });
  const book: Book = {
    accountBytes: accounts.reduce((sum, a) => sum + JSON.stringify(a).length, 0) / accounts.length,
    watched: full.counts.transitions,
    entriesPerAccount: index.calls.entriesWritten / ACCOUNTS,
  };
  log(
    `${path.label}: full sweep + index of ${ACCOUNTS} accounts in ${round((performance.now() - t0) / 1000, 1)} s (${book.watched} not OK, ${round(book.entriesPerAccount, 2)} index entries an account)`,
  );
  const minutes: Minute[] = [];
  for (let m = 0; m < MINUTES; m++) {
    const before = { ...index.calls };
    const statusCalls = statuses.reads.length;
    const started = performance.now();
    const result = await sweepMoved(ports, {
      runId: `watch-${seed}-${m}`,
      marks: liveMarks(path.minutes[m] as Record<string, number>, asOf, path.set),
    });
    const seconds = (performance.now() - started) / 1000;
    const queries = index.calls.crossed - before.crossed;
    const returned = index.calls.entriesReturned - before.entriesReturned;
    const written = index.calls.entriesWritten - before.entriesWritten;
    const stamped = index.calls.stampsWritten - before.stampsWritten;
    const r = result.counts.revisited;
    const statusReads = statuses.reads.slice(statusCalls).reduce((n, ids) => n + ids.length, 0);
    // The watchlist, read once by a minute that revisits anyone: ½ unit per 4 KB of keys.
    const watchlistUnits = r > 0 ? ((statuses.watch.size * WATCHLIST_ENTRY_BYTES) / UNIT) * 0.5 : 0;
    minutes.push({
      crossed: result.counts.crossed,
      revisited: r,
      transitions: result.counts.transitions,
      reindexed: result.counts.reindexed,
      entriesWritten: written,
      stampsWritten: stamped,
      bandValuations: result.counts.bandValuations,
      // Each `crossed` is 16 shards × 2 sides of keys-only LSI Queries, eventually consistent.
      fixedUnits: queries * BREACH_INDEX_SHARDS * 2 * 0.5,
      variableUnits:
        ((returned * INDEX_ITEM_BYTES) / UNIT) * 0.5 +
        r * Math.ceil(book.accountBytes / UNIT) * 0.5 + // BatchGetItem of accounts, eventually consistent
        statusReads * 1 + // BatchGetItem of statuses, strongly consistent
        watchlistUnits,
      writeUnits:
        written * 2 * WCU_PER_INDEX_REWRITE + stamped + result.counts.transitions * WCU_PER_TRANSITION,
      seconds,
    });
    if ((m + 1) % 480 === 0) {
      const last = minutes.slice(-480);
      log(
        `  minute ${m + 1}: median ${median(last.map((x) => x.revisited))} revisited, max ${Math.max(...last.map((x) => x.revisited))}, ${last.reduce((s, x) => s + x.transitions, 0)} transitions in the last 8 h`,
      );
    }
  }
  return { minutes, book };
}

/** What one full sweep reads: the Scan, the watched statuses, every segment's copy of the watchlist. */
function fullSweepUnits(accounts: number, book: Book, segments: number): number {
  const watched = (accounts * book.watched) / ACCOUNTS;
  return (
    ((accounts * book.accountBytes) / UNIT) * 0.5 +
    watched * 1 +
    segments * Math.ceil((watched * WATCHLIST_ENTRY_BYTES) / UNIT) * 0.5
  );
}

interface QuietFigures {
  readonly shareAtN: number[];
  readonly shareAtScale: number[];
  readonly minutes: Minute[];
  readonly book: Book;
}

async function quiet(paths: DayPath[], log: (line: string) => void, seed: number): Promise<QuietFigures> {
  const shareAtN: number[] = [];
  const shareAtScale: number[] = [];
  const all: Minute[] = [];
  let book: Book | undefined;
  for (const [k, path] of paths.entries()) {
    const day = await replayDay(path, seed + k, log);
    book = day.book;
    const fullN = fullSweepUnits(ACCOUNTS, day.book, 1);
    const fullScale = fullSweepUnits(AT_SCALE, day.book, SEGMENTS_AT_SCALE);
    for (const m of day.minutes) {
      shareAtN.push((m.fixedUnits + m.variableUnits) / fullN);
      shareAtScale.push((m.fixedUnits + (m.variableUnits * AT_SCALE) / ACCOUNTS) / fullScale);
      all.push(m);
    }
  }
  return { shareAtN, shareAtScale, minutes: all, book: book as Book };
}

/** Accounts that a 10% fall moves out of OK: one BTC long each, collateral 2,500–4,500 USD at 30,000. */
export function crashBook(count: number): Account[] {
  const random = seededRandom(1312);
  return Array.from({ length: count }, (_, i) => ({
    accountId: `crash-${String(i).padStart(7, '0')}`,
    collateral: [{ asset: 'USD', amount: (2500 + 2000 * random()).toFixed(2) }],
    positions: [
      {
        kind: 'perpetual',
        instrument: 'BTC',
        quantity: '1',
        entryPrice: String(PRICE),
        settlement: 'linear',
      },
    ],
  }));
}

interface CrashFigures {
  readonly accounts: number;
  readonly transitions: number;
  readonly seconds: number;
  /** From the start of the targeted sweep to its last alert published (the re-index comes after). */
  readonly announceSeconds: number;
  readonly fullSweepSeconds: number;
  /** A second full sweep at the same marks: every band still valid, so only stamps read. */
  readonly unchangedSweepSeconds: number;
  readonly unchangedIndexed: number;
  readonly unchangedWall: Map<string, number>;
  /** Wall seconds per port method during the full sweep that built the index. */
  readonly fullWall: Map<string, number>;
  readonly wall: Map<string, number>;
}

async function crash(log: (line: string) => void): Promise<CrashFigures> {
  const local = await startDynamoDbLocal({ timeToLive: false }); // fixed, past clocks: see CreateTablesOptions.timeToLive
  const client = createDynamoDbClient({ endpoint: local.endpoint });
  try {
    const tables = local.tables;
    const indexTable = `${tables.accounts}-breach-index`;
    await client.send(new CreateTableCommand(toCreateTableInput(breachIndexTableDefinition(), indexTable)));
    await waitUntilTableExists(
      { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
      { TableName: indexTable },
    );
    await new DynamoDbThresholdStore(client, tables.thresholds).publishSet(btcSet, undefined);
    const accounts = crashBook(CRASH_ACCOUNTS);
    const seedStarted = performance.now();
    for (let i = 0; i < accounts.length; i += 5_000) {
      await writeAccounts(client, tables.accounts, accounts.slice(i, i + 5_000));
    }
    log(
      `DynamoDB Local: ${CRASH_ACCOUNTS} accounts seeded in ${round((performance.now() - seedStarted) / 1000, 1)} s`,
    );
    const clock = new FixedClock(Date.UTC(2026, 11, 3, 12, 0));
    const wall = new Map<string, number>();
    const alerts = new CountingAlerts();
    const ports = {
      accounts: timed(new DynamoDbAccountSource(client, tables.accounts), 'accounts', wall),
      breachIndex: timed(new DynamoDbBreachIndex(client, indexTable), 'index', wall),
      thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
      statuses: timed(new DynamoDbMarginStatusStore(client, tables.marginStatus), 'statuses', wall),
      alerts: timed(alerts, 'alerts', wall),
      ops: new RecordingOps(),
      clock,
    };
    const fullStarted = performance.now();
    const full = await sweepSegment(ports, {
      runId: 'crash-full',
      segment: { segment: 0, totalSegments: 1 },
      pageSize: 500,
      marks: liveMarks({ BTC: PRICE }, clock.now(), btcSet),
    });
    const fullSweepSeconds = (performance.now() - fullStarted) / 1000;
    const fullWall = new Map(wall);
    if (full.counts.transitions !== 0)
      throw new Error(`${full.counts.transitions} accounts not OK before the crash`);
    log(
      `full sweep + index at ${PRICE}: ${round(fullSweepSeconds, 2)} s (${round(CRASH_ACCOUNTS / fullSweepSeconds, 0)} accounts/s with indexing); ${[
        ...fullWall,
      ]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${round(v, 2)} s`)
        .join(', ')}`,
    );
    wall.clear();
    const unchangedStarted = performance.now();
    const unchanged = await sweepSegment(ports, {
      runId: 'crash-full-2',
      segment: { segment: 0, totalSegments: 1 },
      pageSize: 500,
      marks: liveMarks({ BTC: PRICE }, clock.now(), btcSet),
    });
    const unchangedSweepSeconds = (performance.now() - unchangedStarted) / 1000;
    const unchangedWall = new Map(wall);
    log(
      `full sweep again, bands unchanged: ${round(unchangedSweepSeconds, 2)} s (${round(CRASH_ACCOUNTS / unchangedSweepSeconds, 0)} accounts/s), ${unchanged.counts.indexed} re-indexed; ${[
        ...unchangedWall,
      ]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${round(v, 2)} s`)
        .join(', ')}`,
    );
    wall.clear();
    const started = performance.now();
    const moved = await sweepMoved(ports, {
      runId: 'crash-minute',
      marks: liveMarks({ BTC: PRICE * 0.9 }, clock.now(), btcSet),
    });
    const seconds = (performance.now() - started) / 1000;
    const announceSeconds = (alerts.lastAt - started) / 1000;
    if (moved.counts.transitions !== CRASH_ACCOUNTS) {
      throw new Error(`the crash moved ${moved.counts.transitions} of ${CRASH_ACCOUNTS} accounts`);
    }
    const ports$ = [...wall.values()].reduce((s, v) => s + v, 0);
    log(
      `crash minute: ${moved.counts.transitions} transitions in ${round(seconds, 2)} s; ${[...wall]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${round(v, 2)} s`)
        .join(
          ', ',
        )}; outside port calls ${round(seconds - ports$, 2)} s; last alert out after ${round(announceSeconds, 2)} s`,
    );
    return {
      accounts: CRASH_ACCOUNTS,
      transitions: moved.counts.transitions,
      seconds,
      announceSeconds,
      fullSweepSeconds,
      unchangedSweepSeconds,
      unchangedIndexed: unchanged.counts.indexed ?? 0,
      unchangedWall,
      fullWall,
      wall,
    };
  } finally {
    client.destroy();
    await local.stop();
  }
}

/** The quiet minutes' read shares against a full sweep (part (a)). */
function quietShareFigures(
  real: DayPath[],
  walk: DayPath[],
  a1: QuietFigures,
  a2: QuietFigures,
): BenchFigure[] {
  const share = (
    name: string,
    values: number[],
    q: 'median' | 'p99',
    target: boolean,
    note?: string,
  ): BenchFigure => {
    const v = q === 'median' ? median(values) : quantile(values, 0.99);
    return {
      name,
      ours: round(v * 100, 3),
      reference: 100,
      unit: '% of full sweep RCU',
      ratio: round(v, 4),
      ...(target ? { target: `≤ ${TARGET_SHARE * 100}%`, met: v <= TARGET_SHARE } : {}),
      ...(note ? { note } : {}),
    };
  };
  const minutesWith = (ms: Minute[]) => ms.filter((m) => m.revisited > 0).length;
  return [
    share(
      'real closes → minutes: read share at 10M, median',
      a1.shareAtScale,
      'median',
      true,
      `${real.map((d) => d.label).join('; ')}; ${minutesWith(a1.minutes)} of ${a1.minutes.length} minutes revisited anyone`,
    ),
    share('real closes → minutes: read share at 10M, p99', a1.shareAtScale, 'p99', true),
    share(
      `real closes → minutes: read share at N = ${ACCOUNTS}, median`,
      a1.shareAtN,
      'median',
      false,
      `at the bench's N the ${(SYMBOLS.length + 2) * 32} index Queries (0.5 RCU each) weigh more than at 10M`,
    ),
    share(`real closes → minutes: read share at N = ${ACCOUNTS}, p99`, a1.shareAtN, 'p99', false),
    share(
      'random walk: read share at 10M, median',
      a2.shareAtScale,
      'median',
      true,
      `${walk.length} days × ${MINUTES} minutes; ${minutesWith(a2.minutes)} minutes revisited anyone`,
    ),
    share('random walk: read share at 10M, p99', a2.shareAtScale, 'p99', true),
    share(`random walk: read share at N = ${ACCOUNTS}, p99`, a2.shareAtN, 'p99', false),
  ];
}

const usd = (x: number) => round(x, x < 1 ? 4 : 2);

const bench: Bench = async (log) => {
  const started = performance.now();
  const series = await loadSeries();
  const real = realDays(series);
  const walk = walkDays(series);
  log(
    `paths: ${real.length} real days bridged to minutes, ${walk.length} random-walk days; ${ACCOUNTS} accounts`,
  );
  const a1 = await quiet(real, log, 100);
  const a2 = await quiet(walk, log, 200);
  for (const [name, a] of [
    ['real closes', a1],
    ['random walk', a2],
  ] as const) {
    const sum = (f: (m: Minute) => number) => a.minutes.reduce((s, m) => s + f(m), 0);
    log(
      `${name}: read share at 10M median ${round(median(a.shareAtScale) * 100, 3)}%, p99 ${round(quantile(a.shareAtScale, 0.99) * 100, 3)}%; revisited per minute median ${median(a.minutes.map((m) => m.revisited))}, p99 ${quantile(
        a.minutes.map((m) => m.revisited),
        0.99,
      )}; ${sum((m) => m.reindexed)} bands re-indexed (${sum((m) => m.entriesWritten)} entries, ${sum((m) => m.stampsWritten)} stamps, ${sum((m) => m.writeUnits)} WCU), ${sum((m) => m.bandValuations)} band valuations over ${a.minutes.length} minutes`,
    );
  }
  if (QUIET_ONLY) {
    const p = US_EAST_1_PRICES;
    const perDay = (a: QuietFigures, f: (m: Minute) => number) =>
      (a.minutes.reduce((s, m) => s + f(m), 0) / (a.minutes.length / MINUTES)) * (AT_SCALE / ACCOUNTS);
    const quietFigures: BenchFigure[] = [
      ...quietShareFigures(real, walk, a1, a2),
      {
        name: 'watch DynamoDB reads per day at 10M, quiet (real closes)',
        ours: usd(
          (a1.minutes.reduce((s, m) => s + m.fixedUnits + (m.variableUnits * AT_SCALE) / ACCOUNTS, 0) /
            (a1.minutes.length / MINUTES) /
            1e6) *
            p.readRequestUnitsPerMillion,
        ),
        unit: 'USD/day',
        note: 'index Queries, accounts by id, watched or changing statuses, the watchlist',
      },
      {
        name: 'watch DynamoDB writes per day at 10M, quiet (real closes)',
        ours: usd((perDay(a1, (m) => m.writeUnits) / 1e6) * p.writeRequestUnitsPerMillion),
        unit: 'USD/day',
        note: `random walk $${usd((perDay(a2, (m) => m.writeUnits) / 1e6) * p.writeRequestUnitsPerMillion)}; re-index at ${WCU_PER_INDEX_REWRITE} WCU an item, 2 items an entry, 1 WCU a stamp; 2 WCU a transition`,
      },
    ];
    log(`bench took ${round((performance.now() - started) / 1000, 1)} s`);
    return {
      title: `Market watch, quiet minutes only (${ACCOUNTS} accounts, in memory)`,
      figures: quietFigures,
    };
  }

  // (b) measured on DynamoDB Local.
  const c = await crash(log);
  const w = (key: string) => c.wall.get(key) ?? 0;
  const perTransition = c.seconds / c.transitions;
  const clearSeconds = w('statuses.markAlertPublished');
  const indexWriteSeconds = w('index.record');
  const lazyPerTransition = (c.seconds - clearSeconds) / c.transitions;
  const deferredIndexPerTransition = (c.seconds - clearSeconds - indexWriteSeconds) / c.transitions;

  // (b) modelled at ten million accounts: one crash minute, 10% change state, 25% of bands crossed.
  const transitions = AT_SCALE * CRASH_SHARE;
  const crossed = AT_SCALE * CRASH_CROSSED_SHARE;
  const budget = 60 - MEASURED_WORKER_THROUGHPUT.startupSeconds - WATCH_MARKS_SECONDS;
  // A crossed account that does not change state costs the read, the status read and its re-index.
  const perRevisit = (w('accounts.getAccounts') + w('statuses.get') + indexWriteSeconds) / c.transitions;
  const workerSeconds = (p: number) => transitions * p + (crossed - transitions) * perRevisit;
  const workersToday = Math.ceil(workerSeconds(perTransition) / budget);
  const workersLazy = Math.ceil(workerSeconds(lazyPerTransition) / budget);
  // Announce first (built): the alerts are out once the batches are swept; the re-index follows. A crossed
  // account without a change costs its reads only until the last alert.
  const perAnnounce = c.announceSeconds / c.transitions;
  const perRevisitRead = (w('accounts.getAccounts') + w('statuses.get')) / c.transitions;
  const workersAnnounce = Math.ceil(
    (transitions * perAnnounce + (crossed - transitions) * perRevisitRead) / budget,
  );
  const entries = a1.book.entriesPerAccount;
  const statusWcuToday = (transitions * WCU_PER_TRANSITION) / budget;
  const statusWcuLazy = transitions / budget;
  const indexWcu = (crossed * entries * 2 * WCU_PER_INDEX_REWRITE) / budget;
  // The busiest index partition: one instrument's side and shard, if every crossed account holds it.
  const perPartitionItems = crossed / BREACH_INDEX_SHARDS;
  const partitionSeconds = (perPartitionItems * WCU_PER_INDEX_REWRITE) / PARTITION_WRITE_UNITS;
  const shardsNeeded = Math.ceil((crossed * WCU_PER_INDEX_REWRITE) / (PARTITION_WRITE_UNITS * budget));
  log(
    `crash minute at ${AT_SCALE.toLocaleString('en-US')}: ${transitions.toLocaleString('en-US')} transitions, ${crossed.toLocaleString('en-US')} crossed; workers to announce within the minute ${workersAnnounce} (announce first, measured), re-index inline ${workersToday}, lazy clear ${workersLazy}; status WCU/s ${Math.round(statusWcuToday)} (lazy ${Math.round(statusWcuLazy)}); index WCU/s ${Math.round(indexWcu)}; busiest index partition ${round(partitionSeconds, 0)} s of writes at ${PARTITION_WRITE_UNITS} WCU/s (${shardsNeeded} shards would fit the minute)`,
  );

  // (c) cost per day at ten million accounts.
  const p = US_EAST_1_PRICES;
  const scaleMinute = (m: Minute) => ({
    reads: m.fixedUnits + (m.variableUnits * AT_SCALE) / ACCOUNTS,
    writes: (m.writeUnits * AT_SCALE) / ACCOUNTS,
  });
  const quietDayReads =
    a1.minutes.reduce((s, m) => s + scaleMinute(m).reads, 0) / (a1.minutes.length / MINUTES);
  const quietDayWrites =
    a1.minutes.reduce((s, m) => s + scaleMinute(m).writes, 0) / (a1.minutes.length / MINUTES);
  // A quiet minute's work at 10M: the marks, the index Queries (measured wall time), then every revisited
  // account at the measured per-revisit cost (read, status read, re-index) and every transition at its own.
  const indexQuerySeconds = w('index.crossed');
  const minuteWorkerSeconds = (m: Minute) =>
    indexQuerySeconds +
    ((m.revisited - m.transitions) * perRevisit + m.transitions * perTransition) * (AT_SCALE / ACCOUNTS);
  const quietWork = a1.minutes.map(minuteWorkerSeconds);
  const quietWorkers = quantile(quietWork, 0.5) / budget;
  const quietWorkersP99 = quantile(quietWork, 0.99) / budget;
  const lambdaQuiet =
    ((quietWork.reduce((sum, x) => sum + x, 0) / a1.minutes.length) * MINUTES +
      MINUTES * WATCH_MARKS_SECONDS) *
    WATCH_MEMORY_GB;
  log(
    `quiet minute at 10M: ${round(quantile(quietWork, 0.5), 1)} worker-seconds median (${round(quietWorkers, 2)} workers for the minute), ${round(quantile(quietWork, 0.99), 0)} at p99 (${Math.ceil(quietWorkersP99)} workers)`,
  );
  const crashLambda = workersToday * budget * WATCH_MEMORY_GB;
  const crashReads = crossed * (Math.ceil(a1.book.accountBytes / UNIT) * 0.5 + 1);
  const crashWrites = transitions * WCU_PER_TRANSITION + crossed * entries * 2 * WCU_PER_INDEX_REWRITE;
  const alertsSns = Math.ceil(transitions / 10);
  const rows = {
    quiet: {
      lambda: lambdaQuiet * p.lambdaGbSecond + (MINUTES / 1e6) * p.lambdaRequestsPerMillion,
      reads: (quietDayReads / 1e6) * p.readRequestUnitsPerMillion,
      writes: (quietDayWrites / 1e6) * p.writeRequestUnitsPerMillion,
      scheduler: (MINUTES / 1e6) * SCHEDULER_PER_MILLION,
      sns: (MINUTES / 1e6) * p.snsRequestsPerMillion,
    },
  };
  const crashExtra = {
    lambda: crashLambda * p.lambdaGbSecond + (workersToday / 1e6) * p.lambdaRequestsPerMillion,
    reads: (crashReads / 1e6) * p.readRequestUnitsPerMillion,
    writes: (crashWrites / 1e6) * p.writeRequestUnitsPerMillion,
    scheduler: 0,
    sns: (alertsSns / 1e6) * p.snsRequestsPerMillion,
  };
  const total = (r: Record<string, number>) => Object.values(r).reduce((s, v) => s + v, 0);
  // The full sweeps' own index rewrite, for comparison: every account's bands every 5 minutes.
  const fullSweepIndexWrites = AT_SCALE * entries * 2 * WCU_PER_INDEX_REWRITE;
  const fullSweepIndexDay =
    ((fullSweepIndexWrites * FULL_SWEEPS_PER_DAY) / 1e6) * p.writeRequestUnitsPerMillion;
  // With stamps (built): each full sweep reads one stamp per account (BatchGetItem, eventually consistent,
  // ½ unit), and rewrites a band only when its account changed, its band was crossed or its stamp is due
  // (every ½ to 1 day, ¾ on average): the refresh rewrites every band and stamp 4/3 times a day.
  const stampReadsDay = AT_SCALE * 0.5 * FULL_SWEEPS_PER_DAY;
  const refreshWritesDay = (4 / 3) * AT_SCALE * (entries * 2 * WCU_PER_INDEX_REWRITE + 1);
  const stampedIndexDay =
    (stampReadsDay / 1e6) * p.readRequestUnitsPerMillion +
    (refreshWritesDay / 1e6) * p.writeRequestUnitsPerMillion;
  const fullSweepIndexPartitionSeconds =
    ((AT_SCALE * (entries / SYMBOLS.length)) / BREACH_INDEX_SHARDS) *
    (WCU_PER_INDEX_REWRITE / PARTITION_WRITE_UNITS);
  log(
    `cost per day at 10M: quiet $${usd(total(rows.quiet))} (${Object.entries(rows.quiet)
      .map(([k, v]) => `${k} $${usd(v)}`)
      .join(', ')}); crash minute adds $${usd(total(crashExtra))} (${Object.entries(crashExtra)
      .map(([k, v]) => `${k} $${usd(v)}`)
      .join(
        ', ',
      )}); full sweeps' index rewrites $${usd(fullSweepIndexDay)} a day if every band were rewritten (${Math.round(fullSweepIndexPartitionSeconds)} s of writes per busiest partition per sweep), with stamps $${usd(stampedIndexDay)} (stamp reads $${usd((stampReadsDay / 1e6) * p.readRequestUnitsPerMillion)}, refresh writes $${usd((refreshWritesDay / 1e6) * p.writeRequestUnitsPerMillion)}) plus the changed accounts' bands`,
  );
  log(`bench took ${round((performance.now() - started) / 1000, 1)} s`);

  const figures: BenchFigure[] = [
    ...quietShareFigures(real, walk, a1, a2),
    {
      name: 'accounts revisited per minute, real, p99',
      ours: round(
        (quantile(
          a1.minutes.map((m) => m.revisited),
          0.99,
        ) /
          ACCOUNTS) *
          100,
        3,
      ),
      unit: '% of accounts',
      note: `max ${round((Math.max(...a1.minutes.map((m) => m.revisited)) / ACCOUNTS) * 100, 2)}%; random walk p99 ${round(
        (quantile(
          a2.minutes.map((m) => m.revisited),
          0.99,
        ) /
          ACCOUNTS) *
          100,
        3,
      )}%`,
    },
    {
      name: 'quiet minute at 10M: workers for 60 s, median',
      ours: round(quietWorkers, 2),
      unit: 'workers',
      note: `p99 ${Math.ceil(quietWorkersP99)}; at the measured DynamoDB Local cost of a revisit (${round(perRevisit * 1000, 2)} ms: read by id, status read, re-index) and of a transition; sweepMoved runs in one function today`,
    },
    {
      name: 'full sweep with indexing (measured)',
      ours: Math.round(c.accounts / c.fullSweepSeconds),
      reference: MEASURED_WORKER_THROUGHPUT.quietAccountsPerSecond,
      unit: 'accounts/s (1 worker)',
      ratio: round(c.accounts / c.fullSweepSeconds / MEASURED_WORKER_THROUGHPUT.quietAccountsPerSecond, 3),
      note: `DynamoDB Local, every account new to the index; ${[...c.fullWall]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 3)
        .map(([k, v]) => `${k} ${round(v, 2)} s`)
        .join(', ')}; reference = the capacity model's quiet rate without the index`,
    },
    {
      name: 'crash: seconds per transition (measured)',
      ours: round(perTransition * 1000, 2),
      unit: 'ms (1 worker)',
      note: `DynamoDB Local, ${c.transitions} transitions by sweepMoved: ${[...c.wall]
        .sort((x, y) => y[1] - x[1])
        .map(([k, v]) => `${k} ${round((v / c.transitions) * 1000, 2)} ms`)
        .join(
          ', ',
        )} per transition; full sweep + index ran at ${round(c.accounts / c.fullSweepSeconds, 0)} accounts/s`,
    },
    {
      name: 'crash: per transition without the outbox clear',
      ours: round(lazyPerTransition * 1000, 2),
      reference: round(perTransition * 1000, 2),
      unit: 'ms (1 worker)',
      ratio: round(lazyPerTransition / perTransition, 3),
      note: `and without the inline re-index ${round(deferredIndexPerTransition * 1000, 2)} ms (modelled: the measured wall time of those calls removed)`,
    },
    {
      name: 'crash: seconds per transition to the last alert (measured)',
      ours: round(perAnnounce * 1000, 2),
      reference: round(perTransition * 1000, 2),
      unit: 'ms (1 worker)',
      ratio: round(perAnnounce / perTransition, 3),
      note: `announce first, re-index after (built): the last alert was out after ${round(c.announceSeconds, 2)} s of ${round(c.seconds, 2)} s`,
    },
    {
      name: 'crash minute at 10M: workers to announce within 60 s',
      ours: workersAnnounce,
      reference: 1_000,
      unit: 'workers',
      target: '≤ account concurrency (1,000)',
      met: workersAnnounce <= 1_000,
      note: `${transitions.toLocaleString('en-US')} transitions at the measured ${round(perAnnounce * 1000, 2)} ms + ${(crossed - transitions).toLocaleString('en-US')} crossed without change at ${round(perRevisitRead * 1000, 2)} ms of reads; the re-index follows, off the alerts' path`,
    },
    {
      name: 'full sweep, bands unchanged (measured)',
      ours: Math.round(c.accounts / c.unchangedSweepSeconds),
      reference: Math.round(c.accounts / c.fullSweepSeconds),
      unit: 'accounts/s',
      note: `DynamoDB Local, second full sweep at the same marks: ${c.unchangedIndexed} bands rewritten; ${[
        ...c.unchangedWall,
      ]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${round(v, 2)} s`)
        .join(', ')}`,
    },
    {
      name: 'crash minute at 10M: workers for 60 s (today)',
      ours: workersToday,
      unit: 'workers',
      note: `${transitions.toLocaleString('en-US')} transitions + ${(crossed - transitions).toLocaleString('en-US')} crossed without change, ${budget} s after start-up and marks; lazy clear: ${workersLazy}`,
    },
    {
      name: 'crash minute: status table WCU/s (today)',
      ours: Math.round(statusWcuToday),
      reference: DEFAULT_TABLE_THROUGHPUT_QUOTA,
      unit: 'WCU/s',
      ratio: round(statusWcuToday / DEFAULT_TABLE_THROUGHPUT_QUOTA, 3),
      target: '≤ table quota',
      met: statusWcuToday <= DEFAULT_TABLE_THROUGHPUT_QUOTA,
      note: `lazy outbox clear: ${Math.round(statusWcuLazy)} WCU/s; per account partition ${WCU_PER_TRANSITION} WCU in the minute (limit ${PARTITION_WRITE_UNITS}/s)`,
    },
    {
      name: 'crash minute: breach index WCU/s',
      ours: Math.round(indexWcu),
      reference: DEFAULT_TABLE_THROUGHPUT_QUOTA,
      unit: 'WCU/s',
      ratio: round(indexWcu / DEFAULT_TABLE_THROUGHPUT_QUOTA, 2),
      target: '≤ table quota',
      met: indexWcu <= DEFAULT_TABLE_THROUGHPUT_QUOTA,
      note: `${round(entries, 2)} bands an account × 2 items × ${WCU_PER_INDEX_REWRITE} WCU (table + LSI delete/put) per re-indexed account`,
    },
    {
      name: 'crash minute: busiest index partition',
      ours: round(partitionSeconds, 0),
      reference: budget,
      unit: 's of writes',
      ratio: round(partitionSeconds / budget, 1),
      target: `≤ ${budget} s`,
      met: partitionSeconds <= budget,
      note: `${Math.round(perPartitionItems).toLocaleString('en-US')} items on one (instrument, side, shard) at ${PARTITION_WRITE_UNITS} WCU/s (LSI item collections cannot split); ${shardsNeeded} shards would fit; reads ${PARTITION_READ_UNITS} RCU/s per partition are not binding`,
    },
    {
      name: 'watch cost per day at 10M, quiet',
      ours: usd(total(rows.quiet)),
      unit: 'USD/day',
      note: Object.entries(rows.quiet)
        .map(([k, v]) => `${k} $${usd(v)}`)
        .join(', '),
    },
    {
      name: 'watch cost per day at 10M, crash day',
      ours: usd(total(rows.quiet) + total(crashExtra)),
      unit: 'USD/day',
      note: `one crash minute adds ${Object.entries(crashExtra)
        .map(([k, v]) => `${k} $${usd(v)}`)
        .join(', ')}`,
    },
    {
      name: 'full sweeps: index upkeep per day at 10M, with stamps',
      ours: usd(stampedIndexDay),
      reference: usd(fullSweepIndexDay),
      unit: 'USD/day',
      ratio: round(stampedIndexDay / fullSweepIndexDay, 4),
      note: `stamp reads ${FULL_SWEEPS_PER_DAY} × ${AT_SCALE.toLocaleString('en-US')} × ½ RCU; every band and stamp refreshed 4/3 times a day; plus the bands of accounts that changed (record, state) or were crossed`,
    },
    {
      name: 'full sweeps: index rewrite per day at 10M',
      ours: usd(fullSweepIndexDay),
      reference: round(0.2 * FULL_SWEEPS_PER_DAY, 2),
      unit: 'USD/day',
      ratio: round(fullSweepIndexDay / (0.2 * FULL_SWEEPS_PER_DAY), 0),
      note: `every full sweep rewrites every band (${FULL_SWEEPS_PER_DAY} a day); reference = the quiet full sweeps' own cost (SCALE.md); busiest partition needs ${Math.round(fullSweepIndexPartitionSeconds)} s of writes per sweep`,
    },
  ];
  return {
    title: `Market watch: quiet minutes vs a full sweep (${ACCOUNTS} accounts, in memory), crash minute (DynamoDB Local, ${CRASH_ACCOUNTS} transitions), modelled at 10M`,
    figures,
  };
};

export default bench;
