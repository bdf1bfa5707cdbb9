// Keeps the published JSON Schema (lib/schemas/margin-alert.v1.json), the zod mirror that lib/ validates
// with, and the TypeScript MarginAlert type in step.
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { MarginAlert } from '../../lib/domain/account/account.ts';
import { marginAlertSchema } from '../../lib/domain/alert/alert.ts';
import { sampleAlert } from '../domain/alert/sample-alert.ts';
import { marginAlertJsonSchema as schema, validateMarginAlert } from './ajv.ts';

/** Every MarginAlert field, once: `satisfies` fails to compile if the type gains or loses one. */
const FIELDS = {
  schemaVersion: true,
  eventType: true,
  alertId: true,
  accountId: true,
  previousState: true,
  newState: true,
  severity: true,
  sequence: true,
  equity: true,
  initialRequirement: true,
  maintenanceRequirement: true,
  marginRatio: true,
  shortfallToInitial: true,
  thresholdSetId: true,
  runId: true,
  occurredAt: true,
  marks: true,
} satisfies Record<keyof MarginAlert, true>;
const FIELD_NAMES = Object.keys(FIELDS);

function byJsonSchema(value: unknown): boolean {
  return validateMarginAlert(value) === true;
}

function byZod(value: unknown): boolean {
  return marginAlertSchema.safeParse(value).success;
}

const sample = (): Record<string, unknown> => ({ ...sampleAlert() });

describe('the JSON Schema and the MarginAlert type', () => {
  it('names exactly the fields of MarginAlert, all required', () => {
    expect(Object.keys(schema.properties).sort()).toEqual([...FIELD_NAMES].sort());
    expect([...schema.required].sort()).toEqual([...FIELD_NAMES].sort());
    expect(schema.additionalProperties).toBe(false);
  });

  it('documents every field', () => {
    for (const [name, property] of Object.entries(schema.properties)) {
      expect(typeof property.description, name).toBe('string');
      expect((property.description as string).length, name).toBeGreaterThan(20);
    }
  });

  it('is draft 2020-12 and versioned 1.1', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.properties.schemaVersion?.const).toBe('1.1');
    expect(schema.properties.eventType?.const).toBe('margin.state_changed');
  });

  it('the zod schema infers MarginAlert', () => {
    type Inferred = z.infer<typeof marginAlertSchema>;
    expectTypeOf<Inferred>().toExtend<MarginAlert>();
    expectTypeOf<MarginAlert>().toExtend<Inferred>();
  });

  it('accepts a complete sample and its own examples', () => {
    expect(byJsonSchema(sample()), JSON.stringify(validateMarginAlert.errors)).toBe(true);
    for (const example of schema.examples) {
      expect(byJsonSchema(example)).toBe(true);
      expect(byZod(example)).toBe(true);
    }
  });

  it.each(FIELD_NAMES)('rejects an alert without %s', (field) => {
    const alert = sample();
    delete alert[field];
    expect(byJsonSchema(alert)).toBe(false);
    expect(byZod(alert)).toBe(false);
  });

  it('rejects an extra field', () => {
    const alert = { ...sample(), note: 'hello' };
    expect(byJsonSchema(alert)).toBe(false);
    expect(byZod(alert)).toBe(false);
  });
});

/** A property's constraints in one comparable shape (refs resolved, descriptions dropped, nullability as types). */
function constraintsOf(property: Record<string, unknown>): Record<string, unknown> {
  let merged: Record<string, unknown> = { ...property };
  if (typeof merged.$ref === 'string') {
    const name = merged.$ref.replace('#/$defs/', '');
    merged = { ...schema.$defs[name], ...merged };
    delete merged.$ref;
  }
  if (Array.isArray(merged.anyOf)) {
    const variants = merged.anyOf as Record<string, unknown>[];
    delete merged.anyOf;
    merged = Object.assign({}, ...variants, merged, { type: variants.map((v) => v.type) });
  }
  delete merged.description;
  delete merged.format; // Ajv checks date-time semantics; zod's refinement does the same (tested below).
  const types = [
    merged.type ??
      (typeof (merged.const ?? (merged.enum as unknown[])?.[0]) === 'string' ? 'string' : undefined),
  ]
    .flat()
    .sort();
  return { ...merged, type: types };
}

