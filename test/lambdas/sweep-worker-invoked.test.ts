// The sweep worker invoked directly by the market watch (asynchronous Invoke, one targeted segment as the
// whole event): the same sweep as from the queue, the same refusals (stale, superseded), a malformed event
// thrown so Lambda's retry and on-failure destination keep it.
import { describe, expect, it } from 'vitest';
import { createSweepWorkerHandler } from '../../lambdas/sweep-worker/worker-handler.ts';
import { InMemoryBreachIndex } from '../../lib/adapters/local/breach-index.ts';
import { targetedMessageBody } from '../../lib/adapters/sqs/sweep-queue.ts';
import { sweepSegment } from '../../lib/app/sweep.ts';
import { DEFAULT_TARGETED_FAN_OUT } from '../../lib/app/targeted-fan-out.ts';
import { sweepMoved } from '../../lib/app/targeted-sweep.ts';
import type { TargetedSegmentMessage } from '../../lib/ports.ts';
import {
  FixedClock,
  InMemoryMarginStatusStore,
  InMemoryThresholdStore,
  RecordingAlerts,
  RecordingOps,
} from '../app/in-memory-ports.ts';
import { liveMarks } from '../app/marks.ts';
import { account, btc, PRICE } from '../app/sweep-fixtures.ts';
import { InMemoryAccounts } from '../bench/support/accounts.ts';
import { lambdaContext, lambdaEnv, recordedObservability, sqsRecord } from './support.ts';

const TICK = Date.UTC(2026, 10, 24, 0, 5);

/** Six accounts near WARNING, indexed by a full sweep; a 10% fall cut into two invoked segments of three. */
async function crashMinute() {
  const thresholds = new InMemoryThresholdStore();
  await thresholds.publishSet(
    { setId: 'set-1', runId: 'run-1', createdAt: '2026-11-24T00:00:00Z', thresholds: [btc] },
    undefined,
  );
  const ids = Array.from({ length: 6 }, (_, i) => `acc-${i}`);
  const accounts = new InMemoryAccounts(ids.map((id) => account(id, 2_300)));
  const clock = new FixedClock(TICK);
  const ports = {
    accounts,
    accountReader: accounts,
    breachIndex: new InMemoryBreachIndex(),
    thresholds,
    statuses: new InMemoryMarginStatusStore(),
    alerts: new RecordingAlerts(),
    ops: new RecordingOps(),
    clock,
  };
  await sweepSegment(ports, { runId: 'full-1', segment: { segment: 0, totalSegments: 1 } });
  const invoked: TargetedSegmentMessage[] = [];
  await sweepMoved(
    {
      ...ports,
      targetedInvoker: {
        invokeTargeted: async (messages) => {
          invoked.push(...messages);
          return [];
        },
      },
    },
    {
      runId: 'watch-2026-11-24T00:05:00Z',
      marks: liveMarks({ BTC: PRICE * 0.9 }, TICK),
      fanOut: { ...DEFAULT_TARGETED_FAN_OUT, inlineAccounts: 2, accountsPerSegment: 3 },
    },
  );
  // What Lambda hands the worker: the JSON payload the invoker sent, parsed.
  const events = invoked.map((m) => JSON.parse(JSON.stringify(targetedMessageBody(m))) as unknown);
  const observability = recordedObservability();
  const worker = createSweepWorkerHandler({
    env: lambdaEnv({ QMT_CONFIG: JSON.stringify({ instruments: { BTC: {} } }) }),
    observability,
    adapters: ports,
  });
  return { ports, ids, events, worker, observability, clock, thresholds };
}

describe('sweep worker invoked directly with a targeted segment', () => {
  it('sweeps the segment (announce first, re-index after); a repeat, invoked or queued, announces nothing again', async () => {
    const { ports, ids, events, worker } = await crashMinute();
    expect(events).toHaveLength(2);

    for (const event of events)
      expect(await worker(event, lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(ports.alerts.published.map((a) => a.alertId).sort()).toEqual(ids.map((id) => `${id}:1`));
    const completed = ports.ops.events.filter(
      (e) => e.type === 'sweep.completed' && e.runId.startsWith('watch-') && e.segment !== undefined,
    );
    expect(completed.map((e) => (e as { segment: number }).segment).sort()).toEqual([0, 1]);

    // Lambda's async retry, and the same segment queued by a fallback: nothing is announced twice.
    await worker(events[0], lambdaContext());
    await worker({ Records: [sqsRecord('m-1', events[1])] }, lambdaContext());
    expect(ports.alerts.published).toHaveLength(ids.length);
    expect(ports.ops.events.filter((e) => e.type === 'sweep.failed')).toEqual([]);
  });

  it('reports a segment older than 120 s and sweeps nothing, without throwing (no pointless retry)', async () => {
    const { ports, events, worker, clock } = await crashMinute();
    clock.time = TICK + 121_000;

    expect(await worker(events[0], lambdaContext())).toEqual({ batchItemFailures: [] });
    expect(ports.alerts.published).toHaveLength(0);
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.failed',
      segment: 0,
      reason: expect.stringMatching(/not swept: its marks are 121 s old \(limit 120 s\)/),
    });
  });

  it('reports a segment cut for a set no longer CURRENT and sweeps nothing', async () => {
    const { ports, events, worker, thresholds } = await crashMinute();
    await thresholds.publishSet(
      { setId: 'set-2', runId: 'shock-1', createdAt: '2026-11-24T00:05:30Z', thresholds: [btc] },
      'set-1',
    );
    await worker(events[1], lambdaContext());
    expect(ports.alerts.published).toHaveLength(0);
    expect(ports.ops.events.at(-1)).toMatchObject({
      type: 'sweep.failed',
      segment: 1,
      reason: expect.stringMatching(/not swept: .*set-1/),
    });
  });

  it('throws a malformed event, naming the field, and sweeps nothing (Lambda retries it, then the dead-letter queue keeps it)', async () => {
    const { ports, events, worker } = await crashMinute();
    const broken = { ...(events[0] as object), accountIds: [] };
    await expect(worker(broken, lambdaContext())).rejects.toThrow(
      /invalid targeted segment event: accountIds: /,
    );
    await expect(worker({ hello: 'world' }, lambdaContext())).rejects.toThrow(
      /invalid targeted segment event/,
    );
    expect(ports.alerts.published).toHaveLength(0);
  });
});
