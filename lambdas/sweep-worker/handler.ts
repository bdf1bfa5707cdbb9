/**
 * Lambda entry point of the sweep worker (see `worker-handler.ts`). The configuration is read and
 * validated here, when the container starts: a bad one fails the start, naming the field.
 */
import { createSweepWorkerHandler, type SweepWorkerHandler } from './worker-handler.ts';

export const handler: SweepWorkerHandler = createSweepWorkerHandler();
