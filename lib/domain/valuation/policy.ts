/**
 * The valuation policy: how an account's requirement is computed from the thresholds (scenario grid, short
 * option minimum, correlation offsets, liquidity horizon). Validated with zod; every default is the one
 * documented in `lib/domain/valuation/README.md`.
 */
import { z } from 'zod';
import { PolicyError } from '../errors.ts';

const share = z.number().min(0).max(1);

/** Deribit portfolio-margin grid (margin-methods.md §1.3, parameters from the oreome replication). */
export const deribitGridSchema = z.strictObject({
  method: z.literal('deribit'),
  /** Price buckets on each side of 0: 4 gives ±¼, ±½, ±¾, ±1 scan range and 0 (9 buckets). */
  priceRangeSteps: z.number().int().min(1).max(20).default(4),
  volRangeUp: z.number().min(0).max(10).default(0.5),
  volRangeDown: z.number().min(0).max(1).default(0.25),
  /** The vol-up scenario never marks an option below this volatility. */
  minVolForShockUp: z.number().min(0).max(10).default(0.5),
  /** Vega power for options with fewer than `shortTermDays` to expiry. */
  shortTermVegaPower: z.number().min(0).max(2).default(0.3),
  longTermVegaPower: z.number().min(0).max(2).default(0.13),
  shortTermDays: z.number().positive().max(3650).default(30),
  /** Days to expiry are floored here in (30/DTE)^p so the shock stays finite near expiry (Paradex: 1). */
  minDaysToExpiry: z.number().positive().max(30).default(1),
  /**
   * Extreme moves: ± this multiple of the scan range at vol up, like Deribit's extended table (only the vol-up
   * leg, a fraction of the P&L counted). 8: twice the worst shared crash day (BTC 2020-03-12, −37.2% = 4.0 R),
   * and at BTC's R ≈ 9–10% a little beyond Deribit's −66% leg (see the README's crash-day table).
   */
  extremeMultiple: z.number().min(1).max(20).default(8),
  /**
   * Share of the extreme-move loss counted (Deribit's dampener R/|move|); 0 leaves the extreme moves out.
   * 0.125 = 1/8: a future's weighted extreme loss equals its scan loss, so futures keep their calibrated rate.
   */
  extremeCover: share.default(0.125),
});

/** CME SPAN's 16 scenarios (margin-methods.md §2.1). */
export const spanGridSchema = z.strictObject({
  method: z.literal('span'),
  /** Relative vol move of the ±1 vol scenarios: σ·(1 ± volScanRange). */
  volScanRange: z.number().min(0).max(1).default(0.25),
  /** Extreme move as a multiple of the price scan range (CME 3, NSE 2). */
  extremeMultiple: z.number().min(1).max(10).default(3),
  /** Share of the extreme-move loss counted. */
  extremeCover: share.default(0.35),
});

export const scenarioGridSchema = z.discriminatedUnion('method', [deribitGridSchema, spanGridSchema]);

const symbol = z.string().regex(/^[A-Z0-9][A-Z0-9_.-]{0,31}$/, 'must be an instrument symbol such as "BTC"');

export const correlationSchema = z.strictObject({
  a: symbol,
  b: symbol,
  /** Correlation of the two underlyings' returns. */
  rho: z.number().min(-1).max(1),
});

