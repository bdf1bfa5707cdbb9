import { DynamoDBClient, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createSweepWorkerHandler,
  STOP_MARGIN_MS,
  type SweepSegment,
} from '../../lambdas/sweep-worker/worker-handler.ts';
import { NoThresholdSetError, type SweepRequest, type SweepResult } from '../../lib/app/sweep.ts';
import { sampleSet } from '../adapters/dynamodb/support.ts';
import {
  acceptAllMessages,
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  SWEEP_QUEUE_URL,
  sentBodies,
  sqsRecord,
  TABLES,
} from './support.ts';

// The worker's use case is injected below; the module's default is replaced so no test reaches the real one.
vi.mock('../../lib/app/sweep.ts', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../lib/app/sweep.ts')>()),
  sweepSegment: vi.fn(async () => {
    throw new Error('the real sweepSegment is not used in these tests');
  }),
}));

const sqs = mockClient(SQSClient);

const RUN_ID = '2026-11-24T00:10:00Z';

const sqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

function finished(request: SweepRequest, counts: Partial<SweepResult['counts']> = {}): SweepResult {
  return {
    runId: request.runId,
    segment: request.segment,
    done: true,
    counts: {
      accounts: 10,
      rejected: 0,
      transitions: 1,
      stale: 0,
      alertsPublished: 1,
      alertsFailed: 0,
      ...counts,
    },
    rejected: [],
    alerts: [],
    marks: { source: 'reference-close', takenAt: '2026-11-24T00:10:00.000Z', marked: 1, held: [] },
  };
}

function setup(sweep: SweepSegment, document: object = { instruments: { BTC: {} } }) {
  const observability = recordedObservability();
  const sweepSpy = vi.fn(sweep);
  const handler = createSweepWorkerHandler({
    env: lambdaEnv({ QMT_CONFIG: JSON.stringify(document) }),
    observability,
    sweep: sweepSpy,
  });
  return { handler, observability, sweep: sweepSpy };
}

