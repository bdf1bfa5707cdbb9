/**
 * The risk measure the margin scales σ by, taken on de-volatilised returns: daily returns in `model.ts`,
 * MPOR-long intraday returns in `intraday.ts`.
 */
import { empiricalExpectedShortfall, empiricalQuantile } from '../math/quantile.ts';
import {
  fitStandardizedTDegreesOfFreedom,
  standardizedTExpectedShortfall,
  standardizedTQuantile,
} from '../math/student-t.ts';
import type { ThresholdPolicy } from './policy.ts';

/**
 * The policy's risk measure on de-volatilised returns (daily here; MPOR-long returns in `intraday.ts`): the
 * FHS quantile or tail mean, or the Student-t quantile/ES with ν fitted on them.
 */
export function residualMultiplier(policy: ThresholdPolicy, residuals: readonly number[]): number {
  const measure = policy.riskMeasure;
  const p = policy.confidence;
  if (measure.method === 'student-t') {
    const nu =
      measure.degreesOfFreedom === 'fit'
        ? fitStandardizedTDegreesOfFreedom(residuals).nu
        : measure.degreesOfFreedom;
    return measure.measure === 'es' ? standardizedTExpectedShortfall(p, nu) : standardizedTQuantile(p, nu);
  }
  const upper = measure.measure === 'es' ? empiricalExpectedShortfall : empiricalQuantile;
  if (measure.symmetric) {
    const pooled = new Float64Array(residuals.length * 2);
    residuals.forEach((r, i) => {
      pooled[2 * i] = r;
      pooled[2 * i + 1] = -r;
    });
    return upper(pooled, p);
  }
  // Separate tails: the larger of the short side (upper tail) and the long side (lower tail, negated).
  return Math.max(
    upper(residuals, p),
    upper(
      residuals.map((r) => -r),
      p,
    ),
  );
}
