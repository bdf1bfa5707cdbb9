// The AsyncAPI document (lib/schemas/asyncapi.json) is valid AsyncAPI 3.0 by the official parser, describes
// what the publishers really send (message attributes and bodies), and its examples validate. The committed
// file is checked against the generator in generated.test.ts.
import { readFileSync } from 'node:fs';
import { Parser } from '@asyncapi/parser';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import ajvFormats from 'ajv-formats';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import { opsMessage } from '../../lib/adapters/sns/ops-message.ts';
import { SnsOpsPublisher } from '../../lib/adapters/sns/ops-publisher.ts';
import { alertAttributes } from '../../lib/domain/alert/alert.ts';
import type { OpsEvent } from '../../lib/ports.ts';
import { OPS_EVENT_TYPES, type opsEventSchema } from '../../lib/schemas/ops-message.ts';
import { sampleAlert } from '../domain/alert/sample-alert.ts';

type Json = Record<string, unknown>;
const read = (file: string) => readFileSync(new URL(`../../lib/schemas/${file}`, import.meta.url), 'utf8');
const documentText = read('asyncapi.json');
const document = JSON.parse(documentText) as {
  channels: Record<string, { messages: Record<string, { $ref: string }> }>;
  components: {
    messages: Record<string, Json & { headers: Json; payload: { schema: Json }; examples: Json[] }>;
  };
};
const messages = document.components.messages;
const shared = (document.components as { schemas?: Json }).schemas ?? {};

/** A message's payload schema with the document's shared definitions beside it, as a standalone draft-07 schema. */
function standalone(schema: Json | undefined): Json {
  const text = JSON.stringify(schema ?? {}).replaceAll('"#/components/schemas/', '"#/definitions/');
  // Without $id: Ajv caches a schema by its id, and each call here builds a new object.
  const { $id: _id, ...rest } = JSON.parse(text) as Json;
  return {
    ...rest,
    definitions: JSON.parse(JSON.stringify(shared).replaceAll('"#/components/schemas/', '"#/definitions/')),
  };
}

type FormatsPlugin = typeof ajvFormats.default;
const addFormats: FormatsPlugin =
  (ajvFormats as { default?: FormatsPlugin }).default ?? (ajvFormats as unknown as FormatsPlugin);
const draft07 = new Ajv({ allErrors: true, strict: false });
addFormats(draft07);
const draft2020 = new Ajv2020({ allErrors: true, strict: true });
addFormats(draft2020);
const validatePublished = draft2020.compile(JSON.parse(read('ops-message.v1.json')) as Json);

/** True when the OpsEvent variant of `type` and the schema's variant have the same field names. */
type SameFields<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type FieldsAgree = {
  [T in OpsEvent['type']]: SameFields<
    keyof Extract<z.infer<typeof opsEventSchema>, { type: T }>,
    keyof Extract<OpsEvent, { type: T }>
  >;
};

/** One event of each type, as the functions raise them. */
const EVENTS: Record<OpsEvent['type'], OpsEvent> = {
  'recalibration.completed': {
    type: 'recalibration.completed',
    runId: 'r1',
    setId: 's1',
    instruments: 2,
    held: [{ instrument: 'SOL', reason: 'no candles' }],
    changes: [{ instrument: 'BTC', to: 0.1 }],
  },
  'recalibration.failed': { type: 'recalibration.failed', runId: 'r1', reason: 'boom' },
  'backtest.completed': {
    type: 'backtest.completed',
    runId: 'r1',
    setId: 's1',
    scoredDays: 250,
    zone: 'yellow',
    instruments: [
      { instrument: 'BTC', zone: 'yellow', observations: 250, longBreaches: 6, shortBreaches: 2, cost: 1.1 },
    ],
    failed: [{ instrument: 'SOL', reason: 'feed failed' }],
    notStored: 'throttled',
  },
  'backtest.failed': { type: 'backtest.failed', runId: 'r1', setId: 's1', reason: 'boom' },
  'recalibration.shock': {
    type: 'recalibration.shock',
    runId: 'shock#1',
    setId: 's2',
    instrument: 'BTC',
    mark: 80_000,
    markAt: '2026-11-24T14:03:00.000Z',
    referencePrice: 100_000,
    move: -0.2,
    from: 0.09,
    to: 0.12,
    activeBound: 'model',
    runOfDay: 1,
    maxRunsPerDay: 3,
  },
  'sweep.completed': {
    type: 'sweep.completed',
    runId: 'sw',
    segment: 0,
    counts: { valued: 3 },
    marks: { source: 'live', takenAt: '2026-11-24T14:03:00.000Z', marked: 1, held: [] },
  },
  'sweep.failed': { type: 'sweep.failed', runId: 'sw', segment: 2, reason: 'table unavailable' },
  'sweep.targeted-fallback': {
    type: 'sweep.targeted-fallback',
    runId: 'watch-1',
    segments: 1,
    totalSegments: 3,
    reason: 'throttled',
  },
  'sweep.not-queued': {
    type: 'sweep.not-queued',
    runId: 'sweep-shock#1',
    setId: 'shock#1',
    instruments: ['BTC'],
    reason: 'queue down',
  },
  'stress.completed': {
    type: 'stress.completed',
    runId: 'st',
    setId: 's1',
    shocks: { BTC: -0.3 },
    rounds: 2,
    accountsStressed: 10,
    accountsLiquidated: 3,
    badDebt: '12.50000000',
    insuranceFund: '10.00000000',
    exceedsInsuranceFund: true,
    settled: true,
    cascadeMultiplier: { BTC: 1.2, ETH: null },
    errors: 0,
  },
  'marks.held': {
    type: 'marks.held',
    runId: 'w',
    takenAt: '2026-11-24T14:03:00.000Z',
    held: [{ instrument: 'SOL', reason: 'stale', cause: 'stale' }],
  },
  'candles.revised': {
    type: 'candles.revised',
    runId: 'r',
    revisions: [
      {
        venue: 'binance',
        instrument: 'BTC',
        day: '2026-11-21',
        time: 1795219200000,
        storedClose: 91250.5,
        venueClose: 91310.2,
        fields: ['high', 'close', 'volume'],
      },
    ],
  },
  'accounts.rejected': {
    type: 'accounts.rejected',
    runId: 'sw',
    rejected: [{ accountKey: 'a', reason: 'bad' }],
  },
  'instruments.listed': {
    type: 'instruments.listed',
    runId: 'r1',
    listed: [{ instrument: 'DOGE', venues: { binance: 'DOGEUSDT' }, firstListed: '2026-12-03' }],
  },
  'instruments.delisted': {
    type: 'instruments.delisted',
    runId: 'r1',
    delisted: [{ instrument: 'LUNA', reason: 'gone', holders: ['acc-1'] }],
    holdersIncomplete: '1 account records could not be read (a)',
  },
  'instruments.venues-kept': {
    type: 'instruments.venues-kept',
    runId: 'r1',
    venues: [{ venue: 'binance', reason: 'HTTP 503' }],
  },
};

