/**
 * Lambda entry point of the market watch (see `watch-handler.ts`). The configuration is read and validated
 * here, when the container starts: a bad one fails the start, naming the field.
 */
import { createMarketWatchHandler, type MarketWatchHandler } from './watch-handler.ts';

export const handler: MarketWatchHandler = createMarketWatchHandler();
