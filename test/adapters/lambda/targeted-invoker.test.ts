// The watch's direct asynchronous invokes of the sweep worker: one Event invoke per segment, a bounded
// number in flight, throttles retried, and what still fails returned for the caller to queue instead.
import { InvokeCommand, LambdaClient, TooManyRequestsException } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  LambdaTargetedSweepInvoker,
  TARGETED_INVOKER_IAM_ACTIONS,
} from '../../../lib/adapters/lambda/targeted-invoker.ts';
import { targetedSegmentMessageSchema } from '../../../lib/adapters/sqs/sweep-queue.ts';
import { targetedMessages } from '../../../lib/app/targeted-fan-out.ts';
import { liveMarks } from '../../app/marks.ts';

const lambda = mockClient(LambdaClient);
const FUNCTION = 'qmt-sweep-worker';
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2, deadlineMs: 1_000 };
const marks = liveMarks({ BTC: 90_000 });

const messages = (n: number) =>
  targetedMessages(
    'watch-2026-11-24T00:05:00Z',
    'set-1',
    marks,
    Array.from({ length: n }, (_, i) => [`acc-${i}a`, `acc-${i}b`]),
  );

const payloadOf = (input: { Payload?: unknown }) =>
  JSON.parse(Buffer.from(input.Payload as Uint8Array).toString('utf8')) as unknown;

describe('LambdaTargetedSweepInvoker', () => {
  beforeEach(() => lambda.reset());

  it('invokes the worker once per segment, asynchronously, with the body a worker parses back to the segment', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 202 });
    const sent = messages(5);
    const invoker = new LambdaTargetedSweepInvoker({ client: new LambdaClient({}), functionName: FUNCTION });

    expect(await invoker.invokeTargeted(sent)).toEqual([]);

    const calls = lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(5);
    for (const input of calls)
      expect(input).toMatchObject({ FunctionName: FUNCTION, InvocationType: 'Event' });
    const parsed = calls.map((input) => targetedSegmentMessageSchema.parse(payloadOf(input)));
    expect(parsed.map((m) => m.segment).sort()).toEqual([0, 1, 2, 3, 4]);
    for (const m of parsed) {
      const original = sent[m.segment];
      expect(m).toMatchObject({ kind: 'targeted', runId: original?.runId, setId: 'set-1', totalSegments: 5 });
      expect(m.accountIds).toEqual(original?.accountIds);
      expect(m.marks.takenAt).toBe(marks.takenAt);
      expect(m.marks.marks.get('BTC')?.price).toBe(90_000);
    }
  });

  it('keeps at most `concurrency` invokes in flight', async () => {
    let inFlight = 0;
    let most = 0;
    lambda.on(InvokeCommand).callsFake(async () => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight -= 1;
      return { StatusCode: 202 };
    });
    const invoker = new LambdaTargetedSweepInvoker({
      client: new LambdaClient({}),
      functionName: FUNCTION,
      concurrency: 3,
    });
    expect(await invoker.invokeTargeted(messages(20))).toEqual([]);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(20);
    expect(most).toBe(3);
  });

  it('retries a throttled invoke, and returns the segment whose throttle outlasts the retries', async () => {
    const throttle = () =>
      new TooManyRequestsException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 429 } });
    lambda.on(InvokeCommand).callsFake(async (input: { Payload?: unknown }) => {
      const { segment } = payloadOf(input) as { segment: number };
      if (segment === 1) throw throttle();
      if (segment === 0 && lambda.commandCalls(InvokeCommand).length < 3) throw throttle();
      return { StatusCode: 202 };
    });
    const invoker = new LambdaTargetedSweepInvoker({
      client: new LambdaClient({}),
      functionName: FUNCTION,
      concurrency: 1,
      retryPolicy: FAST,
    });
    const failed = await invoker.invokeTargeted(messages(3));
    expect(failed).toEqual([{ segment: 1, reason: 'TooManyRequestsException: Rate exceeded' }]);
    // Segment 0: two throttles then accepted (3 calls); segment 1: three attempts, all throttled; segment 2: one.
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(7);
  });

  it('stops at an error that is not transient: every segment returned, only the first tried', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('not authorised'), { name: 'AccessDeniedException' }));
    const invoker = new LambdaTargetedSweepInvoker({
      client: new LambdaClient({}),
      functionName: FUNCTION,
      concurrency: 1,
      retryPolicy: FAST,
    });
    const failed = await invoker.invokeTargeted(messages(4));
    expect(failed.map((f) => f.segment)).toEqual([0, 1, 2, 3]);
    expect(failed[0]?.reason).toBe('AccessDeniedException: not authorised');
    expect(failed[3]?.reason).toBe('not invoked: AccessDeniedException: not authorised');
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(1);
  });

  it('counts an invoke Lambda answered with anything but 202 as not handed over', async () => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200 });
    const invoker = new LambdaTargetedSweepInvoker({ client: new LambdaClient({}), functionName: FUNCTION });
    const failed = await invoker.invokeTargeted(messages(1));
    expect(failed).toEqual([{ segment: 0, reason: 'NotAccepted: Invoke answered 200, not 202' }]);
  });

  it('declares the one IAM action an Invoke needs', () => {
    expect(TARGETED_INVOKER_IAM_ACTIONS).toEqual(['lambda:InvokeFunction']);
  });
});
