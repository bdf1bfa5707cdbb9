/**
 * The market watch. EventBridge Scheduler invokes it every minute with
 * `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }` (or an operator with `{}`):
 *
 *  1. Validate the event. The run id is `watch-<scheduled time>`, or `watch-<now>` by hand: a repeated
 *     delivery of a minute reuses its id, and announces nothing twice (see `lib/app/market-watch.ts`).
 *  2. Take the live marks, report held instruments. Shock recalibration (`lib/app/shock-step.ts`) at those
 *     marks comes next, before any account is valued: an instrument beyond its policy's trigger is
 *     recalibrated under the recalibration lease (a daily run holding it defers the shock to the next look),
 *     the new set flipped and announced (`recalibration.shock`), and a full sweep queued at the same marks.
 *     Otherwise, sweep the accounts whose band the marks crossed.
 *     A crash minute, more crossed accounts than the function announces in time, is cut into segments and
 *     queued for the sweep workers (`sweep.targeted` settings; `lib/app/targeted-fan-out.ts`).
 *  3. Counts to metrics (held marks by cause, accounts crossed and revisited, transitions, alerts), the
 *     outcome to the log. A failed look is counted and thrown: Scheduler retries it within the minute.
 *
 * No idempotency record: the breach index and the margin status sequence already make a repeat harmless,
 * and a record per minute would cost more than the repeat.
 */
import type { Context } from 'aws-lambda';
import { type MarketWatchResult, type OnMarks, watchMarket } from '../../lib/app/market-watch.ts';
import { shockStep } from '../../lib/app/shock-step.ts';
import { DEFAULT_TARGETED_FAN_OUT } from '../../lib/app/targeted-fan-out.ts';
import { type Environment, loadRuntimeConfig, type RuntimeDocumentText } from '../../lib/config/runtime.ts';
import { type Adapters, adapters } from '../shared/adapters.ts';
import { coordinatorEventSchema, parseEvent, refuseFarFuture } from '../shared/events.ts';
import {
  count,
  createObservability,
  describeError,
  METRIC,
  type Observability,
  observedHandler,
} from '../shared/observability.ts';

export interface MarketWatchHandlerOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** The configuration document, when it came from AppConfig (`withLiveConfig`). @default read from `env` */
  readonly document?: RuntimeDocumentText;
  readonly adapters?: Partial<Adapters>;
  readonly observability?: Observability;
  /** Replaces the shock step (tests). @default `shockStep` over this function's adapters */
  readonly onMarks?: OnMarks;
}

/**
 * The shock run's lease outlives the invocation by this much: the lease must not lapse while this run can
 * still write (Lambda stops it at its timeout), and should free the daily run soon after a killed look.
 */
const LEASE_MARGIN_MS = 5_000;

export type MarketWatchHandler = (event: unknown, context: Context) => Promise<MarketWatchResult>;

/**
 * Build the handler; the configuration is read and validated now, AWS clients on first use.
 *
 * @example
 * export const handler = createMarketWatchHandler();
 */
