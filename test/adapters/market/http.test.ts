import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  formatFieldPath,
  MarketHttpClient,
  MarketHttpError,
  MinIntervalRateLimiter,
  parseRetryAfter,
  USER_AGENT,
} from '../../../lib/adapters/market/http.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';
import { json, scriptedFetch, unitHttp } from './fake-fetch.ts';

const schema = z.object({ result: z.object({ close: z.array(z.number()) }) });

function client(handler: Parameters<typeof scriptedFetch>[0], timeoutMs = 1_000) {
  const scripted = scriptedFetch(handler);
  const http = unitHttp(scripted.fetch);
  return {
    ...scripted,
    waits: http.waits,
    client: new MarketHttpClient({ ...http.options, venue: 'testvenue', timeoutMs }),
  };
}

const request = { path: '/api/v1/candles', query: { symbol: 'BTCX' }, schema, instrument: 'BTC' };

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates, and ignores junk', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:27:58 GMT');
    expect(parseRetryAfter('1', now)).toBe(1_000);
    expect(parseRetryAfter(' 2.5 ', now)).toBe(2_500);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', now)).toBe(2_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:27:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe('formatFieldPath', () => {
  it('writes zod paths as a reader would', () => {
    expect(formatFieldPath(['result', 'close', 3])).toBe('result.close[3]');
    expect(formatFieldPath([2, 4])).toBe('[2][4]');
    expect(formatFieldPath([])).toBe('(root)');
  });
});

