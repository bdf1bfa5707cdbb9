import { describe, expect, it } from 'vitest';
import { backoffDelay, type RetryPolicy, withRetry } from '../../lib/adapters/retry.ts';

const policy: RetryPolicy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1_000, deadlineMs: 10_000 };

function fakeTime() {
  let t = 0;
  const waits: number[] = [];
  return {
    waits,
    hooks: {
      now: () => t,
      sleep: async (ms: number) => {
        waits.push(ms);
        t += ms;
      },
      random: () => 0.999,
    },
  };
}

describe('withRetry', () => {
  it('retries a retryable failure with growing, capped delays and then succeeds', async () => {
    const clock = fakeTime();
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 5) throw new Error('throttled');
        return 'done';
      },
      () => ({ retry: true }),
      policy,
      clock.hooks,
    );
    expect(result).toBe('done');
    expect(clock.waits).toEqual([99, 199, 399, 799]);
  });

  it('rethrows a final error at once, keeping its type', async () => {
    class Final extends Error {}
    await expect(
      withRetry(
        async () => {
          throw new Final('bad request');
        },
        () => ({ retry: false }),
        policy,
        fakeTime().hooks,
      ),
    ).rejects.toBeInstanceOf(Final);
  });

  it('honours a server-given wait (Retry-After) over a shorter backoff', async () => {
    const clock = fakeTime();
    let calls = 0;
    await withRetry(
      async () => {
        if (calls++ === 0) throw new Error('429');
      },
      () => ({ retry: true, afterMs: 3_000 }),
      policy,
      clock.hooks,
    );
    expect(clock.waits).toEqual([3_000]);
  });

  it('stops when the next wait would pass the deadline', async () => {
    const clock = fakeTime();
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error('still throttled');
        },
        () => ({ retry: true, afterMs: 4_000 }),
        policy,
        clock.hooks,
      ),
    ).rejects.toThrow('still throttled');
    expect(calls).toBe(3);
  });

  it('gives up after maxAttempts', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw new Error('x');
        },
        () => ({ retry: true }),
        policy,
        fakeTime().hooks,
      ),
    ).rejects.toThrow('x');
    expect(calls).toBe(5);
  });

  it('draws full jitter below the capped exponential ceiling', () => {
    expect(backoffDelay(1, policy, () => 0.5)).toBe(50);
    expect(backoffDelay(10, policy, () => 0.5)).toBe(500);
    expect(backoffDelay(3, policy, () => 0)).toBe(0);
  });
});
