/**
 * Shock recalibration, as a use case: when a live mark has moved an instrument beyond the policy's trigger
 * since its threshold's reference price, recalibrate that instrument at once, with the move as today's
 * return so far, and publish the raised margins. Ports in, a summary out; no AWS, no clock but the port's.
 */
import { MarketDataError, ThresholdSetConflictError } from '../domain/errors.ts';
import { DAY_MS } from '../domain/market/candle.ts';
import type { MarkSnapshot } from '../domain/market/mark.ts';
import { recalibrate as recalibrateThreshold, toDailyBars } from '../domain/threshold/model.ts';
import type { InstrumentPolicy } from '../domain/threshold/policy.ts';
import { assessShock, type ShockAssessment, withProvisionalCandle } from '../domain/threshold/shock.ts';
import type { Threshold, ThresholdSet } from '../domain/threshold/threshold.ts';
import type { Clock, MarketDataSource, OpsPublisher, RunLedger, ThresholdStore } from '../ports.ts';
import { isMarketFailure, latestImpliedVolatility } from './recalibrate.ts';

export interface ShockRecalibrationPorts {
  readonly market: MarketDataSource;
  readonly thresholds: ThresholdStore;
  /** The same ledger and lease as the daily run: never two recalibrations at once. */
  readonly ledger: RunLedger;
  readonly ops: OpsPublisher;
  readonly clock: Clock;
}

export interface ShockRecalibrationRequest {
  /** The marks the market watch took this minute. */
  readonly snapshot: MarkSnapshot;
  /** The instruments to watch and the policy of each (its `shock` section sets the trigger and the cap). */
  readonly instruments: readonly InstrumentPolicy[];
  /** Who runs it (a Lambda request id, `local`): the lease holder. */
  readonly holder: string;
  /** Days of daily candles to pull, as the daily run does. @default 3650 */
  readonly historyDays?: number;
  /** How long the lease lasts if this run dies without releasing it. @default 5 minutes */
  readonly leaseTtlMs?: number;
  /**
   * How long after each UTC midnight the scheduled (daily) run is due. From the midnight to that time,
   * inclusive, while CURRENT was published before the midnight, a triggered instrument is left to the
   * scheduled run (`deferred`): that run recalibrates on the day that has just closed, the move in it,
   * minutes later, so a shock set would be superseded at once and every account swept twice, some moved
   * at the shock set and back at the scheduled one. Past that time (the daily run late or failed), shocks
   * run again. 0 when the scheduled run is at the midnight itself (the replay).
   * @default 5 minutes (the stack's default recalibration schedule, 00:05 UTC)
   */
  readonly scheduledRunDueAfterMs?: number;
}

/** The stack's default recalibration schedule is 00:05 UTC (`infra/constructs/functions.ts`). */
export const DEFAULT_SCHEDULED_RUN_DUE_AFTER_MS = 5 * 60_000;

/** A triggered instrument whose threshold stays as it is, and why. */
export interface KeptThreshold {
  readonly instrument: string;
  readonly reason: string;
}

/** A triggered instrument whose margins the run raised. */
export interface RaisedThreshold {
  readonly instrument: string;
  readonly from: number;
  readonly to: number;
  readonly move: number;
}

export type ShockRecalibrationResult =
  /** Nothing triggered (every instrument within its trigger, held, capped or without a threshold). */
  | { readonly outcome: 'quiet'; readonly assessments: readonly ShockAssessment[] }
  /**
   * Something triggered but nothing was published: the lease is held (the daily run) or CURRENT moved while
   * this run computed. The next snapshot assesses again against whatever set is then CURRENT.
   */
  | {
      readonly outcome: 'deferred';
      readonly runId: string;
      readonly reason: string;
      readonly triggered: readonly string[];
      readonly assessments: readonly ShockAssessment[];
    }
  /** Triggered instruments recalibrated; none raised: CURRENT is unchanged. */
  | {
      readonly outcome: 'kept';
      readonly runId: string;
      readonly kept: readonly KeptThreshold[];
      readonly assessments: readonly ShockAssessment[];
    }
  /** A new set is CURRENT: `sweep` lists the instruments whose accounts must be swept now. */
  | {
      readonly outcome: 'published';
      readonly runId: string;
      readonly set: ThresholdSet;
      readonly raised: readonly RaisedThreshold[];
      readonly kept: readonly KeptThreshold[];
      readonly sweep: readonly string[];
      readonly assessments: readonly ShockAssessment[];
    };

