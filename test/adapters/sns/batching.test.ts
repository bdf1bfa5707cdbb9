import { describe, expect, it } from 'vitest';
import {
  messageBytes,
  planBatches,
  SNS_BATCH_LIMITS,
  SNS_MAX_PAYLOAD_BYTES,
} from '../../../lib/adapters/sns/batching.ts';

const KiB = 1024;
const items = (...sizes: number[]) => sizes.map((bytes, index) => ({ index, bytes }));
const shape = (plan: ReturnType<typeof planBatches<{ index: number; bytes: number }>>) =>
  plan.batches.map((batch) => batch.map((item) => item.index));

describe('messageBytes', () => {
  it('counts UTF-8 bytes of the body and of each attribute name, type and value', () => {
    expect(messageBytes('{"a":1}')).toBe(7);
    expect(messageBytes('€', { k: { DataType: 'String', StringValue: 'é' } })).toBe(3 + 1 + 6 + 2);
  });
});

describe('planBatches at the real SNS limits', () => {
  it('is 10 entries and 256 KiB', () => {
    expect(SNS_BATCH_LIMITS).toEqual({ maxEntries: 10, maxBytes: 262_144 });
    expect(SNS_MAX_PAYLOAD_BYTES).toBe(256 * KiB);
  });

  it('splits 23 small messages 10/10/3, in order', () => {
    const plan = planBatches(items(...Array.from({ length: 23 }, () => 600)));
    expect(plan.batches.map((batch) => batch.length)).toEqual([10, 10, 3]);
    expect(shape(plan).flat()).toEqual(Array.from({ length: 23 }, (_, i) => i));
  });

  it('starts a new batch before the total would pass 256 KiB', () => {
    const plan = planBatches(items(100 * KiB, 100 * KiB, 100 * KiB, 56 * KiB, 200 * KiB));
    expect(shape(plan)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('fits a batch of exactly 256 KiB, and one message of exactly 256 KiB alone', () => {
    expect(shape(planBatches(items(128 * KiB, 128 * KiB)))).toEqual([[0, 1]]);
    expect(shape(planBatches(items(256 * KiB, 1)))).toEqual([[0], [1]]);
  });

  it('sets aside a message over 256 KiB on its own and packs the rest around it', () => {
    const plan = planBatches(items(10, 256 * KiB + 1, 20));
    expect(plan.oversized.map((item) => item.index)).toEqual([1]);
    expect(shape(plan)).toEqual([[0, 2]]);
  });

  it('makes no batch from nothing', () => {
    expect(planBatches([])).toEqual({ batches: [], oversized: [] });
  });
});
