// A clock that only moves when the code under test sleeps, so retry tests run instantly.
import type { RetryHooks } from '../../../lib/adapters/retry.ts';

export function fakeTime(start = Date.parse('2026-11-24T00:05:00Z')) {
  let now = start;
  const waits: number[] = [];
  const hooks: RetryHooks = {
    now: () => now,
    sleep: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
  return {
    hooks,
    waits,
    elapsed: () => now - start,
  };
}
