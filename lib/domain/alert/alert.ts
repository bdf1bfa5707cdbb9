/**
 * The margin alert: what subscribers of the alerts topic receive on every state change, and the pure rules
 * around it (severity, the deduplication key, the SNS filter attributes). `marginAlertSchema` below is the
 * one definition of the document: the JSON Schema published in `lib/schemas/margin-alert.v1.json` is
 * generated from it (`npm run schemas`). The schema lives in zod here (not Ajv) because Ajv is a dev
 * dependency only.
 */
import { z } from 'zod';
import type { MarginAlert, MarginState } from '../account/account.ts';

export type AlertSeverity = MarginAlert['severity'];

/**
 * 1.1 added `marks` (additive). The JSON Schema keeps its file name `margin-alert.v1.json`: the file is per
 * major version, and a 1.x document only ever gains fields.
 */
export const MARGIN_ALERT_SCHEMA_VERSION = '1.1' as const;
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
    marks: input.marks,
  });
}

// The patterns and limits below reach the JSON Schema through `npm run schemas`.
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
const MARGIN_STATES = ['OK', 'WARNING', 'MARGIN_CALL', 'LIQUIDATION'] as const;
const utcTime = z
  .string()
  .regex(UTC_TIME_PATTERN, 'must be an RFC 3339 UTC time such as 2026-11-24T00:00:00Z')
  .refine(isCalendarDate, 'is not a calendar date');
/** A decimal above zero: digits, at least one of them not 0. */
export const POSITIVE_DECIMAL_PATTERN = /^(?=.*[1-9])\d+(\.\d+)?$/;
/** An instrument symbol, as the accounts table spells it. */
export const SYMBOL_PATTERN = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;

// The named definitions of the JSON Schema (`$defs`, by their `id`); the fields below refer to them.
const marginStateSchema = z.enum(MARGIN_STATES).meta({
  id: 'marginState',
  description:
    "The account's margin state, from its margin ratio against the levels of the threshold set's policy. OK: above the warning level. WARNING: below the warning level. MARGIN_CALL: below the margin-call level; the account must add collateral or reduce positions. LIQUIDATION: below the liquidation level, or equity below zero (even when nothing is required and marginRatio is null); positions are to be closed. The levels have hysteresis so an account hovering at one does not flap.",
});
const signedDecimalDef = signedDecimal.meta({
  id: 'signedDecimal',
  description:
    'A decimal number as a string, optionally negative, at most 38 digits: for example "-1250.50".',
});
const nonNegativeDecimalDef = nonNegativeDecimal.meta({
  id: 'nonNegativeDecimal',
  description: 'A decimal number as a string, zero or more, at most 38 digits: for example "1250.5".',
});

/**
 * The cross-field rules of `superRefine` below, in JSON Schema (zod cannot translate a refinement): per new
 * state, the previous state differs and the severity is the state's own.
 */
const TRANSITION_RULES = MARGIN_STATES.map((state) => ({
  if: { properties: { newState: { const: state } } },
  // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword, in plain data nothing awaits.
  then: {
    properties: { previousState: { not: { const: state } }, severity: { const: SEVERITY_BY_STATE[state] } },
  },
}));

/** A mark in an alert (1.1): a named definition of the JSON Schema. */
const markDef = z
  .strictObject({
    price: z
      .string()
      .max(DECIMAL_MAX_LENGTH)
      .regex(POSITIVE_DECIMAL_PATTERN)
      .describe(
        'The mark price of one unit in the quote currency, a decimal string: for example "101250.5".',
      ),
    at: utcTime.meta({
      format: 'date-time',
      description:
        "When the price was observed: the venues' time for a live mark, the close of the reference candle for a reference close.",
    }),
  })
  .meta({ id: 'mark', description: "One instrument's mark, as the account was valued at it." });

/** The fields of every 1.x alert besides `schemaVersion` (and 1.1's `marks`). */
const versionedFields = {
  eventType: z
    .literal(MARGIN_ALERT_EVENT_TYPE)
    .describe(
      "What happened: the account's margin state changed. Also sent as the eventType message attribute.",
    ),
  alertId: z
    .string()
    .min(1)
    .max(160)
    .describe(
      "Deduplication key: '<accountId>:<sequence>'. qmt stores each alert with its state change and re-sends it until it is confirmed published, so the same alert may arrive more than once (after a publish failure, or a crash between publishing and confirming). Every copy is identical and has the same alertId: process each alertId once, and order an account's alerts by sequence.",
    ),
  accountId: z
    .string()
    .min(1)
    .max(128)
    .describe(
      "The exchange's account identifier, as stored in its accounts table. Also sent as the accountId message attribute.",
    ),
  previousState: marginStateSchema.describe('The margin state before this change.'),
  newState: marginStateSchema.describe(
    'The margin state after this change; always differs from previousState. Also sent as the newState message attribute.',
  ),
  severity: z
    .enum(['info', 'warning', 'critical'])
    .describe(
      'Follows newState only, whatever the direction of the move: OK -> info (a recovery), WARNING -> warning, MARGIN_CALL and LIQUIDATION -> critical. Also sent as the severity message attribute.',
    ),
  sequence: z
    .number()
    .int()
    .min(1)
    .max(Number.MAX_SAFE_INTEGER)
    .describe(
      "The account's margin status sequence after this change; increases by one per change, so a gap means a missed alert and a lower number means a late one.",
    ),
  equity: signedDecimalDef.describe(
    'Account equity: collateral after haircuts plus unrealised profit and loss. Negative when the account is underwater.',
  ),
  initialRequirement: nonNegativeDecimalDef.describe(
    "Initial margin requirement of the account's positions under the threshold set.",
  ),
  maintenanceRequirement: nonNegativeDecimalDef.describe(
    "Maintenance margin requirement of the account's positions under the threshold set.",
  ),
  marginRatio: signedDecimal
    .nullable()
    .describe(
      'equity / maintenanceRequirement as a decimal string (1.0 = exactly at maintenance), or null when the maintenance requirement is zero (no positions, positions that net to zero, or only expired options left) and the ratio is undefined. A null ratio says nothing about solvency: read equity. With nothing required, equity of zero or more is OK and negative equity is LIQUIDATION; an account with negative equity is in LIQUIDATION whatever its requirement.',
    ),
  shortfallToInitial: nonNegativeDecimalDef.describe(
    'Amount of equity to add to restore the initial margin requirement: max(0, initialRequirement - equity).',
  ),
  thresholdSetId: z
    .string()
    .min(1)
    .max(256)
    .describe(
      'The immutable threshold set the account was valued under; look it up for the rates and their audit trail.',
    ),
  runId: z
    .string()
    .min(1)
    .max(256)
    .describe('The sweep run that valued the account and detected the change.'),
  // `format` for subscribers' validators; zod checks the calendar date with the refinement above.
  occurredAt: utcTime.meta({
    format: 'date-time',
    description:
      'When the change was detected, RFC 3339 in UTC with seconds, for example 2026-11-24T00:05:12.345Z.',
  }),
};

