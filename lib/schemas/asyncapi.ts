/**
 * The AsyncAPI 3.0 document for qmt's two SNS topics (alerts, ops), built from the same zod schemas as the
 * published JSON Schemas so the contract cannot drift from the code. Payloads are JSON Schema draft-07 (the
 * dialect AsyncAPI's parsers read); the headers are the SNS message attributes subscription filter policies
 * match on. Written by `npm run schemas`; checked by `test/schemas/asyncapi.test.ts` with the AsyncAPI parser.
 */
import { z } from 'zod';
import { MARGIN_STATES } from '../domain/account/account.ts';
import {
  MARGIN_ALERT_EVENT_TYPE,
  MARGIN_ALERT_SCHEMA_VERSION,
  marginAlertSchema,
} from '../domain/alert/alert.ts';
import { OPS_EVENT_TYPES, OPS_MESSAGE_ENVELOPE, opsEventSchemas } from './ops-message.ts';

const DRAFT_07 = 'application/schema+json;version=draft-07';
const SEVERITIES = ['info', 'warning', 'critical'] as const;

/**
 * `schema` as draft-07 with its named definitions moved to `shared` (the document's components.schemas),
 * since a `$ref` in an AsyncAPI document resolves from the document's root.
 */
function draft07(schema: z.ZodType, shared: Record<string, unknown>): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: 'draft-07' }) as Record<string, unknown> & {
    definitions?: Record<string, unknown>;
  };
  const { $schema: _dialect, definitions = {}, ...rest } = json;
  for (const [name, definition] of Object.entries(definitions)) {
    const moved = reroot(definition);
    if (name in shared && JSON.stringify(shared[name]) !== JSON.stringify(moved))
      throw new Error(`two payload schemas define ${name} differently`);
    shared[name] = moved;
  }
  return reroot(rest) as Record<string, unknown>;
}

/** Where the payloads' shared definitions live in the document. */
export const SHARED_SCHEMAS = '#/components/schemas/';

function reroot(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/definitions/', `"${SHARED_SCHEMAS}`));
}

