/**
 * The threshold policy: every choice a risk committee signs off, validated with zod, versioned and hashed
 * into every threshold it produces. The defaults are the committee baseline that the README explains and
 * the shared-data backtest (test/data/domain/backtest/default-policy.test.ts) keeps honest.
 *
 * Over 500 lines on purpose: one zod schema for the whole policy, so every setting's default, its reason
 * and its error path sit in one place and the policy hash covers exactly what this file defines.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { isReservedKey, RESERVED_KEY_MESSAGE, withoutReservedKeys } from '../document-keys.ts';
import { PolicyError } from '../errors.ts';
import { markConsensusPolicySchema } from '../market/mark-consensus.ts';
import { candleValidationRulesSchema } from '../market/validate.ts';
import { cascadePolicySchema } from '../stress/policy.ts';
import { isMporDays, MAX_MPOR_DAYS, parseMarginPeriodOfRisk } from './mpor.ts';

const rate = z.number().gt(0).max(1);
const share = z.number().min(0).max(1);
const isoDay = z.iso.date();

export const volatilityPolicySchema = z.strictObject({
  ewmaLambda: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.99)
    .describe(
      'Decay of the EWMA that sets today’s σ. 0.99 (≈100-day memory) rather than RiskMetrics’ 0.94: it is the anti-procyclical choice that keeps 5-day margin jumps under 2× on the 2020–2022 crashes.',
    ),
  filterLambda: z
    .number()
    .gt(0)
    .lt(1)
    .default(0.99)
    .describe('Decay of the EWMA that de-volatilises historical returns for filtered historical simulation.'),
  seedDays: z
    .number()
    .int()
    .min(5)
    .max(365)
    .default(30)
    .describe('Returns averaged to seed each EWMA (mean of squares).'),
  garchWindowDays: z
    .number()
    .int()
    .min(250)
    .max(3650)
    .default(1095)
    .describe('Returns the GARCH(1,1) fit uses (3 years).'),
  rangeWindowDays: z
    .number()
    .int()
    .min(5)
    .max(365)
    .default(30)
    .describe('Bars the Yang–Zhang range estimator uses.'),
  combination: z
    .strictObject({
      method: z.enum(['weighted', 'max']).default('weighted'),
      weights: z
        .strictObject({
          ewma: share.default(1),
          garch: share.default(0),
          range: share.default(0),
          implied: share.default(0),
        })
        .prefault({}),
    })
    .prefault({})
    .describe(
      'How the estimators combine into the σ the risk measure scales: a weighted sum of σ, or the maximum of those with a positive weight. Every estimator is computed and reported either way.',
    ),
});

export const riskMeasureSchema = z.discriminatedUnion('method', [
  z.strictObject({
    method: z.literal('filtered-historical-simulation'),
    measure: z.enum(['var', 'es']).default('var'),
    /** Both tails pooled: crypto squeezes up as hard as it crashes down, and pooling doubles the tail sample. */
    symmetric: z.boolean().default(true),
  }),
  z.strictObject({
    method: z.literal('student-t'),
    measure: z.enum(['var', 'es']).default('var'),
    /** A fixed ν, or `fit` by maximum likelihood on the de-volatilised returns of the lookback. */
    degreesOfFreedom: z.union([z.number().gt(2).max(200), z.literal('fit')]).default('fit'),
  }),
]);

/**
 * A scenario's name keys its loss in every threshold's audit trail, so it cannot be a reserved key, and it is
 * short: 50 long names would push an instrument's threshold item past DynamoDB's 400 KB and stop the set.
 */
const scenarioName = z
  .string()
  .min(1)
  .max(128)
  .refine((name) => !isReservedKey(name), RESERVED_KEY_MESSAGE);

/** A scenario's worst one-day move when it happened, as losses (fractions): a long's and a short's. */
const recordedMoveSchema = z.strictObject({
  long: z.number().min(0).lt(1),
  short: z.number().min(0).max(10),
});

export const stressScenarioSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    name: scenarioName,
    kind: z.literal('historical'),
    from: isoDay,
    to: isoDay,
    recorded: recordedMoveSchema
      .extend({ instruments: z.record(z.string().min(1), recordedMoveSchema).default({}) })
      .optional()
      .describe(
        'The move when it happened, used when a series does not cover the dates (it starts later, or its dates are wrong): per instrument, else the generic long/short. One-day losses; over a longer MPOR the log move is scaled by √days.',
      ),
  }),
  z.strictObject({
    name: scenarioName,
    kind: z.literal('hypothetical'),
    /** Price move over the MPOR as a fraction: −0.4 is a 40% fall. */
    move: z.number().gt(-1).lt(10),
  }),
]);

