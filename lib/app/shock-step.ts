/**
 * The market watch's shock step (its `onMarks`): shock recalibration at the watch's marks, then, when a new
 * set is CURRENT, a full sweep queued at those same marks. The watch then skips its targeted sweep: the
 * breach index is kept per threshold set and the new set has no bands yet, so only a full sweep can value
 * the shocked instrument's accounts under it (and it rebuilds every band for the watch's next minute).
 * A Scan cannot pick one instrument's accounts, so the full sweep is also the cheapest correct sweep; the
 * daily cap (`shock.maxRunsPerDay`) bounds how many a day it adds.
 */
import type { MarkSnapshot } from '../domain/market/mark.ts';
import type { InstrumentPolicy } from '../domain/threshold/policy.ts';
import type { AccountSource, MarkSource, SweepQueue } from '../ports.ts';
import type { ShockStepOutcome } from './market-watch.ts';
import { recalibrateOnShock, type ShockRecalibrationPorts } from './shock-recalibration.ts';
import { type SweepSizing, startSweep } from './start-sweep.ts';

export interface ShockStepPorts extends ShockRecalibrationPorts {
  /** The accounts table's size, to plan the sweep. */
  readonly accounts: Pick<AccountSource, 'approximateCount'>;
  readonly queue: SweepQueue;
}

export interface ShockStepOptions {
  readonly instruments: readonly InstrumentPolicy[];
  /** The lease holder (the invocation's request id). */
  readonly holder: string;
  /** How long the lease lasts if the run dies: longer than the run can live (its Lambda timeout). */
  readonly leaseTtlMs?: number;
  readonly sweep?: SweepSizing;
  readonly historyDays?: number;
  /**
   * When the daily run is due after each UTC midnight: until then a shock is left to it
   * (`ShockRecalibrationRequest.scheduledRunDueAfterMs`). @default 5 minutes (the default schedule, 00:05 UTC)
   */
  readonly scheduledRunDueAfterMs?: number;
}

/**
 * The shock step for one look.
 *  1. `recalibrateOnShock` at the snapshot (quiet; deferred while the daily run holds the lease, or between
 *     a UTC midnight and the daily run due minutes later, which covers the move; kept; or published).
 *  2. Published: queue a full sweep (`sweep-<shock run id>`) whose segments all carry this snapshot, so the
 *     new set values every account at the marks that triggered it. A queue failure is returned, not thrown:
 *     the set stands, and the coordinator's next scheduled sweep values against it.
 *
 * @example
 * const onMarks = shockStep(ports, { instruments: config.instruments, holder: context.awsRequestId });
 * await watchMarket({ ...watchPorts, onMarks }, { runId });
 */
export function shockStep(
  ports: ShockStepPorts,
  options: ShockStepOptions,
): (marks: MarkSnapshot) => Promise<ShockStepOutcome> {
  return async (snapshot) => {
    const result = await recalibrateOnShock(ports, {
      snapshot,
      instruments: options.instruments,
      holder: options.holder,
      ...(options.leaseTtlMs === undefined ? {} : { leaseTtlMs: options.leaseTtlMs }),
      ...(options.historyDays === undefined ? {} : { historyDays: options.historyDays }),
      ...(options.scheduledRunDueAfterMs === undefined
        ? {}
        : { scheduledRunDueAfterMs: options.scheduledRunDueAfterMs }),
    });
    if (result.outcome === 'deferred') {
      return { recalibrated: [], deferred: `${result.triggered.join(', ')}: ${result.reason}` };
    }
    if (result.outcome !== 'published') return { recalibrated: [] };
    const runId = `sweep-${result.runId}`;
    try {
      const started = await startSweep(
        {
          accounts: ports.accounts,
          queue: ports.queue,
          thresholds: ports.thresholds,
          marks: fixedMarks(snapshot),
          clock: ports.clock,
        },
        { runId, ...(options.sweep ? { sweep: options.sweep } : {}) },
      );
      return {
        recalibrated: result.sweep,
        fullSweep: { runId, setId: result.set.setId, totalSegments: started.totalSegments },
      };
    } catch (error) {
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      return { recalibrated: result.sweep, fullSweep: { runId, setId: result.set.setId, error: reason } };
    }
  };
}

/** The snapshot the shock was seen at, for the sweep it starts: the workers value at exactly these marks. */
function fixedMarks(snapshot: MarkSnapshot): MarkSource {
  return { name: 'shock-snapshot', snapshot: async () => snapshot };
}
