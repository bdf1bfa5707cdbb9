import { z } from 'zod';

/**
 * The account record qmt reads from the exchange's accounts table. Amounts are decimal strings so no
 * precision is lost between the exchange's books and the valuation.
 */
const decimal = z
  .string()
  .regex(/^-?\d+(\.\d+)?$/, 'must be a decimal string such as "1250.5"')
  .refine((s) => s.replace(/[-.]/g, '').length <= 38, 'has more than 38 digits');
const positiveDecimal = decimal.refine((s) => !s.startsWith('-') && Number(s) > 0, 'must be greater than 0');
const nonNegativeDecimal = decimal.refine((s) => !s.startsWith('-'), 'must not be negative');
const signedNonZeroDecimal = decimal.refine((s) => Number(s) !== 0, 'must not be zero');
const symbol = z.string().regex(/^[A-Z0-9][A-Z0-9_-]{0,31}$/, 'must be an upper-case symbol such as "BTC"');
const isoTime = z.iso.datetime({ offset: true });

export const collateralSchema = z.strictObject({
  asset: symbol,
  amount: nonNegativeDecimal,
  /** Fraction of market value not counted as margin (0 = full credit). */
  haircut: z.number().min(0).lt(1).optional(),
});

const linearOrInverse = z.enum(['linear', 'inverse']);

export const futurePositionSchema = z.strictObject({
  kind: z.enum(['perpetual', 'future']),
  instrument: symbol,
  /** Signed quantity: long > 0, short < 0. Linear: base units; inverse: contracts of `contractSize` quote. */
  quantity: signedNonZeroDecimal,
  entryPrice: positiveDecimal,
  settlement: linearOrInverse.default('linear'),
  /** Quote value of one inverse contract (e.g. 100 USD); linear positions ignore it. */
  contractSize: positiveDecimal.optional(),
  expiry: isoTime.optional(),
});

export const optionPositionSchema = z.strictObject({
  kind: z.literal('option'),
  instrument: symbol,
  optionType: z.enum(['call', 'put']),
  strike: positiveDecimal,
  expiry: isoTime,
  quantity: signedNonZeroDecimal,
  /** Premium paid (long) or received (short) per unit, quote currency. */
  entryPrice: nonNegativeDecimal,
  /** Implied volatility (annualised fraction) the exchange marks the option at; else the model's. */
  markVolatility: z.number().positive().max(10).optional(),
});

export const positionSchema = z.discriminatedUnion('kind', [futurePositionSchema, optionPositionSchema]);

export const accountSchema = z.strictObject({
  accountId: z.string().min(1).max(128),
  collateral: z.array(collateralSchema).max(64),
  positions: z.array(positionSchema).max(512),
  updatedAt: isoTime.optional(),
});

export type Collateral = z.infer<typeof collateralSchema>;
export type FuturePosition = z.infer<typeof futurePositionSchema>;
export type OptionPosition = z.infer<typeof optionPositionSchema>;
export type Position = z.infer<typeof positionSchema>;
export type Account = z.infer<typeof accountSchema>;

export type MarginState = 'OK' | 'WARNING' | 'MARGIN_CALL' | 'LIQUIDATION';
export const MARGIN_STATES: readonly MarginState[] = ['OK', 'WARNING', 'MARGIN_CALL', 'LIQUIDATION'];

/** The stored margin state of one account. `sequence` increases by one per applied transition. */
export interface MarginStatus {
  readonly accountId: string;
  readonly state: MarginState;
  readonly sequence: number;
  readonly updatedAt: string;
  readonly thresholdSetId: string;
  readonly runId: string;
  readonly marginRatio: string;
  /**
   * Transactional outbox: the alert of the transition that produced this status (same `sequence`), written
   * in the same conditional write and removed once it is published. Present = announced but not confirmed.
   */
  readonly pendingAlert?: MarginAlert;
}

/** A state change to apply and announce. Applied only if the stored sequence is `expectedSequence`. */
export interface MarginTransition {
  readonly accountId: string;
  readonly previousState: MarginState;
  readonly newState: MarginState;
  readonly expectedSequence: number;
  readonly alert: MarginAlert;
}

/** The alert body published on every state change (schema: `lib/schemas/margin-alert.v1.json`). */
/** The mark one instrument was valued at, as an alert carries it: a decimal string and an RFC 3339 UTC time. */
export interface AlertMark {
  readonly price: string;
  readonly at: string;
}

export interface MarginAlert {
  /**
   * `1.1` for every alert built now. A status may still hold a pending `1.0` alert written before 1.1: it is
   * re-sent as stored (`parsePublishableAlert`), the one place a 1.0 document passes for this type.
   */
  readonly schemaVersion: '1.1';
  readonly eventType: 'margin.state_changed';
  readonly alertId: string;
  readonly accountId: string;
  readonly previousState: MarginState;
  readonly newState: MarginState;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly sequence: number;
  readonly equity: string;
  readonly initialRequirement: string;
  readonly maintenanceRequirement: string;
  readonly marginRatio: string | null;
  readonly shortfallToInitial: string;
  readonly thresholdSetId: string;
  readonly runId: string;
  readonly occurredAt: string;
  /**
   * Since 1.1: per instrument symbol, the mark the account was valued at — its positions' instruments and
   * any collateral asset that is itself a marked instrument.
   */
  readonly marks: Readonly<Record<string, AlertMark>>;
}
