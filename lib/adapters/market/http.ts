/**
 * A small JSON GET client shared by the exchange adapters: one per venue, so every venue times out, backs
 * off, honours `Retry-After`, paces itself and reports malformed bodies the same way.
 */
import type { z } from 'zod';
import { MarketSourceError } from '../../domain/errors.ts';
import { cutAtWord } from '../../domain/text.ts';
import { QMT_VERSION } from '../../version.ts';
import {
  DEFAULT_RETRY_POLICY,
  type RetryDecision,
  type RetryHooks,
  type RetryPolicy,
  sleep,
  withRetry,
} from '../retry.ts';

/** Sent on every request: venues ask for an identifiable client, and Coinbase rejects requests without one. */
export const USER_AGENT = `qmt/${QMT_VERSION}`;

/** Default per-request timeout. A daily-candle page is small; a venue slower than this is unhealthy. */
export const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Minimum spacing between two requests to one venue, from the public limits in market-apis.md:
 * Deribit ~20 req/s sustained, Binance 6,000 weight/min at weight 2 per klines call (50 req/s),
 * Coinbase 10 req/s, Kraken ≤ 1 req/s for public endpoints.
 */
export const VENUE_MIN_INTERVAL_MS = {
  deribit: 50,
  binance: 20,
  coinbase: 100,
  kraken: 1_000,
} as const satisfies Record<string, number>;

export type VenueId = keyof typeof VENUE_MIN_INTERVAL_MS;

/** Anything that paces requests; `acquire` resolves when the next request may go. */
export interface RateLimiter {
  /**
   * @param instrument what the request is for: a limiter may let an instrument that is already being served
   *   go before instruments that came later, so that instruments finish one after another.
   */
  acquire(signal?: AbortSignal, instrument?: string): Promise<void>;
}

/**
 * How soon after an instrument's request went its next one still counts as the next page (the response's
 * time and parsing, on an event loop busy with models). Later, it takes its turn in arrival order: marks
 * polled once a minute must not rank every instrument as it ranked the first time, or the last instruments
 * of an overloaded queue would wait behind the first ones' next polls for ever.
 */
const NEXT_PAGE_WITHIN_MS = 15_000;

