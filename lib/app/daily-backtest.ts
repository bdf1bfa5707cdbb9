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
import { DAY_MS } from '../domain/market/candle.ts';
import type { InstrumentPolicy } from '../domain/threshold/policy.ts';
import type { ThresholdSet } from '../domain/threshold/threshold.ts';
import type { BacktestReportStore, Clock, MarketDataSource, OpsEvent, OpsPublisher } from '../ports.ts';

export interface DailyBacktestPorts {
  readonly market: MarketDataSource;
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
   * No instrument is started after this time (ms): each walk takes seconds, and a Lambda that times out
   * would lose the whole report. The instruments left are reported as not run.
   */
  readonly deadline?: number;
}

export interface DailyBacktestResult {
  readonly report: SetBacktestReport;
  /** Why the report could not be stored, if it could not (the ops summary then carries it alone). */
  readonly notStored?: string;
  /** Why the ops summary could not be published, if it could not. */
  readonly notPublished?: string;
}

/**
 * Backtest every instrument of `set` with the policy in force.
 *  1. Per instrument: pull the candles the recalibration used (up to the set's day), walk the last 250
 *     scored days (`dailyBacktest`), or record why it could not.
 *  2. Store the report beside the set.
 *  3. Publish the summary (zone, breaches, cost per instrument) to the ops topic.
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
  // The recalibration's window: candles before the UTC day it ran on, whenever the backtest runs.
  const to = Math.floor(Date.parse(request.set.createdAt) / DAY_MS) * DAY_MS;
  const from = to - (request.historyDays ?? 3650) * DAY_MS;
  const policies = new Map(request.instruments.map((entry) => [entry.instrument, entry.policy]));

  const done: InstrumentBacktestReport[] = [];
  const failed: FailedInstrumentBacktest[] = [];
  for (const { instrument } of request.set.thresholds) {
    const policy = policies.get(instrument);
    if (policy === undefined) {
      failed.push({ instrument, reason: `${instrument}: no policy is configured for it now` });
      continue;
    }
    if (request.deadline !== undefined && clock.now() >= request.deadline) {
      failed.push({ instrument, reason: `${instrument}: not run, the time for the backtest ran out` });
      continue;
    }
    try {
      const series = await market.candles(instrument, { from, to });
      if (series.instrument !== instrument) {
        throw new RangeError(`the market source answered with ${series.instrument} data`);
      }
      done.push(dailyBacktest(policy, series, scoredDays));
    } catch (error) {
      // Whatever stops one instrument (its feed, too short a history, a model error) stops only that one.
      failed.push({ instrument, reason: `${instrument}: ${describe(error)}` });
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
    ...(notStored === undefined ? {} : { notStored }),
    ...(notPublished === undefined ? {} : { notPublished }),
  };
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
