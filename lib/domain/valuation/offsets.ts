/**
 * Offsets between groups: correlation (spread) credits from the pairs the recalibration estimated (stored
 * with the threshold set) and the policy's configured pairs, the strength taken from the weakest hedge the
 * pair's correlations give. Two methods (`offsetMethod`): `smaller-leg` credits min(strength, cap) × the
 * smaller remaining requirement; `correlation-aggregated` charges the pair √(a² + b² − 2·strength·a·b), the
 * requirement of two correlated positions (ISDA SIMM's aggregation, on the legs' own margins), never less
 * than (1 − spreadCreditCap) × (a + b) (SPAN's inter-commodity credit rate ceiling).
 */
import type { PairCorrelation } from '../threshold/correlation.ts';
import type { OffsetCredit } from './account-valuation.ts';
import type { Group } from './group.ts';
import type { ValuationPolicy } from './policy.ts';

/**
 * Each pair's correlations (`pairKey`), built once per snapshot: the one configured by hand, and with
 * `estimatedCorrelations` on the set's estimates (lookback and stressed). A pair has as many as are known;
 * the credit takes the weakest hedge of them (for opposite positions the lower correlation). A pair the
 * recalibration refused (too few common days, held data) gets none, even one configured by hand: the data
 * says the offset cannot be checked. A value that is not a finite number in [−1, 1] is never kept, so it
 * can never lower a margin.
 */
export function correlationsByPair(
  policy: ValuationPolicy,
  estimated: readonly PairCorrelation[] = [],
): Map<string, readonly number[]> {
  const correlations = new Map<string, readonly number[]>();
  for (const { a, b, rho } of policy.correlations) correlations.set(pairKey(a, b), [rho]);
  if (!policy.estimatedCorrelations) return correlations;
  for (const pair of estimated) {
    const key = pairKey(pair.a, pair.b);
    const rhos = [pair.lookback?.rho, pair.stressed?.rho];
    if (pair.stressedThin !== undefined && isCorrelation(pair.lookback?.rho)) {
      // Stress windows too thin to estimate on: the smaller-leg credit is refused as before; the aggregated
      // one takes the unknown stressed ρ as 1 (crashes move crypto together), which leaves opposite legs on the
      // lookback ρ and gives same-side legs no diversification.
      if (policy.offsetMethod === 'smaller-leg') correlations.delete(key);
      else correlations.set(key, [...(correlations.get(key) ?? []), pair.lookback?.rho as number, 1]);
      continue;
    }
    if (pair.refused !== undefined || pair.rho === undefined || !rhos.every(isCorrelation)) {
      correlations.delete(key);
      continue;
    }
    correlations.set(key, [...(correlations.get(key) ?? []), ...(rhos as number[])]);
  }
  return correlations;
}

