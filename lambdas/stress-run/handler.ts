/**
 * Lambda entry point of the daily stress run (see `stress-handler.ts`). The configuration comes
 * from AppConfig (cached a minute, re-read when deployed anew: `withLiveConfig`), or locally from `QMT_CONFIG`.
 */
import { withLiveConfig } from '../shared/live-config.ts';
import { createStressHandler, type StressHandler } from './stress-handler.ts';

export const handler: StressHandler = withLiveConfig((options) => createStressHandler(options));
