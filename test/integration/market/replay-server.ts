/**
 * A loopback HTTP server that plays Deribit, Binance, Coinbase and Kraken: the documented response shapes
 * (market-apis.md) over synthetic daily prices, with each venue's own paging rules and limits enforced,
 * plus scripted faults (status codes, Retry-After, stalls, malformed bodies) for the next requests to a path.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export const DAY_MS = 86_400_000;

/** The replayed venues' "now": mid-day, so every venue has an open candle for the current day. */
export const SERVER_NOW = Date.UTC(2024, 5, 15, 12);

/** Rows per DVOL page: small, so a year of DVOL needs several backwards pages. */
export const DVOL_PAGE_ROWS = 100;

export type Fault =
  | { readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly delayMs: number }
  | { readonly rawBody: string };

export interface RecordedRequest {
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly userAgent: string | undefined;
  readonly at: number;
}

export type ReplayVenue = 'deribit' | 'binance' | 'coinbase' | 'kraken';

export interface ReplayServer {
  readonly baseUrl: string;
  readonly baseUrls: Readonly<Record<ReplayVenue, string>>;
  readonly requests: RecordedRequest[];
  /** Multiply one venue's prices (e.g. 1.1 for a feed 10% off). */
  readonly priceFactor: Partial<Record<ReplayVenue, number>>;
  /** The next requests whose path starts with `pathPrefix` get these faults, one each, in order. */
  inject(pathPrefix: string, ...faults: Fault[]): void;
  /** Requests whose path starts with `pathPrefix`. */
  requestsTo(pathPrefix: string): RecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

const BASE_PRICE: Record<string, number> = { BTC: 40_000, ETH: 2_500, SOL: 100 };
const DERIBIT_NAMES: Record<string, string> = {
  'BTC-PERPETUAL': 'BTC',
  'ETH-PERPETUAL': 'ETH',
  'SOL_USDC-PERPETUAL': 'SOL',
};
const BINANCE_NAMES: Record<string, string> = { BTCUSDT: 'BTC', ETHUSDT: 'ETH', SOLUSDT: 'SOL' };
const COINBASE_NAMES: Record<string, string> = { 'BTC-USD': 'BTC', 'ETH-USD': 'ETH', 'SOL-USD': 'SOL' };
// Kraken answers under its canonical pair name, not the alt name it was asked for.
const KRAKEN_NAMES: Record<string, { asset: string; canonical: string }> = {
  XBTUSD: { asset: 'BTC', canonical: 'XXBTZUSD' },
  ETHUSD: { asset: 'ETH', canonical: 'XETHZUSD' },
  SOLUSD: { asset: 'SOL', canonical: 'SOLUSD' },
};

/** The synthetic close of `asset` on the day opening at `time`: smooth, positive, different every day. */
export function syntheticClose(asset: string, time: number): number {
  const d = time / DAY_MS;
  return Math.round((BASE_PRICE[asset] ?? 1) * (1 + 0.05 * Math.sin(d / 7)) * 100) / 100;
}

function bar(asset: string, time: number, factor: number) {
  const close = Math.round(syntheticClose(asset, time) * factor * 100) / 100;
  const open = Math.round(syntheticClose(asset, time - DAY_MS) * factor * 100) / 100;
  return {
    time,
    open,
    high: Math.max(open, close) * 1.01,
    low: Math.min(open, close) * 0.99,
    close,
    volume: 1_000 + ((time / DAY_MS) % 100),
  };
}

/** Day opens in [start, end] up to the current (open) day, as a venue has them. */
function daysBetween(start: number, end: number): number[] {
  const out: number[] = [];
  const last = Math.min(end, SERVER_NOW);
  for (let t = Math.ceil(start / DAY_MS) * DAY_MS; t <= last; t += DAY_MS) out.push(t);
  return out;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

type Handler = (query: URLSearchParams, res: ServerResponse, factor: number) => void;

const deribitChart: Handler = (q, res, factor) => {
  const asset = DERIBIT_NAMES[q.get('instrument_name') ?? ''];
  if (!asset || q.get('resolution') !== '1D') {
    send(res, 400, { jsonrpc: '2.0', error: { code: -32602, message: 'Invalid params' } });
    return;
  }
  const start = Number(q.get('start_timestamp'));
  const end = Number(q.get('end_timestamp'));
  const times = daysBetween(start, end);
  // Deribit documents no cap; the replay refuses what a careful client never asks for.
  if (times.length > 5_000) {
    send(res, 400, {
      jsonrpc: '2.0',
      error: { code: 11050, message: 'bad_request', data: { reason: 'range too long' } },
    });
    return;
  }
  if (times.length === 0) {
    send(res, 200, {
      jsonrpc: '2.0',
      result: { status: 'no_data', ticks: [], open: [], high: [], low: [], close: [], volume: [], cost: [] },
    });
    return;
  }
  const bars = times.map((t) => bar(asset, t, factor));
  // Key order as in the docs' example, which is not the order a client should rely on.
  send(res, 200, {
    jsonrpc: '2.0',
    id: 1,
    result: {
      volume: bars.map((b) => b.volume / b.close),
      cost: bars.map((b) => b.volume),
      ticks: times,
      status: 'ok',
      open: bars.map((b) => b.open),
      low: bars.map((b) => b.low),
      high: bars.map((b) => b.high),
      close: bars.map((b) => b.close),
    },
    usIn: SERVER_NOW * 1_000,
    usOut: SERVER_NOW * 1_000 + 205,
    usDiff: 205,
    testnet: false,
  });
};

const deribitDvol: Handler = (q, res) => {
  const currency = q.get('currency') ?? '';
  if (!['BTC', 'ETH'].includes(currency) || q.get('resolution') !== '1D') {
    send(res, 400, { jsonrpc: '2.0', error: { code: -32602, message: 'Invalid params' } });
    return;
  }
  const start = Number(q.get('start_timestamp'));
  const end = Number(q.get('end_timestamp'));
  const times = daysBetween(start, end);
  // The newest rows first; `continuation` is the next `end_timestamp`, walking backwards.
  const page = times.slice(-DVOL_PAGE_ROWS);
  const first = page[0];
  const continuation = times.length > page.length && first !== undefined ? first - 1 : null;
  // Real DVOL history is in vol points (56.76), unlike the docs' example.
  const points = (t: number) => Math.round((50 + 10 * Math.sin(t / DAY_MS / 11)) * 100) / 100;
  send(res, 200, {
    jsonrpc: '2.0',
    result: { data: page.map((t) => [t, points(t), points(t) + 1, points(t) - 1, points(t)]), continuation },
  });
};

const binanceKlines: Handler = (q, res, factor) => {
  const asset = BINANCE_NAMES[q.get('symbol') ?? ''];
  if (!asset) {
    send(res, 400, { code: -1121, msg: 'Invalid symbol.' });
    return;
  }
  const limit = Number(q.get('limit') ?? 500);
  if (q.get('interval') !== '1d' || limit > 1_000) {
    send(res, 400, { code: -1130, msg: 'Data sent for parameter is not valid.' });
    return;
  }
  const times = daysBetween(Number(q.get('startTime') ?? 0), Number(q.get('endTime') ?? SERVER_NOW)).slice(
    0,
    limit,
  );
  send(
    res,
    200,
    times.map((t) => {
      const b = bar(asset, t, factor);
      const baseVolume = b.volume / b.close;
      return [
        t,
        b.open.toFixed(2),
        b.high.toFixed(2),
        b.low.toFixed(2),
        b.close.toFixed(2),
        baseVolume.toFixed(8),
        t + DAY_MS - 1,
        b.volume.toFixed(8),
        1234,
        (baseVolume / 2).toFixed(8),
        (b.volume / 2).toFixed(8),
        '0',
      ];
    }),
    { 'x-mbx-used-weight-1m': '2' },
  );
};

const coinbaseCandles =
  (productId: string): Handler =>
  (q, res, factor) => {
    const asset = COINBASE_NAMES[productId];
    if (!asset) {
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
    // Newest first, and (as the docs warn) a candle from before `start`.
    const times = daysBetween(start - DAY_MS, end).reverse();
    send(
      res,
      200,
      times.map((t) => {
        const b = bar(asset, t, factor);
        return [t / 1_000, b.low, b.high, b.open, b.close, b.volume / b.close];
      }),
    );
  };

const krakenOhlc: Handler = (q, res, factor) => {
  const pair = KRAKEN_NAMES[q.get('pair') ?? ''];
  if (!pair) {
    send(res, 200, { error: ['EQuery:Unknown asset pair'] });
    return;
  }
  const since = Number(q.get('since') ?? 0) * 1_000;
  // Only the 720 newest committed rows exist, whatever `since` says; the open bar is always appended.
  const committed = daysBetween(0, SERVER_NOW - DAY_MS)
    .slice(-720)
    .filter((t) => t > since);
  const open = Math.floor(SERVER_NOW / DAY_MS) * DAY_MS;
  const rows = [...committed, open].map((t) => {
    const b = bar(pair.asset, t, factor);
    const vwap = (b.high + b.low + b.close) / 3;
    return [
      t / 1_000,
      b.open.toFixed(1),
      b.high.toFixed(1),
      b.low.toFixed(1),
      b.close.toFixed(1),
      vwap.toFixed(1),
      (b.volume / vwap).toFixed(8),
      42,
    ];
  });
  send(res, 200, {
    error: [],
    result: { [pair.canonical]: rows, last: (committed.at(-1) ?? since) / 1_000 },
  });
};

function route(path: string): { venue: ReplayVenue; handler: Handler } | undefined {
  if (path === '/deribit/api/v2/public/get_tradingview_chart_data')
    return { venue: 'deribit', handler: deribitChart };
  if (path === '/deribit/api/v2/public/get_volatility_index_data')
    return { venue: 'deribit', handler: deribitDvol };
  if (path === '/binance/api/v3/klines') return { venue: 'binance', handler: binanceKlines };
  const coinbase = /^\/coinbase\/products\/([^/]+)\/candles$/.exec(path);
  if (coinbase?.[1]) return { venue: 'coinbase', handler: coinbaseCandles(decodeURIComponent(coinbase[1])) };
  if (path === '/kraken/0/public/OHLC') return { venue: 'kraken', handler: krakenOhlc };
  return undefined;
}

/**
 * Start the replay on 127.0.0.1 at an ephemeral port. Each venue lives under its own prefix
 * (`/binance/api/v3/klines`), so one server plays all four.
 */
export async function startReplayServer(): Promise<ReplayServer> {
  const requests: RecordedRequest[] = [];
  const faults: { prefix: string; fault: Fault }[] = [];
  const priceFactor: Partial<Record<ReplayVenue, number>> = {};
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const serve = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    requests.push({
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      userAgent: req.headers['user-agent'],
      at: Date.now(),
    });
    const found = route(url.pathname);
    const answer = () => {
      if (!found) send(res, 404, { message: `no route ${url.pathname}` });
      else found.handler(url.searchParams, res, priceFactor[found.venue] ?? 1);
    };
    const index = faults.findIndex((f) => url.pathname.startsWith(f.prefix));
    const fault = index >= 0 ? faults.splice(index, 1)[0]?.fault : undefined;
    if (!fault) return answer();
    if ('delayMs' in fault) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!res.destroyed) answer();
      }, fault.delayMs);
      timers.add(timer);
      return;
    }
    if ('rawBody' in fault) {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(fault.rawBody);
      return;
    }
    res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
    res.end(fault.body ?? '{}');
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
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    baseUrl,
    baseUrls: {
      deribit: `${baseUrl}/deribit/api/v2`,
      binance: `${baseUrl}/binance`,
      coinbase: `${baseUrl}/coinbase`,
      kraken: `${baseUrl}/kraken`,
    },
    requests,
    priceFactor,
    inject: (prefix, ...items) => {
      for (const fault of items) faults.push({ prefix, fault });
    },
    requestsTo: (prefix) => requests.filter((r) => r.path.startsWith(prefix)),
    reset: () => {
      requests.length = 0;
      faults.length = 0;
      for (const key of Object.keys(priceFactor)) delete priceFactor[key as ReplayVenue];
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}
