/**
 * Lambda entry point of the market watch (see `watch-handler.ts`). The configuration comes from AppConfig
 * (cached a minute, re-read when deployed anew: `withLiveConfig`), or locally from `QMT_CONFIG`.
 */
import { withLiveConfig } from '../shared/live-config.ts';
import { createMarketWatchHandler, type MarketWatchHandler } from './watch-handler.ts';

export const handler: MarketWatchHandler = withLiveConfig((options) => createMarketWatchHandler(options));
