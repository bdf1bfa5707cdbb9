/**
 * Lambda entry point of the sweep coordinator (see `coordinator-handler.ts`). The configuration is read
 * and validated here, when the container starts: a bad one fails the start, naming the field.
 */
import { createSweepCoordinatorHandler, type SweepCoordinatorHandler } from './coordinator-handler.ts';

export const handler: SweepCoordinatorHandler = createSweepCoordinatorHandler();