describe('the zod mirror and the JSON Schema', () => {
  const generated = z.toJSONSchema(marginAlertSchema, { target: 'draft-2020-12' }) as {
    properties: Record<string, Record<string, unknown>>;
    required: string[];
  };

  it.each(FIELD_NAMES)('constrain %s alike', (field) => {
    const fromZod = generated.properties[field] ?? {};
    const fromFile = schema.properties[field] ?? {};
    expect(constraintsOf(fromZod)).toEqual(constraintsOf(fromFile));
  });

  it('require the same fields', () => {
    expect([...generated.required].sort()).toEqual([...schema.required].sort());
  });

  // Values each validator must judge the same way, chosen at the edges of every rule.
  const edges: Record<string, readonly unknown[]> = {
    text: [
      '',
      'x',
      'a'.repeat(128),
      'a'.repeat(129),
      'a'.repeat(160),
      'a'.repeat(161),
      'a'.repeat(256),
      'a'.repeat(257),
      7,
      null,
    ],
    decimal: [
      '0',
      '-1',
      '1.5',
      '-0.25',
      '1.',
      '.5',
      '1e5',
      ' 1',
      '+1',
      '1,000',
      '١',
      '1'.repeat(40),
      '1'.repeat(41),
      `-${'1'.repeat(39)}`,
      `-${'1'.repeat(40)}`,
      1.5,
      null,
    ],
    time: [
      '2026-11-24T00:05:12Z',
      '2026-11-24T00:05:12.345Z',
      '2026-11-24T00:05:12.123456789Z',
      '2026-11-24T00:05:12.1234567890Z',
      '2024-02-29T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '0000-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '2026-11-24T00:05Z',
      '2026-11-24T00:05:12+00:00',
      '2026-11-24 00:05:12Z',
      '2026-11-24T00:05:12z',
      '2026-11-24T23:59:60Z',
      '2026-11-24T24:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-11-24',
      1_700_000_000_000,
    ],
    sequence: [1, 0, -1, 1.5, 2 ** 53 - 1, 2 ** 53, '1', null],
    state: ['OK', 'WARNING', 'MARGIN_CALL', 'LIQUIDATION', 'ok', 'CLOSED', null],
    severity: ['info', 'warning', 'critical', 'error', null],
    version: ['1.1', '1.0', '1', '2.0', 1],
    marks: [
      {},
      { BTC: { price: '101250.5', at: '2026-11-24T00:05:00.000Z' } },
      {
        BTC: { price: '0.00000001', at: '2026-11-24T00:05:00Z' },
        'ETH-PERP_2': { price: '3100', at: '2026-11-24T00:05:00Z' },
      },
      { BTC: { price: '0', at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '0.000', at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '-1', at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '1e5', at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '1'.repeat(40), at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '1'.repeat(41), at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: 101250.5, at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '101250.5', at: '2026-02-30T00:05:00Z' } },
      { BTC: { price: '101250.5', at: '2026-11-24T00:05Z' } },
      { BTC: { price: '101250.5', at: 1_700_000_000_000 } },
      { BTC: { price: '101250.5' } },
      { BTC: { at: '2026-11-24T00:05:00Z' } },
      { BTC: { price: '101250.5', at: '2026-11-24T00:05:00Z', venues: ['deribit'] } },
      { btc: { price: '101250.5', at: '2026-11-24T00:05:00Z' } },
      { '': { price: '101250.5', at: '2026-11-24T00:05:00Z' } },
      { [`B${'T'.repeat(31)}`]: { price: '1', at: '2026-11-24T00:05:00Z' } },
      { [`B${'T'.repeat(32)}`]: { price: '1', at: '2026-11-24T00:05:00Z' } },
      { BTC: null },
      [],
      null,
      'BTC=101250.5',
    ],
    eventType: ['margin.state_changed', 'margin.changed'],
  };
  const pools: Record<keyof MarginAlert, readonly unknown[]> = {
    schemaVersion: edges.version ?? [],
    eventType: edges.eventType ?? [],
    alertId: edges.text ?? [],
    accountId: edges.text ?? [],
    previousState: edges.state ?? [],
    newState: edges.state ?? [],
    severity: edges.severity ?? [],
    sequence: edges.sequence ?? [],
    equity: edges.decimal ?? [],
    initialRequirement: edges.decimal ?? [],
    maintenanceRequirement: edges.decimal ?? [],
    marginRatio: edges.decimal ?? [],
    shortfallToInitial: edges.decimal ?? [],
    thresholdSetId: edges.text ?? [],
    runId: edges.text ?? [],
    occurredAt: edges.time ?? [],
    marks: edges.marks ?? [],
  };

  it.each(Object.entries(pools))('agree on every edge value of %s', (field, values) => {
    for (const value of values) {
      const alert = { ...sample(), [field]: value };
      expect(byZod(alert), `${field} = ${JSON.stringify(value)}`).toBe(byJsonSchema(alert));
    }
  });

  it('agree on the cross-field rules: severity follows newState, and the state must change', () => {
    let accepted = 0;
    for (const previousState of edges.state ?? []) {
      for (const newState of edges.state ?? []) {
        for (const severity of edges.severity ?? []) {
          const alert = { ...sample(), previousState, newState, severity };
          expect(byZod(alert), JSON.stringify({ previousState, newState, severity })).toBe(
            byJsonSchema(alert),
          );
          if (byZod(alert)) accepted++;
        }
      }
    }
    expect(accepted).toBe(12); // 4 × 3 real transitions, each with its one severity.
  });

  it('agree on random combinations of edge values', () => {
    const field = fc.constantFrom(...(Object.keys(pools) as (keyof MarginAlert)[]));
    const change = field.chain((name) => fc.tuple(fc.constant(name), fc.constantFrom(...pools[name])));
    const removal = fc.option(fc.constantFrom(...FIELD_NAMES), { freq: 4 });
    fc.assert(
      fc.property(fc.array(change, { maxLength: 3 }), removal, (changes, removed) => {
        const alert = sample();
        for (const [name, value] of changes) alert[name] = value;
        if (removed !== null) delete alert[removed];
        expect(byZod(alert)).toBe(byJsonSchema(alert));
      }),
      { numRuns: 1_000, seed: 20_261_124 },
    );
  });
});
