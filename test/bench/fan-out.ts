/**
 * The crash minute's fan-out, measured (`npm run bench -- fan-out`): N accounts on DynamoDB Local, indexed
 * by a full sweep, then a 10% fall that moves every one out of OK. The market watch's `sweepMoved` cuts the
 * crossed ids into segments and hands them to an in-process invoker (standing in for Lambda's asynchronous
 * Invoke, which answers 202 at once); K in-process workers take segments as they come and run `sweepNamed`
 * on each, as the deployed worker does on a directly invoked event. For K = 1, 2, 4, 8 (fresh tables each):
 * seconds from the watch's start to the last alert, and per transition.
 *
 * What this box can show: whether the fan-out's work divides among workers without losing or repeating an
 * alert, and how far DynamoDB Local (one JVM) and this shared 2-core machine let K concurrent workers go.
 * What it cannot: Lambda's scaling (every worker here shares one Node process and one DynamoDB Local, so K
 * workers are concurrent I/O on two cores, not K machines), the real Invoke latency, or DynamoDB's own
 * service latency and per-table limits. docs/SCALE.md "Direct invokes" models those.
 */
import { CreateTableCommand, waitUntilTableExists } from '@aws-sdk/client-dynamodb';
import { DynamoDbAccountSource } from '../../lib/adapters/dynamodb/account-source.ts';
import { writeAccounts } from '../../lib/adapters/dynamodb/account-writer.ts';
import { DynamoDbBreachIndex } from '../../lib/adapters/dynamodb/breach-index.ts';
import { createDynamoDbClient } from '../../lib/adapters/dynamodb/client.ts';
import { createTables } from '../../lib/adapters/dynamodb/create-tables.ts';
import { DynamoDbMarginStatusStore } from '../../lib/adapters/dynamodb/margin-status-store.ts';
import {
  breachIndexTableDefinition,
  tableNames,
  toCreateTableInput,
} from '../../lib/adapters/dynamodb/tables.ts';
import { DynamoDbThresholdStore } from '../../lib/adapters/dynamodb/threshold-store.ts';
import { startDynamoDbLocal } from '../../lib/adapters/local/dynamodb-local.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { DEFAULT_TARGETED_FAN_OUT } from '../../lib/app/targeted-fan-out.ts';
import { sweepMoved, sweepNamed } from '../../lib/app/targeted-sweep.ts';
import type { MarginAlert } from '../../lib/domain/account/account.ts';
import type {
  AlertPublisher,
  AlertPublishResult,
  TargetedSegmentMessage,
  TargetedSweepInvoker,
} from '../../lib/ports.ts';
import { FixedClock, RecordingOps } from '../app/in-memory-ports.ts';
import { liveMarks } from '../app/marks.ts';
import { btcSet, PRICE } from '../integration/faults/support.ts';
import { round } from './support/fixtures.ts';
import type { Bench, BenchFigure } from './types.ts';
import { crashBook } from './watch.ts';

/** Accounts of each run (every one changes state). */
const ACCOUNTS = Number(process.env.QMT_BENCH_FANOUT_ACCOUNTS ?? 1_000);
/** Ids per segment: small enough that N gives every worker several segments (the stack cuts 500). */
const PER_SEGMENT = Number(process.env.QMT_BENCH_FANOUT_SEGMENT ?? 50);
const WORKERS = (process.env.QMT_BENCH_FANOUT_WORKERS ?? '1,2,4,8').split(',').map(Number);

class CountingAlerts implements AlertPublisher {
  readonly ids: string[] = [];
  lastAt = 0;
  async publish(alerts: readonly MarginAlert[]): Promise<AlertPublishResult> {
    this.ids.push(...alerts.map((a) => a.alertId));
    this.lastAt = performance.now();
    return { published: alerts.map((a) => a.alertId), failed: [] };
  }
}

