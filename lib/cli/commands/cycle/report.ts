/** The last step of the local cycle: what the run did, as a `CycleReport` and on the terminal. */
import type { MarginAlert } from '../../../domain/account/account.ts';
import { forTerminal } from '../../../domain/text.ts';
import type { Threshold, ThresholdSet } from '../../../domain/threshold/threshold.ts';
import type { RejectedAccountRecord } from '../../../ports.ts';
import { formatAlertReport } from '../../alert-report.ts';
import type { Io } from '../../io.ts';
import type { DemoBookReport } from './demo-book.ts';
import type { FailedSegment } from './errors.ts';
import type { LocalStack } from './local-stack.ts';
import type { SweepOutcome } from './sweep.ts';

export interface CycleReport {
  readonly thresholds: readonly Threshold[];
  readonly alerts: readonly MarginAlert[];
  readonly errors: readonly { readonly kind: string; readonly key: string; readonly reason: string }[];
  readonly dataNotes: readonly string[];
  /** The demo book: what it was sized on, and whether this run (re)seeded it and why. */
  readonly demoBook?: DemoBookReport;
  /** Segments that failed (exit code 1); each is also an ops `sweep.failed` record in `opsFile`. */
  readonly failedSegments: readonly FailedSegment[];
  readonly opsFile: string;
  readonly counts: {
    accounts: number;
    transitions: number;
    alerts: number;
    rejected: number;
    segments: number;
  };
}

export interface ReportInputs {
  readonly stack: LocalStack;
  readonly set: ThresholdSet;
  readonly notes: readonly string[];
  /** Account records the writer refused before the sweep. */
  readonly refused: readonly RejectedAccountRecord[];
  readonly demoBook: DemoBookReport | undefined;
  readonly swept: SweepOutcome;
}

/**
 * The run's report from what the handlers published (alerts once per alertId, ops events) and what failed:
 * held thresholds, rejected account records, failed segments. Unless `quiet` is false it is also printed:
 * alerts most severe first, rejected records (the first 20), the ops lines, the counts and the files written.
 */
export function reportCycle(inputs: ReportInputs, io: Io, quiet: boolean): CycleReport {
  const { stack, set, swept } = inputs;
  const { recorded, outbox } = stack;
  const { segments, failedSegments } = swept;
  const rejected = [
    ...inputs.refused,
    ...recorded.ops.flatMap((e) => (e.type === 'accounts.rejected' ? e.rejected : [])),
  ];
  const completed = recorded.ops.flatMap((e) => (e.type === 'sweep.completed' ? [e.counts] : []));
  const total = (key: string) => completed.reduce((sum, c) => sum + (c[key] ?? 0), 0);
  const alerts = [...new Map(recorded.alerts.map((a) => [a.alertId, a])).values()];
  const report: CycleReport = {
    thresholds: set.thresholds,
    alerts,
    errors: [
      ...set.thresholds
        .filter((t) => t.status === 'held')
        .map((t) => ({ kind: 'threshold-held', key: t.instrument, reason: t.heldReason ?? '' })),
      ...rejected.map((r: RejectedAccountRecord) => ({
        kind: 'account-rejected',
        key: r.accountKey,
        reason: r.reason,
      })),
      ...failedSegments.map((f) => ({
        kind: 'sweep-segment-failed',
        key: `${f.runId} segment ${f.segment}`,
        reason: f.reason,
      })),
    ],
    dataNotes: inputs.notes,
    ...(inputs.demoBook === undefined ? {} : { demoBook: inputs.demoBook }),
    failedSegments,
    opsFile: outbox.opsFile,
    counts: {
      accounts: total('accounts'),
      transitions: total('transitions'),
      alerts: alerts.length,
      rejected: rejected.length,
      segments,
    },
  };
  if (quiet) {
    io.out('');
    for (const line of formatAlertReport(alerts)) io.out(line);
    for (const r of rejected.slice(0, 20))
      io.out(`  rejected ${forTerminal(r.accountKey)}: ${forTerminal(r.reason)}`);
    if (rejected.length > 20) io.out(`  … and ${rejected.length - 20} more rejected records`);
    io.out('');
    for (const line of stack.opsLines) io.out(line);
    io.out(
      `swept ${report.counts.accounts} accounts in ${segments} segment(s): ${report.counts.transitions} state changes, ` +
        `${report.counts.alerts} alerts, ${report.counts.rejected} records rejected` +
        (failedSegments.length > 0 ? `, ${failedSegments.length} segment(s) FAILED` : ''),
    );
    if (report.counts.alerts === 0 && failedSegments.length === 0)
      io.out('no account changed state since the last run, so nothing was announced');
    if (outbox.previousDirectory)
      io.out(`the outbox held another database's files; moved them to ${outbox.previousDirectory}`);
    // Name only the files this run wrote to.
    const written = [
      ...(report.counts.alerts > 0 ? [`alerts written to ${outbox.alertsFile}`] : []),
      ...(recorded.ops.length > 0 || failedSegments.length > 0 ? [`ops events to ${outbox.opsFile}`] : []),
    ];
    if (written.length > 0) io.out(written.join('; '));
  }
  return report;
}