/**
 * The committee's historical scenarios with their recorded moves: the worst one-day close-to-close loss of
 * a long and of a short over the scenario's days (the model's own measure at MPOR 1 day), rounded to 4
 * places, from ../shared/data/{BTC,ETH,SOL}-USD.csv (Yahoo Finance / CoinMarketCap daily closes, see
 * ../shared/data/README.md). The generic move, for an instrument without its own, is the worst of the three.
 * SOL's file starts 2020-04-10, so it has no COVID move of its own.
 */
export const DEFAULT_STRESS_SCENARIOS = [
  {
    name: 'covid-crash',
    kind: 'historical',
    from: '2020-03-12',
    to: '2020-03-13',
    recorded: {
      long: 0.4235,
      short: 0.1856,
      instruments: { BTC: { long: 0.3717, short: 0.1193 }, ETH: { long: 0.4235, short: 0.1856 } },
    },
  },
  {
    name: 'china-mining-ban',
    kind: 'historical',
    from: '2021-05-19',
    to: '2021-05-19',
    recorded: {
      long: 0.3721,
      short: 0,
      instruments: {
        BTC: { long: 0.1377, short: 0 },
        ETH: { long: 0.272, short: 0 },
        SOL: { long: 0.3721, short: 0 },
      },
    },
  },
  {
    name: 'luna-collapse',
    kind: 'historical',
    from: '2022-05-09',
    to: '2022-05-12',
    recorded: {
      long: 0.248,
      short: 0.0553,
      instruments: {
        BTC: { long: 0.1105, short: 0.024 },
        ETH: { long: 0.1158, short: 0.0437 },
        SOL: { long: 0.248, short: 0.0553 },
      },
    },
  },
  {
    name: 'ftx-collapse',
    kind: 'historical',
    from: '2022-11-08',
    to: '2022-11-09',
    recorded: {
      long: 0.4228,
      short: 0,
      instruments: {
        BTC: { long: 0.1435, short: 0 },
        ETH: { long: 0.1746, short: 0 },
        SOL: { long: 0.4228, short: 0 },
      },
    },
  },
] as const;

export const bracketSchema = z.strictObject({
  /** Upper notional bound (quote currency) of the bracket; null for the last, unbounded one. */
  notionalCap: z.number().positive().nullable(),
  /** Rates in this bracket are the base rates times this multiplier (capped at 100%). */
  multiplier: z.number().min(1).max(1000),
});

/**
 * When a live move is big enough to recalibrate an instrument at once, rather than wait for the daily run
 * (lib/app/shock-recalibration.ts, README "Shock recalibration").
 */
export const shockPolicySchema = z.strictObject({
  sigmas: z
    .number()
    .gt(0)
    .max(50)
    .default(3)
    .describe(
      'Trigger: a log move since the threshold’s reference price of at least this many of its daily σ (the σ the model took). 3σ is about the 99% one-day move the model rate covers (2.33σ for a normal law, more for fat tails: the FHS multiplier): a day that has already moved that far has used the margin’s coverage, so the σ behind it is out of date. BTC at σ 3% triggers at about ±9%.',
    ),
  fallbackMove: z
    .number()
    .gt(0)
    .max(5)
    .default(Math.log(1.1))
    .describe(
      'Trigger (log move) for a threshold with no σ (held at the cap before the model ever ran): ln 1.1, a 10% rise or a 9.1% fall.',
    ),
  maxRunsPerDay: z
    .number()
    .int()
    .min(0)
    .max(96)
    .default(3)
    .describe(
      'Shock recalibrations per instrument per UTC day; 0 turns them off. Each publishes a set and makes the next sweep of the instrument a full one, so a crash that keeps falling raises margins a few times (each by at most the step-up limit) and the rest waits for the daily run.',
    ),
});

