// A compiled Ajv validator for the published alert schema (draft 2020-12, with ajv-formats for date-time).
// Ajv is a dev dependency: only tests use it; lib/ validates with the zod mirror.
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';

export const MARGIN_ALERT_SCHEMA_FILE = new URL('../../lib/schemas/margin-alert.v1.json', import.meta.url);

export interface JsonSchemaObject {
  readonly required: readonly string[];
  readonly properties: Readonly<Record<string, Record<string, unknown>>>;
  readonly $defs: Readonly<Record<string, Record<string, unknown>>>;
  readonly examples: readonly unknown[];
  readonly [key: string]: unknown;
}

export const marginAlertJsonSchema = JSON.parse(
  readFileSync(MARGIN_ALERT_SCHEMA_FILE, 'utf8'),
) as JsonSchemaObject;

// ajv-formats is CommonJS: TypeScript (NodeNext) types its default import as the module object, while the
// runtime may hand over the plugin itself. Accept either.
type FormatsPlugin = typeof ajvFormats.default;
const addFormats: FormatsPlugin =
  (ajvFormats as { default?: FormatsPlugin }).default ?? (ajvFormats as unknown as FormatsPlugin);

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats(ajv);

export const validateMarginAlert = ajv.compile(marginAlertJsonSchema);
