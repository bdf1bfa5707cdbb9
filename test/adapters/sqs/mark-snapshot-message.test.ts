// The sweep's mark snapshot on the wire: read back exactly, refused with the field named when malformed,
// and small enough for SQS at 400 instruments.
import { describe, expect, it } from 'vitest';
import { parseJsonEvent } from '../../../lambdas/shared/events.ts';
import {
  markSnapshotMessageSchema,
  toMarkSnapshotMessage,
} from '../../../lib/adapters/sqs/mark-snapshot-message.ts';
import { segmentMessageBody, segmentMessageSchema } from '../../../lib/adapters/sqs/sweep-queue.ts';
import { createMarkSnapshot, priceText } from '../../../lib/domain/market/mark.ts';

const TAKEN_AT = Date.UTC(2026, 11, 3, 14, 0, 0, 123);
/** SQS's maximum message size. */
const SQS_MAX_BYTES = 256 * 1_024;

function snapshotOf(instruments: number) {
  return createMarkSnapshot({
    takenAt: TAKEN_AT,
    marks: Array.from({ length: instruments }, (_, i) => ({
      instrument: `COIN${i}`,
      // Prices with the digits real ones have, small coins included.
      price: (101_250.123456 / (i + 1) ** 2) * (1 + i / 7),
      at: TAKEN_AT - 1_500 - i,
      source: 'live' as const,
      venues: ['deribit', 'binance', 'coinbase', 'kraken'],
    })),
    held: [{ instrument: 'HELD1', reason: 'only 1 of 4 venues answered; quorum is 2', cause: 'no-quorum' }],
  });
}

describe('the mark snapshot in a segment message', () => {
  it('reads back to the same snapshot, every price exact', () => {
    const snapshot = snapshotOf(50);
    const body = JSON.parse(
      JSON.stringify(segmentMessageBody({ runId: 'r', segment: 0, totalSegments: 1, marks: snapshot })),
    );
    const message = parseJsonEvent(segmentMessageSchema, JSON.stringify(body), 'segment message');
    expect(message.marks).toEqual(snapshot);
  });

  it.each([1e-7, 1.5e-10, 0.1 + 0.2, 101_250.5, 1e21, 123456789012345680000, Number.MIN_VALUE])(
    'writes %s as a plain decimal that reads back exactly',
    (price) => {
      const text = priceText(price);
      expect(text).toMatch(/^\d+(\.\d+)?$/);
      expect(Number(text)).toBe(price);
    },
  );

  it('fits SQS at 400 instruments: about a fifth of the 256 KB limit', () => {
    const body = JSON.stringify(
      segmentMessageBody({
        runId: 'sweep-2026-12-03T14:00:00.000Z',
        segment: 999,
        totalSegments: 1_000,
        cursor: 'x'.repeat(200),
        marks: snapshotOf(400),
      }),
    );
    const bytes = Buffer.byteLength(body);
    console.info(`segment message with 400 marked instruments: ${bytes} bytes`);
    expect(bytes).toBeGreaterThan(40_000);
    expect(bytes).toBeLessThan(SQS_MAX_BYTES / 3);
  });

  it.each([
    ['takenAt', (w: Wire) => ({ ...w, takenAt: 'now' }), 'takenAt'],
    ['a zero price', (w: Wire) => withBtc(w, { price: '0' }), 'marks.BTC.price'],
    ['a number for a price', (w: Wire) => withBtc(w, { price: 101_250 }), 'marks.BTC.price'],
    ['no time', (w: Wire) => withBtc(w, { at: undefined }), 'marks.BTC.at'],
    ['an unknown field', (w: Wire) => withBtc(w, { weight: 1 }), 'marks.BTC'],
    ['a lower-case symbol', (w: Wire) => ({ ...w, marks: { btc: w.marks.BTC } }), 'marks.btc'],
    ['a held entry without reason', (w: Wire) => ({ ...w, held: { SOL: {} } }), 'held.SOL.reason'],
  ])('refuses %s, naming the field', (_, spoil, path) => {
    const wire = toMarkSnapshotMessage(
      createMarkSnapshot({
        takenAt: TAKEN_AT,
        marks: [{ instrument: 'BTC', price: 101_250.5, at: TAKEN_AT, source: 'live', venues: ['kraken'] }],
      }),
    ) as unknown as Wire;
    const result = markSnapshotMessageSchema.safeParse(spoil(wire));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join('.'))).toContain(path);
  });
});

type Wire = { marks: Record<string, Record<string, unknown>>; [key: string]: unknown };

function withBtc(wire: Wire, change: Record<string, unknown>): Wire {
  return { ...wire, marks: { ...wire.marks, BTC: { ...wire.marks.BTC, ...change } } };
}
