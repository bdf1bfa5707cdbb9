/**
 * The daily backtest after a recalibration (EMIR Art. 49), as a use case: ports in, the stored report out.
 * It runs after the set is published and never undoes or delays it: an instrument that cannot be
 * backtested is reported and the others go on; a report that cannot be stored still reaches the ops topic.
 */
import {
  DAILY_BACKTEST_DAYS,
  dailyBacktest,
  type FailedInstrumentBacktest,
  type InstrumentBacktestReport,
  type SetBacktestReport,
  setBacktestReport,
} from '../domain/backtest/daily-report.ts';
import {
  continueDailyBacktest,
  type DailyWalkState,
  walkDailyBacktest,
  walkStateUnfit,
} from '../domain/backtest/daily-walk.ts';
import { DAY_MS } from '../domain/market/candle.ts';
import { subDayMporHours } from '../domain/threshold/mpor.ts';
import type { InstrumentPolicy, ThresholdPolicy } from '../domain/threshold/policy.ts';
import type { ThresholdSet } from '../domain/threshold/threshold.ts';
import type {
  BacktestReportStore,
  Clock,
  KeptWalk,
  MarketDataSource,
  OpsEvent,
  OpsPublisher,
} from '../ports.ts';

export interface DailyBacktestPorts {
  /** The candles the recalibration used: in the function, the candle store's (`keptMarket`), not the venues'. */
  readonly market: MarketDataSource;
  /** The reports and each instrument's kept walk. */
  readonly reports: BacktestReportStore;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
}

export interface DailyBacktestRequest {
  /** The set just published: its instruments are backtested on the data its run saw. */
  readonly set: ThresholdSet;
  /** The policies in force (the ones the set was computed with). */
  readonly instruments: readonly InstrumentPolicy[];
  /** @default 250 (the Basel window) */
  readonly scoredDays?: number;
  /** Days of candles to pull, as the recalibration did. @default 3650 */
  readonly historyDays?: number;
  /**
   * No instrument is started after this time (ms): a full walk takes seconds, and a Lambda that times out
   * would lose the whole report. The instruments left are reported as not run (full walks come first next run).
   */
  readonly deadline?: number;
}

export interface DailyBacktestResult {
  readonly report: SetBacktestReport;
  /** Why the report could not be stored, if it could not (the ops summary then carries it alone). */
  readonly notStored?: string;
  /** Why the ops summary could not be published, if it could not. */
  readonly notPublished?: string;
  /** How each instrument backtested was walked: only its new days, or in full and why. */
  readonly walks: readonly WalkTaken[];
  /** Why the walks could not be kept, if they could not (the next run walks those instruments in full). */
  readonly walksNotKept?: string;
}

/** How one instrument's backtest was walked. */
export type WalkTaken =
  | { readonly instrument: string; readonly walk: 'continued'; readonly newDays: number }
  | { readonly instrument: string; readonly walk: 'full'; readonly reason: string };

/** An instrument to walk in full, and how old its kept walk is ('' for none: first in line). */
interface FullWalk {
  readonly instrument: string;
  readonly policy: ThresholdPolicy;
  readonly reason: string;
  readonly keptUpTo: string;
}

/**
 * Backtest every instrument of `set` with the policy in force.
 *  1. Read each instrument's kept walk.
 *  2. Continue the kept walks: pull the candles the recalibration used (up to the set's day, from the candle
 *     store) and walk only the new days, one recalibration each (`continueDailyBacktest`).
 *  3. Walk in full the instruments with no usable kept walk (none, unreadable, another policy, a gap, a
 *     revised candle), the oldest kept walk first, until the deadline: the rest are reported as not run
 *     and come first next run, so a policy change is backtested in full over a few runs.
 *  4. Keep the new walks; store the report beside the set.
 *  5. Publish the summary (zone, breaches, cost per instrument) to the ops topic.
 *
 * @example
 * const { report } = await runDailyBacktest({ market, reports, ops, clock }, { set, instruments });
 * report.zone; // 'green' | 'yellow' | 'red'
 */
