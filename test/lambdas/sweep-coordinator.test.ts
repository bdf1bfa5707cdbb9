import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../lambdas/shared/events.ts';
import { createSweepCoordinatorHandler } from '../../lambdas/sweep-coordinator/coordinator-handler.ts';
import { IncompleteBatchError } from '../../lib/adapters/errors.ts';
import { FixedClock } from '../app/in-memory-ports.ts';
import {
  acceptAllMessages,
  fakeIdempotencyRecords,
  lambdaContext,
  lambdaEnv,
  recordedObservability,
  SWEEP_QUEUE_URL,
  sentBodies,
  TABLES,
} from './support.ts';

const dynamo = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

const SCHEDULED_TIME = '2026-11-24T00:10:00Z';

function setup(document: object = { instruments: { BTC: {} } }) {
  const observability = recordedObservability();
  const handler = createSweepCoordinatorHandler({
    env: lambdaEnv({ QMT_CONFIG: JSON.stringify(document) }),
    adapters: { clock: new FixedClock(Date.parse('2026-11-24T09:30:00Z')) },
    observability,
  });
  return { handler, observability };
}

describe('sweep coordinator handler', () => {
  beforeEach(() => {
    dynamo.reset();
    sqs.reset();
    fakeIdempotencyRecords(dynamo);
    dynamo.on(DescribeTableCommand).resolves({ Table: { ItemCount: 1_000_000 } });
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
  });
  afterEach(() => {
    dynamo.reset();
    sqs.reset();
  });

  it('plans N segments from the table size and sends them in ceil(N/10) batches', async () => {
    // Prepare: 1,000,000 accounts at 10,000 a segment → 100 segments.
    const { handler, observability } = setup({
      instruments: { BTC: {} },
      sweep: { accountsPerSegment: 10_000 },
    });
    // Act
    const started = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess
    expect(started).toEqual({
      runId: SCHEDULED_TIME,
      approximateAccounts: 1_000_000,
      totalSegments: 100,
      accountsPerSegment: 10_000,
    });
    expect(dynamo).toHaveReceivedCommandWith(DescribeTableCommand, { TableName: TABLES.accounts });
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(10);
    for (const call of calls) {
      expect(call.args[0].input.QueueUrl).toBe(SWEEP_QUEUE_URL);
      expect(call.args[0].input.Entries).toHaveLength(10);
    }
    const bodies = sentBodies(calls) as { segment: number }[];
    expect(bodies.map((body) => body.segment).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(bodies[0]).toEqual({ runId: SCHEDULED_TIME, segment: 0, totalSegments: 100 });
    expect(observability.metric('SegmentsPlanned')).toBe(100);
  });

  it.each([
    [1_000_000, 10, 1],
    [0, 1, 1],
    [10_000_000, 100, 10],
    [1_000_000_000, 1_000, 100],
  ])('%i accounts at the default sizing → %i segments in %i batches', async (accounts, segments, batches) => {
    dynamo.on(DescribeTableCommand).resolves({ Table: { ItemCount: accounts } });
    const { handler } = setup();
    const started = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(started.totalSegments).toBe(segments);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, batches);
    expect(sentBodies(sqs.commandCalls(SendMessageBatchCommand))).toHaveLength(segments);
  });

  it('retries a Failed entry (SQS’s fault) alone until it is in', async () => {
    // Prepare: the first call fails entry m2 on the service side.
    let call = 0;
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      call++;
      const answer = acceptAllMessages(input);
      if (call > 1) return answer;
      return {
        ...answer,
        Successful: answer.Successful?.filter((entry) => entry.Id !== 'm2'),
        Failed: [{ Id: 'm2', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
      };
    });
    const { handler } = setup();
    // Act
    await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    // Assess
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.Entries?.map((entry) => entry.Id)).toEqual(['m2']);
    expect(JSON.parse(calls[1]?.args[0].input.Entries?.[0]?.MessageBody ?? '')).toEqual({
      runId: SCHEDULED_TIME,
      segment: 2,
      totalSegments: 10,
    });
  });

  it('retries a throttled call', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .rejectsOnce(Object.assign(new Error('slow down'), { name: 'RequestThrottled', $metadata: {} }))
      .callsFake(acceptAllMessages);
    const { handler } = setup();
    await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
  });

  it('fails, naming the segment, when an entry is refused (sender’s fault), so Scheduler retries', async () => {
    sqs.on(SendMessageBatchCommand).callsFake((input: SendMessageBatchCommandInput) => {
      const answer = acceptAllMessages(input);
      return {
        ...answer,
        Successful: answer.Successful?.filter((entry) => entry.Id !== 'm1'),
        Failed: [{ Id: 'm1', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad' }],
      };
    });
    const { handler, observability } = setup();
    const attempt = handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    await expect(attempt).rejects.toBeInstanceOf(IncompleteBatchError);
    await expect(attempt).rejects.toMatchObject({ failedKeys: [`${SCHEDULED_TIME}#1`] });
    // Refused entries are not sent again.
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(observability.metric('InvocationsFailed')).toBe(1);
  });

  it('queues nothing twice for a repeated scheduled event', async () => {
    const { handler, observability } = setup();
    const first = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    const second = await handler({ scheduledTime: SCHEDULED_TIME }, lambdaContext());
    expect(second).toEqual(first);
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    expect(observability.metric('DuplicateEvents')).toBe(1);
  });

  it('queues one sweep for one scheduled instant written two ways, and refuses one a day ahead', async () => {
    const { handler } = setup();
    const first = await handler({ scheduledTime: '2026-11-24T00:10:00Z' }, lambdaContext());
    const second = await handler({ scheduledTime: '2026-11-24T00:10:00.000+00:00' }, lambdaContext());
    expect(second).toEqual(first);
    expect(first.runId).toBe('2026-11-24T00:10:00Z');
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
    await expect(handler({ scheduledTime: '2026-11-25T09:30:01Z' }, lambdaContext())).rejects.toThrow(
      /^invalid coordinator event: scheduledTime: more than a day after the clock/,
    );
    expect(sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 1);
  });

  it('starts a new sweep `sweep-<now>` when invoked by hand, with no idempotency record', async () => {
    const { handler } = setup();
    const started = await handler({}, lambdaContext());
    expect(started.runId).toBe('sweep-2026-11-24T09:30:00.000Z');
    expect(dynamo.commandCalls(PutItemCommand, { TableName: TABLES.runs })).toHaveLength(0);
  });

  it('rejects a malformed event', async () => {
    const { handler } = setup();
    const attempt = handler({ scheduledTime: 1_700_000_000 }, lambdaContext());
    await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
    await expect(attempt).rejects.toMatchObject({
      message: 'invalid coordinator event: scheduledTime: Invalid input: expected string, received number',
      issues: ['scheduledTime: Invalid input: expected string, received number'],
    });
    expect(sqs).not.toHaveReceivedAnyCommand();
  });
});
