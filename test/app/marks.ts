/** Mark snapshots for use-case tests: plain prices as live marks, the rest of a set at its reference closes. */
import type { InstrumentMark, MarkSnapshot } from '../../lib/domain/market/mark.ts';
import { referenceCloseMarks } from '../../lib/domain/market/mark.ts';
import type { ThresholdSet } from '../../lib/domain/threshold/threshold.ts';

/**
 * `prices` as live marks taken at `takenAt`; with `set`, every other instrument of it at its reference
 * close (what a sweep at partial live marks would see). Not checked, on purpose: a test can hand a use case
 * a bad price and see the use case refuse it.
 */
export function liveMarks(
  prices: Readonly<Record<string, number>>,
  takenAt = Date.UTC(2026, 10, 24, 0, 5),
  set?: ThresholdSet,
): MarkSnapshot {
  const base = set ? referenceCloseMarks(set, takenAt) : undefined;
  const marks = new Map<string, InstrumentMark>(base?.marks);
  const held = new Map(base?.held);
  for (const [instrument, price] of Object.entries(prices)) {
    held.delete(instrument);
    marks.set(instrument, { instrument, price, at: takenAt, source: 'live', venues: ['test'] });
  }
  return { takenAt, marks, held };
}
