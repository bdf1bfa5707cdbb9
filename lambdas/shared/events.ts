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

/** ISO 8601 date-time with `Z` or an offset, as EventBridge Scheduler substitutes `<aws.scheduler.scheduled-time>`. */
const isoDateTime = z.iso.datetime({ offset: true });

/**
 * The recalibration schedule's target input, `{ "scheduledTime": "<aws.scheduler.scheduled-time>" }`.
 * Scheduler delivers at least once, so the scheduled time is the run's id and its idempotency key.
 */
export const scheduledEventSchema = z.object({ scheduledTime: isoDateTime });
export type ScheduledEvent = z.output<typeof scheduledEventSchema>;

/** The coordinator's input: from its schedule (with the time), or `{}` when invoked by hand. */
export const coordinatorEventSchema = z.object({ scheduledTime: isoDateTime.optional() });
export type CoordinatorEvent = z.output<typeof coordinatorEventSchema>;

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
