/**
 * Small explicit marshalling helpers. qmt stays on `@aws-sdk/client-dynamodb` alone (lib-dynamodb and
 * util-dynamodb ship on another version line), and explicit helpers keep number handling visible: numbers
 * read as their exact text, never through a lossy float, unless the caller asks for one.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { QmtError } from '../../domain/errors.ts';

export type Item = Record<string, AttributeValue>;

export function str(value: string): AttributeValue {
  return { S: value };
}

/** A finite number as N. NaN or ±Infinity would not survive storage, so they are refused here. */
export function num(value: number): AttributeValue {
  if (!Number.isFinite(value)) throw new QmtError(`cannot store ${value} as a DynamoDB number`);
  return { N: String(value) };
}

export function getString(item: Item | undefined, name: string): string | undefined {
  return item?.[name]?.S;
}

export function getNumber(item: Item | undefined, name: string): number | undefined {
  const text = item?.[name]?.N;
  return text === undefined ? undefined : Number(text);
}

/** A string attribute that must be there; `what` names the item in the error. */
export function requireString(item: Item, name: string, what: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new QmtError(`${what}: attribute ${name} is missing or not a string`);
  return value;
}

export function requireNumber(item: Item, name: string, what: string): number {
  const text = item[name]?.N;
  const value = text === undefined ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) throw new QmtError(`${what}: attribute ${name} is missing or not a number`);
  return value;
}

/** Path of a value inside an item, for messages and for deciding how to read a number. */
export type AttributePath = readonly (string | number)[];

/**
 * A plain JavaScript value from an attribute value. `onNumber` receives each N's exact text and its path, so
 * the caller decides per field whether it wants a decimal string or a float. Binary becomes `Uint8Array`,
 * sets become arrays. A map's keys become own fields whatever they are, `__proto__` included.
 */
export function toPlainValue(
  value: AttributeValue,
  onNumber: (text: string, path: AttributePath) => unknown,
  path: AttributePath = [],
): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return onNumber(value.N, path);
  if (value.BOOL !== undefined) return value.BOOL;
  if (value.NULL !== undefined) return null;
  if (value.M !== undefined) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value.M)) {
      const plain = toPlainValue(inner, onNumber, [...path, key]);
      // `out.__proto__ = …` would set the prototype, and a schema would read inherited fields it never saw:
      // define it as an own field instead, for the schema's caller to refuse by path.
      if (key === '__proto__')
        Object.defineProperty(out, key, {
          value: plain,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      else out[key] = plain;
    }
    return out;
  }
  if (value.L !== undefined) return value.L.map((inner, i) => toPlainValue(inner, onNumber, [...path, i]));
  if (value.SS !== undefined) return [...value.SS];
  if (value.NS !== undefined) return value.NS.map((text, i) => onNumber(text, [...path, i]));
  if (value.B !== undefined) return value.B;
  if (value.BS !== undefined) return [...value.BS];
  throw new QmtError(`unsupported attribute value at ${formatPath(path) || '(item)'}`);
}

/** `collateral[0].amount` style. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** A key as text for reports: the bare value for a one-attribute key, else `pk=…,sk=…`. */
export function describeKey(item: Item, keyNames: readonly string[]): string {
  const parts = keyNames.map((name) => {
    const value = item[name];
    const text = value?.S ?? value?.N ?? (value?.B ? Buffer.from(value.B).toString('base64') : '?');
    return [name, text] as const;
  });
  if (parts.length === 1 && parts[0]) return parts[0][1];
  return parts.map(([name, text]) => `${name}=${text}`).join(',');
}

/** Placeholders for an expression's attribute names: `#a` → `a`. Reserved words (state, status, ttl) need them. */
export function attributeNames(...names: string[]): Record<string, string> {
  return Object.fromEntries(names.map((name) => [`#${name}`, name]));
}
