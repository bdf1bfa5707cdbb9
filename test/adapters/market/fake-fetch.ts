/**
 * In-process stand-ins for the network in unit tests: a scripted `fetch` that records each request, and
 * retry hooks that record waits instead of sleeping.
 */
import type { FetchLike, VenueHttpOptions } from '../../../lib/adapters/market/http.ts';
import { NO_RATE_LIMIT } from '../../../lib/adapters/market/http.ts';
import type { RetryPolicy } from '../../../lib/adapters/retry.ts';

export interface RecordedRequest {
  readonly url: URL;
  readonly headers: Headers;
}

export type FetchHandler = (url: URL, call: number, init: RequestInit) => Response | Promise<Response>;

export function scriptedFetch(handler: FetchHandler) {
  const requests: RecordedRequest[] = [];
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(input);
    requests.push({ url, headers: new Headers(init.headers) });
    return handler(url, requests.length, init);
  };
  return { fetch, requests };
}

export function json(body: unknown, init: ResponseInit = {}): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    ...init,
    headers: { 'content-type': 'application/json', ...(init.headers as Record<string, string> | undefined) },
  });
}

export const FAST_RETRY: RetryPolicy = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 10,
  deadlineMs: 600_000,
};

/** Connection options for a unit test: no pacing, instant recorded backoff, scripted fetch. */
export function unitHttp(fetch: FetchLike, policy: RetryPolicy = FAST_RETRY) {
  const waits: number[] = [];
  const options: VenueHttpOptions & { baseUrl: string } = {
    baseUrl: 'http://venue.test',
    fetch,
    rateLimiter: NO_RATE_LIMIT,
    retryPolicy: policy,
    retryHooks: {
      sleep: async (ms: number) => {
        waits.push(ms);
      },
      random: () => 0,
    },
  };
  return { options, waits };
}

export const day = (iso: string): number => Date.parse(`${iso}T00:00:00Z`);
