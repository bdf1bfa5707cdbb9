/**
 * A whole exchange's book recalibrated (issue 16 item 4): `QMT_BENCH_SCALE_INSTRUMENTS` (default 300)
 * synthetic instruments on three loopback venues (Deribit, Binance, Coinbase: real HTTP servers on 127.0.0.1
 * in a worker thread, each enforcing its documented rate limit with 429 and Retry-After), recalibrated by the
 * real use case (`lib/app/recalibrate.ts`) through the real adapters (consensus, venue sources, their shared
 * rate limiters), with the candles kept in the candle store (`StoredCandleSource` on DynamoDB Local) and the
 * threshold set written to the thresholds table on the same Local.
 *
 * Three runs: (1) with the store, first run (the store empty); (2) with the store, one day later (steady
 * state); (3) without the store, that same later day (what every run costs without it). Per run: wall time
 * against the recalibrate function's timeout (from infra), requests and 429s per venue, DynamoDB units.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RECALIBRATE_MEMORY_MB, RECALIBRATE_TIMEOUT } from '../../infra/constructs/functions.ts';
import { DynamoDbCandleStore } from '../../lib/adapters/dynamodb/candle-store.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { startDynamoDbLocal } from '../../lib/adapters/local/dynamodb-local.ts';
import { VENUE_MIN_INTERVAL_MS } from '../../lib/adapters/market/http.ts';
import { ConsensusSource, createVenueSource } from '../../lib/adapters/market/index.ts';
import { InMemoryCandleStore, StoredCandleSource } from '../../lib/adapters/market/stored.ts';
import { recalibrate } from '../../lib/app/recalibrate.ts';
import type { InstrumentCatalogue } from '../../lib/config/instruments.ts';
import type { Candle, CandleSeries } from '../../lib/domain/market/candle.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';
import type { MarketDataSource, ThresholdStore, TimeRange } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryRunLedger,
  InMemoryThresholdStore,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import {
  DAY_MS,
  LOOPBACK_VENUES,
  type LoopbackVenue,
  startLoopbackVenues,
  syntheticCatalogue,
  syntheticInstruments,
  threadCpuSeconds,
  type VenueStats,
} from './support/loopback-venues.ts';
import type { Bench, BenchFigure } from './types.ts';

const INSTRUMENTS = Number(process.env.QMT_BENCH_SCALE_INSTRUMENTS ?? 300);
/** The first run's day; the second runs one day later. 00:05 UTC, as the schedule (`DEFAULT_RECALIBRATION`). */
const FIRST_DAY = Date.UTC(2026, 10, 24, 0, 5);
const PROGRESS_EVERY_MS = 15_000;
/**
 * Where the candles are kept: `memory` (default) or `dynamodb` (DynamoDB Local). On the shared 2-core box
 * Local cannot take a first run's backfill (≈ 1.8M items at 300 instruments): its writes time out and the
 * store degrades to refetching, so the default keeps the bars in memory through the same `StoredCandleSource`
 * and prices the DynamoDB units from the items read and written.
 */
/** `QMT_BENCH_SCALE_WITHOUT_STORE=0` skips the run without the store (its requests are the first run's). */
const WITHOUT_STORE = process.env.QMT_BENCH_SCALE_WITHOUT_STORE !== '0';
const STORE = process.env.QMT_BENCH_SCALE_STORE === 'dynamodb' ? 'dynamodb' : 'memory';

/** DynamoDB capacity units the store and the thresholds table consumed, as the service reports them. */
interface Units {
  read: number;
  write: number;
  calls: number;
}

/**
 * Asks every call on `table` for its consumed capacity, as DynamoDB Local reports it (the thresholds table:
 * a few calls a run; Local's figures for the candles' many concurrent batch writes were not reliable).
 */
