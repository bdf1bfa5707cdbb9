// The configuration document's JSON Schema (lib/schemas/qmt-config.v1.json), which AppConfig validates every
// deployment with, against the zod parse every function runs on what AppConfig hands it: a bad document is
// refused by both, each naming the path and the reason; what JSON Schema cannot say is refused by the parse.
import { readFileSync } from 'node:fs';
import ajvDraft04 from 'ajv-draft-04';
import ajvFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lib/config/errors.ts';
import { loadRuntimeConfig } from '../../lib/config/runtime.ts';
import {
  APPCONFIG_VALIDATOR_MAX_CHARS,
  runtimeConfigJsonSchema,
  runtimeConfigValidatorText,
} from '../../lib/schemas/runtime-config.ts';

// AppConfig validates with JSON Schema draft-04; ajv-draft-04 (already installed with @asyncapi/parser) is
// Ajv for that draft. Both are CommonJS: accept the module object or the export itself.
type Ajv04 = typeof ajvDraft04.default;
const Ajv: Ajv04 = (ajvDraft04 as { default?: Ajv04 }).default ?? (ajvDraft04 as unknown as Ajv04);
type FormatsPlugin = typeof ajvFormats.default;
const addFormats: FormatsPlugin =
  (ajvFormats as { default?: FormatsPlugin }).default ?? (ajvFormats as unknown as FormatsPlugin);

const ajv = new Ajv({ allErrors: true, strict: true });
addFormats(ajv);
const committed = JSON.parse(
  readFileSync(new URL('../../lib/schemas/qmt-config.v1.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;
const validate = ajv.compile(committed);

/** The JSON Schema's verdict: the first error as `path: reason`, or undefined when valid. */
function byJsonSchema(document: unknown): string | undefined {
  if (validate(document)) return undefined;
  const error = validate.errors?.[0];
  const key = error?.keyword === 'additionalProperties' ? `/${String(error.params.additionalProperty)}` : '';
  return `${(error?.instancePath ?? '') + key}: ${error?.message}`;
}

/** The functions' verdict: the ConfigError's path and message, or undefined when valid. */
function byZod(document: unknown): { path: string; message: string } | undefined {
  try {
    loadRuntimeConfig({ QMT_CONFIG: JSON.stringify(document) }, { require: ['instruments'] });
    return undefined;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { path: error.path, message: error.message };
  }
}

const GOOD = {
  instruments: { BTC: { policy: { confidence: 0.995 } }, ETH: {} },
  defaultPolicy: { marginPeriodOfRiskDays: 2 },
  venues: ['deribit', 'binance', 'coinbase'],
  consensus: { tolerance: 0.02, quorum: 2 },
  marks: { live: true },
  sweep: { accountsPerSegment: 100000, maxSegments: 1000, pageSize: 500 },
  levels: { warning: 1.2, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 },
};

describe('the configuration JSON Schema (AppConfig validator)', () => {
  it('is the one npm run schemas writes, draft-04, and fits AppConfig’s validator limit', () => {
    expect(committed, 'lib/schemas/qmt-config.v1.json is out of date: run npm run schemas').toEqual(
      runtimeConfigJsonSchema(),
    );
    expect(committed.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(runtimeConfigValidatorText().length).toBeLessThan(APPCONFIG_VALIDATOR_MAX_CHARS);
  });

  it.each([
    ['the README example', GOOD],
    ['infra/config/dev.json', readQmt('dev')],
    ['infra/config/prod.json', readQmt('prod')],
  ])('accepts %s, as the functions do', (_name, document) => {
    expect(byJsonSchema(document)).toBeUndefined();
    expect(byZod(document)).toBeUndefined();
  });

  it.each([
    ['a wrong type', { ...GOOD, venues: 'binance' }, /^\/venues: must be array$/, 'venues', /expected array/],
    [
      'a negative level',
      { ...GOOD, levels: { ...GOOD.levels, marginCall: -1 } },
      /^\/levels\/marginCall: must be > 0$/,
      'levels.marginCall',
      /expected number to be >0/,
    ],
    [
      'a policy field out of range',
      { ...GOOD, instruments: { BTC: { policy: { confidence: 1.5 } } } },
      /^\/instruments\/BTC\/policy\/confidence: must be < 1$/,
      'instruments.BTC.policy.confidence',
      /expected number to be <1/,
    ],
    [
      'a misspelt policy field',
      { ...GOOD, instruments: { BTC: { policy: { confidense: 0.99 } } } },
      /^\/instruments\/BTC\/policy\/confidense: must NOT have additional properties$/,
      'instruments.BTC.policy.confidense',
      /Unrecognized key/,
    ],
    [
      'an unknown venue',
      { ...GOOD, venues: ['deribit', 'ftx'] },
      /^\/venues\/1: must be equal to one of the allowed values$/,
      'venues.1',
      /Invalid option/,
    ],
    [
      'no instruments',
      { levels: GOOD.levels },
      /^: must have required property 'instruments'$/,
      'instruments',
      /expected record/,
    ],
  ])('refuses %s in both, naming the path', (_name, document, schemaVerdict, zodPath, zodReason) => {
    expect(byJsonSchema(document)).toMatch(schemaVerdict);
    const zodVerdict = byZod(document);
    expect(zodVerdict?.path).toBe(zodPath);
    expect(zodVerdict?.message).toMatch(zodReason);
  });

  it.each([
    [
      'an instrument missing from the catalogue',
      { instruments: { NOPE: {} } },
      'instruments.NOPE',
      /not in the instrument catalogue/,
    ],
    [
      'levels out of order',
      { ...GOOD, levels: { warning: 1.1, marginCall: 1.5, liquidation: 0.8 } },
      'levels',
      /warning > marginCall > liquidation/,
    ],
    [
      'a quorum above the venues',
      { ...GOOD, venues: ['deribit'], consensus: { quorum: 2 } },
      'consensus.quorum',
      /more than the 1 configured venues/,
    ],
  ])(
    'passes %s (JSON Schema cannot say it) and the functions’ parse refuses it',
    (_name, document, zodPath, reason) => {
      expect(byJsonSchema(document)).toBeUndefined();
      const zodVerdict = byZod(document);
      expect(zodVerdict?.path).toBe(zodPath);
      expect(zodVerdict?.message).toMatch(reason);
    },
  );
});

function readQmt(name: string): unknown {
  const text = readFileSync(new URL(`../../infra/config/${name}.json`, import.meta.url), 'utf8');
  return (JSON.parse(text) as { qmt: unknown }).qmt;
}
