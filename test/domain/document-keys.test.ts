import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { didYouMean, reservedKeyPaths, withoutReservedKeys } from '../../lib/domain/document-keys.ts';

describe('reservedKeyPaths', () => {
  it('finds every reserved own key at any depth, arrays by index, and never a reserved value', () => {
    const document = JSON.parse(
      '{"a":[{"__proto__":{}},{"name":"__proto__"}],"b":{"constructor":1,"c":{"prototype":null}}}',
    );
    expect(reservedKeyPaths(document)).toEqual([
      ['a', 0, '__proto__'],
      ['b', 'constructor'],
      ['b', 'c', 'prototype'],
    ]);
  });

  it('does not enter binary values (a DynamoDB B attribute read as bytes)', () => {
    expect(reservedKeyPaths({ data: new Uint8Array([1, 2, 3]) })).toEqual([]);
  });
});

describe('withoutReservedKeys', () => {
  it('names a key a record would drop, and does not run the schema on that input', () => {
    const schema = withoutReservedKeys(z.strictObject({ tags: z.record(z.string(), z.string()) }));
    expect(
      z
        .strictObject({ tags: z.record(z.string(), z.string()) })
        .parse(JSON.parse('{"tags":{"__proto__":"x"}}')),
    ).toEqual({ tags: {} });
    const result = schema.safeParse(JSON.parse('{"tags":{"__proto__":"x"}}'));
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['tags', '__proto__'], message: 'reserved key' }),
    ]);
  });
});

describe('didYouMean', () => {
  it.each([
    ['instrument', ' (did you mean "instruments"?)'],
    ['Instruments', ' (did you mean "instruments"?)'],
    ['defualt', ' (did you mean "default"?)'],
    ['volatility', ''],
  ])('%s → %j', (key, hint) => {
    expect(didYouMean(key, ['default', 'instruments'])).toBe(hint);
  });
});
