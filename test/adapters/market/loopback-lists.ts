/**
 * A loopback HTTP server playing the four venues' instrument lists (market-apis.md §6): each path answers
 * the body a test set, or a scripted fault (status, or a raw body).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export const LIST_PATHS = {
  deribit: '/public/get_instruments',
  binance: '/fapi/v1/exchangeInfo',
  coinbase: '/products',
  kraken: '/0/public/AssetPairs',
} as const;

export type ListVenue = keyof typeof LIST_PATHS;

export type ListAnswer = { readonly body: unknown } | { readonly status: number } | { readonly raw: string };

export interface LoopbackLists {
  readonly baseUrl: string;
  readonly answers: Partial<Record<ListVenue, ListAnswer>>;
  readonly hits: Record<string, number>;
  close(): Promise<void>;
}

export const deribitRow = (name: string, base: string, quote: string, active = true) => ({
  instrument_name: name,
  kind: 'future',
  is_active: active,
  settlement_period: name.endsWith('PERPETUAL') ? 'perpetual' : 'month',
  base_currency: base,
  quote_currency: quote,
  // Keys the catalogue does not read: ignored.
  instrument_type: 'reversed',
  rfq: false,
});

export const binanceRow = (symbol: string, base: string, status = 'TRADING', contractType = 'PERPETUAL') => ({
  symbol,
  pair: symbol,
  contractType,
  status,
  baseAsset: base,
  quoteAsset: symbol.endsWith('USDC') ? 'USDC' : 'USDT',
  deliveryDate: 4133404800000,
});

export async function startLoopbackLists(): Promise<LoopbackLists> {
  const answers: Partial<Record<ListVenue, ListAnswer>> = {};
  const hits: Record<string, number> = {};
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://loopback').pathname;
    hits[path] = (hits[path] ?? 0) + 1;
    const venue = (Object.keys(LIST_PATHS) as ListVenue[]).find((v) => LIST_PATHS[v] === path);
    const answer = venue ? answers[venue] : undefined;
    if (!answer) {
      res.writeHead(404).end('{}');
    } else if ('status' in answer) {
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end('{"error":"down"}');
    } else {
      const text = 'raw' in answer ? answer.raw : JSON.stringify(answer.body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(text);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    answers,
    hits,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}
