/**
 * Lambda entry point of the sweep worker (see `worker-handler.ts`). The configuration comes
 * from AppConfig (cached a minute, re-read when deployed anew: `withLiveConfig`), or locally from `QMT_CONFIG`.
 */
import { withLiveConfig } from '../shared/live-config.ts';
import { createSweepWorkerHandler, type SweepWorkerHandler } from './worker-handler.ts';

export const handler: SweepWorkerHandler = withLiveConfig((options) => createSweepWorkerHandler(options));