/** The rules across fields, the same in every version. */
function checkTransition(
  alert: { readonly previousState: MarginState; readonly newState: MarginState; readonly severity: string },
  ctx: z.RefinementCtx,
): void {
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
}

/**
 * The zod mirror of `lib/schemas/margin-alert.v1.json`, used to validate every alert before it leaves
 * the process (the JSON Schema is for subscribers; Ajv is not a runtime dependency). The JSON Schema is
 * generated from this one (`npm run schemas`), descriptions included, so the two cannot drift.
 */
export const marginAlertSchema = z
  .strictObject({
    schemaVersion: z
      .literal(MARGIN_ALERT_SCHEMA_VERSION)
      .describe(
        'Version of this schema. 1.1 added marks to 1.0. Consumers should reject major versions they do not know.',
      ),
    ...versionedFields,
    marks: z
      .record(z.string().regex(SYMBOL_PATTERN), markDef)
      .describe(
        'Since 1.1. The marks the account was valued at, by instrument symbol: every instrument of its positions, and any collateral asset that is itself a marked instrument (its mark prices the collateral). Stablecoins and the quote currency are priced at 1 by policy and carry no mark. Every account valued in one sweep saw the same marks. Empty only for an account holding nothing marked.',
      ),
  })
  .superRefine(checkTransition)
  .meta({
    $id: 'urn:qmt:schema:margin-alert:1.1',
    title: 'qmt margin alert, version 1.1',
    description:
      "Published by qmt to the alerts topic once per margin state change of an account, and only then. The body is this JSON document; the SNS message attributes eventType, severity, accountId and newState (all String) repeat the fields of the same name so subscription filter policies need not parse the body. Delivery is at least once: deduplicate on alertId and order an account's alerts by sequence. Amounts are decimal strings in the quote currency of the account's margin, never JSON numbers, so no precision is lost. Fields are never added within a version; a new field means a new schemaVersion (1.1 added marks).",
    allOf: TRANSITION_RULES,
    examples: [
      {
        schemaVersion: '1.1',
        eventType: 'margin.state_changed',
        alertId: 'acc-0042:7',
        accountId: 'acc-0042',
        previousState: 'WARNING',
        newState: 'MARGIN_CALL',
        severity: 'critical',
        sequence: 7,
        equity: '9800.00',
        initialRequirement: '12500.00',
        maintenanceRequirement: '10000.00',
        marginRatio: '0.98',
        shortfallToInitial: '2700.00',
        thresholdSetId: '2026-11-24T00:00Z',
        runId: 'sweep-2026-11-24T00:05Z',
        occurredAt: '2026-11-24T00:05:12.345Z',
        marks: { BTC: { price: '101250.5', at: '2026-11-24T00:05:00.000Z' } },
      },
    ],
  });

/**
 * A 1.0 alert: what a status stored as its pending alert before qmt wrote 1.1. It is re-sent exactly as
 * stored, so every copy of one alertId stays identical (subscribers dedupe on it); never built new.
 */
const marginAlertV1_0Schema = z
  .strictObject({ schemaVersion: z.literal('1.0'), ...versionedFields })
  .superRefine(checkTransition);

/**
 * Check an alert before it is published: a 1.1 alert against `marginAlertSchema`; a pending 1.0 alert
 * written before the upgrade against 1.0, so it still goes out rather than staying pending for ever.
 *
 * @example
 * const parsed = parsePublishableAlert(alert);
 * if (!parsed.success) reportFailed(alert, parsed.error);
 */
export function parsePublishableAlert(
  alert: unknown,
): { success: true; data: MarginAlert } | { success: false; error: z.ZodError } {
  const version = (alert as { schemaVersion?: unknown } | null)?.schemaVersion;
  if (version !== '1.0') return marginAlertSchema.safeParse(alert);
  // The stored 1.0 document goes out unchanged: typed as the current alert only to travel the same path.
  const legacy = marginAlertV1_0Schema.safeParse(alert);
  return legacy.success ? { success: true, data: legacy.data as unknown as MarginAlert } : legacy;
}
