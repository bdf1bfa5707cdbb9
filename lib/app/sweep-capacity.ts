/**
 * Capacity model of one full sweep: from the plan (segments, worker concurrency) and each worker's measured
 * throughput to how long the sweep takes, the DynamoDB and SNS throughput it needs, and what it costs.
 * `docs/SCALE.md` is this model evaluated at ten million accounts; `test/app/sweep-capacity.test.ts` checks
 * that the document, `planSweep` and the stack's concurrency settings agree with it.
 *
 * The model is deliberately simple (every worker runs at the same rate; waves of workers run back to back)
 * so a reader can redo it by hand. Each input says where its value comes from.
 */
import type { SweepPlan } from './plan-sweep.ts';

/** What one sweep worker does per second, measured by `npm run bench -- store-sweep`. */
export interface WorkerThroughput {
  /** Accounts read, validated, valued and compared with their status per second when nothing changes. */
  readonly quietAccountsPerSecond: number;
  /** State changes per second beyond that: conditional status write, alert publish, outbox clear. */
  readonly transitionsPerSecond: number;
  /** Seconds from the schedule firing until the first workers run: coordinator, SQS delivery, cold start. */
  readonly startupSeconds: number;
}

/**
 * How fast the SQS event source adds workers. Standard mode (the stack's): 5 concurrent invocations at once,
 * then up to 300 more per minute, and it scales back to 5 between sweeps (Lambda developer guide, "Configuring
 * scaling behavior for SQS event source mappings").
 */
export interface WorkerRamp {
  readonly initialWorkers: number;
  readonly addedWorkersPerSecond: number;
}

export const SQS_STANDARD_RAMP: WorkerRamp = { initialWorkers: 5, addedWorkersPerSecond: 300 / 60 };

/** Item sizes that set DynamoDB's read and write units. */
export interface ItemSizes {
  /** Average stored account item (the exchange's table), bytes by DynamoDB's sizing rules. */
  readonly accountItemBytes: number;
  /** A margin status item without its pending alert. */
  readonly statusItemBytes: number;
  /** One alert message (JSON), also stored as the status's `pendingAlert` until published. */
  readonly alertBytes: number;
  /** The sweep reads statuses strongly consistent (1 unit per 4 KB instead of ½). */
  readonly consistentStatusReads: boolean;
  /** One watchlist index entry (keys only: account id and shard), read by every worker at its start. */
  readonly watchlistEntryBytes: number;
}

/** List prices in USD; us-east-1 on-demand figures in `SCALE.md`, with their sources. */
export interface UnitPrices {
  readonly readRequestUnitsPerMillion: number;
  readonly writeRequestUnitsPerMillion: number;
  readonly lambdaGbSecond: number;
  readonly lambdaRequestsPerMillion: number;
  /** SNS bills each 64 KB chunk of a Publish/PublishBatch request as one request. */
  readonly snsRequestsPerMillion: number;
  readonly sqsRequestsPerMillion: number;
}

export interface SweepCapacityInput {
  readonly accounts: number;
  /** Share of accounts that change state in this sweep: 0 on a quiet day, e.g. 0.1 on a crash day. */
  readonly transitionShare: number;
  /**
   * Share of accounts on the status watchlist when the sweep starts (not OK, or an alert pending). Only
   * their statuses are read up front, plus those of the accounts about to change state. 1 = no watchlist.
   */
  readonly watchedShare: number;
  /** Past this many watched accounts a worker reads every status instead (the store's limit). */
  readonly watchlistLimit: number;
  readonly plan: SweepPlan;
  /** The sweep queue's event source maximum concurrency (the stack's `sweepWorkerConcurrency`). */
  readonly workerConcurrency: number;
  readonly workerMemoryMb: number;
  readonly ramp: WorkerRamp;
  readonly throughput: WorkerThroughput;
  readonly sizes: ItemSizes;
  readonly prices: UnitPrices;
  /** Seconds the sweep must end in, for `required…` rates. @default 60 */
  readonly deadlineSeconds?: number;
}

export interface SweepCost {
  readonly dynamoDbReads: number;
  readonly dynamoDbWrites: number;
  readonly lambda: number;
  readonly sns: number;
  readonly sqs: number;
  readonly total: number;
}