export async function runDailyBacktest(
  ports: DailyBacktestPorts,
  request: DailyBacktestRequest,
): Promise<DailyBacktestResult> {
  const { market, reports, ops, clock } = ports;
  const scoredDays = request.scoredDays ?? DAILY_BACKTEST_DAYS;
  const historyDays = request.historyDays ?? 3650;
  // The recalibration's window: candles before the UTC day it ran on, whenever the backtest runs.
  const to = Math.floor(Date.parse(request.set.createdAt) / DAY_MS) * DAY_MS;
  const from = to - historyDays * DAY_MS;
  // The last scored day is the day before `to`: its recalibration saw historyDays − 1 days, and so does
  // every later day's, as the fetch slides (see daily-walk.ts).
  const walkOptions = { scoredDays, windowDays: historyDays - 1 };
  const policies = new Map(request.instruments.map((entry) => [entry.instrument, entry.policy]));
  const order = new Map(request.set.thresholds.map(({ instrument }, i) => [instrument, i]));
  const outOfTime = () => request.deadline !== undefined && clock.now() >= request.deadline;

  const done: InstrumentBacktestReport[] = [];
  const failed: FailedInstrumentBacktest[] = [];
  const walks: WalkTaken[] = [];
  const toKeep: DailyWalkState[] = [];
  const candlesOf = async (instrument: string) => {
    const series = await market.candles(instrument, { from, to });
    if (series.instrument !== instrument) {
      throw new RangeError(`the market source answered with ${series.instrument} data`);
    }
    return series;
  };
  // Whatever stops one instrument (its feed, too short a history, a model error) stops only that one.
  const attempt = async (instrument: string, run: () => Promise<void>) => {
    try {
      await run();
    } catch (error) {
      failed.push({ instrument, reason: `${instrument}: ${describe(error)}` });
    }
  };

  const kept = await readKeptWalks(
    reports,
    request.set.thresholds.map((t) => t.instrument),
  );
  const full: FullWalk[] = [];
  for (const { instrument } of request.set.thresholds) {
    const policy = policies.get(instrument);
    if (policy === undefined) {
      failed.push({ instrument, reason: `${instrument}: no policy is configured for it now` });
      continue;
    }
    const found = kept.get(instrument);
    if (subDayMporHours(policy.marginPeriodOfRiskDays) !== undefined) {
      full.push({
        instrument,
        policy,
        reason: 'a sub-day MPOR is backtested bar by bar, in full',
        keptUpTo: '',
      });
      continue;
    }
    if (found === undefined || 'unreadable' in found) {
      const reason =
        found === undefined ? 'no kept walk' : `the kept walk is unreadable: ${found.unreadable}`;
      full.push({ instrument, policy, reason, keptUpTo: '' });
      continue;
    }
    const { state } = found;
    const unfit = walkStateUnfit(policy, state, walkOptions);
    if (unfit !== undefined) {
      full.push({ instrument, policy, reason: unfit, keptUpTo: state.lastDay });
      continue;
    }
    if (outOfTime()) {
      failed.push({ instrument, reason: `${instrument}: not run, the time for the backtest ran out` });
      continue;
    }
    await attempt(instrument, async () => {
      const next = continueDailyBacktest(policy, state, await candlesOf(instrument), walkOptions);
      if ('walkAgain' in next) {
        full.push({ instrument, policy, reason: next.walkAgain, keptUpTo: state.lastDay });
        return;
      }
      done.push(next.report);
      walks.push({ instrument, walk: 'continued', newDays: next.walkedDays });
      if (next.walkedDays > 0) toKeep.push(next.state);
    });
  }

  // Oldest first (none kept before any kept): what waited longest is walked first.
  full.sort((a, b) => (a.keptUpTo < b.keptUpTo ? -1 : a.keptUpTo > b.keptUpTo ? 1 : 0));
  for (const { instrument, policy, reason, keptUpTo } of full) {
    if (outOfTime()) {
      failed.push({
        instrument,
        reason: `${instrument}: not run, the time for the backtest ran out (to walk in full: ${reason}${keptUpTo ? `; kept to ${keptUpTo}` : ''})`,
      });
      continue;
    }
    await attempt(instrument, async () => {
      const series = await candlesOf(instrument);
      if (subDayMporHours(policy.marginPeriodOfRiskDays) !== undefined) {
        done.push(dailyBacktest(policy, series, scoredDays));
      } else {
        const walked = walkDailyBacktest(policy, series, walkOptions);
        done.push(walked.report);
        toKeep.push(walked.state);
      }
      walks.push({ instrument, walk: 'full', reason });
    });
  }

  const rank = (instrument: string) => order.get(instrument) ?? Number.MAX_SAFE_INTEGER;
  done.sort((a, b) => rank(a.instrument) - rank(b.instrument));
  failed.sort((a, b) => rank(a.instrument) - rank(b.instrument));
  walks.sort((a, b) => rank(a.instrument) - rank(b.instrument));

  let walksNotKept: string | undefined;
  if (toKeep.length > 0) {
    try {
      await reports.recordWalks(toKeep);
    } catch (error) {
      walksNotKept = describe(error);
    }
  }
  const report = setBacktestReport(
    { setId: request.set.setId, runId: request.set.runId, computedAt: clock.now() },
    scoredDays,
    done,
    failed,
  );
  let notStored: string | undefined;
  try {
    await reports.record(report);
  } catch (error) {
    notStored = describe(error);
  }
  let notPublished: string | undefined;
  try {
    await ops.publish(summary(report, notStored));
  } catch (error) {
    notPublished = describe(error);
  }
  return {
    report,
    walks,
    ...(notStored === undefined ? {} : { notStored }),
    ...(notPublished === undefined ? {} : { notPublished }),
    ...(walksNotKept === undefined ? {} : { walksNotKept }),
  };
}

/** The kept walks; a store that cannot be read costs full walks, never the backtest. */
async function readKeptWalks(
  reports: BacktestReportStore,
  instruments: readonly string[],
): Promise<ReadonlyMap<string, KeptWalk>> {
  try {
    return await reports.walks(instruments);
  } catch (error) {
    const unreadable = describe(error);
    return new Map(instruments.map((instrument) => [instrument, { unreadable }]));
  }
}

function summary(report: SetBacktestReport, notStored: string | undefined): OpsEvent {
  return {
    type: 'backtest.completed',
    runId: report.runId,
    setId: report.setId,
    scoredDays: report.scoredDays,
    zone: report.zone,
    instruments: report.instruments.map((i) => ({
      instrument: i.instrument,
      zone: i.zone,
      observations: i.observations,
      longBreaches: i.long.breaches,
      shortBreaches: i.short.breaches,
      cost: i.cost,
    })),
    failed: report.failed,
    ...(notStored === undefined ? {} : { notStored }),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