export const valuationPolicySchema = z
  .strictObject({
    grid: scenarioGridSchema.prefault({ method: 'deribit' }),
    shortOptionMinimum: share
      .default(0.01)
      .describe(
        'Initial-margin floor per net short option, as a fraction of the underlying price (Deribit’s legacy 0.01 BTC option contingency; SPAN’s short option minimum).',
      ),
    correlations: z
      .array(correlationSchema)
      .max(1000)
      .default([])
      .describe('Pairs of underlyings whose opposite-direction requirements may offset. None by default.'),
    estimatedCorrelations: z
      .boolean()
      .default(true)
      .describe(
        'Offset positions with the correlations the recalibration estimated and stored with the threshold set (the weakest hedge of the lookback and the stressed one; with a pair configured by hand too, the weakest of all), by offsetMethod. A pair the recalibration refused earns no offset.',
      ),
    offsetCreditCap: share
      .default(0.5)
      .describe(
        'With offsetMethod smaller-leg: largest credit between two correlated groups, as a share of the smaller requirement.',
      ),
    offsetMethod: z
      .enum(['smaller-leg', 'correlation-aggregated'])
      .default('correlation-aggregated')
      .describe(
        'How a correlated pair is credited: smaller-leg (min(strength, offsetCreditCap) × the smaller requirement) or correlation-aggregated (the pair is charged √(a² + b² + 2ρ·a·b·direction(a)·direction(b)), ρ the weakest hedge of its correlations, the credit capped by spreadCreditCap). See lib/domain/valuation/README.md.',
      ),
    spreadCreditCap: share
      .default(0.7)
      .describe(
        'With offsetMethod correlation-aggregated: largest credit as a share of the pair’s summed requirement (SPAN’s inter-commodity credit rate ceiling), so a pair is never charged less than (1 − cap) × the sum of its legs.',
      ),
    marginPeriodOfRiskDays: z
      .number()
      .positive()
      .max(10)
      .default(1)
      .describe('Liquidation horizon the thresholds cover; longer liquidations are charged √(days / MPOR).'),
    riskFreeRate: z.number().min(-0.5).max(1).default(0).describe('r in Black-76 (0: crypto convention).'),
    shortOptionMinimumNetting: z
      .enum(['series', 'spreads'])
      .default('spreads')
      .describe(
        'How short options are netted before the minimum: per series, or also against long options of the same type and expiry that cap their loss (spreads).',
      ),
    optionSizing: z
      .enum(['current-delta', 'scenario-path'])
      .default('scenario-path')
      .describe(
        'The delta that sizes a group with options for brackets and liquidity: today’s, or the largest over the scan scenarios.',
      ),
  })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.correlations.forEach((pair, i) => {
      if (pair.a === pair.b) {
        ctx.addIssue({ code: 'custom', path: ['correlations', i, 'b'], message: 'must differ from a' });
      }
      const key = pair.a < pair.b ? `${pair.a}|${pair.b}` : `${pair.b}|${pair.a}`;
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: ['correlations', i], message: `duplicate pair ${key}` });
      }
      seen.add(key);
    });
  });

export type DeribitGridParameters = z.output<typeof deribitGridSchema>;
export type SpanGridParameters = z.output<typeof spanGridSchema>;
export type ScenarioGridParameters = z.output<typeof scenarioGridSchema>;
export type Correlation = z.output<typeof correlationSchema>;
export type ValuationPolicy = z.output<typeof valuationPolicySchema>;
export type ValuationPolicyInput = z.input<typeof valuationPolicySchema>;

/**
 * Validate a valuation policy, filling in the defaults. A bad value throws `PolicyError` naming the path.
 *
 * @example
 * parseValuationPolicy({ grid: { method: 'span' }, correlations: [{ a: 'BTC', b: 'ETH', rho: 0.8 }] });
 */
export function parseValuationPolicy(input: unknown, where = 'valuation'): ValuationPolicy {
  const result = valuationPolicySchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [where, ...(issue?.path ?? [])].join('.');
  const all = result.error.issues.map((i) => `${[where, ...i.path].join('.')}: ${i.message}`).join('; ');
  throw new PolicyError(`invalid valuation policy: ${all}`, path, { cause: result.error });
}

/**
 * The defaults: Deribit-style grid with extreme moves ±8 R at 12.5%, 1% short option minimum netted as spreads,
 * options sized on the scenario path, offsets from the set's estimated correlations (correlation-aggregated, credit
 * at most 70% of a pair's legs), MPOR 1 day, r = 0.
 */
export const DEFAULT_VALUATION_POLICY: ValuationPolicy = parseValuationPolicy({});
