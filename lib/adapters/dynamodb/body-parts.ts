/**
 * A body too large for one 400 KB item, cut into parts that each fit one item (with room for the keys and
 * the other attributes). Shared by the stress run store (segment results, reports) and the threshold store
 * (a set's pair correlations).
 */
import { createHash } from 'node:crypto';
import { utf8Bytes } from './limits.ts';

/** A body up to this size stays in its item; room is left for the keys and the other attributes. */
export const INLINE_BODY_BYTES = 350_000;
/** Characters a part starts from; fewer when they are wider than one byte. */
const PART_CHARS = 350_000;

/** The body cut into parts of at most `INLINE_BODY_BYTES` UTF-8 bytes, never inside a surrogate pair. */
export function bodyParts(body: string): string[] {
  const parts: string[] = [];
  for (let start = 0; start < body.length; ) {
    let end = Math.min(body.length, start + PART_CHARS);
    while (utf8Bytes(body.slice(start, end)) > INLINE_BODY_BYTES) end = start + Math.ceil((end - start) / 2);
    const last = body.charCodeAt(end - 1);
    if (end < body.length && last >= 0xd800 && last <= 0xdbff) end -= 1; // keep the pair whole
    parts.push(body.slice(start, end));
    start = end;
  }
  return parts;
}

/** The bytes of a binary body cut into parts of at most `INLINE_BODY_BYTES`. */
export function binaryParts(body: Uint8Array): Uint8Array[] {
  const parts: Uint8Array[] = [];
  for (let start = 0; start < body.length; start += INLINE_BODY_BYTES) {
    parts.push(body.subarray(start, start + INLINE_BODY_BYTES));
  }
  return parts;
}

/** Short hash of a whole body, stored with the item naming its parts so a reader can check they make it. */
export function bodyHash(body: string | Uint8Array): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}
