/**
 * The sweep worker. SQS delivers segment messages `{ runId, segment, totalSegments, cursor?, marks? }`
 * (`marks`: the coordinator's one snapshot for the sweep, valued at as it is), and a crash minute's targeted
 * segments `{ kind: 'targeted', runId, segment, totalSegments, setId, accountIds, marks }` from the market
 * watch (swept by id, never redelivered: see `sweepTargeted`); each is one record of a Powertools batch, and
 * a failed record is reported back alone (partial batch response) so SQS redelivers only that one, and
 * after the queue's maxReceiveCount sends it to the dead-letter queue.
 *
 * The market watch also invokes the worker directly (asynchronous Invoke) with one targeted segment as the
 * whole event, the same body as on the queue: swept the same way, nothing to report back. A malformed event
 * is thrown, so Lambda's retry and then the on-failure destination (the sweep dead-letter queue) keep it.
 *
 * Per record:
 *  1. Validate the body (a malformed one fails its record only).
 *  2. Sweep the segment from its cursor, stopping between pages when under 30 s of the invocation remain.
 *  3. Stopped early: queue a continuation `{ runId, segment, totalSegments, cursor, marks }` so the next worker
 *     resumes from the checkpoint, and count this record done. If the continuation cannot be queued, fail
 *     the record: SQS redelivers it, and the segment is swept again from this message's cursor (conditional
 *     state writes make the repeat harmless: no account changes state or is announced twice).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  isTargetedBody,
  type SegmentMessage,
  segmentMessageSchema,
  type TargetedSegmentMessage,
  targetedSegmentMessageSchema,
} from '../../lib/adapters/sqs/sweep-queue.ts';
import {
  NoThresholdSetError,
  type SweepPorts,
  type SweepRequest,
  type SweepResult,
  sweepSegment,
} from '../../lib/app/sweep.ts';
import { DEFAULT_TARGETED_FAN_OUT } from '../../lib/app/targeted-fan-out.ts';
import { SetSupersededError, sweepNamed, type TargetedSweepCounts } from '../../lib/app/targeted-sweep.ts';
import { type Environment, loadRuntimeConfig, type RuntimeDocumentText } from '../../lib/config/runtime.ts';
import { QmtError } from '../../lib/domain/errors.ts';
import { type Adapters, adapters } from '../shared/adapters.ts';
import { parseEvent, parseJsonEvent } from '../shared/events.ts';
import {
  count,
  createObservability,
  describeError,
  METRIC,
  type Observability,
  observedHandler,
} from '../shared/observability.ts';

/** A worker hands its segment over when less than this remains of its invocation. */
export const STOP_MARGIN_MS = 30_000;

/** Rejected records logged per segment run (all are counted; the sweep reports them to ops as well). */
const MAX_LOGGED_REJECTIONS = 50;

/** A worker stopped before getting past its own checkpoint: continuing would loop, so the record fails. */
export class SweepStalledError extends QmtError {
  constructor(
    readonly runId: string,
    readonly segment: number,
  ) {
    super(`sweep ${runId} segment ${segment} stopped without passing its checkpoint; not continued`);
    this.name = 'SweepStalledError';
  }
}

export type SweepSegment = (ports: SweepPorts, request: SweepRequest) => Promise<SweepResult>;

export interface SweepWorkerHandlerOptions {
  /** @default process.env */
  readonly env?: Environment;
  /** The configuration document, when it came from AppConfig (`withLiveConfig`). @default read from `env` */
  readonly document?: RuntimeDocumentText;
  readonly adapters?: Partial<Adapters>;
  readonly observability?: Observability;
  /** @default sweepSegment from lib/app/sweep.ts */
  readonly sweep?: SweepSegment;
  /** @default STOP_MARGIN_MS */
  readonly stopMarginMs?: number;
}

/** An SQS batch, or one targeted segment invoked directly by the market watch. */
export type SweepWorkerHandler = (event: SQSEvent | unknown, context: Context) => Promise<SQSBatchResponse>;

/**
 * Build the handler; the configuration is read and validated now, AWS clients on first use.
 *
 * @example
 * export const handler = createSweepWorkerHandler();
 */
