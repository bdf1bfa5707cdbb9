/**
 * The liquidation-cascade settings (`stress.cascade` in the threshold policy): how hard closed-out orders
 * move a price (the square-root law's Y), over which volume, how many rounds, and the stressed
 * correlations that carry a shock to instruments not shocked. Optional in the threshold policy so a
 * policy without it hashes as before; `parseCascadePolicy` fills in the defaults.
 */
import { z } from 'zod';
import { PolicyError } from '../errors.ts';

const symbol = z.string().regex(/^[A-Z0-9][A-Z0-9_-]{0,31}$/, 'must be an upper-case symbol such as "BTC"');

export const stressedCorrelationSchema = z.strictObject({
  a: symbol,
  b: symbol,
  /** Correlation of the two instruments' daily returns in a stressed market. */
  rho: z.number().min(-1).max(1),
});

export const cascadePolicySchema = z
  .strictObject({
    impactCoefficient: z
      .number()
      .positive()
      .max(10)
      .default(1)
      .describe(
        'Y in the square-root law Δp/p = Y·σ·√(Q/V). Of order 1 on every market measured (Tóth et al. 2011, Phys. Rev. X 1, 021006; Bouchaud et al., Trades, Quotes and Prices, 2018, ch. 12); 1 is the conservative end.',
      ),
    volumeWindowDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .default(30)
      .describe('Average daily volume V over this many latest days of the price file.'),
    volumeUnit: z
      .enum(['quote', 'base'])
      .default('quote')
      .describe("The price files' Volume column: quote currency (Yahoo, CoinMarketCap: USD) or base units."),
    maxRounds: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .describe('Rounds after the shock before the cascade is cut off (and said so).'),
    coMoveWindowDays: z
      .number()
      .int()
      .min(30)
      .max(3650)
      .default(730)
      .describe('Days of returns the stressed co-move of an unshocked instrument is measured over.'),
    tailShare: z
      .number()
      .gt(0)
      .max(0.5)
      .default(0.05)
      .describe(
        "The stressed days: the shocked instrument's worst returns, this share of the window. The co-move is the slope on those days.",
      ),
    correlations: z
      .array(stressedCorrelationSchema)
      .max(1000)
      .default([])
      .describe(
        'Stressed correlations set by the committee; a pair given here replaces the measured co-move (ρ × σ ratio).',
      ),
    feedIntoMargins: z
      .boolean()
      .default(false)
      .describe(
        "Add each instrument's cascade-amplified move as a hypothetical stress scenario (`cascade-<SYMBOL>`) and report the thresholds it gives: a crowded, thin market raises its own stress floor.",
      ),
  })
  .superRefine((policy, ctx) => {
    const seen = new Set<string>();
    policy.correlations.forEach((pair, i) => {
      if (pair.a === pair.b) {
        ctx.addIssue({ code: 'custom', path: ['correlations', i, 'b'], message: 'must differ from a' });
      }
      const key = [pair.a, pair.b].sort().join('/');
      if (seen.has(key)) {
        ctx.addIssue({ code: 'custom', path: ['correlations', i], message: `duplicate pair ${key}` });
      }
      seen.add(key);
    });
  });

export type CascadePolicy = z.output<typeof cascadePolicySchema>;
export type CascadePolicyInput = z.input<typeof cascadePolicySchema>;

/**
 * Validate the cascade settings, filling in the defaults. `where` prefixes the path in errors.
 *
 * @throws PolicyError naming the field path: `policy.stress.cascade.maxRounds: Too small: …`.
 * @example
 * parseCascadePolicy({ impactCoefficient: 0.7 }).maxRounds; // 20
 */
export function parseCascadePolicy(input: unknown, where = 'policy.stress.cascade'): CascadePolicy {
  const result = cascadePolicySchema.safeParse(input ?? {});
  if (result.success) return result.data;
  const pathOf = (i: z.core.$ZodIssue) =>
    [where, ...(i.code === 'unrecognized_keys' ? [...i.path, ...i.keys.slice(0, 1)] : i.path)].join('.');
  const first = result.error.issues[0];
  const all = result.error.issues.map((i) => `${pathOf(i)}: ${i.message}`).join('; ');
  throw new PolicyError(`invalid cascade policy: ${all}`, first ? pathOf(first) : where, {
    cause: result.error,
  });
}

export const DEFAULT_CASCADE_POLICY: CascadePolicy = parseCascadePolicy({});
