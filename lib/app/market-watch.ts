/**
 * The market watch: once a minute, take the live marks for every instrument of the CURRENT set, report the
 * instruments the venues could not agree on (held), and sweep only the accounts whose breach band the marks
 * crossed (`sweepMoved`). A held instrument's accounts stay where they are: the targeted sweep never
 * queries its bands and never re-values an account holding it. The full sweep stays the safety net.
 *
 * A crash minute (more crossed accounts than `fanOut.inlineAccounts`) goes out to the sweep workers as
 * segments, each with these marks and this set (`lib/app/targeted-fan-out.ts`): invoked directly through
 * `targetedInvoker`, or queued on `targetedQueue` (all of them without an invoker, else those it failed).
 *
 * Repeating a minute (Scheduler redelivers, an operator re-invokes) announces nothing twice: the first run
 * re-indexed every account it moved, so the index no longer names it, and should it still be named, the
 * margin status sequence makes a second transition to the same state a no-op.
 */
import type { HeldMark, HeldMarkCause, MarkSnapshot } from '../domain/market/mark.ts';
import type { MarkSource, OpsPublisher } from '../ports.ts';
import { NoThresholdSetError } from './sweep.ts';
import {
  sweepMoved,
  type TargetedSweepPorts,
  type TargetedSweepRequest,
  type TargetedSweepResult,
} from './targeted-sweep.ts';

/** What the shock step did with one snapshot. */
export interface ShockStepOutcome {
  /** Instruments recalibrated: a new set is CURRENT. */
  readonly recalibrated?: readonly string[];
  /** A triggered shock run that did not run now (the daily run holds the lease), and why: the next look retries. */
  readonly deferred?: string;
  /** The full sweep queued at the snapshot for the new set (its id), or why it could not be queued. */
  readonly fullSweep?:
    | { readonly runId: string; readonly setId: string; readonly totalSegments: number }
    | { readonly runId: string; readonly setId: string; readonly error: string };
}

/**
 * The optional step between the marks and the sweep, for shock recalibration (`lib/app/shock-step.ts`): it
 * sees every snapshot the watch takes, before any account is valued at it, and says which instruments it
 * recalibrated. Its failure is reported and never stops the targeted sweep.
 */
export type OnMarks = (marks: MarkSnapshot) => Promise<ShockStepOutcome | undefined>;

export interface MarketWatchPorts extends TargetedSweepPorts {
  /** Live marks (`LiveMarkSource`), or the reference closes where no network is wanted. */
  readonly marks: MarkSource;
  readonly ops: OpsPublisher;
  /** Shock recalibration's hook. @default none: the watch only sweeps */
  readonly onMarks?: OnMarks;
}

export interface MarketWatchRequest
  extends Pick<TargetedSweepRequest, 'valuationPolicy' | 'batchSize' | 'levels' | 'maxRevisits' | 'fanOut'> {
  /** One id per minute (`watch-<scheduled time>`): a repeated minute reuses it. */
  readonly runId: string;
}

/** Held instruments by why they are held; `other` is a held mark without a consensus cause. */
export type HeldCounts = Readonly<Record<HeldMarkCause | 'other', number>>;

export interface MarketWatchResult {
  readonly runId: string;
  /** When the marks were taken (ms since the epoch). */
  readonly takenAt: number;
  readonly marked: number;
  readonly held: readonly HeldMark[];
  readonly heldCounts: HeldCounts;
  /**
   * Undefined when there is no CURRENT set yet (nothing to value against), or when the shock step flipped
   * the set: the full sweep it queued values every account at these marks instead.
   */
  readonly sweep?: TargetedSweepResult;
  /** Instruments the shock step recalibrated at these marks. */
  readonly recalibrated: readonly string[];
  /** Why a triggered shock run waits for the next look (the daily run holds the lease). */
  readonly shockDeferred?: string;
  /** The full sweep the shock step queued for the new set, or why it could not (reported to ops). */
  readonly fullSweep?: ShockStepOutcome['fullSweep'];
  /** The shock step's failure, if it failed (the targeted sweep still ran). */
  readonly shockError?: string;
}

