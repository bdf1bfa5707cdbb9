/**
 * Retry with capped exponential backoff and full jitter, bounded by attempts and a deadline.
 * Shared by every adapter that talks to AWS or an exchange, so they all back off the same way.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Give up once this much time has passed since the first attempt (ms). */
  readonly deadlineMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  deadlineMs: 30_000,
};

/** What the caller says about a failure: retry it (optionally no sooner than `afterMs`), or not. */
export type RetryDecision = { readonly retry: false } | { readonly retry: true; readonly afterMs?: number };

export interface RetryHooks {
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly now?: () => number;
  readonly random?: () => number;
  readonly signal?: AbortSignal;
  readonly onRetry?: (info: { attempt: number; delayMs: number; error: unknown }) => void;
}

/** Full-jitter delay before retry number `attempt` (1 = first retry). */
export function backoffDelay(
  attempt: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Run `operation` until it succeeds, `classify` says the failure is final, attempts run out, or the next
 * wait would pass the deadline. The last error is rethrown as is, so callers keep its type.
 *
 * @example
 * const body = await withRetry((attempt) => fetchJson(url), (err) => isThrottle(err) ? { retry: true } : { retry: false });
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  classify: (error: unknown) => RetryDecision,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
  hooks: RetryHooks = {},
): Promise<T> {
  const now = hooks.now ?? Date.now;
  const wait = hooks.sleep ?? sleep;
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const decision = classify(error);
      if (!decision.retry || attempt >= policy.maxAttempts) throw error;
      const delayMs = Math.max(decision.afterMs ?? 0, backoffDelay(attempt, policy, hooks.random));
      if (now() - started + delayMs > policy.deadlineMs) throw error;
      hooks.onRetry?.({ attempt, delayMs, error });
      await wait(delayMs, hooks.signal);
    }
  }
}