/**
 * Recalibrate the instruments a snapshot's marks have shocked.
 *  1. Read CURRENT; assess each instrument's live mark against its trigger and daily cap. Nothing
 *     triggered: done, without touching the lease (a quiet minute must not block the daily run).
 *  2. Take the recalibration lease (run id `shock#<snapshot time>`, so a repeated watch minute finds the run
 *     done); held by the daily run: deferred, retried by the next snapshot.
 *  3. Re-read CURRENT under the lease and assess again: the daily run may have just published.
 *  4. Per triggered instrument: its daily candles plus today's provisional candle at the mark, through the
 *     same model and step limits as the daily run; kept unless the result raises the initial margin.
 *  5. Publish a set with the raised thresholds and every other one carried over unchanged, conditional on
 *     CURRENT not having moved; announce each raise to ops; return the instruments to sweep.
 *
 * @example
 * const result = await recalibrateOnShock({ market, thresholds, ledger, ops, clock }, { snapshot, instruments, holder: 'watch' });
 * if (result.outcome === 'published') await sweepInstruments(result.sweep);
 */
export async function recalibrateOnShock(
  ports: ShockRecalibrationPorts,
  request: ShockRecalibrationRequest,
): Promise<ShockRecalibrationResult> {
  const { thresholds, ledger, ops } = ports;
  const before = await thresholds.currentSet();
  const firstLook = assessAll(request, before);
  if (!firstLook.some((a) => a.verdict === 'triggered')) return { outcome: 'quiet', assessments: firstLook };

  const runId = `shock#${new Date(request.snapshot.takenAt).toISOString()}`;
  const scheduledRun = scheduledRunDue(
    request.snapshot.takenAt,
    before,
    request.scheduledRunDueAfterMs ?? DEFAULT_SCHEDULED_RUN_DUE_AFTER_MS,
  );
  if (scheduledRun !== undefined) {
    // Before the lease: nothing written, and the scheduled run is never kept waiting by this one.
    return {
      outcome: 'deferred',
      runId,
      reason: `left to the scheduled run due at ${new Date(scheduledRun).toISOString()}: it recalibrates on the day just closed, move included; a shock set now would be superseded within minutes`,
      triggered: triggeredOf(firstLook),
      assessments: firstLook,
    };
  }
  const lease = await ledger.acquire(runId, request.holder, request.leaseTtlMs ?? 5 * 60_000);
  if (!lease) {
    return {
      outcome: 'deferred',
      runId,
      reason:
        'another run holds the recalibration lease (the daily run?), or this snapshot was already handled',
      triggered: triggeredOf(firstLook),
      assessments: firstLook,
    };
  }
  try {
    const current = await thresholds.currentSet();
    const assessments = assessAll(request, current);
    const triggered = assessments.filter(
      (a): a is Extract<ShockAssessment, { verdict: 'triggered' }> => a.verdict === 'triggered',
    );
    if (!current || triggered.length === 0) {
      await ledger.complete(lease, 'skipped', { triggered: 0 }, 'nothing triggered against the CURRENT set');
      return { outcome: 'quiet', assessments };
    }
    const previousByInstrument = new Map(current.thresholds.map((t) => [t.instrument, t]));
    const policyOf = new Map(request.instruments.map((i) => [i.instrument, i.policy]));
    const raised = new Map<string, Threshold>();
    const kept: KeptThreshold[] = [];
    for (const assessment of triggered) {
      const previous = previousByInstrument.get(assessment.instrument) as Threshold;
      const policy = policyOf.get(assessment.instrument);
      if (!policy) continue; // assessAll only triggers configured instruments
      const runsToday = Math.max(
        assessment.runsToday,
        await shockRunsInHistory(thresholds, assessment.instrument, assessment.day),
      );
      if (runsToday >= policy.shock.maxRunsPerDay) {
        kept.push({
          instrument: assessment.instrument,
          reason: `${runsToday} of ${policy.shock.maxRunsPerDay} shock runs on ${assessment.day} are used: the daily run recalibrates it`,
        });
        continue;
      }
      const outcome = await shockThreshold(
        ports.market,
        { ...assessment, runsToday },
        policy,
        previous,
        request.historyDays,
      );
      if ('kept' in outcome) kept.push({ instrument: assessment.instrument, reason: outcome.kept });
      else raised.set(assessment.instrument, outcome.threshold);
    }
    if (raised.size === 0) {
      await ledger.complete(lease, 'succeeded', { triggered: triggered.length, raised: 0 }, 'margins kept');
      return { outcome: 'kept', runId, kept, assessments };
    }

    const set: ThresholdSet = {
      setId: runId,
      runId,
      createdAt: new Date(ports.clock.now()).toISOString(),
      previousSetId: current.setId,
      thresholds: current.thresholds.map((t) => raised.get(t.instrument) ?? t),
      // The daily run's correlations stay: a shock raises margins, it does not re-estimate pairs.
      ...(current.correlations ? { correlations: current.correlations } : {}),
    };
    // Conditional on CURRENT: a set built on a CURRENT the daily run has since replaced is never published.
    await thresholds.publishSet(set, current.setId);

    const raisedList = [...raised.values()].map((t) => raisedOf(t, previousByInstrument));
    for (const threshold of raised.values()) {
      await ops.publish(shockEvent(runId, threshold, previousByInstrument, request));
    }
    await ledger.complete(lease, 'succeeded', { triggered: triggered.length, raised: raised.size });
    return {
      outcome: 'published',
      runId,
      set,
      raised: raisedList,
      kept,
      sweep: raisedList.map((r) => r.instrument),
      assessments,
    };
  } catch (error) {
    const lost = error instanceof ThresholdSetConflictError;
    const reason = lost ? `CURRENT moved while the shock run computed: ${error.message}` : describe(error);
    // A failed run may be retried under the same id; the ledger and ops say where it stopped.
    await Promise.allSettled([
      ops.publish({ type: 'recalibration.failed', runId, reason }),
      ledger.complete(lease, 'failed', {}, reason),
    ]);
    if (lost) {
      return {
        outcome: 'deferred',
        runId,
        reason,
        triggered: triggeredOf(firstLook),
        assessments: firstLook,
      };
    }
    throw error;
  }
}

