/**
 * Offsets between groups: correlation (spread) credits from the policy's configured pairs. A pair of groups
 * whose net deltas hedge earns min(strength, cap) × the smaller remaining requirement.
 */
import type { OffsetCredit } from './account-valuation.ts';
import type { Group } from './group.ts';
import type { ValuationPolicy } from './policy.ts';

/** The policy's correlations by pair (`pairKey`), built once per snapshot. */
export function correlationsByPair(policy: ValuationPolicy): Map<string, number> {
  const correlations = new Map<string, number>();
  for (const { a, b, rho } of policy.correlations) correlations.set(pairKey(a, b), rho);
  return correlations;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

/**
 * Correlation credits between opposite-direction groups (or same-direction ones with negative ρ). Pairs are
 * taken strongest hedge first; each pair's credit is min(strength, cap) × the smaller of the two remaining
 * requirements, and that smaller amount is then used up on both sides, so no requirement is credited twice
 * and the total never goes below zero.
 */
export function offsetCredits(
  groups: readonly Group[],
  correlations: ReadonlyMap<string, number>,
  offsetCreditCap: number,
): OffsetCredit[] {
  const pairs: { i: number; j: number; strength: number }[] = [];
  for (let i = 0; i < groups.length; i++) {
    for (let j = i + 1; j < groups.length; j++) {
      const a = groups[i] as Group;
      const b = groups[j] as Group;
      const rho = correlations.get(pairKey(a.prep.instrument, b.prep.instrument));
      if (rho === undefined) continue;
      const strength = -rho * a.direction * b.direction;
      if (strength > 0) pairs.push({ i, j, strength });
    }
  }
  const name = (k: number) => (groups[k] as Group).prep.instrument;
  pairs.sort(
    (x, y) =>
      y.strength - x.strength || pairKey(name(x.i), name(x.j)).localeCompare(pairKey(name(y.i), name(y.j))),
  );
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
