/**
 * The adapters a function's use case needs, built from the runtime configuration once per container and
 * each only when first used: a function that never reads the accounts table never creates its store, and
 * importing a handler module creates no AWS client at all. Tests pass `overrides` for any part (a fixed
 * market, an in-memory store) and keep the rest.
 */
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { DynamoDbBacktestReportStore } from '../../lib/adapters/dynamodb/backtest-report-store.ts';
import { DynamoDbBreachIndex } from '../../lib/adapters/dynamodb/breach-index.ts';
import { DynamoDbCandleStore } from '../../lib/adapters/dynamodb/candle-store.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import { DynamoDbRunLedger } from '../../lib/adapters/dynamodb/run-ledger.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { LambdaTargetedSweepInvoker } from '../../lib/adapters/lambda/targeted-invoker.ts';
import {
  BAR_INTERVAL_MS,
  type BarInterval,
  ConsensusSource,
  createVenueSource,
} from '../../lib/adapters/market/index.ts';
import { createVenueMarkSources } from '../../lib/adapters/market/marks/index.ts';
import { StoredCandleSource } from '../../lib/adapters/market/stored.ts';
import type { RetryPolicy } from '../../lib/adapters/retry.ts';
import { SnsAlertPublisher } from '../../lib/adapters/sns/alert-publisher.ts';
import { SnsOpsPublisher } from '../../lib/adapters/sns/ops-publisher.ts';
import { SqsSweepQueue, SqsTargetedSweepQueue } from '../../lib/adapters/sqs/sweep-queue.ts';
import { LiveMarkSource } from '../../lib/app/live-marks.ts';
import { ReferenceCloseMarkSource } from '../../lib/app/reference-close-marks.ts';
import { ConfigError } from '../../lib/config/errors.ts';
import { RUNTIME_ENV, type RuntimeConfig } from '../../lib/config/runtime.ts';
import { DEFAULT_THRESHOLD_POLICY } from '../../lib/domain/threshold/policy.ts';
import type {
  AccountReader,
  AccountSource,
  AlertPublisher,
  BacktestReportStore,
  BreachIndex,
  CandleRevision,
  CandleStore,
  Clock,
  MarginStatusStore,
  MarketDataSource,
  MarkSource,
  OpsPublisher,
  RunLedger,
  SweepQueue,
  TargetedSweepInvoker,
  TargetedSweepQueue,
  ThresholdStore,
} from '../../lib/ports.ts';
import { dynamoDbClient, lambdaClient, snsTopicClient, sqsClient } from './clients.ts';

export interface Adapters {
  readonly clock: Clock;
  readonly market: MarketDataSource;
  /**
   * The same consensus, each venue's candles kept in the candles table: a run fetches only the bars after
   * the last stored one plus a short re-check window (`lib/adapters/market/stored.ts`). The recalibration
   * uses it; revisions and store warnings collect in `candleNotes` for the run to report.
   */
  readonly keptMarket: MarketDataSource;
  /**
   * Hourly bars from the same venues, agreed hour by hour and kept in the candles table beside the daily
   * ones (re-checking the last `HOURLY_RECHECK_BARS`): the recalibration reads it for an hourly MPOR.
   */
  readonly keptHourlyMarket: MarketDataSource;
  readonly candles: CandleStore;
  /** What the kept market noticed since the last drain: venues' revisions of stored bars, store warnings. */
  readonly candleNotes: CandleNotes;
  /**
   * The marks sweeps and the market watch value at: a `LiveMarkSource` over the configured venues when the
   * configuration's `marks.live` is on (the stack's default), else the CURRENT set's reference closes. The
   * live source keeps its last accepted mark per instrument (the jump check's reference) in memory, per
   * Lambda container: a new container accepts its first look on quorum and deviation alone.
   */
  readonly marks: MarkSource;
  /** Breach bands per account: kept by every full sweep, read by the market watch. */
  readonly breachIndex: BreachIndex;
  readonly thresholds: ThresholdStore;
  /** The daily backtest report of each set, beside the set in the thresholds table. */
  readonly backtestReports: BacktestReportStore;
  readonly ledger: RunLedger;
  readonly ops: OpsPublisher;
  readonly alerts: AlertPublisher;
  readonly accounts: AccountSource;
  /** Accounts by id (BatchGetItem), for the market watch's targeted sweeps. */
  readonly accountReader: AccountReader;
  readonly statuses: MarginStatusStore;
  readonly sweepQueue: SweepQueue;
  /** A crash minute's targeted segments, on the sweep queue (the market watch sends them). */
  readonly targetedQueue: TargetedSweepQueue;
  /**
   * A crash minute's targeted segments invoked straight on the sweep worker (asynchronously), when the
   * configuration names it (`QMT_SWEEP_WORKER_FUNCTION`, set on the market watch); else undefined and
   * they go to the queue.
   */
  readonly targetedInvoker: TargetedSweepInvoker | undefined;
}