/** SNS message attributes, as AsyncAPI headers: every one a String attribute. */
function headers(properties: Record<string, Record<string, unknown>>): Record<string, unknown> {
  return {
    type: 'object',
    description:
      'SNS message attributes (DataType String), the fields subscription filter policies match on.',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

const severityHeader = {
  type: 'string',
  enum: [...SEVERITIES],
  description: 'How urgent: info, warning or critical.',
};

/** One example per ops event type: what `opsMessage` writes for it (the test validates them both ways). */
const OPS_EXAMPLES: Record<
  (typeof OPS_EVENT_TYPES)[number],
  { severity: string; payload: Record<string, unknown> }
> = {
  'recalibration.completed': {
    severity: 'info',
    payload: {
      runId: 'scheduled#2026-11-24',
      setId: '2026-11-24T00:00Z',
      instruments: 3,
      held: [],
      changes: [{ instrument: 'BTC', from: 0.093, to: 0.101 }],
    },
  },
  'recalibration.failed': {
    severity: 'critical',
    payload: { runId: 'scheduled#2026-11-24', reason: 'lease held by another run' },
  },
  'backtest.completed': {
    severity: 'info',
    payload: {
      runId: 'scheduled#2026-11-24',
      setId: '2026-11-24T00:00Z',
      scoredDays: 250,
      zone: 'green',
      instruments: [
        {
          instrument: 'BTC',
          zone: 'green',
          observations: 250,
          longBreaches: 2,
          shortBreaches: 3,
          cost: 1.06,
        },
      ],
      failed: [],
    },
  },
  'backtest.failed': {
    severity: 'critical',
    payload: { runId: 'scheduled#2026-11-24', setId: '2026-11-24T00:00Z', reason: 'no time left' },
  },
  'recalibration.shock': {
    severity: 'warning',
    payload: {
      runId: 'shock#2026-11-24T14:03Z#BTC',
      setId: '2026-11-24T14:03Z',
      instrument: 'BTC',
      mark: 81000,
      markAt: '2026-11-24T14:03:00.000Z',
      referencePrice: 101250.5,
      move: -0.2,
      from: 0.093,
      to: 0.12,
      activeBound: 'model',
      runOfDay: 1,
      maxRunsPerDay: 3,
    },
  },
  'sweep.completed': {
    severity: 'info',
    payload: {
      runId: 'sweep-2026-11-24T00:05Z',
      segment: 0,
      counts: { valued: 1200, changed: 4, rejected: 0 },
      marks: { source: 'live', takenAt: '2026-11-24T00:05:00.000Z', marked: 3, held: [] },
    },
  },
  'sweep.failed': {
    severity: 'critical',
    payload: { runId: 'sweep-2026-11-24T00:05Z', segment: 2, reason: 'DynamoDB throttled after 8 attempts' },
  },
  'sweep.targeted-fallback': {
    severity: 'warning',
    payload: {
      runId: 'watch-2026-11-24T14:03:00Z',
      segments: 12,
      totalSegments: 3000,
      reason: 'TooManyRequestsException: Rate exceeded',
    },
  },
  'sweep.not-queued': {
    severity: 'warning',
    payload: {
      runId: 'sweep-shock#2026-11-24T14:00:00.000Z',
      setId: 'shock#2026-11-24T14:00:00.000Z',
      instruments: ['BTC'],
      reason: 'IncompleteBatchError: 2 of 4 segment messages not queued',
    },
  },
  'stress.completed': {
    severity: 'critical',
    payload: {
      runId: 'stress-2026-11-24T01:00Z',
      setId: '2026-11-24T00:00Z',
      shocks: { BTC: -0.3 },
      rounds: 3,
      accountsStressed: 120000,
      accountsLiquidated: 412,
      badDebt: '2500000.00000000',
      insuranceFund: '2000000.00000000',
      exceedsInsuranceFund: true,
      settled: true,
      cascadeMultiplier: { BTC: 1.18, ETH: 1.3 },
      errors: 0,
    },
  },
  'marks.held': {
    severity: 'warning',
    payload: {
      runId: 'watch-2026-11-24T14:03Z',
      takenAt: '2026-11-24T14:03:00.000Z',
      held: [{ instrument: 'SOL', reason: '1 of 3 venues answered (quorum 2)', cause: 'no-quorum' }],
    },
  },
  'candles.revised': {
    severity: 'warning',
    payload: {
      runId: 'scheduled#2026-11-24',
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
  },
  'accounts.rejected': {
    severity: 'warning',
    payload: {
      runId: 'sweep-2026-11-24T00:05Z',
      rejected: [{ accountKey: 'acc-0099', reason: 'positions[0].quantity: expected a decimal string' }],
    },
  },
  'instruments.listed': {
    severity: 'info',
    payload: {
      runId: 'scheduled#2026-12-03',
      listed: [{ instrument: 'DOGE', venues: { binance: 'DOGEUSDT' }, firstListed: '2026-12-03' }],
    },
  },
  'instruments.delisted': {
    severity: 'critical',
    payload: {
      runId: 'scheduled#2026-12-03',
      delisted: [
        {
          instrument: 'LUNA',
          reason: 'LUNA: no venue lists it as trading in USD/USDT perpetual',
          holders: ['acc-0042'],
        },
      ],
    },
  },
  'instruments.venues-kept': {
    severity: 'warning',
    payload: {
      runId: 'scheduled#2026-12-03',
      venues: [{ venue: 'binance', reason: 'binance instrument list: GET /fapi/v1/exchangeInfo HTTP 503' }],
    },
  },
};

function opsMessageName(type: string): string {
  return `ops.${type}`;
}

/** The AsyncAPI document, as a plain object. */
export function asyncApiDocument(): Record<string, unknown> {
  const shared: Record<string, unknown> = {};
  const alertExample = (marginAlertSchema.meta()?.examples as unknown[] | undefined)?.[0] as
    | Record<string, string>
    | undefined;
  const opsMessages = Object.fromEntries(
    OPS_EVENT_TYPES.map((type) => {
      const example = OPS_EXAMPLES[type];
      return [
        opsMessageName(type),
        {
          name: type,
          title: `Ops: ${type}`,
          summary: opsEventSchemas[type].description ?? `The ${type} ops event.`,
          contentType: 'application/json',
          headers: headers({
            eventType: { type: 'string', const: type, description: 'The event type (the body field type).' },
            severity: severityHeader,
          }),
          payload: {
            schemaFormat: DRAFT_07,
            schema: draft07(opsEventSchemas[type].extend(OPS_MESSAGE_ENVELOPE), shared),
          },
          examples: [
            {
              name: type,
              headers: { eventType: type, severity: example.severity },
              payload: {
                schemaVersion: '1.0',
                type,
                ...example.payload,
                publishedAt: '2026-11-24T00:05:01.000Z',
              },
            },
          ],
        },
      ];
    }),
  );

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'qmt events',
      version: `${MARGIN_ALERT_SCHEMA_VERSION}.0`,
      description:
        "The messages qmt publishes to its two SNS topics. The alerts topic gets one message per margin state change of an account (at least once: deduplicate on alertId, order an account's alerts by sequence). The ops topic gets run summaries, failures, shock recalibrations and held marks. Subscribe with filter policies on the message attributes (the headers here); with raw message delivery the body is the payload, otherwise SNS wraps it in its JSON envelope under Message.",
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      sns: {
        host: 'sns.{region}.amazonaws.com',
        protocol: 'sns',
        description:
          "Amazon SNS in the stack's region: topic ARNs are the stack outputs AlertsTopicArn and OpsTopicArn.",
        variables: {
          region: { default: 'eu-west-1', description: 'The AWS region the stack is deployed in.' },
        },
      },
    },
    channels: {
      alerts: {
        address: '{AlertsTopicArn}',
        title: 'Margin alerts',
        description:
          'One message per margin state change (OK, WARNING, MARGIN_CALL, LIQUIDATION). Encrypted with the stack key; subscribers in other accounts need alertSubscriberAccounts.',
        parameters: { AlertsTopicArn: { description: 'The AlertsTopicArn stack output.' } },
        messages: { marginStateChanged: { $ref: '#/components/messages/marginStateChanged' } },
      },
      ops: {
        address: '{OpsTopicArn}',
        title: 'Operations',
        description: 'Run summaries and failures for the people who operate qmt; every alarm goes here too.',
        parameters: { OpsTopicArn: { description: 'The OpsTopicArn stack output.' } },
        messages: Object.fromEntries(
          OPS_EVENT_TYPES.map((type) => [
            opsMessageName(type),
            { $ref: `#/components/messages/${opsMessageName(type)}` },
          ]),
        ),
      },
    },
    operations: {
      publishMarginAlert: {
        action: 'send',
        channel: { $ref: '#/channels/alerts' },
        summary: 'The sweep and the market watch publish an alert when an account changes margin state.',
        messages: [{ $ref: '#/channels/alerts/messages/marginStateChanged' }],
      },
      publishOpsEvent: {
        action: 'send',
        channel: { $ref: '#/channels/ops' },
        summary: 'Every function publishes its run summary or failure.',
        messages: OPS_EVENT_TYPES.map((type) => ({
          $ref: `#/channels/ops/messages/${opsMessageName(type)}`,
        })),
      },
    },
    components: {
      messages: {
        marginStateChanged: {
          name: MARGIN_ALERT_EVENT_TYPE,
          title: 'Margin state changed',
          summary: "An account's margin crossed a threshold (either way).",
          contentType: 'application/json',
          headers: headers({
            eventType: {
              type: 'string',
              const: MARGIN_ALERT_EVENT_TYPE,
              description: 'Always margin.state_changed.',
            },
            severity: severityHeader,
            accountId: { type: 'string', description: 'The account (the body field accountId).' },
            newState: { type: 'string', enum: [...MARGIN_STATES], description: 'The state entered.' },
          }),
          payload: { schemaFormat: DRAFT_07, schema: draft07(marginAlertSchema, shared) },
          examples: alertExample
            ? [
                {
                  name: 'margin call',
                  headers: {
                    eventType: alertExample.eventType,
                    severity: alertExample.severity,
                    accountId: alertExample.accountId,
                    newState: alertExample.newState,
                  },
                  payload: alertExample,
                },
              ]
            : [],
        },
        ...opsMessages,
      },
      schemas: shared,
    },
  };
}
