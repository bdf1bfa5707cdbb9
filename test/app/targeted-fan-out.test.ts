// The crash minute's fan-out: the cut of the crossed ids into segments, and the guarantees across the
// watch's queue and the workers: every change announced once, whatever is repeated or redelivered.

import { describe, expect, it } from 'vitest';
import { IncompleteBatchError } from '../../lib/adapters/errors.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { cutSegments, DEFAULT_TARGETED_FAN_OUT } from '../../lib/app/targeted-fan-out.ts';
import {
  SetSupersededError,
  sweepMoved,
  sweepNamed,
  type TargetedSweepPorts,
} from '../../lib/app/targeted-sweep.ts';
import type {
  TargetedSegmentMessage,
  TargetedSegmentNotInvoked,
  TargetedSweepInvoker,
  TargetedSweepQueue,
} from '../../lib/ports.ts';
import { opsEventSchema } from '../../lib/schemas/ops-message.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from './in-memory-ports.ts';
import { liveMarks } from './marks.ts';
import { account, btc, PRICE } from './sweep-fixtures.ts';

class CapturingQueue implements TargetedSweepQueue {
  readonly sent: TargetedSegmentMessage[] = [];
  failWith?: Error;
  async enqueueTargeted(messages: readonly TargetedSegmentMessage[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.sent.push(...messages);
  }
}

/** Hands segments to "workers" directly, failing the segments named in `failing` (a throttle, say). */
class CapturingInvoker implements TargetedSweepInvoker {
  readonly invoked: TargetedSegmentMessage[] = [];
  failing = new Set<number>();
  async invokeTargeted(
    messages: readonly TargetedSegmentMessage[],
  ): Promise<readonly TargetedSegmentNotInvoked[]> {
    const failed: TargetedSegmentNotInvoked[] = [];
    for (const m of messages) {
      if (this.failing.has(m.segment))
        failed.push({ segment: m.segment, reason: 'TooManyRequestsException: Rate exceeded' });
      else this.invoked.push(m);
    }
    return failed;
  }
}

/** `n` accounts near WARNING (1.28 at the mark): a 10% fall moves every one. */
async function setup(n: number) {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const ids = Array.from({ length: n }, (_, i) => `acc-${String(i).padStart(3, '0')}`);
  const store = new InMemoryAccounts(ids.map((id) => account(id, 2_300)));
  const queue = new CapturingQueue();
  const ports = {
    accounts: store,
    breachIndex: new InMemoryBreachIndex(),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock: new FixedClock(Date.UTC(2026, 10, 24, 0, 5)),
    targetedQueue: queue,
  } satisfies TargetedSweepPorts;
  await sweepSegment(ports, { runId: 'full-1', segment: { segment: 0, totalSegments: 1 } });
  return { ports, store, queue, ids };
}

const fanOut = { ...DEFAULT_TARGETED_FAN_OUT, inlineAccounts: 5, accountsPerSegment: 4 };
const crash = liveMarks({ BTC: PRICE * 0.9 });

/** What a worker does with a message: the same targeted sweep on its ids. */
const work = (ports: TargetedSweepPorts, m: TargetedSegmentMessage) =>
  sweepNamed(ports, {
    runId: m.runId,
    segment: m.segment,
    setId: m.setId,
    accountIds: m.accountIds,
    marks: m.marks,
  });

describe('cutSegments', () => {
  const ids = Array.from({ length: 1_050 }, (_, i) => `a${String(i).padStart(4, '0')}`);

  it('cuts sorted ids into segments of at most accountsPerSegment, in order, and the same way every time', () => {
    const segments = cutSegments(ids, { accountsPerSegment: 500, maxIdBytes: 1_000_000 });
    expect(segments.map((s) => s.length)).toEqual([500, 500, 50]);
    expect(segments.flat()).toEqual(ids);
    expect(cutSegments(ids, { accountsPerSegment: 500, maxIdBytes: 1_000_000 })).toEqual(segments);
  });

  it('keeps each segment within maxIdBytes of JSON, however long the ids', () => {
    const long = ids.slice(0, 40).map((id) => id.padEnd(128, 'x'));
    const segments = cutSegments(long, { accountsPerSegment: 500, maxIdBytes: 1_000 });
    expect(segments.length).toBeGreaterThan(1);
    for (const segment of segments) expect(JSON.stringify(segment).length).toBeLessThanOrEqual(1_000);
    expect(segments.flat()).toEqual(long);
  });

  it('refuses a segment size below one, naming it', () => {
    expect(() => cutSegments(ids, { accountsPerSegment: 0, maxIdBytes: 1_000 })).toThrow(
      /accountsPerSegment/,
    );
  });

  it('has defaults that fit a message: 500 ids of 128 characters stay under the byte cap and SQS limits', () => {
    const worst = Array.from({ length: 500 }, (_, i) => `${i}`.padEnd(128, 'x'));
    const segments = cutSegments(worst, DEFAULT_TARGETED_FAN_OUT);
    for (const segment of segments)
      expect(JSON.stringify(segment).length).toBeLessThanOrEqual(DEFAULT_TARGETED_FAN_OUT.maxIdBytes);
    // Ten messages of a batch, each with its ids and a 400-instrument snapshot (56 KB), under 1 MiB.
    expect(10 * (DEFAULT_TARGETED_FAN_OUT.maxIdBytes + 56_000)).toBeLessThan(1_048_576);
  });
});

describe('sweepMoved fanning a crash minute out', () => {
  it('queues the crossed ids in segments with the same marks and set, and reads no account itself', async () => {
    const { ports, store, queue, ids } = await setup(10);
    const readsBefore = store.reads.getItems;

    const result = await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });

    expect(result.counts).toMatchObject({ crossed: 10, revisited: 0, fannedOut: 3, transitions: 0 });
    expect(store.reads.getItems).toBe(readsBefore);
    expect(ports.alerts.published).toHaveLength(0);
    expect(queue.sent.map((m) => m.accountIds.length)).toEqual([4, 4, 2]);
    expect(queue.sent.flatMap((m) => m.accountIds)).toEqual(ids);
    for (const m of queue.sent) {
      expect(m).toMatchObject({ kind: 'targeted', runId: 'watch-1', setId: 'set-1', totalSegments: 3 });
      expect(m.marks).toBe(crash);
    }
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.completed',
      counts: { crossed: 10, fannedOut: 3 },
    });
    // The watch's own look is not a segment: no segment field, and every event keeps the published contract.
    expect(ports.ops.events.at(-1)).not.toHaveProperty('segment');
    for (const event of ports.ops.events) expect(opsEventSchema.safeParse(event).error).toBeUndefined();
  });

  it('sweeps a minute at or under inlineAccounts itself, queueing nothing', async () => {
    const { ports, queue } = await setup(5);
    const result = await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });
    expect(queue.sent).toHaveLength(0);
    expect(result.counts).toMatchObject({ crossed: 5, revisited: 5, transitions: 5, fannedOut: 0 });
  });

  it('announces each change once when the minute runs twice and every segment is delivered twice', async () => {
    const { ports, queue, ids } = await setup(10);
    await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });
    // Scheduler redelivers the minute before any worker ran: the same segments again.
    await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });
    expect(queue.sent).toHaveLength(6);
    expect(queue.sent.slice(3)).toEqual(queue.sent.slice(0, 3));

    // Every copy reaches a worker, and SQS redelivers the first one more time.
    for (const m of [...queue.sent, queue.sent[0] as TargetedSegmentMessage]) await work(ports, m);

    const announced = ports.alerts.published.map((a) => a.alertId).sort();
    expect(announced).toEqual(ids.map((id) => `${id}:1`));
    expect(new Set(ports.alerts.published.map((a) => a.newState)).size).toBe(1);
    // Re-indexed at the crash marks: the next look at the same marks names none of them.
    const again = await sweepMoved(ports, { runId: 'watch-2', marks: crash, fanOut });
    expect(again.counts.crossed).toBe(0);
  });

  it('reports a minute whose segments could not be queued and throws for the retry; the retry announces them', async () => {
    const { ports, queue, ids } = await setup(10);
    queue.failWith = new IncompleteBatchError('1 of 3 segment messages not sent: watch-1#t2: throttled', [
      'watch-1#t2',
    ]);

    await expect(sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut })).rejects.toThrow(/not sent/);
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.failed',
      runId: 'watch-1',
      reason: expect.stringMatching(/targeted segments not all queued.*watch-1#t2/),
    });
    expect(ports.ops.events.at(-1)).not.toHaveProperty('segment');
    for (const event of ports.ops.events) expect(opsEventSchema.safeParse(event).error).toBeUndefined();
    expect(ports.alerts.published).toHaveLength(0);

    queue.failWith = undefined;
    await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });
    for (const m of queue.sent) await work(ports, m);
    expect(ports.alerts.published.map((a) => a.accountId).sort()).toEqual(ids);
  });

  it('a failed segment is caught by the next minute: its accounts are still named, and announced once', async () => {
    const { ports, queue, ids } = await setup(10);
    await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });
    const [first, second, third] = queue.sent as [
      TargetedSegmentMessage,
      TargetedSegmentMessage,
      TargetedSegmentMessage,
    ];
    await work(ports, first);
    await work(ports, third);
    // The second segment's worker failed (reported, not retried): the next minute finds its accounts only.
    queue.sent.length = 0;
    const next = await sweepMoved(ports, {
      runId: 'watch-2',
      marks: liveMarks({ BTC: PRICE * 0.9 }, crash.takenAt + 60_000),
      fanOut: { ...fanOut, inlineAccounts: 100 },
    });
    expect(next.counts.crossed).toBe(second.accountIds.length);
    expect(next.revisited).toEqual(second.accountIds);
    expect(ports.alerts.published.map((a) => a.alertId).sort()).toEqual(ids.map((id) => `${id}:1`));
  });

  it('refuses a segment cut for a set no longer CURRENT, reading nothing', async () => {
    const { ports, store, queue } = await setup(10);
    await sweepMoved(ports, { runId: 'watch-1', marks: crash, fanOut });
    await ports.thresholds.publishSet(
      { setId: 'set-2', runId: 'shock-1', createdAt: '2026-11-24T00:06:00Z', thresholds: [btc] },
      'set-1',
    );
    const reads = store.reads.getItems;
    await expect(work(ports, queue.sent[0] as TargetedSegmentMessage)).rejects.toThrow(SetSupersededError);
    expect(store.reads.getItems).toBe(reads);
    expect(ports.alerts.published).toHaveLength(0);
  });
});