describe('the AsyncAPI document', () => {
  const sns = mockClient(SNSClient);
  afterEach(() => sns.reset());

  it('is valid AsyncAPI 3.0 by the AsyncAPI parser, with no error or warning', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(documentText);
    const problems = diagnostics
      .filter((d) => d.severity <= 1)
      .map((d) => `${d.path.join('.')}: ${d.message}`);
    expect(problems).toEqual([]);
    expect(parsed?.version()).toBe('3.0.0');
    expect(
      parsed
        ?.channels()
        .all()
        .map((c) => c.id())
        .sort(),
    ).toEqual(['alerts', 'ops']);
    expect(
      parsed
        ?.operations()
        .all()
        .every((o) => o.action() === 'send'),
    ).toBe(true);
  });

  it('names every ops event type, and the OpsEvent type is exactly what the schema describes', () => {
    expect(Object.keys(document.channels.ops?.messages ?? {}).sort()).toEqual(
      Object.keys(EVENTS)
        .map((type) => `ops.${type}`)
        .sort(),
    );
    expect([...OPS_EVENT_TYPES].sort()).toEqual(Object.keys(EVENTS).sort());
    // A field added to OpsEvent (or to the schema) alone fails to compile here.
    expectTypeOf<FieldsAgree>().toEqualTypeOf<{ [T in OpsEvent['type']]: true }>();
    const described = (event: z.infer<typeof opsEventSchema>): OpsEvent => event;
    expect(described(EVENTS['sweep.failed'] as z.infer<typeof opsEventSchema>)).toBe(EVENTS['sweep.failed']);
  });

  it('gives the alert the SNS attributes the alert publisher sets, and the published alert schema', () => {
    const alert = sampleAlert();
    const message = messages.marginStateChanged;
    const sent = Object.fromEntries(
      Object.entries(alertAttributes(alert)).map(([k, v]) => [k, v.StringValue]),
    );
    expect(draft07.validate(message?.headers ?? {}, sent), JSON.stringify(draft07.errors)).toBe(true);
    expect(Object.keys(sent).sort()).toEqual([...((message?.headers.required as string[]) ?? [])].sort());
    expect(draft07.validate(standalone(message?.payload.schema), alert), JSON.stringify(draft07.errors)).toBe(
      true,
    );
    // The same body fails when it breaks the contract: the payload schema is not a rubber stamp.
    expect(draft07.validate(standalone(message?.payload.schema), { ...alert, equity: 12 })).toBe(false);
  });

  it.each(Object.keys(EVENTS) as OpsEvent['type'][])(
    'describes the %s message the ops publisher sends: attributes and body',
    async (type) => {
      sns.on(PublishCommand).resolves({ MessageId: 'm' });
      await new SnsOpsPublisher({
        client: new SNSClient({}),
        topicArn: 'arn:aws:sns:eu-west-1:1:ops',
      }).publish(EVENTS[type]);
      const input = sns.commandCalls(PublishCommand)[0]?.args[0].input;
      const sentHeaders = Object.fromEntries(
        Object.entries(input?.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
      );
      const body = JSON.parse(input?.Message ?? '{}') as unknown;
      const message = messages[`ops.${type}`];
      expect(draft07.validate(message?.headers ?? {}, sentHeaders), JSON.stringify(draft07.errors)).toBe(
        true,
      );
      expect(
        draft07.validate(standalone(message?.payload.schema), body),
        JSON.stringify(draft07.errors),
      ).toBe(true);
      expect(validatePublished(body), JSON.stringify(validatePublished.errors)).toBe(true);
      // Another type's body is refused by this message's schema.
      const other = Object.keys(EVENTS).find((t) => t !== type) as OpsEvent['type'];
      const otherBody = JSON.parse(opsMessage(EVENTS[other], '2026-11-24T00:00:00.000Z').body) as unknown;
      expect(draft07.validate(standalone(message?.payload.schema), otherBody)).toBe(false);
    },
  );

  it('has examples that validate against their own message', () => {
    for (const [name, message] of Object.entries(messages)) {
      expect(message.examples.length, name).toBeGreaterThan(0);
      for (const example of message.examples) {
        expect(draft07.validate(message.headers, example.headers), `${name} headers`).toBe(true);
        expect(draft07.validate(standalone(message.payload.schema), example.payload), `${name} payload`).toBe(
          true,
        );
      }
    }
  });
});
