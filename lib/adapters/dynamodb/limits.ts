/**
 * DynamoDB's per-item limits, in one place, and the check that refuses an item before it is sent. A write
 * past a limit fails with a ValidationException, and in a BatchWriteItem it fails every item of the batch
 * with it, so one oversized record would take up to 24 good ones down and surface as an SDK stack trace.
 *
 * Sizes are computed as DynamoDB documents them ("Item sizes and formats"): the UTF-8 bytes of every
 * attribute name plus the size of its value, where
 * - a string is its UTF-8 bytes, a binary its bytes, a null or a boolean 1 byte;
 * - a number is 1 byte per two significant digits plus 1: we count every digit of its text, so the estimate
 *   is never below DynamoDB's (conservative by at most a few bytes per number);
 * - a list or map is 3 bytes, plus 1 byte and the size of each element (a map's keys count as names);
 * - a set is the sum of its elements.
 * Key attributes of the table and of its indexes must also fit their own limits (partition 2,048 bytes,
 * sort 1,024 bytes, at least 1 byte). An index entry projects a subset of the item, so an item within the
 * item limit fits every index.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { QmtError } from '../../domain/errors.ts';
import type { Item } from './attributes.ts';
import type { TableDefinition } from './tables.ts';

export const DYNAMODB_LIMITS = {
  /** 400 KB: the item's attribute names and values together. */
  itemBytes: 400 * 1024,
  /** A partition key value (of the table or of an index), UTF-8 bytes. */
  partitionKeyBytes: 2048,
  /** A sort key value (of the table or of an index), UTF-8 bytes. */
  sortKeyBytes: 1024,
} as const;

/** Characters of a long key shown in an error, before its byte length. */
const DISPLAY_KEY_CHARS = 40;

/** A record refused before writing: the item (or one of its keys) is past a DynamoDB limit. */
export class ItemLimitError extends QmtError {
  constructor(
    message: string,
    /** The record's key as shown (shortened): see `displayKey`. */
    readonly key: string,
  ) {
    super(message);
    this.name = 'ItemLimitError';
  }
}

const utf8 = new TextEncoder();

export function utf8Bytes(text: string): number {
  return utf8.encode(text).length;
}

/**
 * A key as errors show it: whole when short, else its first 40 characters, '…' and its byte length, so a
 * 2 KB id cannot flood a report.
 *
 * @example
 * displayKey('x'.repeat(3000)); // 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (3000 bytes)'
 */
export function displayKey(key: string): string {
  const chars = Array.from(key); // whole code points: never half a surrogate pair
  if (chars.length <= DISPLAY_KEY_CHARS) return key;
  return `${chars.slice(0, DISPLAY_KEY_CHARS).join('')}… (${utf8Bytes(key)} bytes)`;
}

/** DynamoDB's size of one attribute value (see the module comment). */
export function attributeValueBytes(value: AttributeValue): number {
  if (value.S !== undefined) return utf8Bytes(value.S);
  if (value.N !== undefined) return numberBytes(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) {
    return value.L.reduce((sum, element) => sum + 1 + attributeValueBytes(element), 3);
  }
  if (value.M !== undefined) {
    return Object.entries(value.M).reduce(
      (sum, [name, element]) => sum + 1 + utf8Bytes(name) + attributeValueBytes(element),
      3,
    );
  }
  if (value.SS !== undefined) return value.SS.reduce((sum, s) => sum + utf8Bytes(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((sum, n) => sum + numberBytes(n), 0);
  if (value.BS !== undefined) return value.BS.reduce((sum, b) => sum + b.length, 0);
  return 0;
}

function numberBytes(text: string): number {
  const mantissa = text.split(/[eE]/)[0] ?? '';
  const digits = mantissa.replace(/[^0-9]/g, '').length;
  return Math.ceil(digits / 2) + 1;
}

/** DynamoDB's size of an item: every attribute name and value. */
export function itemBytes(item: Item): number {
  let total = 0;
  for (const [name, value] of Object.entries(item)) total += utf8Bytes(name) + attributeValueBytes(value);
  return total;
}

/**
 * Why `item` cannot be written to `table` (a key of the table or of an index past its limit, or the item
 * past 400 KB), naming the attribute and the limit; undefined when it can.
 */
export function itemLimitViolation(table: TableDefinition, item: Item): string | undefined {
  const keys = [
    { role: 'partition key', attribute: table.partitionKey.name, limit: DYNAMODB_LIMITS.partitionKeyBytes },
    ...(table.sortKey
      ? [{ role: 'sort key', attribute: table.sortKey.name, limit: DYNAMODB_LIMITS.sortKeyBytes }]
      : []),
    ...table.globalSecondaryIndexes.flatMap((index) => [
      {
        role: `index ${index.indexName} partition key`,
        attribute: index.partitionKey.name,
        limit: DYNAMODB_LIMITS.partitionKeyBytes,
      },
      ...(index.sortKey
        ? [
            {
              role: `index ${index.indexName} sort key`,
              attribute: index.sortKey.name,
              limit: DYNAMODB_LIMITS.sortKeyBytes,
            },
          ]
        : []),
    ]),
  ];
  for (const { role, attribute, limit } of keys) {
    const value = item[attribute];
    if (value === undefined) continue; // a missing table key is DynamoDB's to refuse; an index may be sparse
    const bytes = value.S !== undefined ? utf8Bytes(value.S) : value.B !== undefined ? value.B.length : 1;
    if (bytes === 0) return `${role} ${attribute} is empty; DynamoDB needs at least 1 byte`;
    if (bytes > limit) {
      return `${role} ${attribute} is ${bytes} bytes, over DynamoDB's ${limit}-byte key limit`;
    }
  }
  const size = itemBytes(item);
  if (size > DYNAMODB_LIMITS.itemBytes) {
    return `item is ${size} bytes, over DynamoDB's 400 KB item limit (${DYNAMODB_LIMITS.itemBytes} bytes)`;
  }
  return undefined;
}