export const thresholdPolicySchema = z
  .strictObject({
    version: z.string().min(1).max(64).default('qmt-default-2026.12'),
    confidence: z
      .number()
      .min(0.9)
      .lt(1)
      .default(0.99)
      .describe('Coverage of the initial margin (EMIR Art. 24: ≥ 99% exchange-traded, ≥ 99.5% OTC).'),
    marginPeriodOfRiskDays: z
      .number()
      .refine(isMporDays, {
        message: `must be whole days from 1 to ${MAX_MPOR_DAYS}, or whole hours under a day (write "4h" as marginPeriodOfRisk)`,
      })
      .default(1)
      .describe(
        'Days to close out a defaulted position. 1 day: crypto venues liquidate continuously, 24/7 (CFTC 39.13: 1 day for futures); set 2 for EMIR exchange-traded. Under a day (from `marginPeriodOfRisk`, e.g. "4h" = 4/24) the model needs intraday bars.',
      ),
    marginPeriodOfRisk: z
      .string()
      .optional()
      .describe(
        'The MPOR as a duration ("1h", "2h", "4h", "1d", "2d"); read into marginPeriodOfRiskDays, which stays as an alias. Both given must agree.',
      ),
    lookbackDays: z
      .number()
      .int()
      .min(365)
      .max(3650)
      .default(730)
      .describe('Returns the risk measure samples (EMIR Art. 25: at least the latest 12 months).'),
    riskMeasure: riskMeasureSchema.default({
      method: 'filtered-historical-simulation',
      measure: 'var',
      symmetric: true,
    }),
    volatility: volatilityPolicySchema.prefault({}),
    // Optional without a default: a policy without a sub-day MPOR hashes as it did before.
    intraday: z
      .strictObject({
        seasonality: z
          .enum(['time-of-day', 'weekday-weekend'])
          .default('time-of-day')
          .describe(
            'The volatility profile that de-seasonalises intraday bars: by time of day (one factor per bar of the day), or by time of day separately on weekdays and on weekends (Saturday and Sunday UTC: crypto trades, but quieter).',
          ),
        fastEwmaLambda: z
          .number()
          .gt(0)
          .lt(1)
          .nullable()
          .default(null)
          .describe(
            'Decay per day of a second, fast EWMA of the de-seasonalised bar returns; σ is the larger of it and the slow one (`volatility.ewmaLambda`), for the margin and for the FHS filter alike, so a large bar raises the next bar’s margin at once. 0.01 per day is about 0.825 per hourly bar (a half-life near 3.6 hours). null: the slow EWMA alone.',
          ),
      })
      .optional()
      .describe(
        'How the model reads intraday bars at a sub-day MPOR (README "Margin period of risk in hours").',
      ),
    stress: z
      .strictObject({
        scenarios: z
          .array(stressScenarioSchema)
          .max(50)
          .default([...DEFAULT_STRESS_SCENARIOS]),
        coveredShare: share
          .default(0)
          .describe(
            'The initial margin covers at least this share of the worst scenario loss over the MPOR. Default 0 (chosen out of sample, README): the scenarios are measured and stored with every threshold but do not bind.',
          ),
        // Optional without a default: a policy that does not use `qmt stress` hashes as it did before.
        cascade: cascadePolicySchema
          .optional()
          .describe('Liquidation-cascade settings for `qmt stress` (docs/STRESS.md); absent: the defaults.'),
      })
      .prefault({}),
    antiProcyclicality: z
      .strictObject({
        longLookbackFloor: z
          .strictObject({
            years: z.number().int().min(1).max(20).default(10),
            share: share.default(0.5),
          })
          .nullable()
          .prefault({})
          .describe(
            'EMIR Art. 28(c): margin at least `share` of the same risk measure on the volatility of the whole lookback.',
          ),
        stressedPeriodFloor: z
          .strictObject({
            share: share.default(0.85),
            windowDays: z.number().int().min(30).max(730).default(730),
            years: z.number().int().min(1).max(20).default(2),
          })
          .nullable()
          .prefault({})
          .describe(
            'A floor on a stressed-period measure that ages out: margin at least `share` of the same risk measure on the volatility (root mean square of returns) of the most volatile `windowDays` of the last `years` years. The stressed period leaves the window after `years`, so an asset’s infancy stops binding. Default: a rolling two-year floor at 85% (chosen out of sample, README). null: none. It is not an EMIR Art. 28 tool on its own (the other three are).',
          ),
        buffer: share
          .default(0)
          .describe(
            'EMIR Art. 28(a): a buffer of this share added in calm markets, consumed as the model rate rises.',
          ),
        stressedWeight: share
          .default(0)
          .describe(
            'EMIR Art. 28(b): weight given to the stress-scenario rate in a blend with the model rate.',
          ),
      })
      .prefault({}),
    stepLimits: z
      .strictObject({
        maxIncrease: z
          .number()
          .positive()
          .nullable()
          .default(0.25)
          .describe('Largest rise per run, relative (0.25 = +25%).'),
        maxDecrease: z
          .number()
          .positive()
          .lt(1)
          .nullable()
          .default(0.05)
          .describe('Largest fall per run, relative: margins come down slowly.'),
      })
      .prefault({}),
    bounds: z
      .strictObject({
        minInitialMarginRate: rate.default(0.02).describe('House or regulatory minimum initial margin rate.'),
        maxInitialMarginRate: rate.default(1),
      })
      .prefault({}),
    maintenanceFraction: z
      .number()
      .gt(0)
      .max(1)
      .default(0.6)
      .describe('Maintenance margin as a share of initial margin.'),
    levels: z
      .strictObject({
        warning: z
          .number()
          .gt(1)
          .max(10)
          .default(1.2)
          .describe('Margin ratio (equity / maintenance) below which an account is in WARNING.'),
        marginCall: z
          .number()
          .positive()
          .default(1)
          .describe('Margin ratio below which an account is in MARGIN_CALL.'),
        liquidation: z
          .number()
          .positive()
          .default(0.8)
          .describe('Margin ratio below which an account is in LIQUIDATION.'),
        hysteresis: z
          .number()
          .min(0)
          .max(0.5)
          .default(0.05)
          .describe('Ratio an account must recover beyond a level before its state improves.'),
      })
      .prefault({}),
    brackets: z
      .array(bracketSchema)
      .min(1)
      .max(20)
      .default([
        { notionalCap: 1_000_000, multiplier: 1 },
        { notionalCap: 5_000_000, multiplier: 1.5 },
        { notionalCap: 20_000_000, multiplier: 2.5 },
        { notionalCap: 50_000_000, multiplier: 4 },
        { notionalCap: null, multiplier: 6 },
      ]),
    openInterestScaling: z
      .strictObject({ lowerCap: z.number().min(0), upperCap: z.number().positive() })
      .nullable()
      .default(null)
      .describe(
        'dYdX-style: initial margin rises linearly to 100% as open interest goes from lowerCap to upperCap (quote notional).',
      ),
    liquidity: z
      .strictObject({
        averageDailyVolumeDays: z.number().int().min(5).max(365).default(30),
        participationRate: z
          .number()
          .gt(0)
          .max(1)
          .default(0.1)
          .describe(
            'Share of average daily volume a liquidation can trade per day without moving the price.',
          ),
      })
      .prefault({}),
    dataQuality: candleValidationRulesSchema.prefault({}),
    marks: markConsensusPolicySchema
      .prefault({})
      .describe(
        'Live marks: the quorum of venues, their largest deviation from the median, the oldest price accepted and the jump a majority must confirm (docs/MARKS.md).',
      ),
    shock: shockPolicySchema
      .prefault({})
      .describe(
        'Shock recalibration: an instrument whose live mark moves beyond the trigger since its reference price is recalibrated at once, with the move as today’s return; the result may only raise margins.',
      ),
  })
  .superRefine((policy, ctx) => {
    const apc = policy.antiProcyclicality;
    const floor = apc.longLookbackFloor;
    const tenYearFloor = floor !== null && floor.years >= 10 && floor.share > 0;
    if (!tenYearFloor && apc.buffer < 0.25 && apc.stressedWeight < 0.25) {
      ctx.addIssue({
        code: 'custom',
        path: ['antiProcyclicality'],
        message:
          'EMIR Art. 28 needs at least one of: longLookbackFloor, buffer ≥ 0.25, stressedWeight ≥ 0.25',
      });
    }
    if (policy.bounds.minInitialMarginRate > policy.bounds.maxInitialMarginRate) {
      ctx.addIssue({
        code: 'custom',
        path: ['bounds', 'minInitialMarginRate'],
        message: 'is above maxInitialMarginRate',
      });
    }
    const { warning, marginCall, liquidation } = policy.levels;
    if (!(warning > marginCall && marginCall > liquidation)) {
      ctx.addIssue({ code: 'custom', path: ['levels'], message: 'needs warning > marginCall > liquidation' });
    }
    policy.brackets.forEach((bracket, i) => {
      const previous = policy.brackets[i - 1];
      const last = i === policy.brackets.length - 1;
      if (last !== (bracket.notionalCap === null)) {
        ctx.addIssue({
          code: 'custom',
          path: ['brackets', i, 'notionalCap'],
          message: 'only the last bracket is unbounded (null)',
        });
      }
      if (
        previous &&
        (previous.notionalCap ?? Number.POSITIVE_INFINITY) >=
          (bracket.notionalCap ?? Number.POSITIVE_INFINITY)
      ) {
        ctx.addIssue({ code: 'custom', path: ['brackets', i, 'notionalCap'], message: 'caps must increase' });
      }
      if (previous && previous.multiplier > bracket.multiplier) {
        ctx.addIssue({
          code: 'custom',
          path: ['brackets', i, 'multiplier'],
          message: 'multipliers must not decrease',
        });
      }
    });
    policy.stress.scenarios.forEach((scenario, i) => {
      if (scenario.kind === 'historical' && scenario.to < scenario.from) {
        ctx.addIssue({ code: 'custom', path: ['stress', 'scenarios', i, 'to'], message: 'is before from' });
      }
    });
    const scaling = policy.openInterestScaling;
    if (scaling && scaling.upperCap <= scaling.lowerCap) {
      ctx.addIssue({
        code: 'custom',
        path: ['openInterestScaling', 'upperCap'],
        message: 'must be above lowerCap',
      });
    }
    const weights = policy.volatility.combination.weights;
    if (weights.ewma + weights.garch + weights.range + weights.implied <= 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['volatility', 'combination', 'weights'],
        message: 'at least one weight must be positive',
      });
    }
  });

