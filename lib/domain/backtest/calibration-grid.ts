/**
 * The calibration grid: the candidate values per policy setting (zod-validated, errors naming the path), the
 * default grid, and its expansion into candidate policies. Used by `calibrate.ts`.
 */
import { z } from 'zod';
import { PolicyError } from '../errors.ts';
import { parseThresholdPolicy, riskMeasureSchema, type ThresholdPolicy } from '../threshold/policy.ts';

// ---------------------------------------------------------------------------------------------------------
// The grid
// ---------------------------------------------------------------------------------------------------------

const list = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(20);

/**
 * The settings a calibration searches, each a list of candidate values; the candidates are every
 * combination, on top of the base policy. A setting left out keeps the base policy's value.
 */
export const calibrationGridSchema = z.strictObject({
  ewmaLambda: list(z.number().gt(0).lt(1)).optional(),
  filterLambda: list(z.number().gt(0).lt(1)).optional(),
  antiProcyclicality: list(z.record(z.string(), z.unknown())).optional(),
  stressCoveredShare: list(z.number().min(0).max(1)).optional(),
  stepLimits: list(z.record(z.string(), z.unknown())).optional(),
  riskMeasure: list(riskMeasureSchema).optional(),
  marginPeriodOfRiskDays: list(z.number().int().min(1).max(10)).optional(),
  lookbackDays: list(z.number().int().min(365).max(3650)).optional(),
});
export type CalibrationGrid = z.output<typeof calibrationGridSchema>;

/** At most this many candidates: each one is a full walk of every file. */
export const MAX_CANDIDATES = 500;

/**
 * The default search: 2 EWMA decays × 7 anti-procyclicality designs × 2 stress shares = 28 candidates. The
 * designs: the ten-year floor at 85% (the 2026.11 default), 70% and 50%; the 25% buffer (no floor); the 25%
 * stressed weight (no floor); and two that do not anchor to an asset's infancy, each on top of a ten-year
 * floor at 50% (EMIR Art. 28 wants a floor, a buffer or a stressed weight): a two-year floor at 85% that
 * ages out (the stressed-period floor with a window as long as its lookback) and a floor at 70% of the most
 * volatile year of the last three. Every design names its stressed-period floor (or null), so a base policy
 * that has one does not leak it into the others.
 */
export const DEFAULT_CALIBRATION_GRID: CalibrationGrid = {
  ewmaLambda: [0.97, 0.99],
  antiProcyclicality: [
    {
      longLookbackFloor: { years: 10, share: 0.85 },
      stressedPeriodFloor: null,
      buffer: 0,
      stressedWeight: 0,
    },
    { longLookbackFloor: { years: 10, share: 0.7 }, stressedPeriodFloor: null, buffer: 0, stressedWeight: 0 },
    { longLookbackFloor: { years: 10, share: 0.5 }, stressedPeriodFloor: null, buffer: 0, stressedWeight: 0 },
    { longLookbackFloor: null, stressedPeriodFloor: null, buffer: 0.25, stressedWeight: 0 },
    { longLookbackFloor: null, stressedPeriodFloor: null, buffer: 0, stressedWeight: 0.25 },
    {
      longLookbackFloor: { years: 10, share: 0.5 },
      stressedPeriodFloor: { years: 2, windowDays: 730, share: 0.85 },
      buffer: 0,
      stressedWeight: 0,
    },
    {
      longLookbackFloor: { years: 10, share: 0.5 },
      stressedPeriodFloor: { years: 3, windowDays: 365, share: 0.7 },
      buffer: 0,
      stressedWeight: 0,
    },
  ],
  stressCoveredShare: [0.25, 0],
};

