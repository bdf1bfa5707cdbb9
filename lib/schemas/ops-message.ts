/**
 * The ops topic's message body as a zod schema: the contract `opsMessage` (lib/adapters/sns/ops-message.ts)
 * writes, `{ schemaVersion, type, ...the event's fields, omitted?, publishedAt }`. The published JSON Schema
 * and the AsyncAPI document are generated from it; `test/schemas/ops-message-schema.test.ts` keeps it and the
 * `OpsEvent` type in step (a new event type fails to compile there until it is described here).
 */
import { z } from 'zod';

const text = (description: string) => z.string().describe(description);
const isoTime = (description: string) => z.iso.datetime().describe(description);
const count = (description: string) => z.int().min(0).describe(description);
const runId = text('The run that raised the event (a recalibration, sweep or watch run id).');

const heldInstrument = z.strictObject({
  instrument: text('Instrument symbol.'),
  reason: text('Why it was held, in words.'),
});

const heldMark = z.strictObject({
  instrument: text('Instrument symbol.'),
  reason: text('Why its mark was not used, in words.'),
  cause: z
    .enum(['no-quorum', 'stale', 'unconfirmed-jump'])
    .optional()
    .describe('Set by the live consensus; absent for a threshold with no reference close.'),
});

const marksReport = z
  .strictObject({
    source: z
      .enum(['live', 'reference-close', 'mixed', 'none'])
      .describe('Where the marks came from: live venue consensus or the last daily close.'),
    takenAt: isoTime('When the snapshot was taken (UTC).'),
    marked: count('Instruments with a mark.'),
    held: z
      .array(heldInstrument)
      .describe('Instruments without a usable mark: their accounts were not re-valued.'),
  })
  .describe('The marks the sweep valued at.');