/** What `parseThresholdPolicy` reads: the policy schema, refusing reserved keys anywhere with their path. */
const policyDocumentSchema = withoutReservedKeys(thresholdPolicySchema);

export type ThresholdPolicy = z.output<typeof thresholdPolicySchema>;
/** An instrument and the policy its thresholds are computed under. */
export interface InstrumentPolicy {
  readonly instrument: string;
  readonly policy: ThresholdPolicy;
}

export type ThresholdPolicyInput = z.input<typeof thresholdPolicySchema>;
export type StressScenario = z.output<typeof stressScenarioSchema>;
export type ShockPolicy = z.output<typeof shockPolicySchema>;

/**
 * Validate a policy document, filling in the committee defaults. A bad value throws `PolicyError` naming the
 * field path and the reason.
 *
 * @example
 * const policy = parseThresholdPolicy({ confidence: 0.995, marginPeriodOfRiskDays: 2 });
 */
export function parseThresholdPolicy(input: unknown, where = 'policy'): ThresholdPolicy {
  const result = policyDocumentSchema.safeParse(withMporInDays(input ?? {}, where));
  if (result.success) return result.data;
  // An unknown key is reported on its parent with the key in `keys`: name the key itself.
  const issuePath = (i: z.core.$ZodIssue) =>
    i.code === 'unrecognized_keys' ? [...i.path, ...i.keys.slice(0, 1)] : i.path;
  const issue = result.error.issues[0];
  const path = [where, ...(issue ? issuePath(issue) : [])].join('.');
  const all = result.error.issues
    .map((i) => `${[where, ...issuePath(i)].join('.')}: ${i.message}`)
    .join('; ');
  throw new PolicyError(`invalid threshold policy: ${all}`, path, { cause: result.error });
}

