/** In-memory ports of the fanned-out stress run (`lib/app/stress-run.ts`), shared by its app and handler tests. */
import { type Account, accountSchema } from '../../lib/domain/account/account.ts';
import type {
  StoredStressReport,
  StressQueue,
  StressReportStore,
  StressRunState,
  StressRunStore,
  StressSegmentMessage,
  StressSegmentResult,
} from '../../lib/ports.ts';

/** Keeps what DynamoDB would: the run item (advanced conditionally) and one item per (step, segment). */
export class InMemoryStressRuns implements StressRunStore {
  readonly runs = new Map<string, StressRunState>();
  readonly results = new Map<string, StressSegmentResult>();

  async create(state: StressRunState): Promise<boolean> {
    if (this.runs.has(state.runId)) return false;
    this.runs.set(state.runId, structuredClone(state));
    return true;
  }

  async get(runId: string): Promise<StressRunState | undefined> {
    const run = this.runs.get(runId);
    return run === undefined ? undefined : structuredClone(run);
  }

  async recordSegment(runId: string, result: StressSegmentResult): Promise<number> {
    const key = `${runId}#${result.step}#${result.segment}`;
    if (!this.results.has(key)) this.results.set(key, structuredClone(result));
    return (await this.segmentResults(runId, result.step)).length;
  }

  async segmentResults(runId: string, step: number): Promise<readonly StressSegmentResult[]> {
    return [...this.results]
      .filter(([key]) => key.startsWith(`${runId}#${step}#`))
      .map(([, r]) => structuredClone(r));
  }

  async segmentHistory(runId: string, segment: number): Promise<readonly StressSegmentResult[]> {
    return [...this.results]
      .filter(([key, r]) => key.startsWith(`${runId}#`) && r.segment === segment)
      .map(([, r]) => structuredClone(r));
  }

  async advance(next: StressRunState, fromStep: number): Promise<boolean> {
    if (this.runs.get(next.runId)?.step !== fromStep) return false;
    this.runs.set(next.runId, structuredClone(next));
    return true;
  }
}

export class RecordingStressQueue implements StressQueue {
  readonly pending: StressSegmentMessage[] = [];
  readonly sent: StressSegmentMessage[] = [];
  async enqueue(messages: readonly StressSegmentMessage[]): Promise<void> {
    this.pending.push(...messages);
    this.sent.push(...messages);
  }
}

export class InMemoryStressReports implements StressReportStore {
  readonly saved = new Map<string, StoredStressReport>();
  async save(setId: string, runId: string, report: StoredStressReport): Promise<void> {
    this.saved.set(`${setId}#${runId}`, structuredClone(report));
  }
}

function position(instrument: string, quantity: number, entry: number) {
  return { kind: 'perpetual', instrument, quantity: String(quantity), entryPrice: String(entry) };
}

/** A graded book: ever thinner collateral, so each round's close-outs push the next accounts under. */
export function book(): Account[] {
  return Array.from({ length: 45 }, (_, i) =>
    accountSchema.parse({
      accountId: `acct-${String(i).padStart(2, '0')}`,
      collateral: [{ asset: 'USD', amount: String(40 + 4 * i) }],
      positions:
        i % 5 === 4
          ? [position('ETH', 30 + i, 10), position('BTC', -1, 100)]
          : [position('BTC', 8 + (i % 3), 100), position('ETH', i % 2 === 0 ? 5 : -5, 10)],
    }),
  );
}