function meterCapacity(client: DynamoDBClient, table: string): Units {
  const units: Units = { read: 0, write: 0, calls: 0 };
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as {
        ReturnConsumedCapacity?: string;
        TableName?: string;
        RequestItems?: object;
      };
      const onTable = input.TableName === table || Object.keys(input.RequestItems ?? {}).includes(table);
      if (!onTable) return next(args);
      input.ReturnConsumedCapacity = 'TOTAL';
      const result = await next(args);
      units.calls += 1;
      const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
      for (const c of Array.isArray(consumed) ? consumed : consumed ? [consumed] : []) {
        const { ReadCapacityUnits, WriteCapacityUnits, CapacityUnits } = c as Record<string, number>;
        if (ReadCapacityUnits !== undefined || WriteCapacityUnits !== undefined) {
          units.read += ReadCapacityUnits ?? 0;
          units.write += WriteCapacityUnits ?? 0;
        } else if (CapacityUnits !== undefined) {
          // Only the total: a write call's units are writes, any other call's reads.
          if (isWriteInput(args.input)) units.write += CapacityUnits;
          else units.read += CapacityUnits;
        }
      }
      return result;
    },
    { step: 'initialize', name: 'qmtBenchCapacityMeter' },
  );
  return units;
}

function isWriteInput(input: unknown): boolean {
  const i = input as Record<string, unknown>;
  return 'RequestItems' in i || 'Item' in i || 'TransactItems' in i || 'UpdateExpression' in i;
}

/**
 * A number's size in an item: 1 + its significant digits / 2 (its text less sign, point and exponent).
 * Counted by hand, not with a regular expression: 1.87M bars a first run made that one of the bench's own
 * hot spots, and the bench's CPU is the recalibration's event loop's too.
 */
function numberBytes(value: number): number {
  const text = String(value);
  const exponent = text.indexOf('e');
  const end = exponent < 0 ? text.length : exponent;
  let digits = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c !== 45 /* - */ && c !== 46 /* . */) digits++;
  }
  return 1 + Math.ceil(digits / 2);
}

/** A candle item's size by DynamoDB's rules: names and strings in UTF-8 bytes, a number ≈ 1 + digits / 2. */
function candleItemBytes(venue: string, instrument: string, intervalMs: number, bar: Candle): number {
  const number = numberBytes;
  const pk = `${venue}#${instrument}#${intervalMs}`;
  return (
    'pk'.length +
    pk.length +
    'time'.length +
    number(bar.time) +
    (['open', 'high', 'low', 'close', 'volume'] as const).reduce(
      (sum, field) => sum + field.length + number(bar[field]),
      0,
    )
  );
}

/**
 * The thresholds table, and an in-memory copy that takes over when a set cannot be stored there (a 300-
 * instrument set's correlations overflowed DynamoDB's 400 KB item before they were cut into chunk items):
 * the bench goes on to measure the rest, and says so.
 */
class FallbackThresholds implements ThresholdStore {
  private readonly memory = new InMemoryThresholdStore();
  failures: string[] = [];
  constructor(
    private readonly table: ThresholdStore,
    private readonly onFailure: (reason: string) => void,
  ) {}
  async currentSet() {
    return this.failures.length > 0 ? this.memory.currentSet() : this.table.currentSet();
  }
  async publishSet(set: ThresholdSet, expectedPreviousSetId: string | undefined): Promise<void> {
    if (this.failures.length === 0) {
      try {
        await this.table.publishSet(set, expectedPreviousSetId);
        return;
      } catch (error) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        this.failures.push(reason);
        this.onFailure(reason);
      }
    }
    this.memory.current = expectedPreviousSetId;
    await this.memory.publishSet(set, expectedPreviousSetId);
  }
  async history(instrument: string) {
    return this.memory.history(instrument);
  }
}