export function createMarketWatchHandler(options: MarketWatchHandlerOptions = {}): MarketWatchHandler {
  const config = loadRuntimeConfig(options.env ?? process.env, {
    require: ['alertsTopicArn', 'opsTopicArn', 'sweepQueueUrl', 'instruments'],
    ...(options.document && { document: options.document }),
  });
  const observability = options.observability ?? createObservability('market-watch');
  const { logger, metrics } = observability;
  const ports = adapters(config, options.adapters);

  const report = (result: MarketWatchResult): void => {
    count(metrics, METRIC.InstrumentsMarked, result.marked);
    count(metrics, METRIC.MarksHeld, result.held.length);
    count(metrics, METRIC.MarksNoQuorum, result.heldCounts['no-quorum']);
    count(metrics, METRIC.MarksStale, result.heldCounts.stale);
    count(metrics, METRIC.MarksUnconfirmedJump, result.heldCounts['unconfirmed-jump']);
    count(metrics, METRIC.ShockRecalibrations, result.recalibrated.length);
    count(metrics, METRIC.ShockStepsFailed, result.shockError === undefined ? 0 : 1);
    count(metrics, METRIC.ShockRecalibrationsDeferred, result.shockDeferred === undefined ? 0 : 1);
    const fullSweep = result.fullSweep;
    if (fullSweep && 'totalSegments' in fullSweep) {
      count(metrics, METRIC.SegmentsPlanned, fullSweep.totalSegments);
      logger.info('threshold set raised by a shock: full sweep queued at these marks', {
        recalibrated: result.recalibrated,
        sweepRunId: fullSweep.runId,
        totalSegments: fullSweep.totalSegments,
      });
    }
    if (fullSweep && 'error' in fullSweep) {
      count(metrics, METRIC.SweepStartsFailed, 1);
      logger.error('could not queue the sweep after the shock; the coordinator sweeps at its next run', {
        sweepRunId: fullSweep.runId,
        setId: fullSweep.setId,
        error: fullSweep.error,
      });
    }
    if (result.shockDeferred !== undefined) {
      logger.warn('shock recalibration deferred to the next look', { reason: result.shockDeferred });
    }
    const counts = result.sweep?.counts;
    count(metrics, METRIC.AccountsCrossed, counts?.crossed ?? 0);
    count(metrics, METRIC.AccountsRevisited, counts?.revisited ?? 0);
    count(metrics, METRIC.AccountsValued, counts?.accounts ?? 0);
    count(metrics, METRIC.AccountsRejected, counts?.rejected ?? 0);
    count(metrics, METRIC.Transitions, counts?.transitions ?? 0);
    count(metrics, METRIC.StaleTransitions, counts?.stale ?? 0);
    count(metrics, METRIC.AlertsPublished, counts?.alertsPublished ?? 0);
    count(metrics, METRIC.AlertsFailed, counts?.alertsFailed ?? 0);
    count(metrics, METRIC.AlertsResent, counts?.alertsResent ?? 0);
    count(metrics, METRIC.TargetedSweepsEscalated, result.sweep?.escalated ? 1 : 0);
    count(metrics, METRIC.TargetedSegmentsQueued, counts?.fannedOut ?? 0);
    count(metrics, METRIC.TargetedSegmentsNotInvoked, counts?.queuedInstead ?? 0);
    if ((counts?.queuedInstead ?? 0) > 0) {
      logger.warn('targeted segments not invoked were queued instead: their alerts start later', {
        queuedInstead: counts?.queuedInstead,
        fannedOut: counts?.fannedOut,
      });
    }
    count(metrics, METRIC.TargetedSweepsFailed, 0);
    if (result.held.length > 0) {
      logger.warn('live marks held instruments: their accounts stay where they are', {
        held: result.held.map(({ instrument, reason, cause }) => ({ instrument, reason, cause })),
      });
    }
    if (result.shockError !== undefined) logger.error('shock step failed', { error: result.shockError });
    if (!result.sweep && result.recalibrated.length === 0)
      logger.warn('no CURRENT threshold set yet; nothing to watch until the first recalibration');
    logger.info('market watched', {
      takenAt: new Date(result.takenAt).toISOString(),
      marked: result.marked,
      held: result.held.length,
      recalibrated: result.recalibrated,
      ...(counts && { counts: { ...counts }, escalated: result.sweep?.escalated }),
    });
  };

  return observedHandler(observability, async (event, context) => {
    const scheduled = parseEvent(coordinatorEventSchema, event, 'market watch event');
    refuseFarFuture(scheduled, ports.clock.now(), 'market watch event');
    const runId = `watch-${scheduled.scheduledTime ?? new Date(ports.clock.now()).toISOString()}`;
    logger.appendKeys({ runId });
    let result: MarketWatchResult;
    try {
      result = await watchMarket(
        {
          marks: ports.marks,
          accounts: ports.accountReader,
          breachIndex: ports.breachIndex,
          thresholds: ports.thresholds,
          statuses: ports.statuses,
          alerts: ports.alerts,
          ops: ports.ops,
          clock: ports.clock,
          // A crash minute's segments go to the sweep workers: invoked directly when the stack names the
          // worker, and queued when an invoke fails (or without one).
          targetedQueue: ports.targetedQueue,
          ...(ports.targetedInvoker === undefined ? {} : { targetedInvoker: ports.targetedInvoker }),
          onMarks:
            options.onMarks ??
            shockStep(
              {
                market: ports.market,
                thresholds: ports.thresholds,
                ledger: ports.ledger,
                ops: ports.ops,
                clock: ports.clock,
                accounts: ports.accounts,
                queue: ports.sweepQueue,
              },
              {
                instruments: config.instruments,
                holder: context.awsRequestId,
                leaseTtlMs: context.getRemainingTimeInMillis() + LEASE_MARGIN_MS,
                sweep: config.sweep,
              },
            ),
        },
        {
          runId,
          fanOut: { ...DEFAULT_TARGETED_FAN_OUT, ...config.sweep.targeted },
          ...(config.levels === undefined ? {} : { levels: config.levels }),
          ...(config.valuation === undefined ? {} : { valuationPolicy: config.valuation }),
        },
      );
    } catch (error) {
      logger.error('market watch failed; Scheduler retries it', { error: describeError(error) });
      count(metrics, METRIC.TargetedSweepsFailed, 1);
      throw error;
    }
    report(result);
    return result;
  });
}
