/**
 * Lambda entry point of the daily stress run (see `stress-handler.ts`). The configuration is read and
 * validated here, when the container starts: a bad one fails the start, naming the field.
 */
import { createStressHandler, type StressHandler } from './stress-handler.ts';

export const handler: StressHandler = createStressHandler();