/** One variant per `OpsEvent['type']`, with the event's own fields only. */
export const opsEventSchemas = {
  'recalibration.completed': z
    .strictObject({
      type: z.literal('recalibration.completed'),
      runId,
      setId: text('The threshold set now in force.'),
      instruments: count('Instruments recalibrated.'),
      held: z.array(heldInstrument).describe('Instruments whose thresholds were held at the previous set.'),
      changes: z
        .array(
          z.strictObject({
            instrument: text('Instrument symbol.'),
            from: z.number().optional().describe('Initial margin rate before (absent for a new instrument).'),
            to: z.number().describe('Initial margin rate now.'),
          }),
        )
        .describe('Initial margin rates that changed.'),
    })
    .describe('A scheduled recalibration flipped to a new threshold set.'),
  'recalibration.failed': z
    .strictObject({
      type: z.literal('recalibration.failed'),
      runId,
      reason: text('Why it failed; the previous set stays in force.'),
    })
    .describe('A recalibration failed; the previous set stays in force.'),
  'backtest.completed': z
    .strictObject({
      type: z.literal('backtest.completed'),
      runId,
      setId: text('The set backtested (the one just published).'),
      scoredDays: count('Days scored per instrument (the last 250 by default).'),
      zone: z
        .enum(['green', 'yellow', 'red'])
        .describe('The worst Basel traffic-light zone over the instruments (yellow is amber).'),
      instruments: z
        .array(
          z.strictObject({
            instrument: text('Instrument symbol.'),
            zone: z.enum(['green', 'yellow', 'red']).describe("The worse side's zone."),
            observations: count('Days scored.'),
            longBreaches: count('Days a long position lost more than its margin.'),
            shortBreaches: count('Days a short position lost more than its margin.'),
            cost: z.number().describe('Average margin over the hindsight fixed rate.'),
          }),
        )
        .describe('Per instrument backtested.'),
      failed: z.array(heldInstrument).describe('Instruments that could not be backtested, and why.'),
      notStored: text(
        'Set when the report could not be stored: this summary is then the only record.',
      ).optional(),
    })
    .describe('The daily backtest (EMIR Art. 49) of a newly published set.'),
  'backtest.failed': z
    .strictObject({
      type: z.literal('backtest.failed'),
      runId,
      setId: text('The set it was for; it stays published.'),
      reason: text('Why the backtest could not run at all.'),
    })
    .describe('The daily backtest could not run; the set it was for stays published.'),
  'recalibration.shock': z
    .strictObject({
      type: z.literal('recalibration.shock'),
      runId,
      setId: text('The set the shock run flipped to.'),
      instrument: text('Instrument symbol.'),
      mark: z.number().describe('The live mark that triggered it.'),
      markAt: isoTime('When that mark was taken.'),
      referencePrice: z.number().describe("The threshold's reference price."),
      move: z.number().describe('Relative move from the reference price to the mark.'),
      from: z.number().describe('Initial margin rate before.'),
      to: z.number().describe('Initial margin rate after (never lower).'),
      activeBound: text('The rule that set the new rate (step-up-limit when the limit held it back).'),
      runOfDay: z.int().min(1).describe("This run's number among the instrument's shock runs that UTC day."),
      maxRunsPerDay: z.int().min(1).describe("The policy's cap on shock runs per instrument per day."),
    })
    .describe("A live move beyond the shock trigger raised one instrument's margins at once."),
  'sweep.completed': z
    .strictObject({
      type: z.literal('sweep.completed'),
      runId,
      segment: count(
        "The Scan or targeted segment; absent for the market watch's own targeted look.",
      ).optional(),
      counts: z
        .record(z.string(), z.number())
        .describe('Accounts by outcome (valued, changed, rejected, …).'),
      marks: marksReport.optional(),
    })
    .describe('A sweep segment finished, with its counts and the marks it valued at.'),
  'sweep.failed': z
    .strictObject({
      type: z.literal('sweep.failed'),
      runId,
      segment: count(
        "The Scan or targeted segment; absent for the market watch's own targeted look.",
      ).optional(),
      reason: text('Why it failed.'),
    })
    .describe('A sweep segment failed and was not retried in place.'),
  'sweep.targeted-fallback': z
    .strictObject({
      type: z.literal('sweep.targeted-fallback'),
      runId: text("The watch's minute (watch-<scheduled time>)."),
      segments: count('Targeted segments not invoked directly, sent to the sweep queue instead.'),
      totalSegments: z.int().min(1).describe('Targeted segments of the minute.'),
      reason: text("The first failed invoke's reason."),
    })
    .describe(
      "Some of a crash minute's targeted segments could not be invoked directly and were queued instead: same segments and sweep, slower to start.",
    ),
  'sweep.not-queued': z
    .strictObject({
      type: z.literal('sweep.not-queued'),
      runId: text('The sweep that was not queued (sweep-<shock run id>).'),
      setId: text('The raised set it was to value against; it stays CURRENT.'),
      instruments: z.array(text('Instrument symbol.')).min(1).describe('The instruments the shock raised.'),
      reason: text('Why it could not be queued.'),
    })
    .describe(
      "The full sweep after a shock recalibration could not be queued: the raised set stands, the coordinator's next scheduled sweep values against it.",
    ),
  'stress.completed': z
    .strictObject({
      type: z.literal('stress.completed'),
      runId,
      setId: text('The threshold set stressed; the full report is stored with it.'),
      shocks: z
        .record(z.string(), z.number())
        .describe('Relative move per shocked symbol (-0.3 is a 30% fall).'),
      rounds: count('Rounds of the cascade.'),
      accountsStressed: count('Accounts valued.'),
      accountsLiquidated: count('Accounts closed out over all rounds.'),
      badDebt: text('Equity below zero of the closed-out accounts at the final marks, quote currency.'),
      insuranceFund: text('The configured insurance fund, quote currency.'),
      exceedsInsuranceFund: z.boolean().describe('Bad debt above the insurance fund (the alarm fires).'),
      settled: z.boolean().describe('False when the round limit cut the cascade off.'),
      cascadeMultiplier: z
        .record(z.string(), z.number().nullable())
        .describe('Total move / initial move per instrument; null for one the shock did not move.'),
      errors: count('Records and instruments named in the report as not stressed.'),
    })
    .describe(
      'The daily stress run finished: its summary (alarms when bad debt exceeds the insurance fund).',
    ),
  'marks.held': z
    .strictObject({
      type: z.literal('marks.held'),
      runId,
      takenAt: isoTime('When the marks were taken (UTC).'),
      held: z.array(heldMark).describe('Instruments whose accounts stay where they are.'),
    })
    .describe('Live marks held instruments (no quorum, stale, an unconfirmed jump).'),
  'candles.revised': z
    .strictObject({
      type: z.literal('candles.revised'),
      runId,
      revisions: z
        .array(
          z.strictObject({
            venue: text('The venue that revised the bar.'),
            instrument: text('The qmt instrument.'),
            day: text("The bar's UTC day (YYYY-MM-DD)."),
            time: z.number().int().describe("The bar's open time (ms since the epoch)."),
            storedClose: z.number().describe('The close qmt had stored.'),
            venueClose: z.number().describe('The close the venue now sends (kept).'),
            fields: z.array(z.string()).describe('The OHLCV fields that changed.'),
          }),
        )
        .describe("Stored bars the venues changed; the venue's bars replaced them."),
    })
    .describe('Venues revised candles qmt had stored; the run computed from the revised bars.'),
  'accounts.rejected': z
    .strictObject({
      type: z.literal('accounts.rejected'),
      runId,
      rejected: z
        .array(z.strictObject({ accountKey: text('The record key.'), reason: text('Why it was rejected.') }))
        .describe('Account records that could not be read; the rest were swept.'),
    })
    .describe('A sweep could not read some account records; the rest were swept.'),
  'instruments.listed': z
    .strictObject({
      type: z.literal('instruments.listed'),
      runId,
      listed: z
        .array(
          z.strictObject({
            instrument: text('Instrument symbol (the base asset).'),
            venues: z
              .strictObject({
                deribit: text("Deribit's name.").optional(),
                binance: text("Binance's name.").optional(),
                coinbase: text("Coinbase's name.").optional(),
                kraken: text("Kraken's name.").optional(),
              })
              .describe('What each listing venue calls it.'),
            firstListed: z.iso.date().describe('UTC day qmt first listed it.'),
          }),
        )
        .describe('New instruments: held at the policy cap until their history is long enough.'),
    })
    .describe('The venues listed new instruments; they are recalibrated from their first day.'),
  'instruments.delisted': z
    .strictObject({
      type: z.literal('instruments.delisted'),
      runId,
      delisted: z
        .array(
          z.strictObject({
            instrument: text('Instrument symbol.'),
            reason: text('Why it left the catalogue.'),
            holders: z.array(text('Account id.')).describe('Accounts still holding it: they are not valued.'),
          }),
        )
        .describe('Instruments dropped from the set.'),
      holdersIncomplete: text('Why the holder list may be incomplete (accounts unreadable).').optional(),
    })
    .describe('Instruments no venue lists any more; accounts still holding them are named.'),
  'instruments.venues-kept': z
    .strictObject({
      type: z.literal('instruments.venues-kept'),
      runId,
      venues: z
        .array(z.strictObject({ venue: text('Venue name.'), reason: text('Why its list was not read.') }))
        .describe('Venues whose previous instrument names were kept.'),
    })
    .describe("A venue's instrument list could not be read; its previous listings stand."),
} as const;