/**
 * Hourly bars before the last stored one fetched again each run: a day, so a venue's late correction of
 * any hour since yesterday's run is seen (and reported); it costs no extra request.
 */
export const HOURLY_RECHECK_BARS = 24;

export interface CandleNotes {
  readonly revisions: CandleRevision[];
  readonly warnings: string[];
}

/**
 * Sending a segment message must fit in a worker's last 30 seconds, so retries stop after 10: a failed
 * continuation then fails its record, and SQS redelivers it.
 */
export const SWEEP_QUEUE_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 6,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  deadlineMs: 10_000,
};

/**
 * The container's adapters for `config`, each created on first access.
 *
 * @example
 * const ports = adapters(config);
 * await recalibrate({ market: ports.market, thresholds: ports.thresholds, ledger: ports.ledger, ops: ports.ops, clock: ports.clock }, request);
 */
export function adapters(config: RuntimeConfig, overrides: Partial<Adapters> = {}): Adapters {
  const factories: { readonly [K in keyof Adapters]: () => Adapters[K] } = {
    clock: () => ({ now: () => Date.now() }),
    market: () => consensusOf(venueSources()),
    keptMarket: () => consensusOf(venueSources().map((venue) => new StoredCandleSource(venue, keeping()))),
    keptHourlyMarket: () =>
      consensusOf(
        venueSources('1h').map(
          (venue) =>
            new StoredCandleSource(venue, {
              ...keeping(),
              intervalMs: BAR_INTERVAL_MS['1h'],
              recheckBars: HOURLY_RECHECK_BARS,
            }),
        ),
        BAR_INTERVAL_MS['1h'],
      ),
    candles: () => new DynamoDbCandleStore(dynamoDbClient(), config.tables.candles),
    candleNotes: () => ({ revisions: [], warnings: [] }),
    marks: () =>
      config.marks.live
        ? new LiveMarkSource({
            venues: createVenueMarkSources(config.marks.venues, { catalogue: config.catalogue }),
            policyFor: (instrument) => policyOf(instrument).marks,
            clock: get('clock'),
          })
        : new ReferenceCloseMarkSource(get('thresholds'), get('clock')),
    breachIndex: () => new DynamoDbBreachIndex(dynamoDbClient(), config.tables.breachIndex),
    thresholds: () => new DynamoDbThresholdStore(dynamoDbClient(), config.tables.thresholds),
    backtestReports: () => new DynamoDbBacktestReportStore(dynamoDbClient(), config.tables.thresholds),
    ledger: () => new DynamoDbRunLedger(dynamoDbClient(), config.tables.runs),
    ops: () =>
      new SnsOpsPublisher({
        client: snsTopicClient(),
        topicArn: required(config.opsTopicArn, RUNTIME_ENV.opsTopicArn),
      }),
    alerts: () =>
      new SnsAlertPublisher({
        client: snsTopicClient(),
        topicArn: required(config.alertsTopicArn, RUNTIME_ENV.alertsTopicArn),
      }),
    accounts: () => new DynamoDbAccountSource(dynamoDbClient(), config.tables.accounts),
    accountReader: () => new DynamoDbAccountSource(dynamoDbClient(), config.tables.accounts),
    statuses: () => new DynamoDbMarginStatusStore(dynamoDbClient(), config.tables.marginStatus),
    sweepQueue: () =>
      new SqsSweepQueue({
        client: sqsClient,
        queueUrl: required(config.sweepQueueUrl, RUNTIME_ENV.sweepQueueUrl),
        retryPolicy: SWEEP_QUEUE_RETRY_POLICY,
      }),
    targetedQueue: () =>
      new SqsTargetedSweepQueue({
        client: sqsClient,
        queueUrl: required(config.sweepQueueUrl, RUNTIME_ENV.sweepQueueUrl),
        retryPolicy: SWEEP_QUEUE_RETRY_POLICY,
      }),
    targetedInvoker: () =>
      config.sweepWorkerFunction === undefined
        ? undefined
        : new LambdaTargetedSweepInvoker({
            client: lambdaClient,
            functionName: config.sweepWorkerFunction,
            // Within the watch's minute: what is not handed over by then is queued instead.
            retryPolicy: SWEEP_QUEUE_RETRY_POLICY,
          }),
  };
  const keeping = () => ({
    store: get('candles'),
    onRevision: (revision: CandleRevision) => get('candleNotes').revisions.push(revision),
    onWarning: (warning: string) => get('candleNotes').warnings.push(warning),
    now: () => get('clock').now(),
  });
  const venueSources = (interval: BarInterval = '1d') =>
    config.venues.map((venue) => createVenueSource(venue, { catalogue: config.catalogue, interval }));
  const consensusOf = (venues: readonly MarketDataSource[], intervalMs?: number) =>
    new ConsensusSource(venues, {
      ...(config.consensus.tolerance === undefined ? {} : { tolerance: config.consensus.tolerance }),
      ...(config.consensus.quorum === undefined ? {} : { quorum: config.consensus.quorum }),
      ...(intervalMs === undefined ? {} : { intervalMs }),
    });
  const policyOf = (instrument: string) =>
    config.instruments.find((entry) => entry.instrument === instrument)?.policy ?? DEFAULT_THRESHOLD_POLICY;
  const built = new Map<keyof Adapters, unknown>(
    (Object.entries(overrides) as [keyof Adapters, unknown][]).filter(([, adapter]) => adapter !== undefined),
  );
  const get = <K extends keyof Adapters>(key: K): Adapters[K] => {
    if (!built.has(key)) built.set(key, factories[key]());
    return built.get(key) as Adapters[K];
  };
  return {
    get clock() {
      return get('clock');
    },
    get market() {
      return get('market');
    },
    get keptMarket() {
      return get('keptMarket');
    },
    get keptHourlyMarket() {
      return get('keptHourlyMarket');
    },
    get candles() {
      return get('candles');
    },
    get candleNotes() {
      return get('candleNotes');
    },
    get marks() {
      return get('marks');
    },
    get breachIndex() {
      return get('breachIndex');
    },
    get thresholds() {
      return get('thresholds');
    },
    get backtestReports() {
      return get('backtestReports');
    },
    get ledger() {
      return get('ledger');
    },
    get ops() {
      return get('ops');
    },
    get alerts() {
      return get('alerts');
    },
    get accounts() {
      return get('accounts');
    },
    get accountReader() {
      return get('accountReader');
    },
    get statuses() {
      return get('statuses');
    },
    get sweepQueue() {
      return get('sweepQueue');
    },
    get targetedQueue() {
      return get('targetedQueue');
    },
    get targetedInvoker() {
      return get('targetedInvoker');
    },
  };
}

/** A resource the function's configuration did not require, used anyway: a wiring mistake, named. */
function required(value: string | undefined, variable: string): string {
  if (value === undefined) {
    throw new ConfigError(`${variable} is not set, but this function uses it`, variable);
  }
  return value;
}
