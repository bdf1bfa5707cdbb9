/**
 * Fanning a crash minute out: when the move crossed more accounts than one function announces within the
 * minute, the watch cuts the crossed ids into segments and queues them for the sweep workers, each message
 * with the minute's one snapshot and the set the bands belong to (`TargetedSegmentMessage`).
 *
 * The defaults come from the measured cost per crossed account of `sweepMoved` on DynamoDB Local
 * (`npm run bench -- watch`, docs/SCALE.md "The crash minute"): 19.8 ms to the last alert per account that
 * changes state, on a loaded box. The watch cannot know which crossed accounts will change state, so it
 * counts every one at that worst case:
 *  - `inlineAccounts` 1,500: 30 s of one function, half the watch's 55 s timeout, so a box twice as slow
 *    still announces within the minute and re-indexes after;
 *  - `accountsPerSegment` 500: 10 s of one worker, so a segment never holds a worker for the minute and a
 *    crash minute spreads over as many workers as the queue gives it.
 */
import type { MarkSnapshot } from '../domain/market/mark.ts';
import type { TargetedSegmentMessage } from '../ports.ts';

export interface TargetedFanOutPolicy {
  /** Crossed accounts the watch sweeps itself; above this it fans out. */
  readonly inlineAccounts: number;
  /** Accounts per queued segment. */
  readonly accountsPerSegment: number;
  /**
   * Bytes of account ids per segment (JSON): with the snapshot, a message stays well inside SQS's message
   * and batch limits whatever the ids' length (up to 128 characters).
   */
  readonly maxIdBytes: number;
  /**
   * A segment whose marks are older than this when a worker takes it is not swept (reported instead): later
   * looks have valued at newer prices, and its accounts, not re-indexed, are still named by their bands.
   */
  readonly maxAgeMs: number;
}

export const DEFAULT_TARGETED_FAN_OUT: TargetedFanOutPolicy = {
  inlineAccounts: 1_500,
  accountsPerSegment: 500,
  maxIdBytes: 24_000,
  maxAgeMs: 120_000,
};

/**
 * Cut sorted, distinct ids into segments of at most `accountsPerSegment` ids and `maxIdBytes` of JSON each.
 * Deterministic: the same ids always give the same segments, so a repeated minute sends the same work.
 *
 * @example
 * cutSegments(['a', 'b', 'c'], { accountsPerSegment: 2, maxIdBytes: 1_000 }); // [['a', 'b'], ['c']]
 */
export function cutSegments(
  ids: readonly string[],
  policy: Pick<TargetedFanOutPolicy, 'accountsPerSegment' | 'maxIdBytes'>,
): string[][] {
  const perSegment = policy.accountsPerSegment;
  if (!Number.isInteger(perSegment) || perSegment < 1) {
    throw new RangeError(`cutSegments: accountsPerSegment must be an integer ≥ 1, got ${perSegment}`);
  }
  const segments: string[][] = [];
  let current: string[] = [];
  let bytes = 2;
  for (const id of ids) {
    // JSON of the id: quotes, the comma, escapes (ids are plain text; escapes only lengthen).
    const size = JSON.stringify(id).length + 1;
    if (current.length > 0 && (current.length >= perSegment || bytes + size > policy.maxIdBytes)) {
      segments.push(current);
      current = [];
      bytes = 2;
    }
    current.push(id);
    bytes += size;
  }
  if (current.length > 0) segments.push(current);
  return segments;
}

/** The minute's messages: one per segment, all with the same marks and set. */
export function targetedMessages(
  runId: string,
  setId: string,
  marks: MarkSnapshot,
  segments: readonly (readonly string[])[],
): TargetedSegmentMessage[] {
  return segments.map((accountIds, segment) => ({
    kind: 'targeted',
    runId,
    segment,
    totalSegments: segments.length,
    setId,
    accountIds,
    marks,
  }));
}

/** Checks a policy's numbers; throws a `RangeError` naming the field. */
export function validFanOutPolicy(policy: TargetedFanOutPolicy): TargetedFanOutPolicy {
  for (const field of ['inlineAccounts', 'accountsPerSegment', 'maxIdBytes', 'maxAgeMs'] as const) {
    const value = policy[field];
    if (!Number.isInteger(value) || value < (field === 'inlineAccounts' ? 0 : 1)) {
      throw new RangeError(`targeted fan-out: ${field} must be a whole number ≥ 1, got ${value}`);
    }
  }
  return policy;
}