interface Waiter {
  /** Its place in the queue: the arrival of the first page of the instrument's run of pages. */
  readonly rank: number;
  readonly instrument: string | undefined;
  readonly resolve: () => void;
  readonly reject: (reason: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/**
 * Keeps at least `minIntervalMs` between the starts of consecutive requests. Concurrent callers queue and
 * are let through one at a time, each `minIntervalMs` after the previous one actually went: a timer that
 * fires late (the event loop busy with model work) delays the queue rather than releasing a burst of the
 * slots it missed, which the venue would count as one.
 *
 * The queue serves an instrument's next page before an instrument that asked later: a request made within
 * `NEXT_PAGE_WITHIN_MS` of its instrument's previous one going (or while that one waits) takes the place of
 * the instrument's first page. A recalibration starts every instrument at once and each venue pages an
 * instrument one request after another; served in arrival order, every instrument would wait behind every
 * other's pages and all would finish at the very end, so the models could not run while later candles are
 * still being paced. Any other request (none named, or a new run of pages) keeps its arrival order.
 *
 * @example
 * const limiter = new MinIntervalRateLimiter(1_000); // Kraken: one public call per second
 * await limiter.acquire();
 */
export class MinIntervalRateLimiter implements RateLimiter {
  private lastStart = Number.NEGATIVE_INFINITY;
  /** Waiting requests, best first: by rank, then arrival. */
  private waiting: Waiter[] = [];
  /** Per instrument: the rank of its current run of pages, and when its last request went (undefined: waiting). */
  private readonly runs = new Map<string, { rank: number; wentAt: number | undefined }>();
  private nextRank = 0;
  private serving = false;

  constructor(
    readonly minIntervalMs: number,
    private readonly clock: {
      readonly now?: () => number;
      readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
    } = {},
  ) {}

  acquire(signal?: AbortSignal, instrument?: string): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = (this.clock.now ?? Date.now)();
    const run = instrument === undefined ? undefined : this.runs.get(instrument);
    let rank: number;
    if (run && (run.wentAt === undefined || now - run.wentAt <= NEXT_PAGE_WITHIN_MS)) {
      rank = run.rank;
      run.wentAt = undefined;
    } else {
      rank = this.nextRank++;
      if (instrument !== undefined) this.runs.set(instrument, { rank, wentAt: undefined });
    }
    return new Promise<void>((resolve, reject) => {
      // A caller that gave up (aborted) leaves the queue, which keeps moving for the others.
      const onAbort = () => {
        this.waiting = this.waiting.filter((w) => w !== waiter);
        // Its run of pages ends here unless its next request follows soon, as if this one had gone.
        const own = instrument === undefined ? undefined : this.runs.get(instrument);
        if (own?.rank === rank && own.wentAt === undefined) own.wentAt = (this.clock.now ?? Date.now)();
        reject(signal?.reason);
      };
      const waiter: Waiter = { rank, instrument, resolve, reject, signal, onAbort };
      signal?.addEventListener('abort', onAbort, { once: true });
      let at = this.waiting.length;
      while (at > 0 && (this.waiting[at - 1] as Waiter).rank > rank) at--;
      this.waiting.splice(at, 0, waiter);
      if (!this.serving) void this.serve();
    });
  }

  private async serve(): Promise<void> {
    this.serving = true;
    const now = this.clock.now ?? Date.now;
    try {
      while (this.waiting.length > 0) {
        const wait = this.lastStart + this.minIntervalMs - now();
        if (wait > 0) await (this.clock.sleep ?? sleep)(wait);
        // The best waiting now: one that came during the wait may rank before the one that was first.
        const next = this.waiting.shift();
        if (!next) break;
        next.signal?.removeEventListener('abort', next.onAbort);
        // The start is when this request really goes, however late the timer fired.
        this.lastStart = Math.max(now(), this.lastStart + this.minIntervalMs);
        const run = next.instrument === undefined ? undefined : this.runs.get(next.instrument);
        if (run?.rank === next.rank) run.wentAt = this.lastStart;
        next.resolve();
      }
    } catch (error) {
      // Only an injected sleep can fail: fail the waiting rather than leave them hanging.
      for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    } finally {
      this.serving = false;
    }
  }
}

/** A limiter that never waits (tests, or a caller that paces requests itself). */
export const NO_RATE_LIMIT: RateLimiter = { acquire: async () => {} };

// The limits are per IP, so every source for a venue in this process shares one limiter by default.
const sharedLimiters = new Map<string, RateLimiter>();

/**
 * The process-wide limiter for `venue` at its documented rate.
 *
 * @example
 * const limiter = sharedRateLimiter('coinbase'); // 100 ms between requests
 */
export function sharedRateLimiter(venue: VenueId): RateLimiter {
  let limiter = sharedLimiters.get(venue);
  if (!limiter) {
    limiter = new MinIntervalRateLimiter(VENUE_MIN_INTERVAL_MS[venue]);
    sharedLimiters.set(venue, limiter);
  }
  return limiter;
}

export interface MarketHttpErrorDetails {
  readonly urlPath: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number | undefined;
  readonly status?: number | undefined;
  readonly fieldPath?: string | undefined;
}

/**
 * A venue request that failed: HTTP status, timeout, network error, venue error envelope or malformed body.
 * Extends `MarketSourceError`, so callers that hold a threshold on bad market data catch it unchanged.
 */
export class MarketHttpError extends MarketSourceError {
  /** Whether another attempt may succeed (throttling, 5xx, timeouts, network errors). */
  readonly retryable: boolean;
  /** Wait the venue asked for (Retry-After), in ms. */
  readonly retryAfterMs: number | undefined;
  /** The request's URL path (no host, no query). */
  readonly urlPath: string;
  readonly status: number | undefined;
  /** For a body that failed validation: where, e.g. `result.close[3]`. */
  readonly fieldPath: string | undefined;

