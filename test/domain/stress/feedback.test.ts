import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../../lib/domain/market/candle.ts';
import { generateCandles } from '../../../lib/domain/market/generated.ts';
import type { CascadeReport } from '../../../lib/domain/stress/cascade.ts';
import { cascadeScenarios, withCascadeScenario } from '../../../lib/domain/stress/feedback.ts';
import { recalibrate } from '../../../lib/domain/threshold/model.ts';
import { parseThresholdPolicy } from '../../../lib/domain/threshold/policy.ts';

describe('feedback of a cascade into margins (issue 15 item 5)', () => {
  const report = {
    startMarks: { BTC: 100, ETH: 10 },
    finalMarks: { BTC: 40, ETH: 10 },
  } as unknown as CascadeReport;

  it("turns each instrument's total move into a hypothetical scenario, none for one that did not move", () => {
    expect(cascadeScenarios(report)).toEqual({
      BTC: { name: 'cascade-BTC', kind: 'hypothetical', move: -0.6 },
    });
  });

  it('raises the stress rate of the instrument the cascade moved further than its scenarios', () => {
    const asOf = Date.UTC(2026, 10, 1);
    const series = generateCandles({
      instrument: 'BTC',
      days: 800,
      endTime: asOf,
      startPrice: 30_000,
      seed: 3,
    });
    const scenario = cascadeScenarios(report).BTC;
    if (scenario === undefined) throw new Error('no scenario');
    // A stress floor covering 25%: the default covers none since issue 14 item 2, and a cascade scenario
    // feeds margins only through that share.
    const base = parseThresholdPolicy({ stress: { coveredShare: 0.25 } });
    const policy = withCascadeScenario(base, scenario);
    const before = recalibrate(base, series, undefined, { asOf: asOf + DAY_MS });
    const after = recalibrate(policy, series, undefined, { asOf: asOf + DAY_MS });
    expect(policy.stress.scenarios.at(-1)).toEqual(scenario);
    // Covered share 25% of a 60% fall: 15%, above every default scenario's share.
    expect(after.components.stressRate).toBeCloseTo(0.15, 6);
    expect(after.components.stressRate).toBeGreaterThan(before.components.stressRate as number);
    expect(after.initialMarginRate).toBeGreaterThanOrEqual(before.initialMarginRate);
  });
});
