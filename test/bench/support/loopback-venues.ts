/**
 * Loopback venues at exchange scale, for `npm run bench -- exchange-scale`: Deribit, Binance and Coinbase on
 * 127.0.0.1, each speaking its daily-candle API in the shapes the adapters parse (market-apis.md), over
 * hundreds of synthetic instruments, each with its own listing day. Each venue enforces its documented
 * public rate limit and answers HTTP 429 with `Retry-After` when a client exceeds it:
 *
 * - Deribit: credits, 500 a request, a pool of 50,000 refilling at 10,000/s (20 req/s, bursts of 100);
 * - Binance: 6,000 request weight per minute (a fixed window per clock minute), klines weight 2;
 * - Coinbase: a lazily filled token bucket, 10 req/s, bursts of 15.
 *
 * The servers run in a worker thread (`loopback-venues-worker.ts`), so the process under test stalling its
 * own event loop (the models are CPU work) cannot hide a burst of requests from the venues' clocks.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import type { InstrumentCatalogue } from '../../../lib/config/instruments.ts';
import { seededRandom } from '../../../lib/domain/math/random.ts';

export const DAY_MS = 86_400_000;

export type LoopbackVenue = 'deribit' | 'binance' | 'coinbase';
export const LOOPBACK_VENUES: readonly LoopbackVenue[] = ['deribit', 'binance', 'coinbase'];

/** One synthetic instrument: its qmt symbol, first listed day and price path parameters. */
export interface SyntheticInstrument {
  readonly symbol: string;
  readonly listedAt: number;
  readonly startPrice: number;
  readonly annualVolatility: number;
  readonly seed: number;
}

export interface VenueCounts {
  requests: number;
  throttled: number;
  /** Most requests that arrived in any one second (sliding, by arrival time). */
  peakPerSecond: number;
}

export type VenueStats = Record<LoopbackVenue, VenueCounts>;

/**
 * `count` instruments named `X001`…, listed between 120 days and 11 years before `asOf`, so that some have
 * less history than a policy's lookback, most less than the ten years a run asks for, and a few more.
 */
export function syntheticInstruments(count: number, asOf: number): SyntheticInstrument[] {
  return Array.from({ length: count }, (_, i) => {
    const historyDays = 120 + ((i * 389) % 3900);
    return {
      symbol: `X${String(i + 1).padStart(3, '0')}`,
      listedAt: Math.floor(asOf / DAY_MS) * DAY_MS - historyDays * DAY_MS,
      startPrice: 0.5 + ((i * 7919) % 50_000) / 10,
      annualVolatility: 0.4 + ((i * 53) % 97) / 97,
      seed: 10_000 + i,
    };
  });
}

/** The catalogue naming each synthetic instrument on the three venues, as the venues list them. */
export function syntheticCatalogue(instruments: readonly SyntheticInstrument[]): InstrumentCatalogue {
  return Object.fromEntries(
    instruments.map(({ symbol }) => [
      symbol,
      {
        deribit: { instrument: `${symbol}-PERPETUAL` },
        binance: { symbol: `${symbol}USDT` },
        coinbase: { productId: `${symbol}-USD` },
      },
    ]),
  );
}

