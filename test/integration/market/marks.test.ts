// The venue mark sources over real loopback HTTP (real fetch, real timers): the four documented ticker
// shapes, a 429 whose Retry-After is measured at the server, and a stall past the timeout.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NO_RATE_LIMIT } from '../../../lib/adapters/market/http.ts';
import { createVenueMarkSources, MARK_VENUES } from '../../../lib/adapters/market/marks/index.ts';
import { MarketSourceError } from '../../../lib/domain/errors.ts';

type Fault = { readonly status: number; readonly retryAfter: string } | { readonly delayMs: number };

interface Loopback {
  readonly baseUrl: string;
  readonly hits: { path: string; at: number; userAgent: string | undefined }[];
  readonly faults: Map<string, Fault[]>;
  close(): Promise<void>;
}

// The venues' answers at `at` (ms), in the shapes of market-apis.md §5; BTC only, priced 60,000 ± a little.
function answer(path: string, query: URLSearchParams, at: number): unknown {
  if (path === '/deribit/api/v2/public/ticker') {
    const name = query.get('instrument_name');
    return {
      jsonrpc: '2.0',
      id: 1,
      result: {
        instrument_name: name,
        state: 'open',
        timestamp: at,
        index_price: 60_000.5,
        mark_price: 60_030,
      },
      usOut: at * 1_000,
    };
  }
  if (path === '/binance/fapi/v1/premiumIndex') {
    return {
      symbol: query.get('symbol'),
      markPrice: '60010.10000000',
      indexPrice: '60000.00000000',
      lastFundingRate: '0.00010000',
      nextFundingTime: at + 3_600_000,
      time: at,
    };
  }
  if (path === '/coinbase/products/BTC-USD/ticker') {
    return {
      ask: '60020.01',
      bid: '60020.00',
      price: '60020.00',
      size: '0.01',
      trade_id: 1,
      volume: '100',
      time: new Date(at).toISOString(),
    };
  }
  if (path === '/kraken/0/public/Ticker') {
    return {
      error: [],
      result: {
        XXBTZUSD: { a: ['60030.1', '1', '1.000'], b: ['60030.0', '1', '1.000'], c: ['60030.00000', '0.1'] },
      },
    };
  }
  return undefined;
}

async function startLoopback(): Promise<Loopback> {
  const hits: Loopback['hits'] = [];
  const faults = new Map<string, Fault[]>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const at = Date.now();
    hits.push({ path: url.pathname, at, userAgent: req.headers['user-agent'] });
    const reply = () => {
      const body = answer(url.pathname, url.searchParams, at);
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { message: 'NotFound' }));
    };
    const fault = faults.get(url.pathname)?.shift();
    if (fault === undefined) return reply();
    if ('delayMs' in fault) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) reply();
      }, fault.delayMs);
      timers.add(timer);
      return;
    }
    res.writeHead(fault.status, { 'content-type': 'application/json', 'retry-after': fault.retryAfter });
    res.end('{"code":-1003,"msg":"Too many requests"}');
  };
  const server = createServer(serve);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    hits,
    faults,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let loopback: Loopback;
beforeAll(async () => {
  loopback = await startLoopback();
});
afterEach(() => {
  loopback.hits.length = 0;
  loopback.faults.clear();
});
afterAll(async () => {
  await loopback.close();
});

function sources(timeoutMs = 2_000) {
  const base = loopback.baseUrl;
  return createVenueMarkSources(MARK_VENUES, {
    http: {
      rateLimiter: NO_RATE_LIMIT,
      timeoutMs,
      retryPolicy: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, deadlineMs: 10_000 },
    },
    baseUrls: {
      deribit: `${base}/deribit/api/v2`,
      binance: `${base}/binance`,
      coinbase: `${base}/coinbase`,
      kraken: `${base}/kraken`,
    },
  });
}

describe('venue mark sources over loopback HTTP', () => {
  it('reads all four venues’ BTC price in USD(T) per unit, each timed in ms near the request', async () => {
    const before = Date.now();
    const marks = await Promise.all(sources().map((source) => source.mark('BTC')));
    const after = Date.now();
    expect(marks.map(({ venue, price }) => [venue, price])).toEqual([
      ['deribit', 60_000.5],
      ['binance', 60_010.1],
      ['coinbase', 60_020],
      ['kraken', 60_030],
    ]);
    for (const mark of marks) {
      expect(mark.at).toBeGreaterThanOrEqual(before);
      expect(mark.at).toBeLessThanOrEqual(after);
    }
    expect(loopback.hits.every((hit) => hit.userAgent?.startsWith('qmt/'))).toBe(true);
  });

  it('waits the Retry-After second (measured at the server) after a 429, then succeeds', async () => {
    loopback.faults.set('/binance/fapi/v1/premiumIndex', [{ status: 429, retryAfter: '1' }]);
    const binance = sources()[1];
    const mark = await binance?.mark('BTC');
    expect(mark?.price).toBe(60_010.1);
    const [first, second] = loopback.hits;
    expect(second).toBeDefined();
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it('abandons a stalled answer at the timeout, retries, and fails naming the timeout if every one stalls', async () => {
    loopback.faults.set('/coinbase/products/BTC-USD/ticker', [{ delayMs: 2_000 }]);
    const coinbase = sources(200)[2];
    expect((await coinbase?.mark('BTC'))?.price).toBe(60_020);
    expect(loopback.hits).toHaveLength(2);

    loopback.faults.set('/kraken/0/public/Ticker', [
      { delayMs: 2_000 },
      { delayMs: 2_000 },
      { delayMs: 2_000 },
    ]);
    const error = await sources(200)[3]
      ?.mark('BTC')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MarketSourceError);
    expect((error as Error).message).toMatch(
      /kraken BTC: GET \/kraken\/0\/public\/Ticker timed out after 200 ms/,
    );
  });
});