export function createSweepWorkerHandler(options: SweepWorkerHandlerOptions = {}): SweepWorkerHandler {
  const config = loadRuntimeConfig(options.env ?? process.env, {
    require: ['alertsTopicArn', 'opsTopicArn', 'sweepQueueUrl'],
    ...(options.document && { document: options.document }),
  });
  const observability = options.observability ?? createObservability('sweep-worker');
  const { logger, metrics } = observability;
  const ports = adapters(config, options.adapters);
  const sweep = options.sweep ?? sweepSegment;
  const stopMarginMs = options.stopMarginMs ?? STOP_MARGIN_MS;
  const processor = new BatchProcessor(EventType.SQS);

  const maxAgeMs = config.sweep.targeted?.maxAgeMs ?? DEFAULT_TARGETED_FAN_OUT.maxAgeMs;

  /** The verdict counts a full and a targeted segment both report. */
  const countVerdicts = (counts: TargetedSweepCounts | SweepResult['counts']): void => {
    count(metrics, METRIC.AccountsValued, counts.accounts);
    count(metrics, METRIC.AccountsRejected, counts.rejected);
    count(metrics, METRIC.Transitions, counts.transitions);
    count(metrics, METRIC.StaleTransitions, counts.stale);
    count(metrics, METRIC.AlertsPublished, counts.alertsPublished);
    count(metrics, METRIC.AlertsFailed, counts.alertsFailed);
    // Pending alerts re-sent from the outbox.
    count(metrics, METRIC.AlertsResent, counts.alertsResent ?? 0);
  };

  /**
   * A crash minute's targeted segment: the watch's `sweepMoved` on these ids (announce first, re-index
   * after). Never redelivered: a failure, a segment too old or cut for a superseded set is reported to ops
   * and the record counted done, since its accounts keep their crossed bands until re-indexed, so the next
   * look revisits them at newer marks, and the full sweep values them anyway. A redelivery in half an hour
   * (the queue's visibility timeout) would value at marks long overtaken.
   */
  const sweepTargeted = async (message: TargetedSegmentMessage): Promise<void> => {
    const where = { runId: message.runId, segment: message.segment, totalSegments: message.totalSegments };
    const skip = async (reason: string, error?: unknown) => {
      (error === undefined ? logger.warn : logger.error).call(logger, 'targeted segment not swept', {
        ...where,
        reason,
        ...(error === undefined ? {} : { error: describeError(error) }),
      });
      count(metrics, error === undefined ? METRIC.SegmentsSkipped : METRIC.SegmentsFailed, 1);
      await ports.ops.publish({
        type: 'sweep.failed',
        runId: message.runId,
        segment: message.segment,
        reason,
      });
    };
    const age = ports.clock.now() - message.marks.takenAt;
    if (age > maxAgeMs) {
      await skip(
        `targeted segment of ${message.accountIds.length} accounts not swept: its marks are ${Math.round(age / 1000)} s old ` +
          `(limit ${maxAgeMs / 1000} s); later looks and the full sweep value them at newer marks`,
      );
      return;
    }
    try {
      const result = await sweepNamed(
        {
          accounts: ports.accountReader,
          breachIndex: ports.breachIndex,
          thresholds: ports.thresholds,
          statuses: ports.statuses,
          alerts: ports.alerts,
          ops: ports.ops,
          clock: ports.clock,
        },
        {
          runId: message.runId,
          segment: message.segment,
          setId: message.setId,
          accountIds: message.accountIds,
          marks: message.marks,
          ...(config.levels === undefined ? {} : { levels: config.levels }),
          ...(config.valuation === undefined ? {} : { valuationPolicy: config.valuation }),
        },
      );
      const { counts } = result;
      count(metrics, METRIC.AccountsRevisited, counts.revisited);
      countVerdicts(counts);
      count(metrics, METRIC.SegmentsCompleted, 1);
      logger.info('targeted segment swept', { ...where, counts: { ...counts } });
    } catch (error) {
      if (error instanceof NoThresholdSetError || error instanceof SetSupersededError) {
        await skip(`targeted segment not swept: ${error.message}`);
        return;
      }
      await skip(
        `targeted segment of ${message.accountIds.length} accounts failed: ${describeError(error)}`.slice(
          0,
          1_000,
        ),
        error,
      );
    }
  };

  const sweepRecord = async (record: SQSRecord, context: Context): Promise<void> => {
    let message: SegmentMessage | undefined;
    try {
      if (isTargetedBody(safeJson(record.body))) {
        await sweepTargeted(
          parseJsonEvent(targetedSegmentMessageSchema, record.body, 'targeted segment message'),
        );
        return;
      }
      message = parseJsonEvent(segmentMessageSchema, record.body, 'segment message');
      const result = await sweep(
        {
          accounts: ports.accounts,
          thresholds: ports.thresholds,
          statuses: ports.statuses,
          alerts: ports.alerts,
          ops: ports.ops,
          clock: ports.clock,
          marks: ports.marks,
          // Every full sweep keeps the breach index the market watch reads.
          breachIndex: ports.breachIndex,
        },
        {
          runId: message.runId,
          segment: { segment: message.segment, totalSegments: message.totalSegments },
          ...(message.cursor === undefined ? {} : { cursor: message.cursor }),
          // The coordinator's snapshot: every segment of the sweep values at the same prices.
          ...(message.marks === undefined ? {} : { marks: message.marks }),
          ...(config.sweep.pageSize === undefined ? {} : { pageSize: config.sweep.pageSize }),
          ...(config.levels === undefined ? {} : { levels: config.levels }),
          ...(config.valuation === undefined ? {} : { valuationPolicy: config.valuation }),
          shouldStop: () => context.getRemainingTimeInMillis() < stopMarginMs,
        },
      );
      reportResult(message, result);
      if (!result.done) await continueSegment(message, result);
      count(metrics, result.done ? METRIC.SegmentsCompleted : METRIC.SegmentsContinued, 1);
    } catch (error) {
      // Before the first recalibration there is nothing to value against: not a failure to redeliver.
      if (error instanceof NoThresholdSetError) {
        logger.warn('no CURRENT threshold set yet; segment skipped until the first recalibration', {
          runId: message?.runId,
          segment: message?.segment,
        });
        count(metrics, METRIC.SegmentsSkipped, 1);
        return;
      }
      logger.error('segment message failed; SQS will redeliver it', {
        messageId: record.messageId,
        ...(message && {
          runId: message.runId,
          segment: message.segment,
          totalSegments: message.totalSegments,
        }),
        error: describeError(error),
      });
      count(metrics, METRIC.SegmentsFailed, 1);
      throw error;
    }
  };

  /** Counts to metrics; the outcome and any rejected records (key + reason) to the log. */
  const reportResult = (message: SegmentMessage, result: SweepResult): void => {
    const { counts } = result;
    countVerdicts(counts);
    // Accounts held back because their last alert is still unconfirmed.
    count(metrics, METRIC.AccountsDeferred, counts.deferred ?? 0);
    const where = { runId: message.runId, segment: message.segment, totalSegments: message.totalSegments };
    logger.info(result.done ? 'segment swept' : 'segment paused near the time limit', {
      ...where,
      resumedFromCheckpoint: message.cursor !== undefined,
      done: result.done,
      counts: { ...counts },
      marks: result.marks,
    });
    if (result.rejected.length > 0) {
      logger.warn('account records rejected', {
        ...where,
        rejected: result.rejected
          .slice(0, MAX_LOGGED_REJECTIONS)
          .map(({ accountKey, reason }) => ({ accountKey, reason })),
        more: Math.max(0, result.rejected.length - MAX_LOGGED_REJECTIONS),
      });
    }
    if (counts.alertsFailed > 0) {
      logger.error('alerts not published after retries', { ...where, alertsFailed: counts.alertsFailed });
    }
  };

  const continueSegment = async (message: SegmentMessage, result: SweepResult): Promise<void> => {
    if (result.cursor === message.cursor) throw new SweepStalledError(message.runId, message.segment);
    await ports.sweepQueue.enqueue([
      {
        runId: message.runId,
        segment: message.segment,
        totalSegments: message.totalSegments,
        ...(result.cursor === undefined ? {} : { cursor: result.cursor }),
        // The same snapshot as the segment began with, not one taken now: the sweep stays at one set of prices.
        ...(message.marks === undefined ? {} : { marks: message.marks }),
      },
    ]);
  };

  /** A targeted segment invoked directly: the same sweep as from the queue, nothing to report back. */
  const sweepInvoked = async (event: unknown): Promise<SQSBatchResponse> => {
    let message: TargetedSegmentMessage;
    try {
      message = parseEvent(targetedSegmentMessageSchema, event, 'targeted segment event');
    } catch (error) {
      logger.error(
        'targeted segment event rejected; Lambda retries it, then sends it to the dead-letter queue',
        {
          error: describeError(error),
        },
      );
      count(metrics, METRIC.SegmentsFailed, 1);
      throw error;
    }
    await sweepTargeted(message);
    return { batchItemFailures: [] };
  };

  return observedHandler(observability, (event: unknown, context: Context) =>
    isSqsEvent(event)
      ? processPartialResponse(event, (record: SQSRecord) => sweepRecord(record, context), processor, {
          context,
          // Every record failed: report them all like any partial failure rather than failing the invocation.
          throwOnFullBatchFailure: false,
        })
      : sweepInvoked(event),
  );
}

/** SQS's batch shape; anything else is a direct invoke (a targeted segment, or refused as malformed). */
function isSqsEvent(event: unknown): event is SQSEvent {
  return (
    typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records)
  );
}

/** The body as JSON, or undefined when it is not JSON (the schema's parse then names the fault). */
function safeJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}