interface Bar {
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

/** Daily bars from the listing day to `lastDay` (inclusive): a seeded log-normal walk, fixed per instrument. */
function pathOf(instrument: SyntheticInstrument, lastDay: number): Bar[] {
  const random = seededRandom(instrument.seed);
  const sigma = instrument.annualVolatility / Math.sqrt(365);
  const bars: Bar[] = [];
  let close = instrument.startPrice;
  for (let time = instrument.listedAt; time <= lastDay; time += DAY_MS) {
    const open = close;
    // Box–Muller: a normal daily return.
    const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    close = Math.max(1e-6, open * Math.exp(sigma * z - (sigma * sigma) / 2));
    const spread = 1 + sigma * (0.3 + random());
    bars.push({
      time,
      open,
      high: Math.max(open, close) * spread,
      low: Math.min(open, close) / spread,
      close,
      volume: 1_000_000 * (1 + random()),
    });
  }
  return bars;
}

/** Venues quote in slightly different currencies (USD, USDT, USDC): within the consensus tolerance. */
const VENUE_FACTOR: Record<LoopbackVenue, number> = { deribit: 1, binance: 1.0004, coinbase: 0.9997 };

const round = (value: number) => Number(value.toPrecision(10));

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A venue's limit: `take` answers whether a request arriving at `now` may pass, or how long to wait. */
interface Limit {
  take(now: number): { ok: true } | { ok: false; retryAfterS: number };
}

function tokenBucket(capacity: number, perSecond: number, cost: number): Limit {
  let tokens = capacity;
  let at = 0;
  return {
    take(now) {
      tokens = Math.min(capacity, tokens + ((now - at) / 1000) * perSecond);
      at = now;
      if (tokens >= cost) {
        tokens -= cost;
        return { ok: true };
      }
      return { ok: false, retryAfterS: Math.max(1, Math.ceil((cost - tokens) / perSecond)) };
    },
  };
}

function weightPerMinute(limit: number, weight: number): Limit {
  let minute = -1;
  let used = 0;
  return {
    take(now) {
      const current = Math.floor(now / 60_000);
      if (current !== minute) {
        minute = current;
        used = 0;
      }
      if (used + weight <= limit) {
        used += weight;
        return { ok: true };
      }
      return { ok: false, retryAfterS: Math.max(1, Math.ceil(((current + 1) * 60_000 - now) / 1000)) };
    },
  };
}

export interface VenueServers {
  readonly baseUrls: Readonly<Record<LoopbackVenue, string>>;
  setNow(now: number): void;
  stats(): VenueStats;
  reset(): void;
  close(): Promise<void>;
}

/**
 * The three venues in this thread (the worker calls this). The venues' "now" is set by the caller: a day's
 * bars exist once the day has opened (the current day's bar is open, as on a real venue).
 */
export async function serveVenues(instruments: readonly SyntheticInstrument[]): Promise<VenueServers> {
  let now = Date.now();
  const paths = new Map<string, Bar[]>();
  const bySymbol = new Map(instruments.map((i) => [i.symbol, i]));
  const barsOf = (symbol: string): Bar[] | undefined => {
    const instrument = bySymbol.get(symbol);
    if (!instrument) return undefined;
    const lastDay = Math.floor(now / DAY_MS) * DAY_MS;
    let path = paths.get(symbol);
    if (!path || (path[path.length - 1]?.time ?? 0) < lastDay) {
      path = pathOf(instrument, lastDay + 30 * DAY_MS);
      paths.set(symbol, path);
    }
    return path.filter((bar) => bar.time <= lastDay);
  };
  const inDays = (bars: Bar[], from: number, to: number, factor: number) =>
    bars
      .filter((b) => b.time >= from && b.time <= to)
      .map((b) => ({
        ...b,
        open: round(b.open * factor),
        high: round(b.high * factor),
        low: round(b.low * factor),
        close: round(b.close * factor),
      }));

  const counts = (): VenueCounts => ({ requests: 0, throttled: 0, peakPerSecond: 0 });
  let stats: VenueStats = { deribit: counts(), binance: counts(), coinbase: counts() };
  const arrivals: Record<LoopbackVenue, number[]> = { deribit: [], binance: [], coinbase: [] };
  const limits: Record<LoopbackVenue, Limit> = {
    deribit: tokenBucket(50_000, 10_000, 500),
    binance: weightPerMinute(6_000, 2),
    coinbase: tokenBucket(15, 10, 1),
  };

  const deribit = (q: URLSearchParams, res: ServerResponse) => {
    const name = q.get('instrument_name') ?? '';
    const bars = name.endsWith('-PERPETUAL') ? barsOf(name.slice(0, -'-PERPETUAL'.length)) : undefined;
    if (!bars || q.get('resolution') !== '1D') {
      send(res, 400, { jsonrpc: '2.0', error: { code: -32602, message: 'Invalid params' } });
      return;
    }
    const rows = inDays(bars, Number(q.get('start_timestamp')), Number(q.get('end_timestamp')), 1);
    if (rows.length === 0) {
      send(res, 200, { jsonrpc: '2.0', result: { status: 'no_data' } });
      return;
    }
    send(res, 200, {
      jsonrpc: '2.0',
      result: {
        status: 'ok',
        ticks: rows.map((b) => b.time),
        open: rows.map((b) => b.open),
        high: rows.map((b) => b.high),
        low: rows.map((b) => b.low),
        close: rows.map((b) => b.close),
        volume: rows.map((b) => round(b.volume / b.close)),
        cost: rows.map((b) => round(b.volume)),
      },
    });
  };

  const binance = (q: URLSearchParams, res: ServerResponse) => {
    const symbol = q.get('symbol') ?? '';
    const bars = symbol.endsWith('USDT') ? barsOf(symbol.slice(0, -4)) : undefined;
    const limit = Number(q.get('limit') ?? 500);
    if (!bars) {
      send(res, 400, { code: -1121, msg: 'Invalid symbol.' });
      return;
    }
    if (q.get('interval') !== '1d' || limit > 1_000) {
      send(res, 400, { code: -1130, msg: 'Data sent for parameter is not valid.' });
      return;
    }
    const rows = inDays(
      bars,
      Number(q.get('startTime') ?? 0),
      Number(q.get('endTime') ?? now),
      VENUE_FACTOR.binance,
    ).slice(0, limit);
    send(
      res,
      200,
      rows.map((b) => [
        b.time,
        String(b.open),
        String(b.high),
        String(b.low),
        String(b.close),
        String(round(b.volume / b.close)),
        b.time + DAY_MS - 1,
        String(round(b.volume)),
        1234,
        '0',
        '0',
        '0',
      ]),
    );
  };

  const coinbase = (productId: string, q: URLSearchParams, res: ServerResponse) => {
    const bars = productId.endsWith('-USD') ? barsOf(productId.slice(0, -4)) : undefined;
    if (!bars) {
      send(res, 404, { message: 'NotFound' });
      return;
    }
    const start = Date.parse(q.get('start') ?? '');
    const end = Date.parse(q.get('end') ?? '');
    if (q.get('granularity') !== '86400' || Number.isNaN(start) || Number.isNaN(end)) {
      send(res, 400, { message: 'Unsupported granularity' });
      return;
    }
    if ((end - start) / DAY_MS > 300) {
      send(res, 400, {
        message:
          'granularity too small for the requested time range. Count of aggregations requested exceeds 300',
      });
      return;
    }
    const rows = inDays(bars, start, end, VENUE_FACTOR.coinbase).reverse();
    send(
      res,
      200,
      rows.map((b) => [b.time / 1_000, b.low, b.high, b.open, b.close, round(b.volume / b.close)]),
    );
  };

  const servers: Server[] = [];
  const baseUrls = {} as Record<LoopbackVenue, string>;
  for (const venue of LOOPBACK_VENUES) {
    const serve = (req: IncomingMessage, res: ServerResponse) => {
      const arrived = performance.timeOrigin + performance.now();
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const venueStats = stats[venue];
      venueStats.requests += 1;
      const window = arrivals[venue];
      window.push(arrived);
      while ((window[0] ?? arrived) <= arrived - 1_000) window.shift();
      venueStats.peakPerSecond = Math.max(venueStats.peakPerSecond, window.length);
      const verdict = limits[venue].take(arrived);
      if (!verdict.ok) {
        venueStats.throttled += 1;
        const headers = { 'retry-after': String(verdict.retryAfterS) };
        if (venue === 'deribit') {
          send(res, 429, { jsonrpc: '2.0', error: { code: 10028, message: 'too_many_requests' } }, headers);
        } else if (venue === 'binance') {
          send(res, 429, { code: -1003, msg: 'Too many requests; please use the websocket.' }, headers);
        } else {
          send(res, 429, { message: 'Public rate limit exceeded' }, headers);
        }
        return;
      }
      if (venue === 'deribit' && url.pathname === '/api/v2/public/get_tradingview_chart_data') {
        deribit(url.searchParams, res);
      } else if (venue === 'binance' && url.pathname === '/api/v3/klines') {
        binance(url.searchParams, res);
      } else {
        const match = /^\/products\/([^/]+)\/candles$/.exec(url.pathname);
        if (venue === 'coinbase' && match?.[1]) coinbase(decodeURIComponent(match[1]), url.searchParams, res);
        else send(res, 404, { message: `no route ${url.pathname}` });
      }
    };
    const server = createServer({ keepAlive: true }, serve);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    servers.push(server);
    const { port } = server.address() as AddressInfo;
    baseUrls[venue] = venue === 'deribit' ? `http://127.0.0.1:${port}/api/v2` : `http://127.0.0.1:${port}`;
  }

  return {
    baseUrls,
    setNow: (time) => {
      now = time;
    },
    stats: () => structuredClone(stats),
    reset: () => {
      stats = { deribit: counts(), binance: counts(), coinbase: counts() };
      for (const venue of LOOPBACK_VENUES) arrivals[venue].length = 0;
    },
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

/**
 * CPU-seconds (user + system) of the calling thread, from `/proc/thread-self/stat` (Linux; clock ticks of
 * 1/100 s, the kernel's USER_HZ): what the venues' worker thread, or the thread under test, has used.
 * Undefined where the file is not there. Node 20 has no per-thread `cpuUsage`.
 */
export function threadCpuSeconds(): number | undefined {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name (which may hold spaces), from field 3: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

type Reply = { id: number; value?: unknown; error?: string };

/**
 * The venues in a worker thread, driven by messages. `setNow`, `stats` and `reset` are asynchronous here.
 *
 * @example
 * const venues = await startLoopbackVenues(syntheticInstruments(300, asOf));
 * await venues.setNow(asOf); … ; const stats = await venues.stats(); await venues.close();
 */
export async function startLoopbackVenues(instruments: readonly SyntheticInstrument[]) {
  // The bench runs under tsx, whose loader a worker does not inherit: the worker registers it first.
  const entry = new URL('./loopback-venues-worker.ts', import.meta.url).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); });`,
    { eval: true, workerData: { instruments } },
  );
  let next = 0;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter?.reject(new Error(reply.error));
    else waiter?.resolve(reply.value);
  });
  worker.on('error', (error) => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  const call = (op: string, arg?: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, arg });
    });
  const baseUrls = (await call('start')) as Record<LoopbackVenue, string>;
  return {
    baseUrls,
    setNow: async (now: number) => {
      await call('setNow', now);
    },
    stats: async () => (await call('stats')) as VenueStats,
    /** CPU-seconds the venues' worker thread has used (undefined off Linux). */
    cpuSeconds: async () => (await call('cpu')) as number | undefined,
    reset: async () => {
      await call('reset');
    },
    close: async () => {
      await call('close');
      await worker.terminate();
    },
  };
}
