/**
 * `qmt scale`: the capacity model of a full sweep (`lib/app/sweep-capacity.ts`) for a table size and a
 * deployment, on a quiet day and on a crash day. `docs/SCALE.md` prints this command's output.
 */
import { DEFAULT_WATCHLIST_LIMIT } from '../../adapters/dynamodb/margin-status-store.ts';
import { planSweep, type SweepPlan } from '../../app/plan-sweep.ts';
import {
  DEFAULT_TABLE_THROUGHPUT_QUOTA,
  MEASURED_WORKER_THROUGHPUT,
  SQS_STANDARD_RAMP,
  type SweepCapacity,
  sweepCapacity,
  TYPICAL_ITEM_SIZES,
  US_EAST_1_PRICES,
} from '../../app/sweep-capacity.ts';
import { renderTable } from '../table.ts';

export interface ScaleOptions {
  readonly accounts: number;
  readonly accountsPerSegment?: number;
  readonly maxSegments?: number;
  /** The stack's `sweepWorkerConcurrency`. */
  readonly workerConcurrency: number;
  readonly workerMemoryMb: number;
  /** Share of accounts changing state in the crash-day sweep. */
  readonly crashShare: number;
  /** Share of accounts not OK (on the status watchlist) when a sweep starts. */
  readonly watchedShare: number;
  /** Full sweeps a day at the schedule (rate(5 minutes): 288). */
  readonly sweepsPerDay: number;
  readonly deadlineSeconds: number;
}

export interface ScaleReport {
  readonly options: ScaleOptions;
  readonly plan: SweepPlan;
  readonly quiet: SweepCapacity;
  readonly crash: SweepCapacity;
  /** A day of quiet sweeps at the schedule. */
  readonly quietDayUsd: number;
}

export function scaleReport(options: ScaleOptions): ScaleReport {
  const plan = planSweep({
    approximateAccounts: options.accounts,
    ...(options.accountsPerSegment === undefined ? {} : { accountsPerSegment: options.accountsPerSegment }),
    ...(options.maxSegments === undefined ? {} : { maxSegments: options.maxSegments }),
  });
  const at = (transitionShare: number) =>
    sweepCapacity({
      accounts: options.accounts,
      transitionShare,
      watchedShare: options.watchedShare,
      watchlistLimit: DEFAULT_WATCHLIST_LIMIT,
      plan,
      workerConcurrency: options.workerConcurrency,
      workerMemoryMb: options.workerMemoryMb,
      ramp: SQS_STANDARD_RAMP,
      throughput: MEASURED_WORKER_THROUGHPUT,
      sizes: TYPICAL_ITEM_SIZES,
      prices: US_EAST_1_PRICES,
      deadlineSeconds: options.deadlineSeconds,
    });
  const quiet = at(0);
  const crash = at(options.crashShare);
  return { options, plan, quiet, crash, quietDayUsd: quiet.costUsd.total * options.sweepsPerDay };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const secs = (n: number) => n.toFixed(1);
const usd = (n: number) => `$${n > 0 && n < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;

export function formatScaleReport(report: ScaleReport): string {
  const { options, plan, quiet, crash } = report;
  const quota = DEFAULT_TABLE_THROUGHPUT_QUOTA;
  const over = (units: number) => (units > quota ? ' (over quota)' : '');
  const deadline = (c: SweepCapacity) =>
    `${secs(c.sweepSeconds)}${c.sweepSeconds <= options.deadlineSeconds ? '' : ` (over ${options.deadlineSeconds} s)`}`;
  const both = (name: string, f: (c: SweepCapacity) => string): string[] => [name, f(quiet), f(crash)];
  const rows = [
    ['segments × accounts per worker', `${plan.totalSegments} × ${int(plan.accountsPerSegment)}`, ''],
    ['worker concurrency, waves', `${options.workerConcurrency}, ${quiet.waves}`, ''],
    both('event source ramp (s)', (c) => secs(c.rampSeconds)),
    both('one worker (s)', (c) => secs(c.workerSeconds)),
    both(`sweep, start to end (s; target ${options.deadlineSeconds})`, deadline),
    both('workers at the peak', (c) => int(c.peakWorkers)),
    both('accounts/s at the peak', (c) => int(c.accountsPerSecond)),
    both(
      '  accounts table read units/s',
      (c) => `${int(c.accountsTableReadUnitsPerSecond)}${over(c.accountsTableReadUnitsPerSecond)}`,
    ),
    both(
      '  status table read units/s',
      (c) => `${int(c.statusReadUnitsPerSecond)}${over(c.statusReadUnitsPerSecond)}`,
    ),
    both(
      '  status table write units/s',
      (c) => `${int(c.statusWriteUnitsPerSecond)}${over(c.statusWriteUnitsPerSecond)}`,
    ),
    both('  alerts/s to SNS', (c) => int(c.alertsPerSecond)),
    both(`least steady accounts/s for ${options.deadlineSeconds} s`, (c) => int(c.requiredAccountsPerSecond)),
    both(
      '  its accounts table read units/s',
      (c) =>
        `${int(c.requiredAccountsTableReadUnitsPerSecond)}${over(c.requiredAccountsTableReadUnitsPerSecond)}`,
    ),
    both(
      '  its status table read units/s',
      (c) => `${int(c.requiredStatusReadUnitsPerSecond)}${over(c.requiredStatusReadUnitsPerSecond)}`,
    ),
    both('read units per sweep', (c) => int(c.readUnits)),
    both('write units per sweep', (c) => int(c.writeUnits)),
    both('SNS billed requests per sweep', (c) => int(c.snsBilledRequests)),
    both('Lambda GB-s per sweep', (c) => int(c.lambdaGbSeconds)),
    both('cost per sweep: DynamoDB reads', (c) => usd(c.costUsd.dynamoDbReads)),
    both('cost per sweep: DynamoDB writes', (c) => usd(c.costUsd.dynamoDbWrites)),
    both('cost per sweep: Lambda, SNS, SQS', (c) => usd(c.costUsd.lambda + c.costUsd.sns + c.costUsd.sqs)),
    both('cost per sweep: total', (c) => usd(c.costUsd.total)),
  ];
  return [
    `${int(options.accounts)} accounts, ${(options.watchedShare * 100).toFixed(1)}% not OK; quiet sweep vs crash-day sweep (${(options.crashShare * 100).toFixed(0)}% change state); worker ${options.workerMemoryMb} MB`,
    renderTable(['', 'quiet', 'crash day'], rows, ['left', 'right', 'right']),
    `a day of quiet sweeps (${options.sweepsPerDay} a day): ${usd(report.quietDayUsd)}; quota = DynamoDB's default ${int(quota)} units/s per table`,
  ].join('\n');
}
