/**
 * The events the functions accept, validated with zod before anything else runs. A bad event is an
 * `InvalidEventError` that lists each problem by field path and reason, never by value.
 */
import { z } from 'zod';
import { QmtError } from '../../lib/domain/errors.ts';

/** An event (or SQS message body) that does not have the expected shape. */
export class InvalidEventError extends QmtError {
  constructor(
    message: string,
    /** `path: reason` for each problem, values left out. */
    readonly issues: readonly string[],
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'InvalidEventError';
  }
}

/**
 * One spelling per instant: UTC, whole seconds as Scheduler writes them (`2026-11-24T00:05:00Z`),
 * milliseconds only when there are some. `…00.000Z` and `…01:05:00+01:00` are the same run.
 *
 * @example
 * canonicalInstant('2026-11-24T01:05:00.000+01:00'); // '2026-11-24T00:05:00Z'
 */
export function canonicalInstant(isoText: string): string {
  const text = new Date(Date.parse(isoText)).toISOString();
  return text.endsWith('.000Z') ? `${text.slice(0, -'.000Z'.length)}Z` : text;
}

/**
 * ISO 8601 date-time with `Z` or an offset, as EventBridge Scheduler substitutes
 * `<aws.scheduler.scheduled-time>`, read as its instant: the run id and the idempotency key must not
 * depend on how the time was written, or one instant written two ways would run twice.
 */
const scheduledInstant = z.iso.datetime({ offset: true }).transform(canonicalInstant);

/**
 * The recalibration schedule's target input, `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`.
 * Scheduler delivers at least once, so the scheduled instant is the run's id and its idempotency key.
 */
export const scheduledEventSchema = z.object({ scheduledTime: scheduledInstant });
export type ScheduledEvent = z.output<typeof scheduledEventSchema>;

/** The coordinator's input: from its schedule (with the time), or `{}` when invoked by hand. */
export const coordinatorEventSchema = z.object({ scheduledTime: scheduledInstant.optional() });
export type CoordinatorEvent = z.output<typeof coordinatorEventSchema>;

/** How far ahead of the function's clock a scheduled time may be: clocks drift, by seconds, not by days. */
export const MAX_SCHEDULE_LEAD_MS = 24 * 3_600_000;

/**
 * Refuse a scheduled time more than a day after `now`. Scheduler delivers at or after the scheduled time,
 * so such an event is forged or mistaken, and running it would spend the idempotency key of a future run:
 * the real delivery would then get this one's stored result and never run.
 *
 * @throws InvalidEventError naming the field, the time and the clock.
 * @example
 * refuseFarFuture({ scheduledTime: '2026-11-24T00:05:00Z' }, Date.now(), 'scheduled event');
 */
export function refuseFarFuture(
  event: { readonly scheduledTime?: string | undefined },
  now: number,
  what: string,
): void {
  if (event.scheduledTime === undefined) return;
  if (Date.parse(event.scheduledTime) - now <= MAX_SCHEDULE_LEAD_MS) return;
  const issue = `scheduledTime: more than a day after the clock (${canonicalInstant(new Date(now).toISOString())}): ${event.scheduledTime}`;
  throw new InvalidEventError(`invalid ${what}: ${issue}`, [issue]);
}

/**
 * Validate `input` against `schema`; `what` names the input in the error.
 *
 * @example
 * const event = parseEvent(scheduledEventSchema, rawEvent, 'scheduled event');
 */
export function parseEvent<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map(
    (issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`,
  );
  throw new InvalidEventError(`invalid ${what}: ${issues.join('; ')}`, issues, { cause: result.error });
}

/**
 * Parse a JSON text (an SQS body) and validate it; a syntax error is reported without the text.
 *
 * @example
 * const message = parseJsonEvent(segmentMessageSchema, record.body, 'segment message');
 */
export function parseJsonEvent<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // No cause: JSON.parse's message quotes the text, and a body may hold what should not reach the logs.
    const issue = '(root): not valid JSON';
    throw new InvalidEventError(`invalid ${what}: ${issue}`, [issue]);
  }
  return parseEvent(schema, json, what);
}
