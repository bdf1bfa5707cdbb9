import { requireFiniteValues, requireProbability } from './validate.ts';

/**
 * Empirical quantile and expected shortfall of a sample (e.g. simulated or historical losses).
 * Neither function mutates its input: both sort a Float64Array copy (numeric order, O(n log n)).
 */

function sortedCopy(name: string, values: readonly number[] | Float64Array): Float64Array {
  if (values.length === 0) throw new RangeError(`${name} must not be empty`);
  requireFiniteValues(name, values);
  return Float64Array.from(values).sort();
}

/** Element i of a sorted copy; the index is always in range, the fallback is unreachable. */
function item(sorted: Float64Array, i: number): number {
  return sorted[i] ?? Number.NaN;
}

/**
 * Empirical p-quantile, numpy's default `method='linear'` (Hyndman–Fan type 7, also R's default):
 * h = (n−1)·p, then linear interpolation between the order statistics x_(⌊h⌋) and x_(⌊h⌋+1) (0-based).
 * The interpolation is numpy's `_lerp` (from the nearer end), so results match numpy bit for bit.
 * Values must be finite; p in [0, 1]. Does not mutate the input.
 *
 * @example
 * empiricalQuantile([1, 2, 3, 4], 0.5); // 2.5
 * empiricalQuantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.99); // 9.91
 */
export function empiricalQuantile(values: readonly number[] | Float64Array, p: number): number {
  requireProbability('p', p);
  const sorted = sortedCopy('values', values);
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const a = item(sorted, lo);
  if (lo >= sorted.length - 1) return a;
  const t = h - lo;
  if (t === 0) return a; // exactly an order statistic (keeps −0 as −0, unlike a + 0·diff)
  const b = item(sorted, lo + 1);
  const diff = b - a;
  // Interpolate from the nearer order statistic so t = 0 and t = 1 reproduce the endpoints exactly.
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/**
 * Empirical expected shortfall on the upper (loss) side at level p: the mean of the largest (1−p) share
 * of the sample, counting the boundary observation fractionally (Acerbi & Tasche 2002):
 *
 *   m = n·(1−p),  k = ⌊m⌋,  ES = ( x_(n) + … + x_(n−k+1) + (m − k)·x_(n−k) ) / m    (1-based order stats)
 *
 * So when n·(1−p) is a whole number k, ES is the plain mean of the k largest values (e.g. the mean of the
 * 6 worst of 2 500 scenarios at p = 0.9976, LCH-style). It is coherent and continuous in p; p = 0 gives the
 * sample mean and p = 1 the maximum. m is snapped to the nearest integer when within 1e-9 of it, so
 * p = 0.99 with n = 100 is exactly the maximum despite 1 − 0.99 ≠ 0.01 in floating point.
 * Note it is not "mean of values ≥ empiricalQuantile(p)": that set's size jumps with ties and with the
 * type-7 interpolation, which makes the estimator discontinuous in p.
 *
 * @example
 * empiricalExpectedShortfall([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.8); // 9.5 (mean of 9 and 10)
 * empiricalExpectedShortfall([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.75); // 9.2 (= (10 + 9 + 0.5·8) / 2.5)
 */
export function empiricalExpectedShortfall(values: readonly number[] | Float64Array, p: number): number {
  requireProbability('p', p);
  const sorted = sortedCopy('values', values);
  const n = sorted.length;
  let m = n * (1 - p);
  const nearest = Math.round(m);
  if (Math.abs(m - nearest) <= 1e-9) m = nearest;
  if (m <= 0) return item(sorted, n - 1);
  const k = Math.min(n, Math.floor(m));
  let sum = 0;
  for (let i = n - k; i < n; i++) sum += item(sorted, i);
  const fraction = m - k;
  if (fraction > 0 && k < n) sum += fraction * item(sorted, n - k - 1);
  return sum / m;
}
