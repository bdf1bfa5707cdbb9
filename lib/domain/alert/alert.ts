/**
 * The margin alert: what subscribers of the alerts topic receive on every state change, and the pure rules
 * around it (severity, the deduplication key, the SNS filter attributes). The JSON Schema published in
 * `lib/schemas/margin-alert.v1.json` and `marginAlertSchema` below describe the same document; a test keeps
 * them in step. The schema lives in zod here (not Ajv) because Ajv is a dev dependency only.
 */
import { z } from 'zod';
import type { MarginAlert, MarginState } from '../account/account.ts';

export type AlertSeverity = MarginAlert['severity'];

export const MARGIN_ALERT_SCHEMA_VERSION = '1.0' as const;
export const MARGIN_ALERT_EVENT_TYPE = 'margin.state_changed' as const;

/**
 * Severity by the state the account is now in. The direction of the move is deliberately ignored, so a
 * subscriber filtering `severity = critical` sees every account that is *currently* in margin call or
 * liquidation, including one that just improved from liquidation to margin call (the liquidation engine
 * must hear that it can stop), and the rule fits in the JSON Schema as a plain if/then.
 */
const SEVERITY_BY_STATE: Readonly<Record<MarginState, AlertSeverity>> = {
  OK: 'info',
  WARNING: 'warning',
  MARGIN_CALL: 'critical',
  LIQUIDATION: 'critical',
};

/**
 * The severity of a move from `previousState` to `newState`: OK → info (a recovery), WARNING → warning,
 * MARGIN_CALL and LIQUIDATION → critical. Throws if the state did not change: there is no alert then.
 *
 * @example
 * severityOf('MARGIN_CALL', 'WARNING'); // 'critical'
 * severityOf('OK', 'LIQUIDATION'); // 'info'
 */
export function severityOf(newState: MarginState, previousState: MarginState): AlertSeverity {
  if (newState === previousState) {
    throw new RangeError(`no state change (${newState}): an alert is raised only when the state changes`);
  }
  return SEVERITY_BY_STATE[newState];
}

/**
 * The alert's id, which is also its deduplication key: one account's transition number `sequence` (the
 * margin status sequence after the transition) always gets the same id, so a duplicate or retried worker
 * republishes the same id and subscribers (and SNS FIFO deduplication) can drop it. Kept readable rather
 * than hashed so an operator can grep for it.
 *
 * @example
 * alertIdFor('acc-0042', 7); // 'acc-0042:7'
 */
export function alertIdFor(accountId: string, sequence: number): string {
  if (accountId.length === 0) throw new RangeError('accountId must not be empty');
  if (!Number.isSafeInteger(sequence) || sequence < 1) {
    throw new RangeError(`sequence must be a positive integer, got ${sequence}`);
  }
  return `${accountId}:${sequence}`;
}

/** An SNS string message attribute, shaped like the SDK's `MessageAttributeValue` without importing it. */
export interface StringAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** The message attributes subscribers filter on. */
export interface AlertAttributes {
  readonly eventType: StringAttribute;
  readonly severity: StringAttribute;
  readonly accountId: StringAttribute;
  readonly newState: StringAttribute;
}

/**
 * The SNS message attributes for an alert, so subscription filter policies can pick alerts by type,
 * severity, account or new state without parsing the body.
 *
 * @example
 * alertAttributes(alert).severity; // { DataType: 'String', StringValue: 'critical' }
 */
export function alertAttributes(alert: MarginAlert): AlertAttributes {
  const text = (value: string): StringAttribute => ({ DataType: 'String', StringValue: value });
  return {
    eventType: text(alert.eventType),
    severity: text(alert.severity),
    accountId: text(alert.accountId),
    newState: text(alert.newState),
  };
}

/** What the caller knows about a transition; `marginAlert` derives the id, severity and constants. */
export type MarginAlertInput = Omit<MarginAlert, 'schemaVersion' | 'eventType' | 'alertId' | 'severity'>;

/**
 * Build a `MarginAlert` with its derived fields filled in consistently (id from account and sequence,
 * severity from the new state), validated against the schema. Throws a `ZodError` on bad input.
 *
 * @example
 * const alert = marginAlert({ accountId: 'acc-1', previousState: 'OK', newState: 'WARNING', sequence: 3, ... });
 * alert.alertId; // 'acc-1:3'
 */