/** Counts the instruments whose candles came in, for the progress line, and when each quarter was in. */
class Progress implements MarketDataSource {
  readonly name: string;
  done = 0;
  /** Seconds from the start when a quarter, half, three quarters and all of the instruments' candles were in. */
  readonly quarters: number[] = [];
  /** Called once, when the last instrument's candles are in. */
  onAll?: () => void;
  private readonly t0 = performance.now();
  constructor(
    private readonly inner: MarketDataSource,
    private readonly total: number,
  ) {
    this.name = inner.name;
    if (inner.impliedVolatility) this.impliedVolatility = inner.impliedVolatility.bind(inner);
  }
  impliedVolatility?: MarketDataSource['impliedVolatility'];
  async candles(instrument: string, range: TimeRange, signal?: AbortSignal): Promise<CandleSeries> {
    try {
      return await this.inner.candles(instrument, range, signal);
    } finally {
      this.done += 1;
      while (
        this.done >= Math.ceil(((this.quarters.length + 1) * this.total) / 4) &&
        this.quarters.length < 4
      ) {
        this.quarters.push((performance.now() - this.t0) / 1000);
      }
      if (this.done === this.total) this.onAll?.();
    }
  }
}

/** CPU-seconds of one run, and the share used before the last instrument's candles were in. */
interface CpuFigures {
  /** The whole process: every thread (the recalibration's, V8's helpers, the loopback venues' worker). */
  process: number;
  /** The loopback venues' worker thread (a venue's own servers, not qmt's work). */
  venues: number;
  /** The recalibration's thread alone (its event loop: adapters, models, correlations, the bench's counting). */
  main: number;
  /** qmt's: the process less the venues' thread. */
  qmt: number;
  /** qmt's CPU-seconds until the last instrument's candles were in; the rest ran after all I/O. */
  qmtDuringIo: number;
  /** Seconds from the start until the last instrument's candles were in. */
  ioSeconds: number;
  /** Seconds when a quarter, half, three quarters and all instruments' candles were in. */
  quarters: number[];
}

interface RunFigures {
  label: string;
  seconds: number;
  cpu: CpuFigures;
  stats: VenueStats;
  units: Units;
  held: number;
  computed: number;
  candlesWritten: number;
  /** The candle store's units, priced from the items it read and wrote. */
  candleUnits: Units;
}

