/**
 * Field names in documents users hand qmt (account records, policy documents, configuration). Two checks
 * every such schema shares:
 *  - `__proto__`, `constructor` and `prototype` are refused wherever they appear. Assigned into an ordinary
 *    object, `__proto__` sets its prototype, and a schema then reads the fields it inherits without ever
 *    seeing the key (a haircut, a settlement); a zod record drops the key without a word.
 *  - An unknown key is answered with the nearest known one, so `instrument` points to `instruments`.
 */
import { z } from 'zod';

export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

export const RESERVED_KEY_MESSAGE = 'reserved key';

export function isReservedKey(key: string): boolean {
  return RESERVED_KEYS.has(key);
}

/** The path of every reserved own key in a parsed JSON value, depth first. */
export function reservedKeyPaths(value: unknown): (string | number)[][] {
  const found: (string | number)[][] = [];
  // One path stack, copied only for a find: a sweep runs this on every account record.
  const path: (string | number)[] = [];
  const visit = (node: unknown) => {
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        path.push(i);
        visit(node[i]);
        path.pop();
      }
    } else if (typeof node === 'object' && node !== null && !ArrayBuffer.isView(node)) {
      for (const key of Object.keys(node)) {
        path.push(key);
        if (isReservedKey(key)) found.push([...path]);
        else visit((node as Record<string, unknown>)[key]);
        path.pop();
      }
    }
  };
  visit(value);
  return found;
}

/**
 * `schema` behind a check that refuses reserved keys anywhere in the raw input, each as an issue at its
 * path (`collateral[0].__proto__: reserved key`). The check sees the input before `schema` does, so a key
 * a record would drop is still named; `schema` does not run on an input that has one.
 *
 * @example
 * const result = withoutReservedKeys(accountSchema).safeParse(JSON.parse(text));
 */
export function withoutReservedKeys<T extends z.ZodType>(schema: T): z.ZodPipe<z.ZodUnknown, T> {
  return z
    .unknown()
    .superRefine((value, ctx) => {
      for (const path of reservedKeyPaths(value)) {
        ctx.addIssue({ code: 'custom', path, message: RESERVED_KEY_MESSAGE });
      }
    })
    .pipe(schema);
}

/**
 * ` (did you mean "instruments"?)` when a known key is within two edits of `key`, case aside; else an empty
 * string.
 *
 * @example
 * didYouMean('instrument', ['default', 'instruments']); // ' (did you mean "instruments"?)'
 */
export function didYouMean(key: string, known: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance; keys are short, so the quadratic table is cheap. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] as number;
}