export const OPS_EVENT_TYPES = Object.keys(opsEventSchemas) as (keyof typeof opsEventSchemas)[];

export const opsEventSchema = z.discriminatedUnion(
  'type',
  Object.values(opsEventSchemas) as unknown as [
    (typeof opsEventSchemas)[keyof typeof opsEventSchemas],
    ...(typeof opsEventSchemas)[keyof typeof opsEventSchemas][],
  ],
);

/** What the envelope adds around an event's fields. */
export const OPS_MESSAGE_ENVELOPE = {
  schemaVersion: z
    .literal('1.0')
    .describe('Version of the ops message. Consumers should reject major versions they do not know.'),
  omitted: z
    .record(z.string(), z.int().min(1))
    .optional()
    .describe('Present when lists were shortened to fit SNS: how many items each list lost.'),
  publishedAt: isoTime('When qmt published the message (UTC).'),
};

export const opsMessageSchema = z
  .discriminatedUnion(
    'type',
    Object.values(opsEventSchemas).map((variant) => variant.extend(OPS_MESSAGE_ENVELOPE)) as unknown as [
      z.ZodObject,
      ...z.ZodObject[],
    ],
  )
  .meta({
    $id: 'urn:qmt:schema:ops-message:1.0',
    title: 'qmt ops message, version 1.0',
    description:
      'Published by qmt to the ops topic: run summaries, failures, shock recalibrations, held marks and rejected records. The SNS message attributes eventType (the type field) and severity (info, warning, critical) let subscriptions filter. Long lists are shortened to fit SNS (see omitted) and texts longer than 4,096 characters are cut.',
  });