/**
 * One look at the market.
 *  1. Read the CURRENT set (none yet: nothing to watch; return).
 *  2. Take the marks for its instruments.
 *  3. Held instruments: one `marks.held` ops event with each reason (also counted in the result by cause).
 *  4. The optional shock step (`onMarks`), before any account is valued at these marks: a bar valued at the
 *     old set and again at the raised one could move an account and move it back. Its failure is reported,
 *     not thrown.
 *  5. The targeted sweep at the snapshot, at the set now in force, held instruments left out; skipped when
 *     the shock step flipped the set (its bands are empty until the full sweep the step queued).
 *
 * @example
 * const result = await watchMarket(ports, { runId: 'watch-2026-11-24T14:00:00Z' });
 * result.sweep?.counts.revisited; // e.g. 312 of 10,000,000
 */
export async function watchMarket(
  ports: MarketWatchPorts,
  request: MarketWatchRequest,
): Promise<MarketWatchResult> {
  const set = await ports.thresholds.currentSet();
  const empty = { 'no-quorum': 0, stale: 0, 'unconfirmed-jump': 0, other: 0 };
  if (!set) {
    return {
      runId: request.runId,
      takenAt: ports.clock.now(),
      marked: 0,
      held: [],
      heldCounts: empty,
      recalibrated: [],
    };
  }
  const instruments = set.thresholds.map((t) => t.instrument);
  const marks = await ports.marks.snapshot(instruments);
  const held = [...marks.held.values()];
  const heldCounts = { ...empty };
  for (const entry of held) heldCounts[entry.cause ?? 'other'] += 1;
  if (held.length > 0) {
    await ports.ops.publish({
      type: 'marks.held',
      runId: request.runId,
      takenAt: new Date(marks.takenAt).toISOString(),
      held: held.map(({ instrument, reason, cause }) => ({
        instrument,
        reason,
        ...(cause === undefined ? {} : { cause }),
      })),
    });
  }

  let shock: ShockStepOutcome = {};
  let shockError: string | undefined;
  if (ports.onMarks) {
    try {
      shock = (await ports.onMarks(marks)) ?? {};
    } catch (error) {
      shockError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      // No set was raised (or none we know of): a failed recalibration, not a failed sweep.
      await ports.ops.publish({
        type: 'recalibration.failed',
        runId: request.runId,
        reason: `shock step: ${shockError}`,
      });
    }
  }

  const recalibrated = shock.recalibrated ?? [];
  if (shock.fullSweep && 'error' in shock.fullSweep) {
    // The set stands; the coordinator's next scheduled sweep values against it.
    await ports.ops.publish({
      type: 'sweep.not-queued',
      runId: shock.fullSweep.runId,
      setId: shock.fullSweep.setId,
      instruments: recalibrated,
      reason: shock.fullSweep.error,
    });
  }

  let sweep: TargetedSweepResult | undefined;
  if (recalibrated.length === 0) {
    try {
      sweep = await sweepMoved(ports, { ...request, marks });
    } catch (error) {
      // The set may have gone between our read and the sweep's; nothing to value against then.
      if (!(error instanceof NoThresholdSetError)) throw error;
    }
  }
  return {
    runId: request.runId,
    takenAt: marks.takenAt,
    marked: marks.marks.size,
    held,
    heldCounts,
    ...(sweep === undefined ? {} : { sweep }),
    recalibrated,
    ...(shock.deferred === undefined ? {} : { shockDeferred: shock.deferred }),
    ...(shock.fullSweep === undefined ? {} : { fullSweep: shock.fullSweep }),
    ...(shockError === undefined ? {} : { shockError }),
  };
}
