import { describe, expect, it } from 'vitest';
import {
  attributeValueBytes,
  DYNAMODB_LIMITS,
  displayKey,
  itemBytes,
  itemLimitViolation,
} from '../../../lib/adapters/dynamodb/limits.ts';
import { accountsTable, thresholdsTable } from '../../../lib/adapters/dynamodb/tables.ts';

describe('item sizes, as DynamoDB counts them', () => {
  it('counts names and values in UTF-8 bytes, numbers by digits, lists and maps with their overhead', () => {
    expect(attributeValueBytes({ S: 'abc' })).toBe(3);
    expect(attributeValueBytes({ S: 'é€😀' })).toBe(2 + 3 + 4);
    expect(attributeValueBytes({ N: '12345' })).toBe(4); // ⌈5/2⌉ + 1
    expect(attributeValueBytes({ N: '-0.5' })).toBe(2);
    expect(attributeValueBytes({ BOOL: true })).toBe(1);
    expect(attributeValueBytes({ NULL: true })).toBe(1);
    expect(attributeValueBytes({ B: new Uint8Array(10) })).toBe(10);
    expect(attributeValueBytes({ L: [] })).toBe(3);
    expect(attributeValueBytes({ L: [{ S: 'ab' }, { S: 'c' }] })).toBe(3 + (1 + 2) + (1 + 1));
    expect(attributeValueBytes({ M: { key: { S: 'v' } } })).toBe(3 + 1 + 3 + 1);
    expect(attributeValueBytes({ SS: ['a', 'bc'] })).toBe(3);
    expect(itemBytes({ accountId: { S: 'acc-1' }, n: { N: '7' } })).toBe(9 + 5 + 1 + 2);
  });

  it('shows a long key as its first 40 characters, … and its byte length, never half a character', () => {
    expect(displayKey('short')).toBe('short');
    expect(displayKey('x'.repeat(40))).toBe('x'.repeat(40));
    expect(displayKey('x'.repeat(3000))).toBe(`${'x'.repeat(40)}… (3000 bytes)`);
    expect(displayKey('😀'.repeat(41))).toBe(`${'😀'.repeat(40)}… (164 bytes)`);
  });
});

describe('itemLimitViolation', () => {
  it('accepts a partition key of exactly 2,048 bytes and refuses 2,049, or an empty one', () => {
    expect(itemLimitViolation(accountsTable, { accountId: { S: 'a'.repeat(2048) } })).toBeUndefined();
    expect(itemLimitViolation(accountsTable, { accountId: { S: 'a'.repeat(2049) } })).toBe(
      "partition key accountId is 2049 bytes, over DynamoDB's 2048-byte key limit",
    );
    expect(itemLimitViolation(accountsTable, { accountId: { S: '' } })).toBe(
      'partition key accountId is empty; DynamoDB needs at least 1 byte',
    );
  });

  it('checks sort keys, and the keys of indexes, at 1,024 bytes', () => {
    const item = (sk: string, historyKey: string) => ({
      pk: { S: 'SET#s' },
      sk: { S: sk },
      instrument: { S: 'BTC' },
      historyKey: { S: historyKey },
    });
    expect(itemLimitViolation(thresholdsTable, item('s'.repeat(1024), 'h'))).toBeUndefined();
    expect(itemLimitViolation(thresholdsTable, item('s'.repeat(1025), 'h'))).toBe(
      "sort key sk is 1025 bytes, over DynamoDB's 1024-byte key limit",
    );
    expect(itemLimitViolation(thresholdsTable, item('s', 'h'.repeat(1025)))).toBe(
      "index byInstrument sort key historyKey is 1025 bytes, over DynamoDB's 1024-byte key limit",
    );
  });

  it('accepts an item of exactly 400 KB and refuses one byte more', () => {
    const name = 'accountId';
    const id = 'acc';
    const filler = (bytes: number) => ({ accountId: { S: id }, f: { S: 'x'.repeat(bytes) } });
    const exact = DYNAMODB_LIMITS.itemBytes - name.length - id.length - 1;
    expect(itemBytes(filler(exact))).toBe(409_600);
    expect(itemLimitViolation(accountsTable, filler(exact))).toBeUndefined();
    expect(itemLimitViolation(accountsTable, filler(exact + 1))).toBe(
      "item is 409601 bytes, over DynamoDB's 400 KB item limit (409600 bytes)",
    );
  });
});