/**
 * `marginPeriodOfRisk` ("4h") read into `marginPeriodOfRiskDays`, so the policy has one MPOR field and a
 * daily policy is the same document (and hash) whichever way it was written.
 * @throws PolicyError naming `marginPeriodOfRisk` for a bad duration, or one that disagrees with
 *   `marginPeriodOfRiskDays` given beside it.
 */
function withMporInDays(input: unknown, where: string): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  if (!Object.hasOwn(input, 'marginPeriodOfRisk')) return input;
  const { marginPeriodOfRisk, ...rest } = input as Record<string, unknown>;
  const path = `${where}.marginPeriodOfRisk`;
  const parsed = parseMarginPeriodOfRisk(marginPeriodOfRisk);
  if ('reason' in parsed) throw new PolicyError(`invalid threshold policy: ${path}: ${parsed.reason}`, path);
  const alias = rest.marginPeriodOfRiskDays;
  if (alias !== undefined && !(typeof alias === 'number' && Math.abs(alias - parsed.days) < 1e-9)) {
    throw new PolicyError(
      `invalid threshold policy: ${path}: "${String(marginPeriodOfRisk)}" disagrees with marginPeriodOfRiskDays ${JSON.stringify(alias)}: give one of them`,
      path,
    );
  }
  return { ...rest, marginPeriodOfRiskDays: parsed.days };
}

/** The committee defaults. */
export const DEFAULT_THRESHOLD_POLICY: ThresholdPolicy = parseThresholdPolicy({});

/** JSON with keys sorted at every level, so equal policies hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}

/** SHA-256 (hex) of the policy's canonical JSON: stored with every threshold for audit. */
export function policyHash(policy: ThresholdPolicy): string {
  return createHash('sha256').update(canonicalJson(policy)).digest('hex');
}
