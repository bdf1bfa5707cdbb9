import { describe, expect, it } from 'vitest';
import { bodyParts, INLINE_BODY_BYTES } from '../../../lib/adapters/dynamodb/body-parts.ts';
import { utf8Bytes } from '../../../lib/adapters/dynamodb/limits.ts';

describe('a stress body cut into parts', () => {
  it('keeps every part within the item budget and rebuilds the body exactly, wide characters included', () => {
    // 4-byte characters (two UTF-16 units each) between ASCII ids: a cut inside a pair would corrupt both parts.
    const body = JSON.stringify(Array.from({ length: 120_000 }, (_, i) => `acct-${i}-😀`));
    const parts = bodyParts(body);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(utf8Bytes(part)).toBeLessThanOrEqual(INLINE_BODY_BYTES);
      const last = part.charCodeAt(part.length - 1);
      expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
    }
    expect(parts.join('')).toBe(body);
  });

  it('leaves a body within the budget whole', () => {
    expect(bodyParts('x'.repeat(1000))).toEqual(['x'.repeat(1000)]);
  });
});
