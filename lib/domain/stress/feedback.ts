/**
 * Feedback into margins (issue 15 item 5): the move a cascade ends at becomes a hypothetical stress
 * scenario of the instrument's threshold policy, so an instrument whose book is crowded and whose market is
 * thin raises its own stress floor (the stress rate is the policy's covered share of the worst scenario).
 */
import { parseThresholdPolicy, type StressScenario, type ThresholdPolicy } from '../threshold/policy.ts';
import type { CascadeReport } from './cascade.ts';

/**
 * Per instrument the cascade moved, the hypothetical scenario `cascade-<SYMBOL>` at its total move
 * (final mark / mark before − 1).
 *
 * @example
 * cascadeScenarios(report).BTC; // { name: 'cascade-BTC', kind: 'hypothetical', move: -0.339 }
 */
export function cascadeScenarios(report: CascadeReport): Record<string, StressScenario> {
  const scenarios: Record<string, StressScenario> = {};
  for (const [symbol, start] of Object.entries(report.startMarks)) {
    const move = (report.finalMarks[symbol] as number) / start - 1;
    if (move === 0 || !Number.isFinite(move)) continue;
    scenarios[symbol] = { name: `cascade-${symbol}`, kind: 'hypothetical', move };
  }
  return scenarios;
}

/**
 * The policy with the scenario added (replacing one of the same name), validated again: a policy already
 * at its 50 scenarios is refused with the path named, never silently left without the cascade.
 */
export function withCascadeScenario(policy: ThresholdPolicy, scenario: StressScenario): ThresholdPolicy {
  const scenarios = [...policy.stress.scenarios.filter((s) => s.name !== scenario.name), scenario];
  return parseThresholdPolicy({ ...policy, stress: { ...policy.stress, scenarios } });
}