export function marginAlert(input: MarginAlertInput): MarginAlert {
  return marginAlertSchema.parse({
    schemaVersion: MARGIN_ALERT_SCHEMA_VERSION,
    eventType: MARGIN_ALERT_EVENT_TYPE,
    alertId: alertIdFor(input.accountId, input.sequence),
    accountId: input.accountId,
    previousState: input.previousState,
    newState: input.newState,
    severity: severityOf(input.newState, input.previousState),
    sequence: input.sequence,
    equity: input.equity,
    initialRequirement: input.initialRequirement,
    maintenanceRequirement: input.maintenanceRequirement,
    marginRatio: input.marginRatio,
    shortfallToInitial: input.shortfallToInitial,
    thresholdSetId: input.thresholdSetId,
    runId: input.runId,
    occurredAt: input.occurredAt,
  });
}

// The patterns and limits below are copied verbatim into the JSON Schema; change both together.
/** At most 38 significant digits (DynamoDB's number precision) plus sign and point. */
const DECIMAL_MAX_LENGTH = 40;
export const SIGNED_DECIMAL_PATTERN = /^-?\d+(\.\d+)?$/;
export const NON_NEGATIVE_DECIMAL_PATTERN = /^\d+(\.\d+)?$/;
/** RFC 3339 in UTC only, seconds required: one spelling, so consumers can compare times as strings. */
export const UTC_TIME_PATTERN =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d(\.\d{1,9})?Z$/;

/** True if the day exists in its month (the pattern alone admits 2026-02-30). */
function isCalendarDate(time: string): boolean {
  const year = Number(time.slice(0, 4));
  const month = Number(time.slice(5, 7));
  const day = Number(time.slice(8, 10));
  const probe = new Date(0);
  // setUTCFullYear, not Date.UTC, which maps years 0-99 to 1900-1999 (and so gets their leap days wrong).
  probe.setUTCFullYear(year, month - 1, day);
  return probe.getUTCMonth() === month - 1 && probe.getUTCDate() === day;
}

const signedDecimal = z.string().max(DECIMAL_MAX_LENGTH).regex(SIGNED_DECIMAL_PATTERN);
const nonNegativeDecimal = z.string().max(DECIMAL_MAX_LENGTH).regex(NON_NEGATIVE_DECIMAL_PATTERN);
const marginStateSchema = z.enum(['OK', 'WARNING', 'MARGIN_CALL', 'LIQUIDATION']);
const utcTime = z
  .string()
  .regex(UTC_TIME_PATTERN, 'must be an RFC 3339 UTC time such as 2026-11-24T00:00:00Z')
  .refine(isCalendarDate, 'is not a calendar date');

/**
 * The zod mirror of `lib/schemas/margin-alert.v1.json`, used to validate every alert before it leaves
 * the process (the JSON Schema is for subscribers; Ajv is not a runtime dependency).
 */
export const marginAlertSchema = z
  .strictObject({
    schemaVersion: z.literal(MARGIN_ALERT_SCHEMA_VERSION),
    eventType: z.literal(MARGIN_ALERT_EVENT_TYPE),
    alertId: z.string().min(1).max(160),
    accountId: z.string().min(1).max(128),
    previousState: marginStateSchema,
    newState: marginStateSchema,
    severity: z.enum(['info', 'warning', 'critical']),
    sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    equity: signedDecimal,
    initialRequirement: nonNegativeDecimal,
    maintenanceRequirement: nonNegativeDecimal,
    marginRatio: signedDecimal.nullable(),
    shortfallToInitial: nonNegativeDecimal,
    thresholdSetId: z.string().min(1).max(256),
    runId: z.string().min(1).max(256),
    occurredAt: utcTime,
  })
  .superRefine((alert, ctx) => {
    if (alert.previousState === alert.newState) {
      ctx.addIssue({ code: 'custom', path: ['newState'], message: 'must differ from previousState' });
    }
    const expected = SEVERITY_BY_STATE[alert.newState];
    if (alert.severity !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['severity'],
        message: `must be ${expected} for ${alert.newState}`,
      });
    }
  });