export interface SweepCapacity {
  /** Segments beyond the worker concurrency wait for a free worker: waves run one after another. */
  readonly waves: number;
  /** Seconds after start-up until the last worker of the first wave is running (the event source's ramp). */
  readonly rampSeconds: number;
  readonly accountsPerWorker: number;
  readonly workerSeconds: number;
  /** Start-up, the ramp, then every wave. */
  readonly sweepSeconds: number;
  /** Accounts per second across all workers once the first wave is running (the peak the tables see). */
  readonly accountsPerSecond: number;
  /** Workers running at once at the peak (the first wave, unless the ramp is slower than a worker). */
  readonly peakWorkers: number;
  /** The least steady accounts/s over the deadline after start-up; the units below scale with it. */
  readonly requiredAccountsPerSecond: number;
  /** Read units per second on the status table at the required steady rate. */
  readonly requiredStatusReadUnitsPerSecond: number;
  /** Read units per second on the accounts table at the required steady rate. */
  readonly requiredAccountsTableReadUnitsPerSecond: number;
  /** Peak read units per second on the accounts table (parallel Scan, eventually consistent). */
  readonly accountsTableReadUnitsPerSecond: number;
  /**
   * Peak read units per second on the margin status table and its watchlist index (BatchGetItem rounds each
   * item up to 4 KB; the watchlist Query sums sizes).
   */
  readonly statusReadUnitsPerSecond: number;
  /** Peak write units per second on the margin status table (conditional transition + outbox clear). */
  readonly statusWriteUnitsPerSecond: number;
  /** Peak alert messages per second to SNS (each PublishBatch carries up to 10). */
  readonly alertsPerSecond: number;
  readonly readUnits: number;
  readonly writeUnits: number;
  readonly snsBilledRequests: number;
  readonly lambdaGbSeconds: number;
  readonly costUsd: SweepCost;
}

const SCAN_UNIT_BYTES = 4096;
const WRITE_UNIT_BYTES = 1024;
const SNS_CHUNK_BYTES = 64 * 1024;
const PUBLISH_BATCH = 10;

/**
 * @example
 * const c = sweepCapacity({ accounts: 10_000_000, transitionShare: 0, plan: planSweep({ approximateAccounts: 10_000_000 }), ... });
 * c.sweepSeconds; // start-up + accounts per worker / rate
 */
export function sweepCapacity(input: SweepCapacityInput): SweepCapacity {
  const { accounts, plan, throughput, sizes, prices } = input;
  const deadline = input.deadlineSeconds ?? 60;
  for (const [name, value] of [
    ['accounts', accounts],
    ['workerConcurrency', input.workerConcurrency],
    ['quietAccountsPerSecond', throughput.quietAccountsPerSecond],
    ['transitionsPerSecond', throughput.transitionsPerSecond],
  ] as const) {
    if (!(value > 0) || !Number.isFinite(value)) {
      throw new RangeError(`sweepCapacity: ${name} must be a positive number, got ${value}`);
    }
  }
  for (const [name, value] of [
    ['transitionShare', input.transitionShare],
    ['watchedShare', input.watchedShare],
  ] as const) {
    if (!(value >= 0 && value <= 1)) {
      throw new RangeError(`sweepCapacity: ${name} must be in [0, 1], got ${value}`);
    }
  }

  const waves = Math.ceil(plan.totalSegments / input.workerConcurrency);
  const accountsPerWorker = Math.ceil(accounts / plan.totalSegments);
  const workerSeconds =
    accountsPerWorker / throughput.quietAccountsPerSecond +
    (accountsPerWorker * input.transitionShare) / throughput.transitionsPerSecond;
  const firstWave = Math.min(plan.totalSegments, input.workerConcurrency);
  const rampSeconds = Math.max(0, firstWave - input.ramp.initialWorkers) / input.ramp.addedWorkersPerSecond;
  // Later waves reuse running workers, so only the first one waits for the ramp.
  const runningSeconds = waves * workerSeconds;
  const sweepSeconds = throughput.startupSeconds + rampSeconds + runningSeconds;
  const transitions = accounts * input.transitionShare;

  // Scan sums the sizes of the items it reads (eventually consistent: ½ unit per 4 KB); BatchGetItem rounds
  // each item up to 4 KB. A transition writes the status with its pending alert, and the clear rewrites it:
  // UpdateItem is charged on the larger of the item before and after.
  const scanUnits = (accounts * sizes.accountItemBytes) / SCAN_UNIT_BYTES / 2;
  // Statuses read: the watched ones and those of accounts about to change state; all past the limit.
  const watched = accounts * input.watchedShare;
  const useWatchlist = input.watchedShare < 1 && watched <= input.watchlistLimit;
  const statusesRead = useWatchlist ? Math.min(accounts, watched + transitions) : accounts;
  const statusReadUnits =
    statusesRead *
    Math.ceil(sizes.statusItemBytes / SCAN_UNIT_BYTES) *
    (sizes.consistentStatusReads ? 1 : 0.5);
  // Every worker reads the whole watchlist (a keys-only Query, eventually consistent) when it starts.
  const watchlistUnits = useWatchlist
    ? plan.totalSegments * Math.ceil((watched * sizes.watchlistEntryBytes) / SCAN_UNIT_BYTES) * 0.5
    : 0;
  const writeUnitsPerTransition =
    2 * Math.ceil((sizes.statusItemBytes + sizes.alertBytes) / WRITE_UNIT_BYTES);
  const writeUnits = transitions * writeUnitsPerTransition;
  const readUnits = scanUnits + statusReadUnits + watchlistUnits;
  const snsBilledRequests =
    Math.ceil(transitions / PUBLISH_BATCH) * Math.ceil((PUBLISH_BATCH * sizes.alertBytes) / SNS_CHUNK_BYTES);
  const lambdaGbSeconds =
    plan.totalSegments * workerSeconds * (input.workerMemoryMb / 1024) + throughput.startupSeconds;
  // One message per segment: send, receive, delete.
  const sqsRequests = 3 * plan.totalSegments;

  // Peak: as many workers as run at once, each at its blended rate. While the event source ramps up, the
  // first workers may finish before the last ones start.
  const peakWorkers = Math.min(
    firstWave,
    input.ramp.initialWorkers + input.ramp.addedWorkersPerSecond * workerSeconds,
  );
  const peakAccountsPerSecond = (peakWorkers * accountsPerWorker) / workerSeconds;
  // The least steady rate that still meets the deadline, were workers paced to it.
  const requiredAccountsPerSecond =
    accounts / Math.max(deadline - throughput.startupSeconds, Number.MIN_VALUE);
  const perMillion = (n: number, price: number) => (n / 1e6) * price;
  const cost = {
    dynamoDbReads: perMillion(readUnits, prices.readRequestUnitsPerMillion),
    dynamoDbWrites: perMillion(writeUnits, prices.writeRequestUnitsPerMillion),
    lambda:
      lambdaGbSeconds * prices.lambdaGbSecond +
      perMillion(plan.totalSegments + 1, prices.lambdaRequestsPerMillion),
    sns: perMillion(snsBilledRequests, prices.snsRequestsPerMillion),
    sqs: perMillion(sqsRequests, prices.sqsRequestsPerMillion),
  };
  return {
    waves,
    rampSeconds,
    accountsPerWorker,
    workerSeconds,
    sweepSeconds,
    accountsPerSecond: peakAccountsPerSecond,
    peakWorkers,
    requiredAccountsPerSecond,
    requiredStatusReadUnitsPerSecond:
      ((statusReadUnits + watchlistUnits) / accounts) * requiredAccountsPerSecond,
    requiredAccountsTableReadUnitsPerSecond: (scanUnits / accounts) * requiredAccountsPerSecond,
    accountsTableReadUnitsPerSecond: (scanUnits / accounts) * peakAccountsPerSecond,
    statusReadUnitsPerSecond: ((statusReadUnits + watchlistUnits) / accounts) * peakAccountsPerSecond,
    statusWriteUnitsPerSecond: (writeUnits / accounts) * peakAccountsPerSecond,
    alertsPerSecond: input.transitionShare * peakAccountsPerSecond,
    readUnits,
    writeUnits,
    snsBilledRequests,
    lambdaGbSeconds,
    costUsd: {
      ...cost,
      total: cost.dynamoDbReads + cost.dynamoDbWrites + cost.lambda + cost.sns + cost.sqs,
    },
  };
}