  constructor(
    message: string,
    venue: string,
    instrument: string,
    details: MarketHttpErrorDetails,
    options?: ErrorOptions,
  ) {
    super(message, venue, instrument, options);
    this.name = 'MarketHttpError';
    this.retryable = details.retryable;
    this.retryAfterMs = details.retryAfterMs;
    this.urlPath = details.urlPath;
    this.status = details.status;
    this.fieldPath = details.fieldPath;
  }
}

/**
 * A `Retry-After` header as a wait in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when
 * absent or unreadable, so the caller falls back to its own backoff.
 *
 * @example
 * parseRetryAfter('2', Date.now()); // 2000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:58 GMT')); // 2000
 */
export function parseRetryAfter(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (value === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1_000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** A zod issue path in the reader's notation: `result.close[3]`, `[2][4]`. */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

/** What a venue's error envelope says, found in a body before schema validation (even with HTTP 200). */
export interface VenueBodyError {
  readonly message: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** Connection settings every venue source accepts; all optional, the defaults are production ones. */
export interface VenueHttpOptions {
  /** Venue base URL, e.g. `http://127.0.0.1:4000` in tests. @default the venue's public endpoint */
  readonly baseUrl?: string;
  /** Per-attempt timeout in ms, covering the body too. @default 10 000 */
  readonly timeoutMs?: number;
  /** @default DEFAULT_RETRY_POLICY (8 attempts, 30 s deadline) */
  readonly retryPolicy?: RetryPolicy;
  /** Clock, sleep, jitter and retry observer for the backoff (tests inject these). */
  readonly retryHooks?: Omit<RetryHooks, 'signal'>;
  /** @default the process-wide limiter for the venue at its documented rate */
  readonly rateLimiter?: RateLimiter;
  /** @default global fetch */
  readonly fetch?: FetchLike;
  /** @default `qmt/<package version>` */
  readonly userAgent?: string;
}

export interface MarketHttpClientConfig extends VenueHttpOptions {
  /** Venue name used in errors, e.g. `deribit`. */
  readonly venue: string;
  readonly baseUrl: string;
  /** Reads the venue's own error envelope (Deribit JSON-RPC `error`, Kraken `error[]`). */
  readonly inspectBody?: (body: unknown) => VenueBodyError | undefined;
}

export interface JsonGetRequest<S extends z.ZodType> {
  /** Path appended to the base URL, e.g. `/api/v3/klines`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number>>;
  readonly schema: S;
  /** The qmt instrument the request is for (named in errors). */
  readonly instrument: string;
  readonly signal?: AbortSignal | undefined;
}

const BODY_SNIPPET_CHARS = 200;

/**
 * GETs JSON from one venue with timeouts, retries and validation.
 *
 * @example
 * const client = new MarketHttpClient({ venue: 'binance', baseUrl: 'https://data-api.binance.vision' });
 * const rows = await client.getJson({ path: '/api/v3/klines', query: { symbol: 'BTCUSDT', interval: '1d' },
 *   schema: z.array(z.unknown()), instrument: 'BTC' });
 */
export class MarketHttpClient {
  readonly venue: string;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retryPolicy: RetryPolicy;
  private readonly retryHooks: Omit<RetryHooks, 'signal'>;
  private readonly rateLimiter: RateLimiter;
  private readonly fetchImpl: FetchLike;
  private readonly userAgent: string;
  private readonly inspectBody: ((body: unknown) => VenueBodyError | undefined) | undefined;

  constructor(config: MarketHttpClientConfig) {
    this.venue = config.venue;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = config.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.retryPolicy = config.retryPolicy ?? DEFAULT_RETRY_POLICY;
    this.retryHooks = config.retryHooks ?? {};
    this.rateLimiter = config.rateLimiter ?? NO_RATE_LIMIT;
    this.fetchImpl = config.fetch ?? ((input, init) => fetch(input, init));
    this.userAgent = config.userAgent ?? USER_AGENT;
    this.inspectBody = config.inspectBody;
  }

  /**
   * GET `path?query`, parse the body as JSON and validate it with `schema`. Retries 429, 5xx, timeouts,
   * network errors and retryable venue envelopes; any other failure, or the last retryable one, is thrown
   * as a `MarketHttpError` naming venue, instrument, URL path and (for a bad body) the field path.
   */
  async getJson<S extends z.ZodType>(request: JsonGetRequest<S>): Promise<z.output<S>> {
    const url = new URL(this.baseUrl + request.path);
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, String(value));
    let attempts = 0;
    // Waiting for the venue's own limiter is pacing, not failing: a request queued behind hundreds of others
    // keeps its whole retry deadline for the venue's answers.
    const clock = this.retryHooks.now ?? Date.now;
    let queuedMs = 0;
    const paced = async () => {
      const before = clock();
      await this.rateLimiter.acquire(request.signal, request.instrument);
      queuedMs += clock() - before;
    };
    const classify = (error: unknown): RetryDecision => {
      if (request.signal?.aborted) return { retry: false };
      if (error instanceof MarketHttpError && error.retryable) {
        return error.retryAfterMs === undefined
          ? { retry: true }
          : { retry: true, afterMs: error.retryAfterMs };
      }
      return { retry: false };
    };
    try {
      return await withRetry(
        async (attempt) => {
          attempts = attempt;
          await paced();
          return await this.attempt(url, request);
        },
        classify,
        this.retryPolicy,
        {
          ...this.retryHooks,
          now: () => clock() - queuedMs,
          ...(request.signal ? { signal: request.signal } : {}),
        },
      );
    } catch (error) {
      if (error instanceof MarketHttpError && attempts > 1) {
        throw new MarketHttpError(
          `${error.message} (gave up after ${attempts} attempts)`,
          error.venue,
          error.instrument,
          error,
          { cause: error },
        );
      }
      throw error;
    }
  }

  private async attempt<S extends z.ZodType>(url: URL, request: JsonGetRequest<S>): Promise<z.output<S>> {
    const { instrument, signal } = request;
    const urlPath = url.pathname;
    const fail = (message: string, details: Omit<MarketHttpErrorDetails, 'urlPath'>, cause?: unknown) =>
      new MarketHttpError(
        `${this.venue} ${instrument}: GET ${urlPath} ${message}`,
        this.venue,
        instrument,
        { urlPath, ...details },
        cause === undefined ? undefined : { cause },
      );

    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;

    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      // The body is read under the same signal, so a venue that stalls mid-body also times out.
      const response = await this.fetchImpl(url.toString(), {
        method: 'GET',
        headers: { accept: 'application/json', 'user-agent': this.userAgent },
        signal: combined,
      });
      status = response.status;
      retryAfter = response.headers.get('retry-after');
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) {
        throw fail(`timed out after ${this.timeoutMs} ms`, { retryable: true }, error);
      }
      const reason = error instanceof Error ? describeNetworkError(error) : String(error);
      throw fail(`failed: ${reason}`, { retryable: true }, error);
    }

    const parsed = parseJson(text);
    const venueError = parsed.ok ? this.inspectBody?.(parsed.value) : undefined;
    if (venueError) {
      throw fail(`returned a venue error (HTTP ${status}): ${venueError.message}`, {
        status,
        retryable: venueError.retryable,
        retryAfterMs: venueError.retryAfterMs,
      });
    }
    if (status < 200 || status > 299) {
      // An HTTP-date Retry-After is wall-clock time, so it is read against Date.now, not the (injectable)
      // clock that measures the retry deadline.
      const retryAfterMs = parseRetryAfter(retryAfter, Date.now());
      // 429 is throttling and 5xx a venue fault: both pass. Other 4xx (bad symbol, range too long, and
      // Binance's 418 IP ban, whose Retry-After runs to days) would fail the same way again.
      const retryable = status === 429 || status >= 500;
      throw fail(`returned HTTP ${status}: ${snippet(text)}`, { status, retryable, retryAfterMs });
    }
    if (!parsed.ok) {
      throw fail(
        `returned a body that is not JSON: ${snippet(text)}`,
        { status, retryable: false },
        parsed.error,
      );
    }
    const result = request.schema.safeParse(parsed.value);
    if (!result.success) {
      const [first, ...rest] = result.error.issues;
      const fieldPath = formatFieldPath(first?.path ?? []);
      const more = rest.length > 0 ? ` (and ${rest.length} more issue${rest.length > 1 ? 's' : ''})` : '';
      throw fail(
        `returned a malformed body at ${fieldPath}: ${first?.message ?? 'invalid'}${more}`,
        { status, retryable: false, fieldPath },
        result.error,
      );
    }
    return result.data;
  }
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: unknown } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error };
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return cutAtWord(flat, BODY_SNIPPET_CHARS);
}

// undici reports every network failure as `TypeError: fetch failed`; the useful part is in `cause`.
function describeNetworkError(error: Error): string {
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as Error & { code?: unknown }).code;
    return typeof code === 'string'
      ? `${error.message} (${code}: ${cause.message})`
      : `${error.message} (${cause.message})`;
  }
  return error.message;
}

/**
 * A client for `venue` with production defaults filled in: its public base URL and the process-wide
 * limiter at its documented rate.
 *
 * @example
 * const client = venueClient('kraken', 'https://api.kraken.com', { timeoutMs: 5_000 });
 */
export function venueClient(
  venue: VenueId,
  defaultBaseUrl: string,
  options: VenueHttpOptions,
  inspectBody?: (body: unknown) => VenueBodyError | undefined,
): MarketHttpClient {
  return new MarketHttpClient({
    ...options,
    venue,
    baseUrl: options.baseUrl ?? defaultBaseUrl,
    rateLimiter: options.rateLimiter ?? sharedRateLimiter(venue),
    ...(inspectBody ? { inspectBody } : {}),
  });
}