/** Lambda's asynchronous Invoke, in process: accepts at once, a worker takes the event when free. */
class InProcessInvoker implements TargetedSweepInvoker {
  private readonly pending: TargetedSegmentMessage[] = [];
  private waiting: (() => void)[] = [];
  private closed = false;
  async invokeTargeted(messages: readonly TargetedSegmentMessage[]) {
    this.pending.push(...messages);
    this.wakeAll();
    return [];
  }
  /** No more segments this minute: idle workers finish. */
  close(): void {
    this.closed = true;
    this.wakeAll();
  }
  /** The next segment, or undefined once closed and drained. */
  async next(): Promise<TargetedSegmentMessage | undefined> {
    for (;;) {
      const message = this.pending.shift();
      if (message || this.closed) return message;
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }
  private wakeAll(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
  }
}

interface Run {
  readonly workers: number;
  readonly segments: number;
  readonly transitions: number;
  /** From the watch's start to the last alert published. */
  readonly lastAlertSeconds: number;
  /** From the watch's start to the last worker done (re-index included). */
  readonly doneSeconds: number;
  /** Worker-seconds spent in `sweepNamed`, all workers together. */
  readonly busySeconds: number;
}

async function run(endpoint: string, workers: number, log: (line: string) => void): Promise<Run> {
  const client = createDynamoDbClient({ endpoint });
  try {
    const tables = tableNames(`qmt-fan${workers}`);
    await createTables(client, tables, { timeToLive: false });
    const indexTable = `${tables.accounts}-breach-index`;
    await client.send(new CreateTableCommand(toCreateTableInput(breachIndexTableDefinition(), indexTable)));
    await waitUntilTableExists(
      { client, maxWaitTime: 60, minDelay: 1, maxDelay: 2 },
      { TableName: indexTable },
    );
    await new DynamoDbThresholdStore(client, tables.thresholds).publishSet(btcSet, undefined);
    await writeAccounts(client, tables.accounts, crashBook(ACCOUNTS));
    const clock = new FixedClock(Date.UTC(2026, 11, 3, 12, 0));
    const alerts = new CountingAlerts();
    const accounts = new DynamoDbAccountSource(client, tables.accounts);
    const ports = {
      accounts,
      accountReader: accounts,
      breachIndex: new DynamoDbBreachIndex(client, indexTable),
      thresholds: new DynamoDbThresholdStore(client, tables.thresholds),
      statuses: new DynamoDbMarginStatusStore(client, tables.marginStatus),
      alerts,
      ops: new RecordingOps(),
      clock,
    };
    await sweepSegment(ports, {
      runId: 'fan-full',
      segment: { segment: 0, totalSegments: 1 },
      pageSize: 500,
      marks: liveMarks({ BTC: PRICE }, clock.now(), btcSet),
    });
    if (alerts.ids.length > 0) throw new Error(`${alerts.ids.length} alerts before the crash`);

    const invoker = new InProcessInvoker();
    let busy = 0;
    let transitions = 0;
    const worker = async () => {
      for (let m = await invoker.next(); m !== undefined; m = await invoker.next()) {
        const began = performance.now();
        const result = await sweepNamed(ports, {
          runId: m.runId,
          segment: m.segment,
          setId: m.setId,
          accountIds: m.accountIds,
          marks: m.marks,
        });
        busy += performance.now() - began;
        transitions += result.counts.transitions;
      }
    };
    const started = performance.now();
    const pool = Array.from({ length: workers }, worker);
    const look = await sweepMoved(
      { ...ports, targetedInvoker: invoker },
      {
        runId: 'fan-crash',
        marks: liveMarks({ BTC: PRICE * 0.9 }, clock.now(), btcSet),
        fanOut: { ...DEFAULT_TARGETED_FAN_OUT, inlineAccounts: 0, accountsPerSegment: PER_SEGMENT },
      },
    );
    invoker.close();
    await Promise.all(pool);
    const doneSeconds = (performance.now() - started) / 1000;
    const distinct = new Set(alerts.ids);
    if (transitions !== ACCOUNTS || distinct.size !== ACCOUNTS || alerts.ids.length !== ACCOUNTS) {
      throw new Error(
        `K=${workers}: ${transitions} transitions, ${alerts.ids.length} alerts (${distinct.size} distinct) for ${ACCOUNTS} accounts`,
      );
    }
    const r: Run = {
      workers,
      segments: look.counts.fannedOut,
      transitions,
      lastAlertSeconds: (alerts.lastAt - started) / 1000,
      doneSeconds,
      busySeconds: busy / 1000,
    };
    log(
      `K=${workers}: ${r.transitions} transitions in ${r.segments} segments; last alert after ${round(r.lastAlertSeconds, 2)} s, all re-indexed after ${round(r.doneSeconds, 2)} s; ${round((r.lastAlertSeconds * 1000) / r.transitions, 2)} ms per transition to the last alert; worker-busy ${round(r.busySeconds, 2)} s`,
    );
    return r;
  } finally {
    client.destroy();
  }
}

const bench: Bench = async (log) => {
  const local = await startDynamoDbLocal({ createTables: false });
  const runs: Run[] = [];
  try {
    for (const k of WORKERS) runs.push(await run(local.endpoint, k, log));
  } finally {
    await local.stop();
  }
  const base = runs[0] as Run;
  const figures: BenchFigure[] = runs.flatMap((r) => [
    {
      name: `K=${r.workers}: seconds to the last alert`,
      ours: round(r.lastAlertSeconds, 2),
      reference: round(base.lastAlertSeconds, 2),
      unit: 's',
      ratio: round(r.lastAlertSeconds / base.lastAlertSeconds, 2),
      note: `${r.transitions} transitions, ${r.segments} segments of ≤ ${PER_SEGMENT}; every alert once; re-index done after ${round(r.doneSeconds, 2)} s; reference K=${base.workers}`,
    },
    {
      name: `K=${r.workers}: ms per transition to the last alert`,
      ours: round((r.lastAlertSeconds * 1000) / r.transitions, 2),
      unit: 'ms',
      note: `worker-busy ${round((r.busySeconds * 1000) / r.transitions, 2)} ms per transition (K workers' time summed, re-index included)`,
    },
  ]);
  return {
    title: `Crash-minute fan-out: ${ACCOUNTS} transitions through direct invokes to K in-process workers (DynamoDB Local, this box)`,
    figures,
  };
};

export default bench;