/**
 * One sweep worker's rates, measured by `npm run bench -- store-sweep` against DynamoDB Local on the shared
 * 2-core bench box (docs/PERFORMANCE.md, docs/SCALE.md): steady sweeps ran at 4,000–9,900 accounts/s over
 * five runs (7,937/s in the run this was fitted to), transitions at 231–568 a second beyond that (16
 * conditional writes in flight; 347 in the fitted run), rounded down. DynamoDB Local shares the
 * worker's two cores, so these are taken as a floor for the real service.
 * Start-up: module init (~0.2 s, cold-start bench) plus the coordinator's DescribeTable and SendMessageBatch
 * calls and the SQS poll.
 */
export const MEASURED_WORKER_THROUGHPUT: WorkerThroughput = {
  quietAccountsPerSecond: 7_500,
  transitionsPerSecond: 340,
  startupSeconds: 2,
};

/**
 * Item sizes by DynamoDB's rules, rounded up from what `test/app/sweep-capacity.test.ts` measures on real
 * items: an account with 2 collateral assets and 5 perpetuals (631 B), a status (268 B), an alert of schema
 * 1.1 with the marks of its three instruments (714 B of JSON). Status and alert stay within one 1 KB write
 * unit: 1.1's marks left about 30 B of headroom, so an alert with more instruments takes two.
 */
export const TYPICAL_ITEM_SIZES: ItemSizes = {
  accountItemBytes: 1_024,
  statusItemBytes: 300,
  alertBytes: 724,
  consistentStatusReads: true,
  watchlistEntryBytes: 64,
};

/**
 * us-east-1 list prices, November 2026 (aws.amazon.com/dynamodb/pricing/on-demand, /lambda/pricing for
 * Arm, /sns/pricing, /sqs/pricing). Other regions differ; pass your own.
 */
export const US_EAST_1_PRICES: UnitPrices = {
  readRequestUnitsPerMillion: 0.125,
  writeRequestUnitsPerMillion: 0.625,
  lambdaGbSecond: 0.0000133334,
  lambdaRequestsPerMillion: 0.2,
  snsRequestsPerMillion: 0.5,
  sqsRequestsPerMillion: 0.4,
};

/** DynamoDB's default table-level throughput quota (read and write units per second, each), raisable. */
export const DEFAULT_TABLE_THROUGHPUT_QUOTA = 40_000;