describe('sweep worker handler', () => {
  beforeEach(() => {
    sqs.reset();
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => sqs.reset());

  it('sweeps each segment message and reports exactly the malformed one as a batch item failure', async () => {
    // Prepare
    const { handler, sweep, observability } = setup(async (_ports, request) => finished(request));
    const event = sqsEvent(
      sqsRecord('msg-1', { runId: RUN_ID, segment: 0, totalSegments: 3 }),
      sqsRecord('msg-2', { runId: RUN_ID, segment: 'one', totalSegments: 3 }),
      sqsRecord('msg-3', { runId: RUN_ID, segment: 2, totalSegments: 3 }),
    );
    // Act
    const response = await handler(event, lambdaContext());
    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'msg-2' }] });
    expect(sweep).toHaveBeenCalledTimes(2);
    expect(sweep.mock.calls.map(([, request]) => request.segment)).toEqual([
      { segment: 0, totalSegments: 3 },
      { segment: 2, totalSegments: 3 },
    ]);
    expect(sqs).not.toHaveReceivedAnyCommand();
    expect(observability.metric('SegmentsCompleted')).toBe(2);
    expect(observability.metric('SegmentsFailed')).toBe(1);
    expect(observability.metric('AccountsValued')).toBe(20);
    expect(observability.metric('Transitions')).toBe(2);
    expect(observability.metric('AlertsPublished')).toBe(2);
    // The failure is logged by field path and reason, never with the body.
    const failure = observability
      .logged('error')
      .find((entry) => entry.message.startsWith('segment message failed'));
    expect(JSON.stringify(failure?.attributes)).toContain(
      'segment: Invalid input: expected number, received string',
    );
    expect(JSON.stringify(failure?.attributes)).not.toContain('"one"');
  });

  it.each([
    ['not JSON', '{"runId":'],
    ['a segment beyond totalSegments', { runId: RUN_ID, segment: 3, totalSegments: 3 }],
    ['no runId', { segment: 0, totalSegments: 3 }],
  ])('fails a record whose body is %s', async (_what, body) => {
    const { handler, sweep } = setup(async (_ports, request) => finished(request));
    const response = await handler(sqsEvent(sqsRecord('bad', body)), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'bad' }] });
    expect(sweep).not.toHaveBeenCalled();
  });

  it('resumes from the message’s cursor with the configured page size and levels', async () => {
    const levels = { warning: 1.3, marginCall: 1, liquidation: 0.8, hysteresis: 0.05 };
    const { handler, sweep } = setup(async (_ports, request) => finished(request), {
      instruments: { BTC: {} },
      sweep: { pageSize: 250 },
      levels,
    });
    await handler(
      sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 1, totalSegments: 4, cursor: 'checkpoint-7' })),
      lambdaContext(),
    );
    expect(sweep.mock.calls[0]?.[1]).toMatchObject({
      runId: RUN_ID,
      segment: { segment: 1, totalSegments: 4 },
      cursor: 'checkpoint-7',
      pageSize: 250,
      levels,
    });
  });

  it('asks the sweep to stop once less than 30 s of the invocation remain', async () => {
    let remaining = 120_000;
    const answers: boolean[] = [];
    const { handler } = setup(async (_ports, request) => {
      answers.push(request.shouldStop?.() ?? false);
      remaining = STOP_MARGIN_MS - 1;
      answers.push(request.shouldStop?.() ?? false);
      return finished(request);
    });
    await handler(
      sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 0, totalSegments: 1 })),
      lambdaContext(() => remaining),
    );
    expect(answers).toEqual([false, true]);
  });

  it('queues a continuation with the cursor when the sweep stops near the timeout, and counts the record done', async () => {
    // Prepare
    const { handler, observability } = setup(async (_ports, request) => ({
      ...finished(request),
      done: false,
      cursor: 'checkpoint-9',
    }));
    // Act
    const response = await handler(
      sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 2, totalSegments: 4, cursor: 'checkpoint-3' })),
      lambdaContext(),
    );
    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: SWEEP_QUEUE_URL });
    expect(sentBodies(sqs.commandCalls(SendMessageBatchCommand))).toEqual([
      { runId: RUN_ID, segment: 2, totalSegments: 4, cursor: 'checkpoint-9' },
    ]);
    expect(observability.metric('SegmentsContinued')).toBe(1);
  });

  it('fails the record when the continuation cannot be sent, so SQS redelivers it', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: {} }));
    const { handler, observability } = setup(async (_ports, request) =>
      request.segment.segment === 1
        ? { ...finished(request), done: false, cursor: 'checkpoint-1' }
        : finished(request),
    );
    const response = await handler(
      sqsEvent(
        sqsRecord('m0', { runId: RUN_ID, segment: 0, totalSegments: 2 }),
        sqsRecord('m1', { runId: RUN_ID, segment: 1, totalSegments: 2 }),
      ),
      lambdaContext(),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
    expect(observability.metric('SegmentsFailed')).toBe(1);
    expect(observability.metric('SegmentsContinued')).toBe(0);
  });

  it('fails a record that stopped without passing its checkpoint instead of looping on it', async () => {
    const { handler } = setup(async (_ports, request) => ({
      ...finished(request),
      done: false,
      cursor: 'checkpoint-3',
    }));
    const response = await handler(
      sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 0, totalSegments: 1, cursor: 'checkpoint-3' })),
      lambdaContext(),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm' }] });
    expect(sqs).not.toHaveReceivedAnyCommand();
  });

  it('fails the record when the sweep itself fails (a table error)', async () => {
    const { handler } = setup(async () => {
      throw new Error('ProvisionedThroughputExceededException');
    });
    const response = await handler(
      sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 0, totalSegments: 1 })),
      lambdaContext(),
    );
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'm' }] });
  });

  it('reads the threshold set once per container and set id: every segment after reads only the pointer', async () => {
    // Prepare: the real DynamoDB threshold store of the function's adapters, on a mocked client.
    const ddb = mockClient(DynamoDBClient);
    const set = sampleSet('set-1', ['BTC']);
    const [btc] = set.thresholds;
    ddb.on(GetItemCommand, { TableName: TABLES.thresholds }).resolves({
      Item: { pk: { S: 'POINTER' }, sk: { S: 'CURRENT' }, setId: { S: 'set-1' } },
    });
    ddb.on(QueryCommand, { TableName: TABLES.thresholds }).resolves({
      Items: [
        { sk: { S: 'INSTR#BTC' }, ordinal: { N: '0' }, threshold: { S: JSON.stringify(btc) } },
        {
          sk: { S: 'META' },
          runId: { S: set.runId },
          createdAt: { S: set.createdAt },
          instrumentCount: { N: '1' },
        },
      ],
    });
    const seen: string[] = [];
    const { handler } = setup(async (ports, request) => {
      seen.push((await ports.thresholds.currentSet())?.setId ?? 'none');
      return finished(request);
    });
    try {
      // Act: two invocations of one container, two segments each.
      for (const invocation of [0, 1]) {
        await handler(
          sqsEvent(
            sqsRecord(`msg-${invocation}-0`, { runId: RUN_ID, segment: 2 * invocation, totalSegments: 4 }),
            sqsRecord(`msg-${invocation}-1`, {
              runId: RUN_ID,
              segment: 2 * invocation + 1,
              totalSegments: 4,
            }),
          ),
          lambdaContext(),
        );
      }
      // Assess: four segments valued against set-1, its partition queried once, the pointer every time.
      expect(seen).toEqual(['set-1', 'set-1', 'set-1', 'set-1']);
      expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 1);
      expect(ddb).toHaveReceivedCommandTimes(GetItemCommand, 4);
    } finally {
      ddb.restore();
    }
  });

  it('skips a segment, without failing it, before the first recalibration has published a set', async () => {
    const { handler, observability } = setup(async () => {
      throw new NoThresholdSetError();
    });
    const response = await handler(
      sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 0, totalSegments: 1 })),
      lambdaContext(),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(observability.metric('SegmentsSkipped')).toBe(1);
    expect(observability.metric('SegmentsFailed')).toBe(0);
    expect(observability.logged('warn')[0]?.message).toContain('no CURRENT threshold set');
  });

  it('logs rejected records by key and reason, and counts failed alerts', async () => {
    const { handler, observability } = setup(async (_ports, request) => ({
      ...finished(request, { rejected: 1, alertsFailed: 2 }),
      rejected: [{ accountKey: 'acc-7', reason: 'positions[0].size: must be a decimal string' }],
    }));
    await handler(sqsEvent(sqsRecord('m', { runId: RUN_ID, segment: 0, totalSegments: 1 })), lambdaContext());
    expect(observability.metric('AccountsRejected')).toBe(1);
    expect(observability.metric('AlertsFailed')).toBe(2);
    const warning = observability
      .logged('warn')
      .find((entry) => entry.message === 'account records rejected');
    expect(warning?.attributes[0]).toMatchObject({
      runId: RUN_ID,
      segment: 0,
      rejected: [{ accountKey: 'acc-7', reason: 'positions[0].size: must be a decimal string' }],
    });
  });
});
