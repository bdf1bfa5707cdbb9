/**
 * A policy file as the command line reads it: one policy for every instrument, or a book
 * `{ "default": {...}, "instruments": { "BTC": {...} } }` whose instrument entries override the default
 * field by field at every depth (`mergePolicyDocuments`), as the deployed configuration does. A key the file does not know is refused with its path: an override under
 * a misspelt key would otherwise be lost without a word, and the instrument margined on the default.
 */
import { z } from 'zod';
import { didYouMean, isReservedKey, withoutReservedKeys } from '../document-keys.ts';
import { PolicyError } from '../errors.ts';
import { parseThresholdPolicy, type ThresholdPolicy, thresholdPolicySchema } from './policy.ts';

export interface PolicyBook {
  policyFor(instrument: string): ThresholdPolicy;
}

const BOOK_KEYS = ['default', 'instruments'];
const POLICY_KEYS = Object.keys(thresholdPolicySchema.shape);

// Each policy's fields are checked by parseThresholdPolicy, which names them; here only the book's shape.
const policyFields = z.record(z.string(), z.unknown(), { error: 'must be an object of policy fields' });
const policyBookSchema = withoutReservedKeys(
  z.strictObject({
    default: policyFields.optional(),
    instruments: z
      .record(z.string(), policyFields, {
        error: 'must be an object of policies by symbol, e.g. {"BTC": {…}}',
      })
      .optional(),
  }),
);

interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/**
 * Validate a parsed policy file. `where` names it in errors (the file path): `book.json:instrument: unknown
 * key (did you mean "instruments"?)`.
 *
 * @throws PolicyError naming every key the book does not know, and the first bad policy field.
 * @example
 * const book = parsePolicyBook({ default: { confidence: 0.995 }, instruments: { SOL: { lookbackDays: 1095 } } });
 * book.policyFor('SOL').lookbackDays; // 1095
 */
export function parsePolicyBook(document: unknown, where = 'policy'): PolicyBook {
  if (!isBook(document)) {
    // One policy for all: a top-level key it does not know may be a misspelt book key, so suggest those too.
    const unknown = unknownPolicyKeys(document);
    if (unknown.length > 0) throw policyFileError(unknown, where);
    const policy = parseThresholdPolicy(document, where);
    return { policyFor: () => policy };
  }
  const parsed = policyBookSchema.safeParse(document);
  if (!parsed.success) throw policyFileError(parsed.error.issues.flatMap(bookIssues), where);
  const book = parsed.data;
  const base = parseThresholdPolicy(book.default ?? {}, `${where}:default`);
  const perInstrument = new Map<string, ThresholdPolicy>();
  const keyOf = new Map<string, string>();
  for (const [key, override] of Object.entries(book.instruments ?? {})) {
    const symbol = key.toUpperCase();
    const earlier = keyOf.get(symbol);
    if (earlier !== undefined) {
      const message = `${symbol} is also under "${earlier}": one entry per instrument`;
      throw policyFileError([{ path: ['instruments', key], message }], where);
    }
    keyOf.set(symbol, key);
    const policy = parseThresholdPolicy(
      mergePolicyDocuments(book.default ?? {}, override),
      `${where}:instruments.${key}`,
    );
    perInstrument.set(symbol, policy);
  }
  return { policyFor: (instrument) => perInstrument.get(instrument) ?? base };
}

function isBook(document: unknown): document is object {
  return (
    typeof document === 'object' &&
    document !== null &&
    !Array.isArray(document) &&
    BOOK_KEYS.some((key) => Object.hasOwn(document, key))
  );
}

function unknownPolicyKeys(document: unknown): Issue[] {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return [];
  return Object.keys(document)
    .filter((key) => !POLICY_KEYS.includes(key) && !isReservedKey(key))
    .map((key) => ({
      path: [key],
      message: `unknown key${didYouMean(key, [...POLICY_KEYS, ...BOOK_KEYS])}`,
    }));
}

/** A book's issues, an unknown key each on its own path with the key it may have meant. */
function bookIssues(issue: z.core.$ZodIssue): Issue[] {
  if (issue.code !== 'unrecognized_keys') return [issue];
  return issue.keys.map((key) => ({
    path: [...issue.path, key],
    message: POLICY_KEYS.includes(key)
      ? 'unknown key (a policy field: put it under "default" or an instrument)'
      : `unknown key${didYouMean(key, BOOK_KEYS)}`,
  }));
}

/** `invalid policy file: book.json:instrument: unknown key …; …`, with the first issue's path as `path`. */
function policyFileError(issues: readonly Issue[], where: string): PolicyError {
  const at = (issue: Issue) => `${where}:${issue.path.map(String).join('.')}`;
  const all = issues.map((issue) => `${at(issue)}: ${issue.message}`).join('; ');
  return new PolicyError(`invalid policy file: ${all}`, issues[0] ? at(issues[0]) : where);
}

/**
 * `override` over `base`, recursively for plain objects; arrays, scalars and null in `override` replace.
 *
 * @example
 * mergePolicyDocuments({ stress: { coveredShare: 0.3 } }, { stress: { scenarios: [] } });
 * // { stress: { coveredShare: 0.3, scenarios: [] } }
 */
export function mergePolicyDocuments(
  base: Readonly<Record<string, unknown>>,
  override: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  // A Map, then fromEntries: every key becomes an own field. `merged[key] = …` with key `__proto__` would set
  // the prototype, and the policy schema would read its fields as if they were the instrument's own.
  const merged = new Map(Object.entries(base));
  // The MPOR's two spellings are one setting: an override of either replaces the base's other.
  for (const [key, alias] of MPOR_ALIASES) if (Object.hasOwn(override, key)) merged.delete(alias);
  for (const [key, value] of Object.entries(override)) {
    const previous = merged.get(key);
    merged.set(
      key,
      isPlainObject(previous) && isPlainObject(value) ? mergePolicyDocuments(previous, value) : value,
    );
  }
  return Object.fromEntries(merged);
}

const MPOR_ALIASES = [
  ['marginPeriodOfRisk', 'marginPeriodOfRiskDays'],
  ['marginPeriodOfRiskDays', 'marginPeriodOfRisk'],
] as const;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