/**
 * When the snapshot falls between a UTC midnight and the scheduled run due `dueAfterMs` later (inclusive),
 * and CURRENT predates that midnight (the day's scheduled set is not in yet): the scheduled run's time.
 *
 * @example
 * scheduledRunDue(Date.parse('2026-11-25T00:02:00Z'), setOfThe24th, 5 * 60_000); // 2026-11-25T00:05:00Z
 */
export function scheduledRunDue(
  takenAt: number,
  current: ThresholdSet | undefined,
  dueAfterMs: number,
): number | undefined {
  if (!current) return undefined;
  const midnight = Math.floor(takenAt / DAY_MS) * DAY_MS;
  const due = midnight + dueAfterMs;
  if (takenAt > due) return undefined;
  const publishedAt = Date.parse(current.createdAt);
  return Number.isFinite(publishedAt) && publishedAt < midnight ? due : undefined;
}

function assessAll(request: ShockRecalibrationRequest, current: ThresholdSet | undefined): ShockAssessment[] {
  const byInstrument = new Map(current?.thresholds.map((t) => [t.instrument, t]) ?? []);
  return request.instruments.map(({ instrument, policy }) =>
    assessShock(policy.shock, instrument, byInstrument.get(instrument), request.snapshot),
  );
}

/**
 * Shock runs of `instrument` on `day` in its stored history: a daily run published later that day (a retry)
 * writes thresholds without a `shock` record, and must not reset the cap. Every set repeats the thresholds it
 * carries over, so runs are told apart by the mark time that triggered them.
 */
async function shockRunsInHistory(store: ThresholdStore, instrument: string, day: string): Promise<number> {
  const history = await store.history(instrument, { limit: HISTORY_LOOK_BACK });
  return new Set(history.filter((t) => t.shock?.day === day).map((t) => t.shock?.markAt)).size;
}

/** Thresholds of one instrument read back for the cap: a day's shock runs and the sets that carried them. */
const HISTORY_LOOK_BACK = 200;