const bench: Bench = async (log) => {
  const timeoutS = RECALIBRATE_TIMEOUT.toSeconds();
  const instruments = syntheticInstruments(INSTRUMENTS, FIRST_DAY);
  const catalogue: InstrumentCatalogue = syntheticCatalogue(instruments);
  const policies = instruments.map(({ symbol }) => ({
    instrument: symbol,
    policy: DEFAULT_THRESHOLD_POLICY,
  }));
  log(
    `${INSTRUMENTS} instruments × ${LOOPBACK_VENUES.length} loopback venues; recalibrate timeout ${timeoutS} s`,
  );

  const venues = await startLoopbackVenues(instruments);
  const local = await startDynamoDbLocal({ timeToLive: false });
  try {
    const units = meterCapacity(local.client, local.tables.thresholds);
    const candleStore =
      STORE === 'dynamodb'
        ? new DynamoDbCandleStore(local.client, local.tables.candles)
        : new InMemoryCandleStore();
    // The store's DynamoDB units by the service's billing rules, from the items the store read and wrote
    // (whichever store is used): a write is 1 unit per item up to 1 KB; a Query ½ unit (eventually
    // consistent) per 4 KB of the items it returns, rounded up per call.
    let candlesWritten = 0;
    let candleWriteUnits = 0;
    let candleReadUnits = 0;
    const countingStore = {
      read: async (...args: Parameters<DynamoDbCandleStore['read']>) => {
        const bars = await candleStore.read(...args);
        const bytes = bars.reduce((sum, bar) => sum + candleItemBytes(args[0], args[1], args[2], bar), 0);
        candleReadUnits += Math.max(1, Math.ceil(bytes / 4096)) / 2;
        return bars;
      },
      write: async (...args: Parameters<DynamoDbCandleStore['write']>) => {
        candlesWritten += args[3].length;
        for (const bar of args[3]) {
          candleWriteUnits += Math.ceil(candleItemBytes(args[0], args[1], args[2], bar) / 1024);
        }
        await candleStore.write(...args);
      },
      // Where a venue's history starts (one small item a partition): counted with the reads and writes.
      readHistoryStart: async (...args: Parameters<DynamoDbCandleStore['readHistoryStart']>) => {
        candleReadUnits += 0.5;
        return candleStore.readHistoryStart(...args);
      },
      writeHistoryStart: async (...args: Parameters<DynamoDbCandleStore['writeHistoryStart']>) => {
        candleWriteUnits += 1;
        await candleStore.writeHistoryStart(...args);
      },
    };
    const thresholds = new FallbackThresholds(
      new DynamoDbThresholdStore(local.client, local.tables.thresholds),
      (reason) => log(`the threshold set could not be stored on DynamoDB: ${reason}`),
    );
    const clock = new FixedClock(FIRST_DAY);
    const ledger = new InMemoryRunLedger(clock);
    const warnings: string[] = [];

    const run = async (label: string, day: number, keep: boolean): Promise<RunFigures> => {
      clock.time = day;
      await venues.setNow(day);
      await venues.reset();
      const unitsBefore = { ...units };
      const writtenBefore = candlesWritten;
      const candleUnitsBefore = { read: candleReadUnits, write: candleWriteUnits };
      const settings = { catalogue, baseUrls: venues.baseUrls, now: () => clock.now() };
      const sources = LOOPBACK_VENUES.map((venue) => {
        const source = createVenueSource(venue, settings);
        return keep
          ? new StoredCandleSource(source, {
              store: countingStore,
              now: () => clock.now(),
              onWarning: (warning) => {
                warnings.push(warning);
                if (warnings.length <= 3) log(`store warning: ${warning}`);
              },
            })
          : source;
      });
      const market = new Progress(new ConsensusSource(sources), INSTRUMENTS);
      const ops = new RecordingOps();
      log(`${label}: started`);
      const cpu0 = process.cpuUsage();
      const main0 = threadCpuSeconds() ?? Number.NaN;
      const venues0 = (await venues.cpuSeconds()) ?? Number.NaN;
      let atIo: Promise<{ seconds: number; process: number; venues: number }> | undefined;
      market.onAll = () => {
        const seconds = (performance.now() - t0) / 1000;
        const used = process.cpuUsage(cpu0);
        atIo = venues.cpuSeconds().then((v) => ({
          seconds,
          process: (used.user + used.system) / 1e6,
          venues: (v ?? Number.NaN) - venues0,
        }));
      };
      const t0 = performance.now();
      const timer = setInterval(() => {
        void venues.stats().then((stats) => {
          const elapsed = (performance.now() - t0) / 1000;
          log(
            `${label}: ${elapsed.toFixed(0)} s, ${market.done}/${INSTRUMENTS} instruments' candles in; requests ${describeStats(stats)}`,
          );
        });
      }, PROGRESS_EVERY_MS);
      let result: Awaited<ReturnType<typeof recalibrate>>;
      try {
        result = await recalibrate(
          { market, thresholds, ledger, ops, clock },
          // One lease per run: the bench runs the same day twice (with and without the store).
          { runId: `${new Date(day).toISOString()} ${label}`, holder: 'bench', instruments: policies },
        );
      } finally {
        clearInterval(timer);
      }
      const seconds = (performance.now() - t0) / 1000;
      const used = process.cpuUsage(cpu0);
      const main = (threadCpuSeconds() ?? Number.NaN) - main0;
      const venuesCpu = ((await venues.cpuSeconds()) ?? Number.NaN) - venues0;
      const io = (await atIo) ?? { seconds, process: (used.user + used.system) / 1e6, venues: venuesCpu };
      const processCpu = (used.user + used.system) / 1e6;
      const cpu: CpuFigures = {
        process: processCpu,
        venues: venuesCpu,
        main,
        qmt: processCpu - venuesCpu,
        qmtDuringIo: io.process - io.venues,
        ioSeconds: io.seconds,
        quarters: market.quarters,
      };
      if (result.outcome !== 'published') throw new Error(`${label}: ${result.reason}`);
      const stats = await venues.stats();
      const held = result.held.length;
      const figures: RunFigures = {
        label,
        seconds,
        cpu,
        stats,
        units: {
          read: units.read - unitsBefore.read,
          write: units.write - unitsBefore.write,
          calls: units.calls - unitsBefore.calls,
        },
        held,
        computed: result.set.thresholds.length - held,
        candlesWritten: candlesWritten - writtenBefore,
        candleUnits: {
          read: candleReadUnits - candleUnitsBefore.read,
          write: candleWriteUnits - candleUnitsBefore.write,
          calls: 0,
        },
      };
      log(
        `${label}: ${seconds.toFixed(1)} s; ${figures.computed} computed, ${held} held; requests ${describeStats(stats)}; candles ${figures.candleUnits.read.toFixed(0)} RCU, ${figures.candleUnits.write.toFixed(0)} WCU (${figures.candlesWritten} written); thresholds ${figures.units.read.toFixed(0)} RCU, ${figures.units.write.toFixed(0)} WCU`,
      );
      log(
        `${label}: CPU-s: process ${cpu.process.toFixed(1)}, venues' thread ${cpu.venues.toFixed(1)}, qmt ${cpu.qmt.toFixed(1)} (its event loop ${cpu.main.toFixed(1)}; ${cpu.qmtDuringIo.toFixed(1)} before the last candles were in at ${cpu.ioSeconds.toFixed(1)} s); instruments' candles in by quarter at ${cpu.quarters.map((q) => q.toFixed(0)).join(', ')} s; Lambda modelled ${lambdaSeconds(figures).toFixed(0)} s`,
      );
      if (warnings.length > 0) log(`${label}: ${warnings.length} store warnings so far`);
      return figures;
    };

    const first = await run('store, first run', FIRST_DAY, true);
    const steady = await run('store, next day', FIRST_DAY + DAY_MS, true);
    // Without the store every run asks for the whole range, as the store's first run does: the same requests.
    const bare = WITHOUT_STORE ? await run('no store, next day', FIRST_DAY + DAY_MS, false) : first;
    if (warnings.length > 0) log(`store warnings: ${warnings.length}, first: ${warnings[0]}`);

    const figures: BenchFigure[] = [];
    // Without the store's run the first run stands for it (the same requests), so it is listed once.
    for (const r of WITHOUT_STORE ? [first, steady, bare] : [first, steady]) {
      figures.push({
        name: `${r.label}: wall time`,
        ours: r.seconds,
        reference: timeoutS,
        unit: 's',
        ratio: r.seconds / timeoutS,
        target: `< timeout (${timeoutS} s)`,
        met: r.seconds < timeoutS,
        note: `${r.computed} computed, ${r.held} held; reference = the recalibrate function's timeout`,
      });
      figures.push({
        name: `${r.label}: qmt CPU-seconds`,
        ours: r.cpu.qmt,
        unit: 'CPU-s',
        note: `process ${r.cpu.process.toFixed(1)} less the venues' thread ${r.cpu.venues.toFixed(1)}; ${r.cpu.qmtDuringIo.toFixed(1)} of it before the last candles were in (at ${r.cpu.ioSeconds.toFixed(1)} s)`,
      });
      figures.push({
        name: `${r.label}: Lambda wall time, modelled`,
        ours: lambdaSeconds(r),
        reference: timeoutS,
        unit: 's',
        ratio: lambdaSeconds(r) / timeoutS,
        target: `< timeout (${timeoutS} s)`,
        met: lambdaSeconds(r) < timeoutS,
        note: `max(pacing floor ${pacingFloorSeconds(r.stats).toFixed(0)} s, CPU before the last candles ÷ ${vcpuShare().toFixed(2)} vCPU) + CPU after them ÷ that share (${RECALIBRATE_MEMORY_MB} MB)`,
      });
      for (const venue of LOOPBACK_VENUES) {
        const s = r.stats[venue];
        figures.push({
          name: `${r.label}: ${venue} requests`,
          ours: s.requests,
          ...(r !== bare
            ? { reference: bare.stats[venue].requests, ratio: s.requests / bare.stats[venue].requests }
            : {}),
          unit: 'requests',
        });
        figures.push({
          name: `${r.label}: ${venue} 429s`,
          ours: s.throttled,
          unit: 'responses',
          target: '0',
          met: s.throttled === 0,
          note: `peak ${s.peakPerSecond} requests in one second`,
        });
      }
      figures.push({ name: `${r.label}: candle store read units`, ours: r.candleUnits.read, unit: 'RCU' });
      figures.push({
        name: `${r.label}: candle store write units`,
        ours: r.candleUnits.write,
        unit: 'WCU',
        note: `${r.candlesWritten} candles written`,
      });
      figures.push({ name: `${r.label}: thresholds read units`, ours: r.units.read, unit: 'RCU' });
      figures.push({ name: `${r.label}: thresholds write units`, ours: r.units.write, unit: 'WCU' });
    }
    if (thresholds.failures.length > 0) {
      figures.push({
        name: 'threshold sets the thresholds table refused',
        ours: thresholds.failures.length,
        unit: 'sets',
        target: '0',
        met: false,
        note: thresholds.failures[0] ?? '',
      });
    }
    figures.push({
      name: 'Lambda GB-s per run (steady, with the store)',
      ours: (steady.seconds * RECALIBRATE_MEMORY_MB) / 1024,
      unit: 'GB-s',
      note: `${RECALIBRATE_MEMORY_MB} MB × the measured steady run`,
    });
    return {
      title: `Exchange scale: ${INSTRUMENTS} instruments × 3 loopback venues, recalibrated with and without the candle store`,
      figures,
    };
  } finally {
    await local.stop();
    await venues.close();
  }
};

