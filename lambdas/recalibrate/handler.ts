/**
 * Lambda entry point of the scheduled recalibration (see `recalibrate-handler.ts`). The configuration comes
 * from AppConfig (cached a minute, re-read when deployed anew: `withLiveConfig`), or locally from `QMT_CONFIG`.
 */
import { withLiveConfig } from '../shared/live-config.ts';
import { createRecalibrateHandler, type RecalibrateHandler } from './recalibrate-handler.ts';

export const handler: RecalibrateHandler = withLiveConfig((options) => createRecalibrateHandler(options));
