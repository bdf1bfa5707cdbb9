/**
 * SNS PublishBatch limits and how qmt packs messages under them. Pure, so the limits are tested at their
 * real values without AWS.
 */

/** Entries per PublishBatch request. */
export const SNS_MAX_BATCH_ENTRIES = 10;
/**
 * 256 KiB: the most one message may weigh, and the most all messages of one PublishBatch may weigh
 * together. SNS counts the body and the message attributes (name, data type and value).
 */
export const SNS_MAX_PAYLOAD_BYTES = 262_144;

export interface BatchLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export const SNS_BATCH_LIMITS: BatchLimits = {
  maxEntries: SNS_MAX_BATCH_ENTRIES,
  maxBytes: SNS_MAX_PAYLOAD_BYTES,
};

const encoder = new TextEncoder();

function utf8Bytes(text: string): number {
  return encoder.encode(text).byteLength;
}

/**
 * The size SNS charges a message against its limits: UTF-8 bytes of the body plus, for each attribute,
 * the bytes of its name, data type and value.
 *
 * @example
 * messageBytes('{"a":1}', { severity: { DataType: 'String', StringValue: 'info' } }); // 7 + 8 + 6 + 4 = 25
 */
export function messageBytes(
  message: string,
  attributes: Readonly<Record<string, { readonly DataType?: string; readonly StringValue?: string }>> = {},
): number {
  let total = utf8Bytes(message);
  for (const [name, value] of Object.entries(attributes)) {
    total += utf8Bytes(name) + utf8Bytes(value.DataType ?? '') + utf8Bytes(value.StringValue ?? '');
  }
  return total;
}

export interface BatchPlan<T> {
  readonly batches: readonly (readonly T[])[];
  /** Items heavier than `maxBytes` on their own: they can never be sent. */
  readonly oversized: readonly T[];
}

/**
 * Pack items, in order, into batches of at most `maxEntries` items and `maxBytes` bytes in all. Greedy in
 * input order (not bin-packing) so an account's alerts keep their order across batches.
 *
 * @example
 * planBatches([{ bytes: 200_000 }, { bytes: 100_000 }], SNS_BATCH_LIMITS).batches.length; // 2
 */
export function planBatches<T extends { readonly bytes: number }>(
  items: readonly T[],
  limits: BatchLimits = SNS_BATCH_LIMITS,
): BatchPlan<T> {
  const batches: T[][] = [];
  const oversized: T[] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const item of items) {
    if (item.bytes > limits.maxBytes) {
      oversized.push(item);
      continue;
    }
    if (current.length >= limits.maxEntries || currentBytes + item.bytes > limits.maxBytes) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(item);
    currentBytes += item.bytes;
  }
  if (current.length > 0) batches.push(current);
  return { batches, oversized };
}