function triggeredOf(assessments: readonly ShockAssessment[]): string[] {
  return assessments.filter((a) => a.verdict === 'triggered').map((a) => a.instrument);
}

/**
 * One triggered instrument through the daily run's model with today's provisional candle. Anything short
 * of a computed threshold with a higher initial margin keeps the current one: decreases, held data and an
 * unreachable feed all wait for the daily run.
 */
async function shockThreshold(
  market: MarketDataSource,
  assessment: Extract<ShockAssessment, { verdict: 'triggered' }>,
  policy: InstrumentPolicy['policy'],
  previous: Threshold,
  historyDays = 3650,
): Promise<{ readonly threshold: Threshold } | { readonly kept: string }> {
  const { instrument, mark } = assessment;
  const dayStart = Math.floor(mark.at / DAY_MS) * DAY_MS;
  let bars: Awaited<ReturnType<MarketDataSource['candles']>>;
  try {
    bars = await market.candles(instrument, { from: dayStart - historyDays * DAY_MS, to: dayStart });
  } catch (error) {
    if (isMarketFailure(error)) return { kept: `market data unavailable: ${describe(error)}` };
    throw error;
  }
  if (bars.instrument !== instrument)
    return { kept: `the market source answered with ${bars.instrument} data` };
  const daily = toDailyBars(bars);
  if ('heldReason' in daily) return { kept: daily.heldReason };
  // A computed previous threshold read the same history up to yesterday: it passed the jump rule then.
  const withToday = withProvisionalCandle(daily.series, mark, previous.status === 'computed');
  if ('reason' in withToday) return { kept: withToday.reason };
  const impliedVolatility = await latestImpliedVolatility(market, instrument, dayStart);
  let result: Threshold;
  try {
    // asOf is the end of the mark's day, so the model reads the provisional candle as a closed one.
    result = recalibrateThreshold(policy, withToday.series, previous, {
      asOf: dayStart + DAY_MS,
      ...(impliedVolatility === undefined ? {} : { impliedVolatility }),
    });
  } catch (error) {
    if (error instanceof MarketDataError || error instanceof RangeError) {
      return { kept: `the model could not use the data: ${describe(error)}` };
    }
    throw error;
  }
  if (result.status !== 'computed') return { kept: `the model held: ${result.heldReason ?? 'no reason'}` };
  if (!(result.initialMarginRate > previous.initialMarginRate)) {
    return {
      kept: `the shock model gives ${percent(result.initialMarginRate)}, not above ${percent(previous.initialMarginRate)}: decreases wait for the daily run`,
    };
  }
  return {
    threshold: {
      ...result,
      shock: {
        trigger: 'shock',
        mark: mark.price,
        markAt: new Date(mark.at).toISOString(),
        referencePrice: assessment.referencePrice,
        move: assessment.move,
        triggerLogMove: assessment.triggerLogMove,
        day: assessment.day,
        runOfDay: assessment.runsToday + 1,
      },
    },
  };
}

function raisedOf(threshold: Threshold, previous: ReadonlyMap<string, Threshold>): RaisedThreshold {
  return {
    instrument: threshold.instrument,
    from: (previous.get(threshold.instrument) as Threshold).initialMarginRate,
    to: threshold.initialMarginRate,
    move: threshold.shock?.move ?? 0,
  };
}

function shockEvent(
  runId: string,
  threshold: Threshold,
  previous: ReadonlyMap<string, Threshold>,
  request: ShockRecalibrationRequest,
) {
  const shock = threshold.shock as NonNullable<Threshold['shock']>;
  const policy = request.instruments.find((i) => i.instrument === threshold.instrument)?.policy;
  return {
    type: 'recalibration.shock' as const,
    runId,
    setId: runId,
    instrument: threshold.instrument,
    mark: shock.mark,
    markAt: shock.markAt,
    referencePrice: shock.referencePrice,
    move: shock.move,
    from: (previous.get(threshold.instrument) as Threshold).initialMarginRate,
    to: threshold.initialMarginRate,
    activeBound: threshold.activeBound,
    runOfDay: shock.runOfDay,
    maxRunsPerDay: policy?.shock.maxRunsPerDay ?? 0,
  };
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(2)}%`;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
