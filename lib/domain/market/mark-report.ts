/**
 * What a sweep says about the marks it valued at: where they came from and when they were taken, so a
 * reader of the ops stream or the logs can tell a sweep at live prices from one at yesterday's closes.
 */
import type { MarkSnapshot, MarkSourceKind } from './mark.ts';

/** `mixed`: some instruments marked live, some at their reference close. `none`: no instrument marked. */
export type MarksSource = MarkSourceKind | 'mixed' | 'none';

export interface MarksReport {
  readonly source: MarksSource;
  /** When the snapshot was taken (ISO 8601, UTC). */
  readonly takenAt: string;
  /** Instruments with a mark. */
  readonly marked: number;
  /** Instruments without a usable mark, and why: accounts holding them are reported, not re-valued. */
  readonly held: readonly { readonly instrument: string; readonly reason: string }[];
}

/**
 * Summarise a snapshot for reports.
 *
 * @example
 * reportMarks(referenceCloseMarks(set, now)); // { source: 'reference-close', takenAt: '2026-11-24T00:05:00.000Z', marked: 3, held: [] }
 */
export function reportMarks(snapshot: MarkSnapshot): MarksReport {
  const sources = new Set<MarkSourceKind>();
  for (const mark of snapshot.marks.values()) sources.add(mark.source);
  const [only] = sources;
  const source: MarksSource = sources.size === 0 ? 'none' : sources.size > 1 ? 'mixed' : (only ?? 'none');
  const takenAt = Number.isFinite(snapshot.takenAt)
    ? new Date(snapshot.takenAt).toISOString()
    : String(snapshot.takenAt);
  return {
    source,
    takenAt,
    marked: snapshot.marks.size,
    held: [...snapshot.held.values()].map(({ instrument, reason }) => ({ instrument, reason })),
  };
}