/** Lambda's CPU share at the recalibrate function's memory: one full vCPU at 1,769 MB, in proportion below. */
function vcpuShare(): number {
  return Math.min(1, RECALIBRATE_MEMORY_MB / 1769);
}

/** The venues' pacing alone: the slowest venue's requests at its limiter's interval. */
function pacingFloorSeconds(stats: VenueStats): number {
  return Math.max(...LOOPBACK_VENUES.map((v) => (stats[v].requests * VENUE_MIN_INTERVAL_MS[v]) / 1000));
}

/**
 * The run's wall time on the function, modelled from its CPU-seconds: the CPU spent while candles were still
 * being paced overlaps the pacing (it cannot finish before either), the CPU after the last candles (the
 * correlations, the set's write) follows it; both at the function's vCPU share. The loopback venues' own
 * CPU is not the function's and is left out.
 */
function lambdaSeconds(r: Pick<RunFigures, 'cpu' | 'stats'>): number {
  const share = vcpuShare();
  return (
    Math.max(pacingFloorSeconds(r.stats), r.cpu.qmtDuringIo / share) + (r.cpu.qmt - r.cpu.qmtDuringIo) / share
  );
}

function describeStats(stats: VenueStats): string {
  return LOOPBACK_VENUES.map(
    (venue: LoopbackVenue) =>
      `${venue} ${stats[venue].requests}${stats[venue].throttled > 0 ? ` (${stats[venue].throttled} × 429)` : ''}`,
  ).join(', ');
}

export default bench;
