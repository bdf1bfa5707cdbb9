/**
 * The venues' current-price bodies as market-apis.md §5 records them (values as in its examples), for the
 * mark-source tests. Each example's time is 2024-06-10T06:13:20Z give or take ms.
 */

/** §5a: Deribit `public/ticker` for BTC-PERPETUAL, the whole JSON-RPC envelope. */
export const deribitTicker = {
  jsonrpc: '2.0',
  id: 1,
  result: {
    timestamp: 1718000000123,
    state: 'open',
    instrument_name: 'BTC-PERPETUAL',
    last_price: 67012.5,
    mark_price: 67015.42,
    index_price: 66990.18,
    estimated_delivery_price: 66990.18,
    settlement_price: 66875.3,
    best_bid_price: 67012,
    best_bid_amount: 125340,
    best_ask_price: 67012.5,
    best_ask_amount: 48210,
    min_price: 66010.1,
    max_price: 68020.7,
    open_interest: 1012345670,
    current_funding: 0.0000512,
    funding_8h: 0.0000873,
    interest_value: 1.9234,
    stats: { high: 67480.5, low: 66510, price_change: -0.4213, volume: 9123.4567, volume_usd: 611234560 },
  },
  usIn: 1718000000123456,
  usOut: 1718000000123789,
  usDiff: 333,
  testnet: false,
};

/** §5c: Binance USDⓈ-M `/fapi/v1/premiumIndex?symbol=BTCUSDT`. */
export const binancePremiumIndex = {
  symbol: 'BTCUSDT',
  markPrice: '67021.40000000',
  indexPrice: '67003.81234567',
  estimatedSettlePrice: '66998.12345678',
  lastFundingRate: '0.00010000',
  interestRate: '0.00010000',
  nextFundingTime: 1718006400000,
  time: 1718000000000,
};

/** §5e: Coinbase Exchange `/products/BTC-USD/ticker`. */
export const coinbaseTicker = {
  ask: '67018.42',
  bid: '67018.41',
  volume: '9876.54321012',
  trade_id: 654321987,
  price: '67018.41',
  size: '0.0015',
  time: '2024-06-10T06:13:20.123456Z',
  rfq_volume: '12.345678',
  conversions_volume: '0',
};

/** §5f: Kraken `/0/public/Ticker?pair=XBTUSD`, answered under the canonical key. */
export const krakenTicker = {
  error: [],
  result: {
    XXBTZUSD: {
      a: ['67020.10000', '1', '1.000'],
      b: ['67020.00000', '3', '3.000'],
      c: ['67019.90000', '0.00150000'],
      v: ['1234.56789012', '2345.67890123'],
      p: ['66890.12345', '66801.98765'],
      t: [23456, 41234],
      l: ['66320.00000', '66120.00000'],
      h: ['67480.50000', '67480.50000'],
      o: '66710.00000',
    },
  },
};

/** Our clock in these tests: 30 s after the examples' time. */
export const NOW = 1718000030000;
