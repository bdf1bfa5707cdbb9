/**
 * Lambda entry point of the sweep coordinator (see `coordinator-handler.ts`). The configuration comes
 * from AppConfig (cached a minute, re-read when deployed anew: `withLiveConfig`), or locally from `QMT_CONFIG`.
 */
import { withLiveConfig } from '../shared/live-config.ts';
import { createSweepCoordinatorHandler, type SweepCoordinatorHandler } from './coordinator-handler.ts';

export const handler: SweepCoordinatorHandler = withLiveConfig((options) =>
  createSweepCoordinatorHandler(options),
);