describe('sweepMoved invoking a crash minute directly', () => {
  it('invokes every segment and queues none when every invoke is accepted', async () => {
    const { ports, queue, ids } = await setup(10);
    const invoker = new CapturingInvoker();
    const result = await sweepMoved(
      { ...ports, targetedInvoker: invoker },
      { runId: 'watch-1', marks: crash, fanOut },
    );

    expect(result.counts).toMatchObject({ crossed: 10, fannedOut: 3, queuedInstead: 0 });
    expect(queue.sent).toHaveLength(0);
    expect(invoker.invoked.flatMap((m) => m.accountIds)).toEqual(ids);
    for (const m of invoker.invoked)
      expect(m).toMatchObject({ kind: 'targeted', setId: 'set-1', marks: crash });
    expect(ports.ops.events.map((e) => e.type)).not.toContain('sweep.targeted-fallback');
    for (const m of invoker.invoked) await work(ports, m);
    expect(ports.alerts.published.map((a) => a.alertId).sort()).toEqual(ids.map((id) => `${id}:1`));
  });

  it('queues the segments whose invoke failed, reports the fallback, and every change is announced once', async () => {
    const { ports, queue, ids } = await setup(10);
    const invoker = new CapturingInvoker();
    invoker.failing = new Set([1]);
    const result = await sweepMoved(
      { ...ports, targetedInvoker: invoker },
      { runId: 'watch-1', marks: crash, fanOut },
    );

    expect(result.counts).toMatchObject({ fannedOut: 3, queuedInstead: 1 });
    expect(invoker.invoked.map((m) => m.segment)).toEqual([0, 2]);
    expect(queue.sent.map((m) => m.segment)).toEqual([1]);
    expect(queue.sent[0]).toMatchObject({ runId: 'watch-1', totalSegments: 3, setId: 'set-1', marks: crash });
    const fallback = ports.ops.events.find((e) => e.type === 'sweep.targeted-fallback');
    expect(fallback).toEqual({
      type: 'sweep.targeted-fallback',
      runId: 'watch-1',
      segments: 1,
      totalSegments: 3,
      reason: 'TooManyRequestsException: Rate exceeded',
    });
    for (const event of ports.ops.events) expect(opsEventSchema.safeParse(event).error).toBeUndefined();

    for (const m of [...invoker.invoked, ...queue.sent]) await work(ports, m);
    expect(ports.alerts.published.map((a) => a.alertId).sort()).toEqual(ids.map((id) => `${id}:1`));
  });

  it('a segment neither invoked nor queued fails the minute (reported, thrown), and the next minute catches its accounts', async () => {
    const { ports, queue, ids } = await setup(10);
    const invoker = new CapturingInvoker();
    invoker.failing = new Set([0]);
    queue.failWith = new IncompleteBatchError('1 of 1 segment messages not sent: watch-1#t0: throttled', [
      'watch-1#t0',
    ]);
    const both = { ...ports, targetedInvoker: invoker };

    await expect(sweepMoved(both, { runId: 'watch-1', marks: crash, fanOut })).rejects.toThrow(/not sent/);
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.failed',
      runId: 'watch-1',
      reason: expect.stringMatching(/targeted segments not all queued.*watch-1#t0/),
    });
    // The invoked segments run; segment 0's accounts were never handed over, so they stay crossed.
    for (const m of invoker.invoked) await work(ports, m);
    const lost = cutSegments(ids, fanOut)[0] as string[];
    expect(ports.alerts.published.map((a) => a.accountId).sort()).toEqual(
      ids.filter((id) => !lost.includes(id)),
    );

    invoker.failing.clear();
    queue.failWith = undefined;
    const next = await sweepMoved(
      { ...both, targetedInvoker: invoker },
      {
        runId: 'watch-2',
        marks: liveMarks({ BTC: PRICE * 0.9 }, crash.takenAt + 60_000),
        fanOut: { ...fanOut, inlineAccounts: 100 },
      },
    );
    expect(next.revisited).toEqual(lost);
    expect(ports.alerts.published.map((a) => a.alertId).sort()).toEqual(ids.map((id) => `${id}:1`));
  });

  it('without a queue, a failed invoke fails the minute, naming how many segments were not handed over', async () => {
    const { ports } = await setup(10);
    const invoker = new CapturingInvoker();
    invoker.failing = new Set([2]);
    const { targetedQueue: _none, ...noQueue } = ports;
    await expect(
      sweepMoved({ ...noQueue, targetedInvoker: invoker }, { runId: 'watch-1', marks: crash, fanOut }),
    ).rejects.toThrow(/1 of 3 targeted segments not invoked and no queue/);
    expect(ports.ops.events.at(-1)).toMatchObject({ type: 'sweep.failed', runId: 'watch-1' });
  });
});
