/**
 * A `MarkSnapshot` as it travels in a segment message: the coordinator takes one snapshot per sweep and
 * every segment message (and every continuation of one) carries it, so all workers of a sweep value at the
 * same prices. Prices are decimal strings and times ISO 8601 UTC, as in the alerts; instruments are keys,
 * so none can be marked twice. A malformed snapshot fails validation naming the field
 * (`marks.marks.BTC.price: …`): a worker never values at a price it could not read.
 *
 * At 400 instruments marked by four venues a segment message is 56 KB of JSON (measured in
 * `test/adapters/sqs/mark-snapshot-message.test.ts`), about a fifth of SQS's 256 KB message limit.
 */
import { z } from 'zod';
import {
  createMarkSnapshot,
  type HeldMark,
  type InstrumentMark,
  type MarkSnapshot,
  priceText,
} from '../../domain/market/mark.ts';

/** The snapshot in the message body (JSON). */
export interface MarkSnapshotMessage {
  readonly takenAt: string;
  readonly marks: Readonly<
    Record<
      string,
      {
        readonly price: string;
        readonly at: string;
        readonly source: InstrumentMark['source'];
        readonly venues: readonly string[];
      }
    >
  >;
  readonly held: Readonly<Record<string, { readonly reason: string; readonly cause?: HeldMark['cause'] }>>;
}

const instrumentKey = z.string().regex(/^[A-Z0-9][A-Z0-9_-]{0,31}$/, 'must be an upper-case symbol');
/** ISO 8601 with `Z` or an offset, read as its instant (ms). */
const instant = z.iso.datetime({ offset: true }).transform((text) => Date.parse(text));
/** A positive decimal string, no exponent, read as a finite number above zero. */
const price = z
  .string()
  .max(40)
  .regex(/^\d+(\.\d+)?$/, 'must be a decimal string such as "101250.5"')
  .transform(Number)
  .refine((value) => Number.isFinite(value) && value > 0, 'must be greater than 0');

const markSchema = z.strictObject({
  price,
  at: instant,
  source: z.enum(['live', 'reference-close']),
  venues: z.array(z.string().min(1).max(64)).max(32),
});
const heldSchema = z.strictObject({
  reason: z.string().min(1).max(500),
  cause: z.enum(['no-quorum', 'stale', 'unconfirmed-jump']).optional(),
});

/** Validates the wire form and builds the `MarkSnapshot` from it. */
export const markSnapshotMessageSchema = z
  .strictObject({
    takenAt: instant,
    marks: z.record(instrumentKey, markSchema),
    held: z.record(instrumentKey, heldSchema),
  })
  .superRefine((wire, ctx) => {
    for (const instrument of Object.keys(wire.held)) {
      if (Object.hasOwn(wire.marks, instrument)) {
        ctx.addIssue({ code: 'custom', path: ['held', instrument], message: 'is also marked' });
      }
    }
  })
  .transform(
    (wire): MarkSnapshot =>
      createMarkSnapshot({
        takenAt: wire.takenAt,
        marks: Object.entries(wire.marks).map(([instrument, mark]) => ({ instrument, ...mark })),
        held: Object.entries(wire.held).map(([instrument, entry]) => ({
          instrument,
          reason: entry.reason,
          ...(entry.cause === undefined ? {} : { cause: entry.cause }),
        })),
      }),
  );

/**
 * The wire form of `snapshot`; `markSnapshotMessageSchema` reads it back to an equal snapshot.
 *
 * @example
 * JSON.stringify(toMarkSnapshotMessage(snapshot)); // '{"takenAt":"2026-11-24T00:05:00.000Z","marks":{"BTC":{"price":"101250.5",…}},"held":{}}'
 */
export function toMarkSnapshotMessage(snapshot: MarkSnapshot): MarkSnapshotMessage {
  const marks: Record<string, MarkSnapshotMessage['marks'][string]> = {};
  for (const mark of snapshot.marks.values()) {
    marks[mark.instrument] = {
      price: priceText(mark.price),
      at: new Date(mark.at).toISOString(),
      source: mark.source,
      venues: [...mark.venues],
    };
  }
  const held: Record<string, MarkSnapshotMessage['held'][string]> = {};
  for (const entry of snapshot.held.values()) {
    held[entry.instrument] = {
      reason: entry.reason,
      ...(entry.cause === undefined ? {} : { cause: entry.cause }),
    };
  }
  return { takenAt: new Date(snapshot.takenAt).toISOString(), marks, held };
}
