/**
 * How many Scan segments a sweep uses. One worker sweeps one segment; the count follows the table size so
 * each worker has about `accountsPerSegment` accounts, within the concurrency the deployment allows.
 */
export interface SweepPlanRequest {
  readonly approximateAccounts: number;
  /**
   * @default 100,000 — about 13 s of one worker on a quiet day and 43 s on a crash day at the measured
   * throughput, so ten million accounts sweep in about a minute on 100 workers (docs/SCALE.md).
   */
  readonly accountsPerSegment?: number;
  /** DynamoDB allows at most 1,000,000 segments; the stack's worker concurrency is the practical cap. @default 1,000 */
  readonly maxSegments?: number;
}

export interface SweepPlan {
  readonly totalSegments: number;
  readonly accountsPerSegment: number;
}

/**
 * @example
 * planSweep({ approximateAccounts: 10_000_000 }); // { totalSegments: 100, accountsPerSegment: 100_000 }
 */
export function planSweep(request: SweepPlanRequest): SweepPlan {
  const perSegment = request.accountsPerSegment ?? 100_000;
  const maxSegments = Math.min(request.maxSegments ?? 1_000, 1_000_000);
  if (!(perSegment >= 1) || !(maxSegments >= 1)) {
    throw new RangeError(
      `planSweep: accountsPerSegment (${perSegment}) and maxSegments (${maxSegments}) must be ≥ 1`,
    );
  }
  const accounts = Math.max(0, request.approximateAccounts);
  const totalSegments = Math.min(maxSegments, Math.max(1, Math.ceil(accounts / perSegment)));
  return { totalSegments, accountsPerSegment: Math.ceil(accounts / totalSegments) };
}