function isCorrelation(rho: number | undefined): boolean {
  return typeof rho === 'number' && Number.isFinite(rho) && rho >= -1 && rho <= 1;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/** The policy's choice of credit (`offsetMethod`, and `spreadCreditCap` for the aggregated one). */
export type OffsetMethod = Partial<Pick<ValuationPolicy, 'spreadCreditCap'>> &
  Pick<ValuationPolicy, 'offsetMethod'>;

/** What the credits read of a group (a valuation `Group`; the portfolio backtest builds its own). */
export type OffsetGroup = Pick<Group, 'direction' | 'initial' | 'maintenance'> & {
  readonly prep: { readonly instrument: string };
};

/**
 * Correlation credits between opposite-direction groups (or same-direction ones with negative ρ). Pairs are
 * taken strongest hedge first; each pair's credit is min(strength, cap) × the smaller of the two remaining
 * requirements, and that smaller amount is then used up on both sides, so no requirement is credited twice
 * and the total never goes below zero.
 */
export function offsetCredits(
  groups: readonly OffsetGroup[],
  correlations: ReadonlyMap<string, readonly number[]>,
  offsetCreditCap: number,
  method: OffsetMethod = { offsetMethod: 'smaller-leg' },
): OffsetCredit[] {
  if (method.offsetMethod === 'correlation-aggregated') {
    return aggregatedCredits(groups, correlations, method.spreadCreditCap ?? 0);
  }
  const pairs = rankedPairs(groups, correlations, 0);
  const name = (k: number) => (groups[k] as OffsetGroup).prep.instrument;
  const remainingInitial = groups.map((g) => g.initial);
  const remainingMaintenance = groups.map((g) => g.maintenance);
  const share = (strength: number) => Math.min(strength, offsetCreditCap);
  return pairs.map(({ i, j, strength }) => {
    const initial = Math.min(remainingInitial[i] as number, remainingInitial[j] as number);
    const maintenance = Math.min(remainingMaintenance[i] as number, remainingMaintenance[j] as number);
    remainingInitial[i] = (remainingInitial[i] as number) - initial;
    remainingInitial[j] = (remainingInitial[j] as number) - initial;
    remainingMaintenance[i] = (remainingMaintenance[i] as number) - maintenance;
    remainingMaintenance[j] = (remainingMaintenance[j] as number) - maintenance;
    const [a, b] = [name(i), name(j)].sort() as [string, string];
    return {
      a,
      b,
      strength,
      initialCredit: share(strength) * initial,
      maintenanceCredit: share(strength) * maintenance,
    };
  });
}

/**
 * Every pair of groups with a correlation and a hedge strength above `above`, strongest first (ties by pair
 * name, so the order is reproducible). The strength is the weakest hedge of the pair's correlations: the
 * lower ρ for opposite positions, the higher for same-direction ones. A flat group (direction 0) pairs with
 * nothing.
 */
function rankedPairs(
  groups: readonly OffsetGroup[],
  correlations: ReadonlyMap<string, readonly number[]>,
  above: number,
): { i: number; j: number; strength: number }[] {
  const pairs: { i: number; j: number; strength: number }[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i] as OffsetGroup;
      const b = groups[j] as OffsetGroup;
      const rhos = correlations.get(pairKey(a.prep.instrument, b.prep.instrument));
      if (rhos === undefined || rhos.length === 0 || a.direction === 0 || b.direction === 0) continue;
      const strength = Math.min(...rhos.map((rho) => -rho * a.direction * b.direction));
      if (strength > above) pairs.push({ i, j, strength });
    }
  }
  const name = (k: number) => (groups[k] as OffsetGroup).prep.instrument;
  return pairs.sort(
    (x, y) =>
      y.strength - x.strength || pairKey(name(x.i), name(x.j)).localeCompare(pairKey(name(y.i), name(y.j))),
  );
}

/**
 * The pair's requirement with correlation ρ (strength s = −ρ·direction(a)·direction(b)): √(a² + b² − 2·s·a·b),
 * what a normal (or any elliptical) pair with these margins as its quantiles needs; the credit is the sum
 * minus that, at most `cap` × (a + b). Zero when it would not lower anything (s = −1: perfectly co-moving).
 */
export function aggregatedPairCredit(a: number, b: number, strength: number, cap: number): number {
  if (!(a > 0 && b > 0)) return 0;
  const pair = Math.sqrt(Math.max(0, a * a + b * b - 2 * strength * a * b));
  const credit = Math.min(cap * (a + b), a + b - pair);
  return credit > 0 ? credit : 0;
}

/**
 * Correlation-aggregated credits: every pair with a correlation, strongest hedge first (opposite legs with
 * their lower ρ, same-side legs with their higher one); a group takes part in one pair at most, so no
 * requirement is credited twice, and a book of three legs is charged no less than its best pair allows.
 */
function aggregatedCredits(
  groups: readonly OffsetGroup[],
  correlations: ReadonlyMap<string, readonly number[]>,
  cap: number,
): OffsetCredit[] {
  const pairs = rankedPairs(groups, correlations, -1);
  const name = (k: number) => (groups[k] as OffsetGroup).prep.instrument;
  const used = groups.map(() => false);
  const credits: OffsetCredit[] = [];
  for (const { i, j, strength } of pairs) {
    if (used[i] || used[j]) continue;
    const a = groups[i] as OffsetGroup;
    const b = groups[j] as OffsetGroup;
    const initialCredit = aggregatedPairCredit(a.initial, b.initial, strength, cap);
    const maintenanceCredit = aggregatedPairCredit(a.maintenance, b.maintenance, strength, cap);
    if (initialCredit === 0 && maintenanceCredit === 0) continue;
    used[i] = true;
    used[j] = true;
    const [first, second] = [name(i), name(j)].sort() as [string, string];
    credits.push({ a: first, b: second, strength, initialCredit, maintenanceCredit });
  }
  return credits;
}
