import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsStressQueue, stressSegmentMessageSchema } from '../../../lib/adapters/sqs/stress-queue.ts';
import { acceptAllMessages, sentBodies } from '../../lambdas/support.ts';

const sqs = mockClient(SQSClient);
const QUEUE = 'https://sqs.eu-west-1.amazonaws.com/123456789012/qmt-stress';

describe('SqsStressQueue', () => {
  beforeEach(() => sqs.reset());

  it('sends one message per segment, ten a call, each a valid stress segment message', async () => {
    sqs.on(SendMessageBatchCommand).callsFake(acceptAllMessages);
    const queue = new SqsStressQueue({ client: new SQSClient({}), queueUrl: QUEUE });
    const messages = Array.from({ length: 12 }, (_, segment) => ({
      runId: 'r',
      step: 2,
      segment,
      totalSegments: 12,
    }));
    await queue.enqueue(messages);
    const calls = sqs.commandCalls(SendMessageBatchCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 2]);
    const bodies = sentBodies(calls);
    expect(bodies.map((b) => stressSegmentMessageSchema.parse(b))).toEqual(messages);
  });

  it('names the messages SQS refused as the sender’s fault', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: 'm0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'bad' }],
    });
    const queue = new SqsStressQueue({ client: new SQSClient({}), queueUrl: QUEUE });
    await expect(queue.enqueue([{ runId: 'r', step: 0, segment: 0, totalSegments: 1 }])).rejects.toThrow(
      /r#0#0: InvalidParameterValue/,
    );
  });
});