/** Validate a grid document; a bad value throws `PolicyError` naming its path (`grid.ewmaLambda.1`). */
export function parseCalibrationGrid(input: unknown, where = 'grid'): CalibrationGrid {
  const result = calibrationGridSchema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => {
    const path = i.code === 'unrecognized_keys' ? [...i.path, ...i.keys.slice(0, 1)] : i.path;
    return { path: [where, ...path].join('.'), message: i.message };
  });
  throw new PolicyError(
    `invalid calibration grid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    issues[0]?.path ?? where,
    { cause: result.error },
  );
}

export interface CalibrationCandidate {
  /** `c01`, `c02`, … in grid order. */
  readonly id: string;
  /** The settings that vary, in words. */
  readonly label: string;
  readonly policy: ThresholdPolicy;
}

type Override = { readonly key: keyof CalibrationGrid; readonly value: unknown; readonly index: number };

function applyOverride(policy: Record<string, unknown>, { key, value }: Override): void {
  const volatility = policy.volatility as Record<string, unknown>;
  switch (key) {
    case 'ewmaLambda':
      volatility.ewmaLambda = value;
      break;
    case 'filterLambda':
      volatility.filterLambda = value;
      break;
    case 'antiProcyclicality':
      policy.antiProcyclicality = { ...(policy.antiProcyclicality as object), ...(value as object) };
      break;
    case 'stressCoveredShare':
      policy.stress = { ...(policy.stress as object), coveredShare: value };
      break;
    case 'stepLimits':
      policy.stepLimits = { ...(policy.stepLimits as object), ...(value as object) };
      break;
    default:
      policy[key] = value;
  }
}

function describeOverride({ key, value }: Override): string {
  if (key === 'ewmaLambda') return `λ ${value}`;
  if (key === 'filterLambda') return `filter λ ${value}`;
  if (key === 'stressCoveredShare') return `stress ${value}`;
  if (key === 'marginPeriodOfRiskDays') return `MPOR ${value}d`;
  if (key === 'lookbackDays') return `lookback ${value}d`;
  if (key === 'antiProcyclicality') {
    const apc = value as { longLookbackFloor?: { years?: number; share?: number } | null; buffer?: number };
    const parts: string[] = [];
    const floor = apc.longLookbackFloor;
    if (floor) parts.push(`floor ${floor.years ?? 10}y×${floor.share ?? 0.85}`);
    if (floor === null) parts.push('no floor');
    const stressed = (
      value as { stressedPeriodFloor?: { share?: number; windowDays?: number; years?: number } | null }
    ).stressedPeriodFloor;
    if (stressed) {
      const years = stressed.years ?? 5;
      const window = stressed.windowDays ?? 365;
      const share = stressed.share ?? 0.5;
      // A window as long as the lookback is a plain floor whose window ages out.
      parts.push(
        window >= years * 365
          ? `rolling floor ${years}y×${share}`
          : `stressed-period floor ${window}d of ${years}y×${share}`,
      );
    }
    if (apc.buffer) parts.push(`buffer ${apc.buffer}`);
    const weight = (value as { stressedWeight?: number }).stressedWeight;
    if (weight) parts.push(`stressed ${weight}`);
    return parts.join(' ');
  }
  return `${key} ${JSON.stringify(value)}`;
}

/**
 * Every combination of the grid's values on top of `base`, each a validated policy. A value the policy
 * refuses throws `PolicyError` naming the grid entry; a combination the policy refuses (EMIR Art. 28 wants
 * a floor, a buffer or a stressed weight) names the candidate.
 */
export function expandGrid(base: ThresholdPolicy, grid: CalibrationGrid): CalibrationCandidate[] {
  const keys = (Object.keys(grid) as (keyof CalibrationGrid)[]).filter((k) => grid[k] !== undefined);
  const lists: Override[][] = keys.map((key) =>
    (grid[key] as readonly unknown[]).map((value, index) => ({ key, value, index })),
  );
  const count = lists.reduce((n, l) => n * l.length, 1);
  if (count > MAX_CANDIDATES) {
    throw new PolicyError(
      `the grid makes ${count} candidates; at most ${MAX_CANDIDATES}: give fewer values`,
      'grid',
    );
  }
  // Each value alone first, so an error names the grid entry rather than a whole combination.
  for (const overrides of lists) {
    for (const override of overrides) {
      const alone = structuredClone(base) as unknown as Record<string, unknown>;
      applyOverride(alone, override);
      try {
        parseThresholdPolicy(alone);
      } catch (error) {
        if (!(error instanceof PolicyError) || !error.path.startsWith('policy.antiProcyclicality')) {
          const where = `grid.${override.key}.${override.index}`;
          throw new PolicyError(`${where}: ${(error as Error).message}`, where, { cause: error });
        }
      }
    }
  }
  const combinations: Override[][] = [[]];
  for (const overrides of lists) {
    const next: Override[][] = [];
    for (const prefix of combinations) for (const o of overrides) next.push([...prefix, o]);
    combinations.splice(0, combinations.length, ...next);
  }
  return combinations.map((overrides, i) => {
    const id = `c${String(i + 1).padStart(2, '0')}`;
    const label = overrides.map(describeOverride).join(', ') || 'base policy';
    const input = structuredClone(base) as unknown as Record<string, unknown>;
    for (const o of overrides) applyOverride(input, o);
    input.version = `${base.version.slice(0, 50)}/${id}`;
    try {
      return { id, label, policy: parseThresholdPolicy(input, `candidate ${id} (${label})`) };
    } catch (error) {
      throw new PolicyError(
        `grid candidate ${id} (${label}): ${(error as Error).message}`,
        `grid candidate ${id}`,
        { cause: error },
      );
    }
  });
}