describe('MarketHttpClient', () => {
  it('sends the query, a qmt User-Agent and returns the validated body', async () => {
    const { client: http, requests } = client(() => json({ result: { close: [1, 2] } }));
    await expect(http.getJson(request)).resolves.toEqual({ result: { close: [1, 2] } });
    expect(requests[0]?.url.toString()).toBe('http://venue.test/api/v1/candles?symbol=BTCX');
    expect(requests[0]?.headers.get('user-agent')).toBe(USER_AGENT);
    expect(USER_AGENT).toMatch(/^qmt\/\d+\.\d+\.\d+/);
  });

  it('retries a 429 no sooner than its Retry-After, then succeeds', async () => {
    const { client: http, waits } = client((_url, call) =>
      call === 1
        ? json({ message: 'slow down' }, { status: 429, headers: { 'retry-after': '3' } })
        : json({ result: { close: [1] } }),
    );
    await expect(http.getJson(request)).resolves.toEqual({ result: { close: [1] } });
    expect(waits).toEqual([3_000]);
  });

  it('retries 5xx and gives up after the policy’s attempts with a MarketSourceError', async () => {
    const { client: http, requests } = client(() => new Response('upstream down', { status: 503 }));
    const error = await http.getJson(request).catch((e: unknown) => e);
    expect(requests).toHaveLength(3);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect(error).toMatchObject({
      venue: 'testvenue',
      instrument: 'BTC',
      status: 503,
      urlPath: '/api/v1/candles',
    });
    expect((error as Error).message).toMatch(/HTTP 503: upstream down.*gave up after 3 attempts/);
  });

  it('does not retry other 4xx', async () => {
    const { client: http, requests } = client(() =>
      json({ code: -1121, msg: 'Invalid symbol.' }, { status: 400 }),
    );
    await expect(http.getJson(request)).rejects.toThrow(/HTTP 400: \{"code":-1121,"msg":"Invalid symbol."\}/);
    expect(requests).toHaveLength(1);
  });

  it('quotes a long error body cut at a word boundary, never mid-word', async () => {
    // Prepare: an HTML error page far longer than the snippet.
    const words = Array.from({ length: 80 }, (_, i) => `word${i}`).join(' ');
    const { client: http } = client(() => new Response(`<html> ${words} </html>`, { status: 400 }));
    // Act
    const error = await http.getJson(request).then(
      () => new Error('expected the request to fail'),
      (e: unknown) => e as Error,
    );
    // Assess
    const snippet = /HTTP 400: (.*)$/.exec(error.message)?.[1] ?? '';
    expect(snippet.endsWith('…')).toBe(true);
    expect(snippet.length).toBeLessThanOrEqual(200);
    expect(snippet.slice(0, -1)).toMatch(/ word\d+$/);
    expect(`<html> ${words}`.startsWith(`${snippet.slice(0, -1)} `)).toBe(true);
  });

  it('retries network errors', async () => {
    const { client: http, requests } = client((_url, call) => {
      if (call === 1) throw new TypeError('fetch failed', { cause: new Error('socket hang up') });
      return json({ result: { close: [] } });
    });
    await expect(http.getJson(request)).resolves.toEqual({ result: { close: [] } });
    expect(requests).toHaveLength(2);
  });

  it('times out a response that never comes, retries, then fails naming the timeout', async () => {
    const never = (_url: URL, _call: number, init: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const { client: http, requests } = client(never, 30);
    const error = await http.getJson(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketHttpError);
    expect((error as Error).message).toMatch(/timed out after 30 ms.*gave up after 3 attempts/);
    expect(requests).toHaveLength(3);
  });

  it('does not retry when the caller aborts, and rethrows the caller’s reason', async () => {
    const controller = new AbortController();
    const { client: http, requests } = client((_url, _call, init) => {
      controller.abort(new Error('shutting down'));
      return Promise.reject(init.signal?.reason);
    });
    await expect(http.getJson({ ...request, signal: controller.signal })).rejects.toThrow('shutting down');
    expect(requests).toHaveLength(1);
  });

  it('names venue, instrument and path for a body that is not JSON, without retrying', async () => {
    const { client: http, requests } = client(
      () => new Response('<html>maintenance</html>', { status: 200 }),
    );
    const error = await http.getJson(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toBe(
      'testvenue BTC: GET /api/v1/candles returned a body that is not JSON: <html>maintenance</html>',
    );
    expect(requests).toHaveLength(1);
  });

  it('names the field path of a body of the wrong shape', async () => {
    const { client: http } = client(() => json({ result: { close: [1, '2'] } }));
    const error = await http.getJson(request).catch((e: unknown) => e);
    expect(error).toMatchObject({ fieldPath: 'result.close[1]', venue: 'testvenue', instrument: 'BTC' });
    expect((error as Error).message).toMatch(
      /^testvenue BTC: GET \/api\/v1\/candles returned a malformed body at result\.close\[1\]: .*expected number/,
    );
  });

  it('lets a venue envelope decide retries even with HTTP 200', async () => {
    const scripted = scriptedFetch((_url, call) =>
      call === 1 ? json({ error: ['busy'] }) : json({ result: { close: [5] } }),
    );
    const http = unitHttp(scripted.fetch);
    const venueHttp = new MarketHttpClient({
      ...http.options,
      venue: 'testvenue',
      inspectBody: (body) =>
        typeof body === 'object' && body !== null && 'error' in body
          ? { message: 'busy', retryable: true, retryAfterMs: 700 }
          : undefined,
    });
    await expect(venueHttp.getJson(request)).resolves.toEqual({ result: { close: [5] } });
    expect(http.waits).toEqual([700]);
  });
});

describe('MinIntervalRateLimiter', () => {
  it('spaces concurrent requests by the minimum interval', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const limiter = new MinIntervalRateLimiter(100, {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    expect(waits).toEqual([100, 200]);
    now = 2_000;
    await limiter.acquire();
    expect(waits).toEqual([100, 200]);
  });
});

describe('pacing under a stalled event loop (issue 16: the exchange-scale bench)', () => {
  it('spaces the actual starts, not the reserved slots, when timers fire late', async () => {
    let now = 1_000;
    const timers: { due: number; fire: () => void }[] = [];
    const limiter = new MinIntervalRateLimiter(100, {
      now: () => now,
      sleep: (ms) => new Promise<void>((resolve) => timers.push({ due: now + ms, fire: resolve })),
    });
    const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
    // Run the timers due by `time`, in order, as the event loop does when it wakes at `time`.
    const wakeAt = async (time: number) => {
      now = time;
      for (;;) {
        await flush();
        const due = timers.filter((t) => t.due <= now).sort((a, b) => a.due - b.due);
        if (due.length === 0) return;
        for (const timer of due) {
          timers.splice(timers.indexOf(timer), 1);
          timer.fire();
        }
      }
    };
    const starts: number[] = [];
    const done = Promise.all([1, 2, 3, 4].map(() => limiter.acquire().then(() => starts.push(now))));
    await flush();
    // Model CPU work blocks the loop from 1,000 to 1,500 ms: the 1,100 and 1,200 ms slots are missed.
    await wakeAt(1_500);
    for (let time = 1_600; starts.length < 4; time += 100) await wakeAt(time);
    await done;
    expect(starts[0]).toBe(1_000);
    // Three requests at 1,500 ms would be a burst the venue counts; one per interval from the wake-up is not.
    expect(starts.slice(1)).toEqual([1_500, 1_600, 1_700]);
  });

  it('does not count the time queued behind the venue limiter against the retry deadline', async () => {
    let now = 0;
    const scripted = scriptedFetch((_url, call) =>
      call === 1
        ? json({ message: 'slow down' }, { status: 429, headers: { 'retry-after': '1' } })
        : json({ result: { close: [7] } }),
    );
    const http = new MarketHttpClient({
      venue: 'testvenue',
      baseUrl: 'http://venue.test',
      fetch: scripted.fetch,
      retryPolicy: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 10, deadlineMs: 30_000 },
      retryHooks: {
        now: () => now,
        sleep: async (ms) => {
          now += ms;
        },
        random: () => 0,
      },
      // 300 instruments queue their first chunk for one venue: this one's turn comes after two minutes.
      rateLimiter: {
        acquire: async () => {
          now += 120_000;
        },
      },
    });
    await expect(http.getJson(request)).resolves.toEqual({ result: { close: [7] } });
    expect(scripted.requests).toHaveLength(2);
  });
});

describe('instrument by instrument (issue 16: models run while later candles are still paced)', () => {
  /** A venue that pages: each instrument asks for its pages one after another, as the adapters do. */
  function pagingVenue(failing?: string) {
    const scripted = scriptedFetch((url) =>
      url.searchParams.get('symbol') === failing
        ? json({ message: 'unknown symbol' }, { status: 400 })
        : json({ result: { close: [1] } }),
    );
    const limiter = new MinIntervalRateLimiter(15);
    const http = new MarketHttpClient({
      venue: 'testvenue',
      baseUrl: 'http://venue.test',
      fetch: scripted.fetch,
      rateLimiter: limiter,
    });
    const finished: string[] = [];
    const candles = async (instrument: string, pages: number) => {
      for (let page = 0; page < pages; page++) {
        await http.getJson({ ...request, query: { symbol: instrument, page }, instrument });
      }
      finished.push(instrument);
    };
    const order = () => scripted.requests.map((r) => r.url.searchParams.get('symbol'));
    return { candles, finished, order };
  }

  it("serves an instrument's next page before a later instrument's first, so instruments finish one by one", async () => {
    const venue = pagingVenue();
    await Promise.all(['AAA', 'BBB', 'CCC'].map((instrument) => venue.candles(instrument, 3)));
    // In arrival order every instrument's pages would interleave (AAA BBB CCC AAA …), all finishing at the end.
    expect(venue.order()).toEqual(['AAA', 'AAA', 'AAA', 'BBB', 'BBB', 'BBB', 'CCC', 'CCC', 'CCC']);
    expect(venue.finished).toEqual(['AAA', 'BBB', 'CCC']);
  });

  it("one instrument's failure blocks none of the others", async () => {
    const venue = pagingVenue('BBB');
    const results = await Promise.allSettled(
      ['AAA', 'BBB', 'CCC'].map((instrument) => venue.candles(instrument, 3)),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(venue.order()).toEqual(['AAA', 'AAA', 'AAA', 'BBB', 'CCC', 'CCC', 'CCC']);
  });

  it('keeps the spacing, and a caller that gave up leaves the queue moving for the others', async () => {
    let now = 1_000;
    const waits: number[] = [];
    const limiter = new MinIntervalRateLimiter(100, {
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    const gaveUp = new AbortController();
    const served: string[] = [];
    const ask = (name: string, instrument: string, signal?: AbortSignal) =>
      limiter.acquire(signal, instrument).then(() => served.push(name));
    const all = Promise.allSettled([
      ask('a1', 'A'),
      ask('b1', 'B', gaveUp.signal),
      ask('c1', 'C'),
      ask('a2', 'A'),
    ]);
    gaveUp.abort(new Error('timed out'));
    const settled = await all;
    expect(served).toEqual(['a1', 'a2', 'c1']);
    expect(settled[1]).toMatchObject({ status: 'rejected', reason: new Error('timed out') });
    expect(waits).toEqual([100, 100]);
  });
});

describe('instrument by instrument, but no instrument ahead for ever', () => {
  it("takes a request long after its instrument's previous one in arrival order (marks polled each minute)", async () => {
    let now = 1_000;
    const limiter = new MinIntervalRateLimiter(100, {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    });
    const served: string[] = [];
    const ask = (name: string, instrument: string) =>
      limiter.acquire(undefined, instrument).then(() => served.push(name));
    await ask('a1', 'A');
    // A minute later: C keeps the queue busy, B asks, then A asks again. A's first page is long gone: its
    // new request is not the next page of that run, and waits its turn behind B.
    now += 60_000;
    await Promise.all([ask('c1', 'C'), ask('b1', 'B'), ask('a2', 'A')]);
    expect(served).toEqual(['a1', 'c1', 'b1', 'a2']);
    // A's next page, asked at once, is that run's: it goes before instruments that asked first, as D's does.
    await Promise.all([ask('d1', 'D'), ask('e1', 'E'), ask('a3', 'A'), ask('d2', 'D')]);
    expect(served.slice(4)).toEqual(['a3', 'd1', 'd2', 'e1']);
  });
});
