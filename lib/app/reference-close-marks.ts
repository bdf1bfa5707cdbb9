/**
 * The mark source of a deployment that takes no live marks: each instrument at its CURRENT threshold's
 * reference close (the last daily close the model used), said so by `source: 'reference-close'`. It is the
 * default everywhere (functions and the local cycle) until live marks are wired in.
 */
import type { HeldMark, InstrumentMark, MarkSnapshot } from '../domain/market/mark.ts';
import { createMarkSnapshot, referenceCloseMarks } from '../domain/market/mark.ts';
import type { Clock, MarkSource, ThresholdStore } from '../ports.ts';

export class ReferenceCloseMarkSource implements MarkSource {
  readonly name = 'reference-close';

  constructor(
    private readonly thresholds: Pick<ThresholdStore, 'currentSet'>,
    private readonly clock: Clock,
  ) {}

  /**
   * The reference closes of the CURRENT set for `instruments`. An instrument the set does not hold, or
   * holds without a reference close, is in `held` with the reason. CURRENT is read again here: if a
   * recalibration flipped it since the caller read the set, the marks are the newer set's closes (real
   * closes, a day later at most), and an instrument the newer set dropped is held, never made up.
   */
  async snapshot(instruments: readonly string[], signal?: AbortSignal): Promise<MarkSnapshot> {
    signal?.throwIfAborted();
    const takenAt = this.clock.now();
    const set = await this.thresholds.currentSet();
    const all = set ? referenceCloseMarks(set, takenAt) : createMarkSnapshot({ takenAt, marks: [] });
    const marks: InstrumentMark[] = [];
    const held: HeldMark[] = [];
    for (const instrument of new Set(instruments)) {
      const mark = all.marks.get(instrument);
      if (mark) marks.push(mark);
      else
        held.push(
          all.held.get(instrument) ?? {
            instrument,
            reason: set ? 'not in the CURRENT threshold set' : 'no CURRENT threshold set',
          },
        );
    }
    return createMarkSnapshot({ takenAt, marks, held });
  }
}
