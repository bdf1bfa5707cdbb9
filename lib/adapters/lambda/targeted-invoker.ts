/**
 * The crash minute's targeted segments handed straight to the sweep worker: one Lambda Invoke per segment,
 * InvocationType `Event` (asynchronous: Lambda queues the event and answers 202 at once), a bounded number
 * in flight. Unlike the sweep queue, whose pollers add workers a few hundred a minute, a function invoked
 * directly scales by 1,000 execution environments every 10 seconds, so the workers start within seconds.
 *
 * Throttled and server-side failures are retried with the shared backoff under one deadline; what still
 * fails is returned (not thrown), so the caller can queue those segments instead. An error that is not
 * transient (access denied, no such function) hits every invoke alike: the rest are not tried.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { TargetedSegmentMessage, TargetedSegmentNotInvoked, TargetedSweepInvoker } from '../../ports.ts';
import { errorReason, isTransientAwsError } from '../aws-errors.ts';
import { DEFAULT_RETRY_POLICY, type RetryHooks, type RetryPolicy, withRetry } from '../retry.ts';
import { targetedMessageBody } from '../sqs/sweep-queue.ts';

/** IAM actions on the sweep worker function: an asynchronous Invoke is authorised as InvokeFunction. */
export const TARGETED_INVOKER_IAM_ACTIONS = ['lambda:InvokeFunction'] as const;

/** Lambda's answer to an accepted asynchronous invoke. */
const ACCEPTED = 202;

export interface LambdaTargetedSweepInvokerOptions {
  /** The client, or a function returning it (so the invoker can be built before any client). */
  readonly client: LambdaClient | (() => LambdaClient);
  /** The sweep worker's name or ARN (unqualified: the role may invoke that and nothing else). */
  readonly functionName: string;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retryPolicy?: RetryPolicy;
  readonly retryHooks?: RetryHooks;
  /**
   * Invokes in flight at once. Each is one small HTTPS call (tens of ms): 32 hand a crash minute's 3,000
   * segments over in a few seconds without opening more sockets than the client keeps alive. @default 32
   */
  readonly concurrency?: number;
}

/** An invoke Lambda answered, but not with 202: not retried, reported like a failure. */
class NotAccepted extends Error {
  constructor(status: number | undefined) {
    super(`Invoke answered ${status ?? 'no status'}, not ${ACCEPTED}`);
    this.name = 'NotAccepted';
  }
}

/**
 * `TargetedSweepInvoker` over Lambda Invoke (asynchronous).
 *
 * @example
 * const invoker = new LambdaTargetedSweepInvoker({ client: new LambdaClient({}), functionName: 'qmt-sweep-worker' });
 * const notInvoked = await invoker.invokeTargeted(messages); // [] when every segment was accepted
 */
export class LambdaTargetedSweepInvoker implements TargetedSweepInvoker {
  private readonly policy: RetryPolicy;
  private readonly concurrency: number;

  constructor(private readonly options: LambdaTargetedSweepInvokerOptions) {
    this.policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 32));
  }

  async invokeTargeted(
    messages: readonly TargetedSegmentMessage[],
  ): Promise<readonly TargetedSegmentNotInvoked[]> {
    const client = typeof this.options.client === 'function' ? this.options.client() : this.options.client;
    const failures: TargetedSegmentNotInvoked[] = [];
    let stopReason: string | undefined;
    let next = 0;
    const sender = async () => {
      for (let message = messages[next++]; message !== undefined; message = messages[next++]) {
        if (stopReason !== undefined) {
          failures.push({ segment: message.segment, reason: `not invoked: ${stopReason}` });
          continue;
        }
        const payload = Buffer.from(JSON.stringify(targetedMessageBody(message)));
        try {
          await withRetry(
            async () => {
              const out = await client.send(
                new InvokeCommand({
                  FunctionName: this.options.functionName,
                  InvocationType: 'Event',
                  Payload: payload,
                }),
              );
              if (out.StatusCode !== ACCEPTED) throw new NotAccepted(out.StatusCode);
            },
            (error) => ({ retry: isTransientAwsError(error) }),
            this.policy,
            this.options.retryHooks,
          );
        } catch (error) {
          const reason = errorReason(error);
          failures.push({ segment: message.segment, reason });
          if (!(error instanceof NotAccepted) && !isTransientAwsError(error)) stopReason ??= reason;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, messages.length) }, sender));
    return failures.sort((a, b) => a.segment - b.segment);
  }
}
